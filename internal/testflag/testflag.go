package testflag

import (
	"flag"
	"fmt"
	"regexp"
	"strings"
	"testing"

	// datadriven defines -rewrite in its init; Rewrite reads that flag so
	// that one flag rewrites a package's scripts and its other golden files.
	_ "github.com/cockroachdb/datadriven"
)

var (
	seedFlag  = flag.Int64("seed", 0, "run every randomized test with this seed only (0: each test's own seeds)")
	seedsFlag = flag.Int("seeds", 0, "number of seeds of every randomized test (0: each test's default)")
	firstFlag = flag.Int64("seed.first", 1, "first seed of the randomized tests' range")
)

// Rewrite reports whether the tests run with -rewrite: golden files are
// to be rewritten rather than compared with.
func Rewrite() bool {
	f := flag.Lookup("rewrite")
	return f != nil && f.Value.String() == "true"
}

// Seeds returns the seeds a randomized test runs: -seed alone if it is
// set; else -seeds seeds (or def when -seeds is not set) from -seed.first
// on.
func Seeds(def int) []int64 {
	if *seedFlag != 0 {
		return []int64{*seedFlag}
	}
	n := def
	if *seedsFlag > 0 {
		n = *seedsFlag
	}
	seeds := make([]int64, n)
	for i := range seeds {
		seeds[i] = *firstFlag + int64(i)
	}
	return seeds
}

// Run runs f once per seed of Seeds(def), each as a subtest named
// "seed=N". When one fails, its log ends with the command that reruns
// that seed alone.
func Run(t *testing.T, def int, f func(t *testing.T, seed int64)) {
	t.Helper()
	for _, seed := range Seeds(def) {
		t.Run(fmt.Sprintf("seed=%d", seed), func(t *testing.T) {
			defer func() {
				if t.Failed() {
					t.Logf("rerun this seed alone: %s", Rerun(t, seed))
				}
			}()
			f(t, seed)
		})
	}
}

// Rerun returns the go test command that reruns test t (a test or a
// subtest) with the given seed.
func Rerun(t testing.TB, seed int64) string {
	parts := strings.Split(t.Name(), "/")
	for i, p := range parts {
		parts[i] = "^" + regexp.QuoteMeta(p) + "$"
	}
	return fmt.Sprintf("go test -run '%s' -seed %d", strings.Join(parts, "/"), seed)
}
