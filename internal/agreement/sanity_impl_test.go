package agreement

import (
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"sync"
	"testing"
	"testing/synctest"
	"time"

	"github.com/idemcheck/idemcheck/history"
	"github.com/idemcheck/idemcheck/impl"
	"github.com/idemcheck/idemcheck/impl/replay"
	"github.com/idemcheck/idemcheck/impl/server"
	"github.com/idemcheck/idemcheck/impl/sim"
	"github.com/idemcheck/idemcheck/internal/testflag"
)

// wantSanity checks CheckSanity's answer on h: no violation when want is
// empty, else a violation of one of the invariants in want.
func wantSanity(t *testing.T, h history.History, want ...string) {
	t.Helper()
	err := CheckSanity(h)
	if len(want) == 0 {
		if err != nil {
			t.Errorf("CheckSanity: %v", err)
		}
		return
	}
	var se *SanityError
	if !errors.As(err, &se) || !contains(want, se.Invariant) {
		t.Errorf("CheckSanity: got %v, want a violation of one of %v", err, want)
	}
}

// TestSanitySeedScenarios: the regression scenario of PR #30429 breaks
// TicketOrderIsCallOrder pre-fix, for a known and an unknown producer,
// and keeps every invariant with the fix.
func TestSanitySeedScenarios(t *testing.T) {
	for _, order := range []impl.TicketOrder{impl.AfterStage, impl.BeforeStage} {
		for _, known := range []bool{false, true} {
			t.Run(fmt.Sprintf("%s/known=%t", order, known), func(t *testing.T) {
				s, err := sim.SeedScenario(order, known)
				if err != nil {
					t.Fatal(err)
				}
				if order == impl.AfterStage {
					wantSanity(t, s.History(), TicketOrderIsCallOrder)
				} else {
					wantSanity(t, s.History())
				}
			})
		}
	}
}

// simWorkload derives a small random workload shape from seed, as
// impl/sim's own tests do, and runs it.
func simWorkload(t *testing.T, seed int64, order impl.TicketOrder, faults sim.Faults) *sim.Sim {
	t.Helper()
	rng := rand.New(rand.NewPCG(uint64(seed), 0x1de3))
	cfg := sim.WorkloadConfig{
		TicketOrder:  order,
		Producers:    1 + rng.IntN(3),
		Partitions:   1 + rng.IntN(3),
		Batches:      2 + rng.IntN(5),
		WaitEnqueued: rng.IntN(3) == 0,
		Faults:       faults,
		Header:       history.Header{Seed: seed},
	}
	s, err := sim.RunWorkload(rng, cfg)
	if err != nil {
		t.Fatal(err)
	}
	return s
}

// TestSanityRandomWorkloads checks the implementation's own invariants
// (CheckSanity: TicketOrderIsCallOrder, DecideInCallOrder,
// ContiguousAppends, NoDuplicateAppend, AckedInLog) on seeded random
// workloads of impl/sim. With the fix every history keeps them, with
// failures, timeouts and term changes, with epoch bumps (the
// NoDuplicateAppend key includes the epoch) and with aborts (an aborted
// request never reaches the idempotency rules). Evictions forget the
// dedup window, so a retry can be appended again (NoDuplicateAppend) and
// a later batch can take the skip path past a failed one
// (ContiguousAppends), known Redpanda behaviours. Pre-fix, some seeds
// break TicketOrderIsCallOrder or DecideInCallOrder, and no other
// invariant.
func TestSanityRandomWorkloads(t *testing.T) {
	faults := func(set func(*sim.Faults)) sim.Faults {
		f := sim.DefaultFaults()
		set(&f)
		return f
	}
	tests := []struct {
		name     string
		order    impl.TicketOrder
		faults   sim.Faults
		seeds    int
		allowed  []string // violations allowed
		wantSome bool     // with many seeds, some must be found
	}{
		{"fixed", impl.BeforeStage, sim.DefaultFaults(), 1000, nil, false},
		{"evictions", impl.BeforeStage, faults(func(f *sim.Faults) { f.Evict = 0.05 }), 300,
			[]string{NoDuplicateAppend, ContiguousAppends}, false},
		{"epoch-bumps", impl.BeforeStage, faults(func(f *sim.Faults) { f.BumpEpoch = 0.03 }), 300, nil, false},
		{"aborts", impl.BeforeStage, sim.Faults{Abort: 0.05}, 300, nil, false},
		{"prefix", impl.AfterStage, sim.Faults{}, 300, []string{TicketOrderIsCallOrder, DecideInCallOrder}, true},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			found := map[string]int{}
			testflag.Run(t, tc.seeds, func(t *testing.T, seed int64) {
				err := CheckSanity(simWorkload(t, seed, tc.order, tc.faults).History())
				if err == nil {
					return
				}
				var se *SanityError
				if !errors.As(err, &se) || !contains(tc.allowed, se.Invariant) {
					t.Fatal(err)
				}
				found[se.Invariant]++
			})
			t.Logf("%s: violations %v", tc.name, found)
			if n := len(testflag.Seeds(tc.seeds)); tc.wantSome && n >= 100 && len(found) == 0 {
				t.Errorf("%s: no violation in %d seeds", tc.name, n)
			}
		})
	}
}

// TestSanityReplayThroughFix replays the pre-fix seed scenario's
// client-visible events through the fixed ordering (impl/replay): the
// recorded history keeps every invariant.
func TestSanityReplayThroughFix(t *testing.T) {
	s, err := sim.SeedScenario(impl.AfterStage, false)
	if err != nil {
		t.Fatal(err)
	}
	var client history.History
	for _, e := range s.History().Events {
		switch e.Kind {
		case history.Replicate, history.StageWriteDone, history.UploadDone, history.Return:
			client.Events = append(client.Events, e)
		}
	}
	got, err := replay.Replay(client, replay.WithTicketOrder(impl.BeforeStage))
	if err != nil {
		t.Fatal(err)
	}
	wantSanity(t, got)
}

// runServerLoad has producers pipeline batches concurrently into an
// impl/server Server (each producer sends its batches in sequence order,
// optionally waiting for the enqueued stage of the previous one) and
// returns every call's result per producer, in send order, plus the
// recorded history.
func runServerLoad(t *testing.T, cfg server.Config, producers, batches int, waitEnqueued bool) ([][]impl.Result, history.History) {
	t.Helper()
	log := history.NewLog(history.Header{TicketOrder: string(cfg.TicketOrder)})
	cfg.Recorder = log
	srv, err := server.New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	results := make([][]impl.Result, producers)
	var wg sync.WaitGroup
	for p := 0; p < producers; p++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			var stages []server.Stages
			for i := 0; i < batches; i++ {
				st, err := srv.Replicate(ctx, impl.Request{Client: int64(p + 1), Partition: fmt.Sprintf("p%d", p%2),
					Batch: impl.Batch{PID: int64(p + 1), First: int32(i), Last: int32(i)}})
				if err != nil {
					t.Errorf("producer %d batch %d: %v", p, i, err)
					return
				}
				if waitEnqueued {
					<-st.Enqueued
				}
				stages = append(stages, st)
			}
			for _, st := range stages {
				results[p] = append(results[p], <-st.Finished)
			}
		}()
	}
	wg.Wait()
	if err := srv.Close(); err != nil {
		t.Fatalf("close: %v", err)
	}
	return results, log.History()
}

// TestSanityServer runs impl/server's concurrent shell under random
// stage_write and upload delays (so completions reorder), with and
// without failed uploads: with the fix every batch of every producer
// succeeds when nothing fails, offsets follow sequence order, and the
// recorded history keeps every invariant; with either ordering every call
// finishes. (Pre-fix results depend on goroutine timing, so they are not
// asserted.)
func TestSanityServer(t *testing.T) {
	for _, wait := range []bool{false, true} {
		t.Run(fmt.Sprintf("fixed/wait-enqueued=%t", wait), func(t *testing.T) {
			synctest.Test(t, func(t *testing.T) {
				cfg := server.Config{TicketOrder: impl.BeforeStage, Rand: rand.New(rand.NewPCG(3, 4)),
					MaxStageDelay: 5 * time.Millisecond, MaxUploadDelay: 20 * time.Millisecond}
				results, h := runServerLoad(t, cfg, 4, 20, wait)
				for p, rs := range results {
					if len(rs) != 20 {
						t.Fatalf("producer %d: got %d results, want 20", p, len(rs))
					}
					for i, r := range rs {
						if r.Err != impl.Success {
							t.Fatalf("producer %d batch %d: got %s, want success", p, i, r)
						}
						if i > 0 && r.Offset <= rs[i-1].Offset {
							t.Fatalf("producer %d batch %d: offset %d not above %d", p, i, r.Offset, rs[i-1].Offset)
						}
					}
				}
				wantSanity(t, h)
				if n := reorderedUploads(h); n == 0 {
					t.Error("no upload completed out of call order; the delays do not reorder")
				}
			})
		})
	}
	for _, order := range []impl.TicketOrder{impl.BeforeStage, impl.AfterStage} {
		t.Run(string(order)+"/upload-failures", func(t *testing.T) {
			synctest.Test(t, func(t *testing.T) {
				cfg := server.Config{TicketOrder: order, Rand: rand.New(rand.NewPCG(5, 6)),
					MaxStageDelay: 10 * time.Millisecond, MaxUploadDelay: 10 * time.Millisecond, UploadFail: 0.2}
				results, h := runServerLoad(t, cfg, 3, 10, false)
				for p, rs := range results {
					if len(rs) != 10 {
						t.Fatalf("producer %d: got %d results, want 10", p, len(rs))
					}
				}
				if order == impl.BeforeStage {
					wantSanity(t, h)
				}
			})
		})
	}
}

// reorderedUploads counts UploadDone events whose op is below an earlier
// UploadDone's op.
func reorderedUploads(h history.History) int {
	n, hi := 0, int64(0)
	for _, e := range h.Events {
		if e.Kind != history.UploadDone {
			continue
		}
		if e.Op < hi {
			n++
		}
		hi = max(hi, e.Op)
	}
	return n
}
