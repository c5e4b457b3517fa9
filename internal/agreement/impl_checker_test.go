package agreement

import (
	"fmt"
	"math/rand/v2"
	"strings"
	"testing"

	"github.com/idemcheck/idemcheck/checker"
	"github.com/idemcheck/idemcheck/history"
	"github.com/idemcheck/idemcheck/impl"
	"github.com/idemcheck/idemcheck/impl/sim"
	"github.com/idemcheck/idemcheck/internal/testflag"
)

// checkedWorkload runs one seeded random workload (several producers and
// partitions, random completion orders, upload and stage failures, client
// timeouts) and judges its client-visible operations with the black-box
// checker.
func checkedWorkload(t *testing.T, order impl.TicketOrder, seed int64) checker.Result {
	t.Helper()
	rng := rand.New(rand.NewPCG(uint64(seed), 0x1de))
	h, err := sim.RandomWorkload(rng, sim.WorkloadConfig{
		TicketOrder: order,
		Producers:   3,
		Partitions:  2,
		Batches:     6,
		Faults:      sim.DefaultFaults(),
	})
	if err != nil {
		t.Fatalf("seed %d: workload: %v (rerun: go test ./internal/agreement -run %s -seed %d)", seed, err, t.Name(), seed)
	}
	res := checker.Check(h, checker.Options{})
	if res.Err != nil {
		t.Fatalf("seed %d: check: %v", seed, res.Err)
	}
	return res
}

// TestCheckerFindsNoViolationWithFix: with the fix (ticket reserved before
// stage_write) no seeded random workload is flagged by the checker, from
// client-visible operations alone. 1,000 seeds by default, -seeds N for
// more, -seed S to rerun one.
func TestCheckerFindsNoViolationWithFix(t *testing.T) {
	for _, seed := range testflag.Seeds(1000) {
		res := checkedWorkload(t, impl.BeforeStage, seed)
		if res.Verdict != checker.Ok {
			t.Errorf("seed %d: verdict %s, want Ok (rerun: go test ./internal/agreement -run TestCheckerFindsNoViolationWithFix -seed %d):\n%s",
				seed, res.Verdict, seed, res.Summary())
		}
	}
}

// TestCheckerDetectsPrefixOrdering: with the pre-fix ordering the same
// workloads are flagged at a rate above zero, and every flag names
// DecideInCallOrder (a later batch overtook an earlier one at the ticket
// queue). It prints the rate and the flagged seeds, each reproducible
// with -seed.
func TestCheckerDetectsPrefixOrdering(t *testing.T) {
	seeds := testflag.Seeds(1000)
	var flagged []int64
	for _, seed := range seeds {
		res := checkedWorkload(t, impl.AfterStage, seed)
		switch res.Verdict {
		case checker.Illegal:
			flagged = append(flagged, seed)
			for _, v := range res.Violations {
				if v.Name != checker.DecideInCallOrder {
					t.Errorf("seed %d: violation %s, want %s: %v", seed, v.Name, checker.DecideInCallOrder, v)
				}
			}
		case checker.Unknown:
			t.Errorf("seed %d: verdict Unknown", seed)
		}
	}
	t.Logf("pre-fix detection rate: %d/%d seeds Illegal (%.1f%%)", len(flagged), len(seeds), 100*float64(len(flagged))/float64(len(seeds)))
	if len(flagged) > 0 {
		show := flagged[:min(20, len(flagged))]
		t.Logf("flagged seeds (first %d; rerun one with -seed S -v): %v", len(show), show)
	}
	if len(seeds) >= 100 && len(flagged) == 0 {
		t.Errorf("pre-fix ordering: 0/%d seeds flagged, want a detection rate above zero", len(seeds))
	}
}

// TestBoundedCheckAgrees: the checker's bounded mode (its default),
// which drops each producer's decided records, judges long workloads with
// idle evictions, failures and timeouts, in both orderings, as the full
// check does: the same verdict and the same violations (name, partition,
// producer). Evictions that arrive after records were dropped make the
// checker judge a producer again from the states it kept. (With idle
// evictions the fixed ordering may append a retry of an appended batch
// again through the unknown-producer path, the class of redpanda issue
// #22670 that the ticket fix does not cover: idemcheck validate stops at
// the first such NoDuplicateAppend, while the client-side history, in
// which the first attempt's outcome is unknown, stays Ok.)
func TestBoundedCheckAgrees(t *testing.T) {
	faults := sim.DefaultFaults()
	faults.Evict = 0.02
	evictions := 0
	for _, tc := range []struct {
		order impl.TicketOrder
		seed  int64
	}{{impl.BeforeStage, 1}, {impl.BeforeStage, 2}, {impl.AfterStage, 1}} {
		rng := rand.New(rand.NewPCG(uint64(tc.seed), 0xb0d))
		h, err := sim.RandomWorkload(rng, sim.WorkloadConfig{TicketOrder: tc.order, Producers: 1, Partitions: 1,
			Batches: 700, MaxRecords: 2, Faults: faults})
		if err != nil {
			t.Fatalf("%s seed %d: workload: %v", tc.order, tc.seed, err)
		}
		for _, e := range h.Events {
			if e.Kind == history.EvictProducer {
				evictions++
			}
		}
		full := checker.Check(h, checker.Options{KeepAll: true})
		bounded := checker.Check(h, checker.Options{})
		t.Logf("%s seed %d: %d events, %s %s", tc.order, tc.seed, len(h.Events), full.Verdict, violationKeys(full))
		if full.Verdict != bounded.Verdict || violationKeys(full) != violationKeys(bounded) {
			t.Fatalf("%s seed %d: full %s %s, bounded %s %s",
				tc.order, tc.seed, full.Verdict, violationKeys(full), bounded.Verdict, violationKeys(bounded))
		}
	}
	if evictions == 0 {
		t.Fatal("no workload recorded an eviction: the test does not exercise them")
	}
	t.Logf("%d evictions across the workloads", evictions)
}

func violationKeys(r checker.Result) string {
	var b strings.Builder
	for _, v := range r.Violations {
		fmt.Fprintf(&b, "%s@%s/%d ", v.Name, v.Partition, v.PID)
	}
	return b.String()
}
