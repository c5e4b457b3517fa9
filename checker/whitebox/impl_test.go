package whitebox

import (
	"errors"
	"math/rand/v2"
	"testing"

	"github.com/idemcheck/idemcheck/impl"
)

// TestImplHistories validates histories of the reference implementation
// (impl's random workloads, both orderings, with failures, timeouts,
// term changes and evictions): under its own ticket order every step the
// implementation records must be allowed by the spec; where the
// implementation breaks an invariant the validator must say which.
func TestImplHistories(t *testing.T) {
	seed := *seedFlag
	if seed == 0 {
		seed = 1
	}
	faults := impl.DefaultFaults()
	faults.Evict = 0.02
	faults.BumpEpoch = 0.02
	counts := map[string]int{}
	for i := 0; i < 200; i++ {
		order := impl.BeforeStage
		if i%2 == 1 {
			order = impl.AfterStage
		}
		rng := rand.New(rand.NewPCG(seed, uint64(i)))
		h, err := impl.RandomWorkload(rng, impl.WorkloadConfig{TicketOrder: order, Producers: 3, Batches: 5, Faults: faults})
		if err != nil {
			t.Fatalf("seed %d run %d: %v", seed, i, err)
		}
		err = ValidateHistory(h, Options{TicketOrder: FromHeader})
		var we *Error
		switch {
		case err == nil:
			counts[string(order)+" ok"]++
		case errors.As(err, &we) && we.Invariant != "":
			counts[string(order)+" "+we.Invariant]++
		default:
			t.Errorf("seed %d run %d (%s): %v", seed, i, order, err)
		}
	}
	t.Logf("verdicts: %v", counts)
}
