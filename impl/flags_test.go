package impl

import (
	"flag"
	"testing"
)

var (
	seedFlag  = flag.Int64("seed", -1, "run the randomized tests with this seed only")
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
