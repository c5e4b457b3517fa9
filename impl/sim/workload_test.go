package sim

import (
	"bytes"
	"errors"
	"math/rand/v2"
	"testing"

	"github.com/idemcheck/idemcheck/history"
	"github.com/idemcheck/idemcheck/impl"
	"github.com/idemcheck/idemcheck/internal/testflag"
)

// seedConfig derives a small random workload shape from seed and returns
// it with the rng that then drives the run.
func seedConfig(seed int64, order impl.TicketOrder, faults Faults) (*rand.Rand, WorkloadConfig) {
	rng := rand.New(rand.NewPCG(uint64(seed), 0x1de3))
	cfg := WorkloadConfig{
		TicketOrder:  order,
		Producers:    1 + rng.IntN(3),
		Partitions:   1 + rng.IntN(3),
		Batches:      2 + rng.IntN(5),
		WaitEnqueued: rng.IntN(3) == 0,
		Faults:       faults,
		Header:       history.Header{Seed: seed},
	}
	return rng, cfg
}

// checkQuiescent checks that a finished run left nothing behind: no
// request inside the broker, no live ticket, no client batch in flight.
func checkQuiescent(s *Sim) error {
	if open := s.Frontend().Open(); len(open) > 0 {
		return errors.New("ops still inside the broker at the end")
	}
	for _, p := range s.Frontend().Partitions() {
		if p.Tickets != 0 {
			return errors.New("live tickets at the end (queue size() != 0)")
		}
	}
	for _, o := range s.Outcomes() {
		if o.State != Acked && o.State != Lost {
			return errors.New("a client batch neither acked nor lost at the end")
		}
	}
	return nil
}

// TestRandomWorkloads runs seeded random workloads (several producers and
// partitions, random completion orders, failed stage_writes, uploads and
// fences, client timeouts, term changes), with the fix and without, with
// evictions, epoch bumps and aborts, and checks that every run ends
// quiescent and that each kind of fault happens. (The white-box
// invariants of these histories are checked in internal/agreement.)
func TestRandomWorkloads(t *testing.T) {
	withFault := func(set func(*Faults)) Faults {
		f := DefaultFaults()
		set(&f)
		return f
	}
	tests := []struct {
		name   string
		order  impl.TicketOrder
		faults Faults
		seeds  int
		// want counts, over all seeds, the runs where what the row is
		// about happened; with many seeds it must happen at least once.
		want func(s *Sim) bool
	}{
		{"fixed", impl.BeforeStage, DefaultFaults(), 1000, nil},
		{"evictions", impl.BeforeStage, withFault(func(f *Faults) { f.Evict = 0.05 }), 300, kindHappens(history.EvictProducer)},
		{"epoch-bumps", impl.BeforeStage, withFault(func(f *Faults) { f.BumpEpoch = 0.03 }), 300, kindHappens(history.BumpEpoch)},
		{"aborts", impl.BeforeStage, Faults{Abort: 0.05}, 300, losesWithOOOSN},
		{"prefix", impl.AfterStage, Faults{}, 300, losesWithOOOSN},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			seen := 0
			seeds := testflag.Seeds(tc.seeds)
			testflag.Run(t, tc.seeds, func(t *testing.T, seed int64) {
				rng, cfg := seedConfig(seed, tc.order, tc.faults)
				s, err := RunWorkload(rng, cfg)
				if err != nil {
					t.Fatal(err)
				}
				if tc.order == impl.BeforeStage {
					if err := checkQuiescent(s); err != nil {
						t.Fatal(err)
					}
				}
				if tc.want != nil && tc.want(s) {
					seen++
				}
			})
			t.Logf("%s: %d/%d seeds", tc.name, seen, len(seeds))
			if tc.want != nil && len(seeds) >= 100 && seen == 0 {
				t.Errorf("%s: not once in %d seeds", tc.name, len(seeds))
			}
		})
	}
}

// kindHappens reports whether a run recorded an event of kind k.
func kindHappens(k history.Kind) func(*Sim) bool {
	return func(s *Sim) bool {
		for _, e := range s.History().Events {
			if e.Kind == k {
				return true
			}
		}
		return false
	}
}

// losesWithOOOSN reports whether a client lost a batch with
// OUT_OF_ORDER_SEQUENCE_NUMBER (an overtaken batch).
func losesWithOOOSN(s *Sim) bool {
	for _, o := range s.Outcomes() {
		if o.State == Lost && o.Error == history.OutOfOrderSequenceNumber {
			return true
		}
	}
	return false
}

// TestRandomWorkloadDeterministic checks that the same seed gives a
// byte-identical JSONL history, under both orderings.
func TestRandomWorkloadDeterministic(t *testing.T) {
	encode := func(seed int64, order impl.TicketOrder) []byte {
		rng, cfg := seedConfig(seed, order, DefaultFaults())
		h, err := RandomWorkload(rng, cfg)
		if err != nil {
			t.Fatalf("seed %d: %v", seed, err)
		}
		var buf bytes.Buffer
		if err := history.EncodeJSONL(&buf, h); err != nil {
			t.Fatalf("seed %d: %v", seed, err)
		}
		return buf.Bytes()
	}
	for _, order := range []impl.TicketOrder{impl.BeforeStage, impl.AfterStage} {
		distinct := map[string]bool{}
		for _, seed := range testflag.Seeds(20) {
			a, b := encode(seed, order), encode(seed, order)
			if !bytes.Equal(a, b) {
				t.Fatalf("%s seed %d: two runs differ", order, seed)
			}
			distinct[string(a)] = true
		}
		if n := len(testflag.Seeds(20)); n > 1 && len(distinct) < 2 {
			t.Errorf("%s: %d seeds gave one history; the rng is not used", order, n)
		}
	}
}

// BenchmarkRandomWorkload measures a mid-sized workload: 10 producers,
// 4 partitions, 100 batches each, default faults (about 10000 events).
func BenchmarkRandomWorkload(b *testing.B) {
	events := 0
	for i := 0; i < b.N; i++ {
		h, err := RandomWorkload(rand.New(rand.NewPCG(uint64(i), 0)),
			WorkloadConfig{Producers: 10, Partitions: 4, Batches: 100, Faults: DefaultFaults()})
		if err != nil {
			b.Fatal(err)
		}
		events += len(h.Events)
	}
	b.ReportMetric(float64(events)/b.Elapsed().Seconds(), "events/s")
}
