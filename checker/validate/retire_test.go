package validate

import (
	"fmt"
	"testing"

	"github.com/idemcheck/idemcheck/internal/gen"
	"github.com/idemcheck/idemcheck/internal/testflag"
)

// TestRetryAfterRetire is the regression test of a validator bug: on a
// history of 64 or more operations the validator retires finished
// operations, and it used to drop the log entries a producer's window of
// finished requests still refers to, so a retry answered as a duplicate
// of a retired request was falsely reported as breaking AckedInLog (at
// line 3838 of this history). The generated history is valid (the
// black-box checker judges it Ok), so the validator must accept it.
func TestRetryAfterRetire(t *testing.T) {
	h, err := gen.History(gen.Options{Seed: 1, Partitions: 2, Producers: 2, Batches: 100, UnknownRate: 0.3, Retries: 3})
	if err != nil {
		t.Fatal(err)
	}
	if err := History(h, Options{}); err != nil {
		t.Fatalf("valid generated history refused: %v", err)
	}
}

// TestGeneratedWithRetries checks that the validator accepts generated
// histories (valid by construction) with client timeouts and retries,
// long enough that operations are retired many times over, so that a
// retry is often answered as a duplicate of a retired request
// (AckedInLog must hold). Each config runs seeds 1..4 (testflag: -seed,
// -seeds, -seed.first); it once started at a time-based seed, now at
// fixed ones, and -seed.first explores others.
func TestGeneratedWithRetries(t *testing.T) {
	configs := []gen.Options{
		{Partitions: 2, Producers: 2, Batches: 100, UnknownRate: 0.3, Retries: 3},
		{Partitions: 1, Producers: 3, Batches: 150, InFlight: 5, UnknownRate: 0.5, Retries: 2},
		{Partitions: 2, Producers: 2, Batches: 100, InFlight: 3, UnknownRate: 0.2, Retries: 2, EpochBumps: 2},
	}
	for ci, o := range configs {
		t.Run(fmt.Sprint(ci), func(t *testing.T) {
			testflag.Run(t, 4, func(t *testing.T, seed int64) {
				o.Seed = seed
				h, err := gen.History(o)
				if err != nil {
					t.Fatalf("seed %d: gen: %v", o.Seed, err)
				}
				if err := History(h, Options{}); err != nil {
					t.Fatalf("seed %d: valid generated history refused: %v", o.Seed, err)
				}
			})
		})
	}
}

// TestValidateAllocs checks that the validator does not allocate per
// event: its allocations (maps, producers, slices growing to their
// working size) do not grow with the length of a replay in which
// operations are retired over and over. Five times the events may cost
// at most one allocation more per thousand events.
func TestValidateAllocs(t *testing.T) {
	allocs := func(ops int) (float64, int) {
		h := longHistory(ops)
		return testing.AllocsPerRun(2, func() {
			if err := History(h, Options{}); err != nil {
				t.Fatal(err)
			}
		}), len(h.Events)
	}
	small, ns := allocs(4000)
	large, nl := allocs(20000)
	if extra, limit := large-small, float64(nl-ns)/1000; extra > limit {
		t.Errorf("%.0f allocations for %d events, %.0f for %d: %.0f more, want at most %.0f more", small, ns, large, nl, extra, limit)
	}
}
