package spec

import (
	"math/rand/v2"
	"testing"

	"github.com/idemcheck/idemcheck/internal/testflag"
)

// TestBranchNames checks that every branch has a unique name that
// parses back, and belongs to an action of the spec.
func TestBranchNames(t *testing.T) {
	seen := map[string]bool{}
	actions := map[Name]bool{}
	for _, n := range []Name{Replicate, ReserveTicket, StageWriteStart, StageWriteDone, UploadDone, RedeemTicket, FenceEpoch, Decide, ReleaseTicket, Return, EvictProducer, BumpEpoch, ChangeTerm} {
		actions[n] = true
	}
	for _, b := range AllBranches() {
		name := b.String()
		if seen[name] || name == "branch?" {
			t.Errorf("branch %d: name %q repeated or missing", b, name)
		}
		seen[name] = true
		if p, ok := ParseBranch(name); !ok || p != b {
			t.Errorf("ParseBranch(%q) = %v, %v", name, p, ok)
		}
		if !actions[b.Action()] {
			t.Errorf("branch %s: action %q is not the spec's", name, b.Action())
		}
	}
	if _, ok := ParseBranch("Decide/nonsense"); ok {
		t.Error("ParseBranch accepted an unknown name")
	}
}

// TestBranchesOfEnabled walks random behaviours with every switch on
// and checks that each enabled action takes a primary branch of its own
// action, and that counting branches does not change the state.
func TestBranchesOfEnabled(t *testing.T) {
	testflag.Run(t, walkSeeds, testBranchesOfEnabled)
}

func testBranchesOfEnabled(t *testing.T, seed int64) {
	cfg := Config{Producers: 2, Batches: 3, StageFailure: true, UploadFailure: true, FenceFailure: true,
		ClientTimeout: true, MaxRetries: 2, MaxEvictions: 1, MaxEpochBumps: 1, MaxTermChanges: 1, Window: 1}
	var cov Coverage
	r := rand.New(rand.NewPCG(uint64(seed), 3))
	for walk := 0; walk < 200; walk++ {
		s := Init(cfg)
		for {
			acts := Enabled(cfg, s)
			if len(acts) == 0 {
				break
			}
			a := acts[r.IntN(len(acts))]
			before := s.AppendBinary(nil)
			bs := s.AppendBranches(nil, cfg, a)
			if len(bs) == 0 || bs[0].Action() != a.Name || bs[0].Side() {
				t.Fatalf("walk %d: %s takes branches %v", walk, a, bs)
			}
			cov.Add(cfg, &s, a)
			if string(s.AppendBinary(nil)) != string(before) {
				t.Fatalf("walk %d: AppendBranches changed the state", walk)
			}
			if err := s.Apply(cfg, a); err != nil {
				t.Fatalf("walk %d: %v", walk, err)
			}
		}
	}
	for _, b := range []Branch{BranchDecideWindowTruncate, BranchDecideGapAppended, BranchFenceFailed, BranchEvictProducer, BranchDecideSkip, BranchChangeTerm} {
		if cov.Count(b) == 0 {
			t.Errorf("200 random behaviours never took %s", b)
		}
	}
}
