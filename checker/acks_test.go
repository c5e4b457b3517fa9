package checker

import (
	"math/rand"
	"testing"

	"github.com/idemcheck/idemcheck/internal/testflag"
)

// TestLogFloor: a call's floor is the highest end of the ranges acked by
// producers other than its own, as a plain scan of every ack finds it,
// for random acks of a few producers.
func TestLogFloor(t *testing.T) {
	testflag.Run(t, 1, func(t *testing.T, seed int64) {
		r := rand.New(rand.NewSource(seed))
		for round := 0; round < 200; round++ {
			var lc logCheck
			best := map[int64]int64{} // pid -> highest end
			for i := 0; i < 50; i++ {
				pid, end := r.Int63n(4), 1+r.Int63n(100)
				lc.raise(pid, end)
				best[pid] = max(best[pid], end)
				for q := int64(0); q < 5; q++ {
					want := int64(0)
					for p, e := range best {
						if p != q {
							want = max(want, e)
						}
					}
					if got := lc.floor(q, 0); got != want {
						t.Fatalf("round %d, after %d acks floor(%d) = %d, want %d", round, i+1, q, got, want)
					}
				}
			}
		}
	})
}
