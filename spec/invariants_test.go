package spec

import (
	"math/rand/v2"
	"testing"

	"github.com/idemcheck/idemcheck/internal/testflag"
)

// The predicate cache tests check that Step's cache of the predicate
// invariants is exact: a step marks a predicate invariant in State.Viol
// exactly when the predicate, evaluated on the whole new state, is
// false for the first time. Step evaluates each predicate only after the
// one action that can falsify it, and only for the call's producer;
// these tests are what make that sound.

// TestPredicateCacheExhaustive checks every transition of every
// reachable state of small configs that break each predicate invariant:
// the pre-fix ordering (TicketOrderIsCallOrder, DecideInCallOrder), the
// release-before-decide bug (DecideInCallOrder) and the
// duplicate-offset bug (AckedInLog).
func TestPredicateCacheExhaustive(t *testing.T) {
	for _, tc := range []struct {
		name string
		cfg  Config
		want []string
	}{
		{"prefix_1x2", Config{TicketOrder: AfterStage, Producers: 1, Batches: 2},
			[]string{TicketOrderIsCallOrder, DecideInCallOrder}},
		{"prefix_retry", Config{TicketOrder: AfterStage, Producers: 1, Batches: 2, ClientTimeout: true, MaxRetries: 1, StageFailure: true},
			[]string{TicketOrderIsCallOrder, DecideInCallOrder}},
		{"bug_release", Config{Producers: 1, Batches: 2, Bug: BugReleaseBeforeDecide},
			[]string{DecideInCallOrder}},
		{"tiered", Config{Producers: 1, Batches: 2, KnownProducers: true, TieredPath: true},
			[]string{DecideInCallOrder}},
		{"bug_dupoffset", Config{Producers: 1, Batches: 2, ClientTimeout: true, MaxRetries: 1, Bug: BugDupLatestOffset},
			[]string{AckedInLog}},
		{"fixed_env_1x2", Config{Producers: 1, Batches: 2, StageFailure: true, UploadFailure: true, FenceFailure: true,
			ClientTimeout: true, MaxRetries: 1, MaxEvictions: 1, MaxEpochBumps: 1, MaxTermChanges: 1}, nil},
	} {
		t.Run(tc.name, func(t *testing.T) {
			broken := map[string]int{}
			seen := map[string]bool{}
			queue := []State{Init(tc.cfg)}
			var acts []Action
			for len(queue) > 0 {
				s := queue[0]
				queue = queue[1:]
				acts = AppendEnabled(acts[:0], tc.cfg, &s)
				for _, a := range acts {
					next := s.Clone()
					if err := next.Apply(tc.cfg, a); err != nil {
						t.Fatalf("%s: %v", a, err)
					}
					checkPredicateCache(t, s.Viol, a, &next, broken, "")
					if k := string(next.AppendBinary(nil)); !seen[k] {
						seen[k] = true
						queue = append(queue, next)
					}
				}
			}
			for _, name := range tc.want {
				if broken[name] == 0 {
					t.Errorf("no state breaks %s: the test would not notice a cache that never marks it", name)
				}
			}
			t.Logf("%d states; newly broken: %v", len(seen), broken)
		})
	}
}

// TestPredicateCacheRandom checks random behaviours of two producers
// with every environment action, under both orderings.
func TestPredicateCacheRandom(t *testing.T) {
	testflag.Run(t, walkSeeds, testPredicateCacheRandom)
}

func testPredicateCacheRandom(t *testing.T, seed int64) {
	rng := rand.New(rand.NewPCG(uint64(seed), 3))
	fixed := Config{Producers: 2, Batches: 3, StageFailure: true, UploadFailure: true, FenceFailure: true,
		ClientTimeout: true, MaxRetries: 2, MaxEvictions: 1, MaxEpochBumps: 1, MaxTermChanges: 1}
	prefix := fixed
	prefix.TicketOrder = AfterStage
	broken := map[string]int{}
	for _, cfg := range []Config{fixed, prefix} {
		var acts []Action
		for walk := 0; walk < 300; walk++ {
			s := Init(cfg)
			for {
				acts = AppendEnabled(acts[:0], cfg, &s)
				if len(acts) == 0 {
					break
				}
				a := acts[rng.IntN(len(acts))]
				before := s.Viol
				if err := s.Apply(cfg, a); err != nil {
					t.Fatalf("seed %d: %s: %v", seed, a, err)
				}
				checkPredicateCache(t, before, a, &s, broken, "seed "+itoa(seed)+": ")
			}
		}
	}
	if broken[TicketOrderIsCallOrder] == 0 {
		t.Errorf("seed %d: no walk broke TicketOrderIsCallOrder", seed)
	}
}

// checkPredicateCache fails t unless the step a, from a state whose
// Viol was before to s, marked each predicate invariant newly exactly
// when its predicate is newly false; it counts the newly broken ones.
func checkPredicateCache(t *testing.T, before uint8, a Action, s *State, broken map[string]int, prefix string) {
	t.Helper()
	for _, iv := range Invariants() {
		if iv.pred == nil || iv.Marked(before) {
			continue
		}
		o := iv.pred(s)
		if marked := iv.Marked(s.Viol); (o != nil) != marked {
			t.Fatalf("%safter %s, %s: the predicate finds %v, but Step marked it %v\n%s", prefix, a, iv.Name, o, marked, s)
		}
		if o != nil {
			broken[iv.Name]++
		}
	}
}
