package impl

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
)

// runServerLoad has producers pipeline batches concurrently into a
// Server (each producer sends its batches in sequence order, optionally
// waiting for the enqueued stage of the previous one) and returns every
// call's result per producer, in send order, plus the recorded history.
func runServerLoad(t *testing.T, cfg ServerConfig, producers, batches int, waitEnqueued bool) ([][]Result, history.History) {
	t.Helper()
	log := history.NewLog(history.Header{TicketOrder: string(cfg.TicketOrder)})
	cfg.Recorder = log
	srv, err := NewServer(cfg)
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	results := make([][]Result, producers)
	var wg sync.WaitGroup
	for p := 0; p < producers; p++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			var stages []Stages
			for i := 0; i < batches; i++ {
				st, err := srv.Replicate(ctx, Request{Client: int64(p + 1), Partition: fmt.Sprintf("p%d", p%2),
					Batch: Batch{PID: int64(p + 1), First: int32(i), Last: int32(i)}})
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

// TestServerFixed runs the concurrent shell with the fix under random
// stage_write and upload delays (so completions reorder): every batch of
// every producer succeeds, offsets follow sequence order, and the recorded
// history passes CheckSanity (DecideInCallOrder and the rest).
func TestServerFixed(t *testing.T) {
	for _, wait := range []bool{false, true} {
		t.Run(fmt.Sprintf("wait-enqueued=%t", wait), func(t *testing.T) {
			synctest.Test(t, func(t *testing.T) {
				cfg := ServerConfig{TicketOrder: BeforeStage, Rand: rand.New(rand.NewPCG(3, 4)),
					MaxStageDelay: 5 * time.Millisecond, MaxUploadDelay: 20 * time.Millisecond}
				results, h := runServerLoad(t, cfg, 4, 20, wait)
				for p, rs := range results {
					if len(rs) != 20 {
						t.Fatalf("producer %d: got %d results, want 20", p, len(rs))
					}
					for i, r := range rs {
						if r.Err != Success {
							t.Fatalf("producer %d batch %d: got %s, want success", p, i, r)
						}
						if i > 0 && r.Offset <= rs[i-1].Offset {
							t.Fatalf("producer %d batch %d: offset %d not above %d", p, i, r.Offset, rs[i-1].Offset)
						}
					}
				}
				if err := CheckSanity(h); err != nil {
					t.Fatal(err)
				}
				if n := reorderedUploads(h); n == 0 {
					t.Error("no upload completed out of call order; the delays do not reorder")
				}
			})
		})
	}
}

// reorderedUploads counts UploadDone events whose op is below an earlier
// UploadDone's op.
func reorderedUploads(h history.History) int {
	n, max := 0, int64(0)
	for _, e := range h.Events {
		if e.Kind != history.UploadDone {
			continue
		}
		if e.Op < max {
			n++
		}
		if e.Op > max {
			max = e.Op
		}
	}
	return n
}

// TestServerFailuresAndPrefix checks that every call finishes when uploads
// fail, under both orderings, and that with the fix the recorded history
// keeps the ordering invariants. (Pre-fix results depend on goroutine
// timing, so they are not asserted.)
func TestServerFailuresAndPrefix(t *testing.T) {
	for _, order := range []TicketOrder{BeforeStage, AfterStage} {
		t.Run(string(order), func(t *testing.T) {
			synctest.Test(t, func(t *testing.T) {
				cfg := ServerConfig{TicketOrder: order, Rand: rand.New(rand.NewPCG(5, 6)),
					MaxStageDelay: 10 * time.Millisecond, MaxUploadDelay: 10 * time.Millisecond, UploadFail: 0.2}
				results, h := runServerLoad(t, cfg, 3, 10, false)
				for p, rs := range results {
					if len(rs) != 10 {
						t.Fatalf("producer %d: got %d results, want 10", p, len(rs))
					}
				}
				if order == BeforeStage {
					if err := CheckSanity(h); err != nil {
						t.Fatal(err)
					}
				}
				t.Logf("%s: %d OUT_OF_ORDER_SEQUENCE_NUMBER returns", order, countOOOSN(h))
			})
		})
	}
}

// TestServerTimeoutDoClose checks the server's other entry points: a
// client timeout records Return unknown while the call still finishes,
// Do runs on the server goroutine, and a closed server refuses calls.
func TestServerTimeoutDoClose(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		log := history.NewLog(history.Header{})
		srv, err := NewServer(ServerConfig{Recorder: log, MaxStageDelay: time.Second})
		if err != nil {
			t.Fatal(err)
		}
		ctx := context.Background()
		st, err := srv.Replicate(ctx, Request{Partition: "p0", Batch: Batch{PID: 9}})
		if err != nil {
			t.Fatal(err)
		}
		if err := srv.Timeout(ctx, st.Op); err != nil {
			t.Fatal(err)
		}
		if r := <-st.Finished; r.Err != Success {
			t.Fatalf("got %s, want success after the client timeout", r)
		}
		var evicted bool
		if err := srv.Do(ctx, func(f *Frontend) { evicted = f.Evict("p0", 9) }); err != nil {
			t.Fatal(err)
		}
		if !evicted {
			t.Error("evict of an idle producer: got false, want true")
		}
		if err := srv.Close(); err != nil {
			t.Fatal(err)
		}
		if err := srv.Close(); err != nil {
			t.Fatalf("second close: %v", err)
		}
		if _, err := srv.Replicate(ctx, Request{Partition: "p0", Batch: Batch{PID: 9}}); !errors.Is(err, ErrClosed) {
			t.Fatalf("replicate after close: got %v, want ErrClosed", err)
		}
		var kinds []history.Kind
		for _, e := range log.History().Events {
			if e.Kind == history.Return || e.Kind == history.EvictProducer {
				kinds = append(kinds, e.Kind)
			}
		}
		if len(kinds) != 2 || kinds[0] != history.Return || kinds[1] != history.EvictProducer {
			t.Errorf("recorded %v, want [Return EvictProducer] (one Return, unknown)", kinds)
		}
		if r := log.History().Events; r[3].Kind != history.Return || r[3].Result != history.Unknown {
			t.Errorf("event 3: got %s, want Return unknown", r[3])
		}
	})
}
