package agreement

import (
	"flag"
	"testing"
)

// The seeds of the randomized tests moved here from impl and
// checker/validate keep those packages' flags: -seed S reruns one seed,
// -seeds N runs seeds 1..N. (TestReferenceAgrees has its own,
// -agreement.seed and -agreement.n.)
var (
	seedFlag  = flag.Int64("seed", -1, "run the randomized tests with this seed only (-1: each test's default)")
	seedsFlag = flag.Int("seeds", 0, "number of seeds of the randomized tests (0: each test's default)")
)

// seedList returns the seeds a randomized test runs: -seed alone if set,
// else 1..-seeds, else 1..def.
func seedList(t *testing.T, def int) []int64 {
	t.Helper()
	if *seedFlag >= 0 {
		return []int64{*seedFlag}
	}
	n := def
	if *seedsFlag > 0 {
		n = *seedsFlag
	}
	seeds := make([]int64, n)
	for i := range seeds {
		seeds[i] = int64(i + 1)
	}
	return seeds
}

// seedOr returns -seed if set, else def.
func seedOr(def uint64) uint64 {
	if *seedFlag >= 0 {
		return uint64(*seedFlag)
	}
	return def
}
