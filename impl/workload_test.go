package impl

import (
	"bytes"
	"errors"
	"math/rand/v2"
	"testing"

	"github.com/idemcheck/idemcheck/history"
)

// seedConfig derives a small random workload shape from seed and returns
// it with the rng that then drives the run.
func seedConfig(seed int64, order TicketOrder, faults Faults) (*rand.Rand, WorkloadConfig) {
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
		if n := s.Frontend().Tickets(p); n != 0 {
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

// TestRandomWorkloadFixed runs seeded random workloads (several producers
// and partitions, random completion orders, failed stage_writes, uploads
// and fences, client timeouts, term changes) with the fix and checks the
// implementation's own invariants on every history (CheckSanity:
// TicketOrderIsCallOrder, DecideInCallOrder, ContiguousAppends offsets,
// NoDuplicateAppend, AckedInLog) and that every run ends quiescent.
// Flags: -seeds N for more seeds, -seed S to rerun one.
func TestRandomWorkloadFixed(t *testing.T) {
	for _, seed := range seedList(t, 1000) {
		rng, cfg := seedConfig(seed, BeforeStage, DefaultFaults())
		s, err := RunWorkload(rng, cfg)
		if err != nil {
			t.Fatalf("seed %d (rerun with -seed %d): %v", seed, seed, err)
		}
		if err := CheckSanity(s.History()); err != nil {
			t.Fatalf("seed %d (rerun with -seed %d): %v", seed, seed, err)
		}
		if err := checkQuiescent(s); err != nil {
			t.Fatalf("seed %d (rerun with -seed %d): %v", seed, seed, err)
		}
	}
}

// TestRandomWorkloadEvictions adds idle-producer evictions. Eviction
// forgets the dedup window, so a retry of an appended batch can be
// appended again (NoDuplicateAppend) and a later batch can take the skip
// path past a failed one (ContiguousAppends), known Redpanda behaviours;
// the ordering invariants must still hold with the fix.
func TestRandomWorkloadEvictions(t *testing.T) {
	faults := DefaultFaults()
	faults.Evict = 0.05
	found := map[string]int{}
	for _, seed := range seedList(t, 300) {
		rng, cfg := seedConfig(seed, BeforeStage, faults)
		s, err := RunWorkload(rng, cfg)
		if err != nil {
			t.Fatalf("seed %d: %v", seed, err)
		}
		var se *SanityError
		if err := CheckSanity(s.History()); err != nil {
			if errors.As(err, &se) && (se.Invariant == NoDuplicateAppend || se.Invariant == ContiguousAppends) {
				found[se.Invariant]++
				continue
			}
			t.Fatalf("seed %d (rerun with -seed %d): %v", seed, seed, err)
		}
	}
	t.Logf("violations after evictions: %v", found)
}

// TestRandomWorkloadEpochBumps adds client epoch bumps (with re-sequenced
// batches) to the fixed-ordering workloads: CheckSanity still holds (its
// NoDuplicateAppend key includes the epoch) and the runs end quiescent.
func TestRandomWorkloadEpochBumps(t *testing.T) {
	faults := DefaultFaults()
	faults.BumpEpoch = 0.03
	bumps := 0
	for _, seed := range seedList(t, 300) {
		rng, cfg := seedConfig(seed, BeforeStage, faults)
		s, err := RunWorkload(rng, cfg)
		if err != nil {
			t.Fatalf("seed %d: %v", seed, err)
		}
		h := s.History()
		if err := CheckSanity(h); err != nil {
			t.Fatalf("seed %d (rerun with -seed %d): %v", seed, seed, err)
		}
		if err := checkQuiescent(s); err != nil {
			t.Fatalf("seed %d (rerun with -seed %d): %v", seed, seed, err)
		}
		for _, e := range h.Events {
			if e.Kind == history.BumpEpoch {
				bumps++
			}
		}
	}
	if len(seedList(t, 300)) >= 100 && bumps == 0 {
		t.Error("no epoch bump in any run")
	}
}

// TestRandomWorkloadAborts adds the abort signal of requests waiting for
// their ticket to fixed-ordering workloads. The
// implementation's own invariants hold (an aborted request never reaches
// the idempotency rules), while the early release lets later batches
// overtake: some seeds lose a batch with OUT_OF_ORDER_SEQUENCE_NUMBER, the
// symptom the checker must explain.
func TestRandomWorkloadAborts(t *testing.T) {
	faults := Faults{Abort: 0.05}
	seeds := seedList(t, 300)
	losses := 0
	for _, seed := range seeds {
		rng, cfg := seedConfig(seed, BeforeStage, faults)
		s, err := RunWorkload(rng, cfg)
		if err != nil {
			t.Fatalf("seed %d: %v", seed, err)
		}
		if err := CheckSanity(s.History()); err != nil {
			t.Fatalf("seed %d (rerun with -seed %d): %v", seed, seed, err)
		}
		if err := checkQuiescent(s); err != nil {
			t.Fatalf("seed %d (rerun with -seed %d): %v", seed, seed, err)
		}
		for _, o := range s.Outcomes() {
			if o.State == Lost && o.Error == history.OutOfOrderSequenceNumber {
				losses++
				break
			}
		}
	}
	t.Logf("aborts: %d/%d seeds lose a batch with OOOSN", losses, len(seeds))
	if len(seeds) >= 100 && losses == 0 {
		t.Error("aborts never made a batch lose its place")
	}
}

// TestRandomWorkloadPrefixDetects checks that the same random workloads
// expose the pre-fix ordering: some seeds break TicketOrderIsCallOrder or
// DecideInCallOrder, and some lose a batch with OUT_OF_ORDER_SEQUENCE_NUMBER.
func TestRandomWorkloadPrefixDetects(t *testing.T) {
	seeds := seedList(t, 300)
	violations, losses := 0, 0
	for _, seed := range seeds {
		rng, cfg := seedConfig(seed, AfterStage, Faults{})
		s, err := RunWorkload(rng, cfg)
		if err != nil {
			t.Fatalf("seed %d: %v", seed, err)
		}
		var se *SanityError
		if err := CheckSanity(s.History()); err != nil {
			if !errors.As(err, &se) || (se.Invariant != TicketOrderIsCallOrder && se.Invariant != DecideInCallOrder) {
				t.Fatalf("seed %d: unexpected violation %v", seed, err)
			}
			violations++
		}
		for _, o := range s.Outcomes() {
			if o.State == Lost && o.Error == history.OutOfOrderSequenceNumber {
				losses++
				break
			}
		}
	}
	t.Logf("pre-fix: %d/%d seeds break the ticket order, %d lose a batch with OOOSN", violations, len(seeds), losses)
	if len(seeds) >= 100 && (violations == 0 || losses == 0) {
		t.Errorf("pre-fix: got %d ordering violations and %d losses in %d seeds, want some of each", violations, losses, len(seeds))
	}
}

// TestRandomWorkloadDeterministic checks that the same seed gives a
// byte-identical JSONL history, under both orderings.
func TestRandomWorkloadDeterministic(t *testing.T) {
	encode := func(seed int64, order TicketOrder) []byte {
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
	for _, order := range []TicketOrder{BeforeStage, AfterStage} {
		distinct := map[string]bool{}
		for _, seed := range seedList(t, 20) {
			a, b := encode(seed, order), encode(seed, order)
			if !bytes.Equal(a, b) {
				t.Fatalf("%s seed %d: two runs differ", order, seed)
			}
			distinct[string(a)] = true
		}
		if n := len(seedList(t, 20)); n > 1 && len(distinct) < 2 {
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
