package agreement

import (
	"context"
	"errors"
	"math/rand/v2"
	"path/filepath"
	"testing"

	"github.com/idemcheck/idemcheck/checker/validate"
	"github.com/idemcheck/idemcheck/history"
	"github.com/idemcheck/idemcheck/impl"
	"github.com/idemcheck/idemcheck/impl/sim"
	"github.com/idemcheck/idemcheck/internal/mc"
	"github.com/idemcheck/idemcheck/internal/testflag"
	"github.com/idemcheck/idemcheck/spec"
)

// The tests of this file tie the white-box validator (checker/validate)
// to the model checker (internal/mc) and to the reference
// implementation (impl). -seed S reruns TestImplHistories and
// TestRandomWalks with seed S.

// TestImplHistories validates histories of the reference implementation
// (impl's random workloads, both orderings, with failures, timeouts,
// term changes and evictions): under its own ticket order every step the
// implementation records must be allowed by the spec; where the
// implementation breaks an invariant the validator must say which.
func TestImplHistories(t *testing.T) {
	seed := uint64(testflag.Seeds(1)[0])
	faults := sim.DefaultFaults()
	faults.Evict = 0.02
	faults.BumpEpoch = 0.02
	counts := map[string]int{}
	for i := 0; i < 200; i++ {
		order := impl.BeforeStage
		if i%2 == 1 {
			order = impl.AfterStage
		}
		rng := rand.New(rand.NewPCG(seed, uint64(i)))
		h, err := sim.RandomWorkload(rng, sim.WorkloadConfig{TicketOrder: order, Producers: 3, Batches: 5, Faults: faults})
		if err != nil {
			t.Fatalf("seed %d run %d: %v", seed, i, err)
		}
		err = validate.History(h, validate.Options{TicketOrder: validate.FromHeader})
		var we *validate.Error
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

// TestModelCheckerCounterexamples checks that the validator and the
// model checker agree: each counterexample history the checker writes
// is allowed step by step by the spec under its own ticket order and
// breaks, at its last event, the invariant the checker reported.
func TestModelCheckerCounterexamples(t *testing.T) {
	cfgs, err := filepath.Glob(filepath.Join(tlaDir, "MCBroker_*.cfg"))
	if err != nil || len(cfgs) == 0 {
		t.Fatal("no configs", err)
	}
	for _, path := range cfgs {
		cfg, err := mc.LoadConfig(path)
		if err != nil {
			t.Fatal(err)
		}
		if cfg.Spec.Producers*cfg.Spec.Batches > 4 || cfg.Spec.Bug != "" && cfg.Spec.Bug != spec.BugNone {
			continue // big models, and injected bugs the validator's spec does not have
		}
		if cfg.Spec.TieredPath {
			continue // the validator replays without the tiered path, and refuses its ticketless decision
		}
		res, err := mc.Run(context.Background(), cfg, mc.Options{})
		if err != nil {
			t.Fatal(err)
		}
		if res.Violation == nil || res.Violation.Invariant == spec.EveryCallReturns || len(cfg.Invariants) < len(spec.Invariants()) {
			continue // the validator checks every invariant
		}
		h := counterexample(res.Violation)
		err = validate.History(h, validate.Options{TicketOrder: validate.FromHeader, Window: cfg.Spec.Window})
		var we *validate.Error
		if !errors.As(err, &we) || we.Invariant != res.Violation.Invariant || we.Line != len(res.Violation.Steps) {
			t.Errorf("%s: validate = %v, want %s at line %d", cfg.Name, err, res.Violation.Invariant, len(res.Violation.Steps))
		}
	}
}

// TestRandomWalks walks the spec at random (fixed ordering with every
// environment action on), exports each walk as a history and checks
// that the validator accepts it unless the walk broke an invariant, in
// which case it must name that invariant.
func TestRandomWalks(t *testing.T) {
	seed := uint64(testflag.Seeds(1)[0])
	rng := rand.New(rand.NewPCG(seed, 1))
	cfg := spec.Config{Producers: 2, Batches: 3, StageFailure: true, UploadFailure: true, FenceFailure: true,
		ClientTimeout: true, MaxRetries: 2, MaxEvictions: 1, MaxEpochBumps: 1, MaxTermChanges: 1}
	for walk := 0; walk < 300; walk++ {
		s := spec.Init(cfg)
		h := history.History{}
		for {
			acts := spec.Enabled(cfg, s)
			if len(acts) == 0 || s.Viol != 0 {
				break
			}
			a := acts[rng.IntN(len(acts))]
			n, err := spec.Step(cfg, s, a)
			if err != nil {
				t.Fatalf("seed %d: enabled action %s refused: %v", seed, a, err)
			}
			s = n
			h.Events = append(h.Events, history.FromAction(a, int64(len(h.Events)), modelPartition))
		}
		err := validate.History(h, validate.Options{})
		broken := s.Broken()
		switch {
		case len(broken) == 0 && err != nil:
			t.Fatalf("seed %d walk %d: %v", seed, walk, err)
		case len(broken) > 0:
			var we *validate.Error
			if !errors.As(err, &we) || we.Invariant != broken[0] {
				t.Fatalf("seed %d walk %d: validate = %v, want %s", seed, walk, err, broken[0])
			}
		}
	}
}
