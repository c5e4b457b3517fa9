package impl

import (
	"math/rand/v2"
	"testing"

	"github.com/idemcheck/idemcheck/checker"
)

// checkedWorkload runs one seeded random workload (several producers and
// partitions, random completion orders, upload and stage failures, client
// timeouts) and judges its client-visible operations with the black-box
// checker.
func checkedWorkload(t *testing.T, order TicketOrder, seed int64) checker.Result {
	t.Helper()
	rng := rand.New(rand.NewPCG(uint64(seed), 0x1de))
	h, err := RandomWorkload(rng, WorkloadConfig{
		TicketOrder: order,
		Producers:   3,
		Partitions:  2,
		Batches:     6,
		Faults:      DefaultFaults(),
	})
	if err != nil {
		t.Fatalf("seed %d: workload: %v (rerun: go test ./impl -run %s -seed %d)", seed, err, t.Name(), seed)
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
	for _, seed := range seedList(t, 1000) {
		res := checkedWorkload(t, BeforeStage, seed)
		if res.Verdict != checker.Ok {
			t.Errorf("seed %d: verdict %s, want Ok (rerun: go test ./impl -run TestCheckerFindsNoViolationWithFix -seed %d):\n%s",
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
	seeds := seedList(t, 1000)
	var flagged []int64
	for _, seed := range seeds {
		res := checkedWorkload(t, AfterStage, seed)
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
