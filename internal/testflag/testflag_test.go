package testflag

import (
	"slices"
	"testing"
)

// TestSeedsDefault checks the default: seeds 1..def, so a plain run is
// deterministic.
func TestSeedsDefault(t *testing.T) {
	if *seedFlag != 0 || *seedsFlag != 0 || *firstFlag != 1 {
		t.Skip("seed flags set on the command line")
	}
	if got := Seeds(3); !slices.Equal(got, []int64{1, 2, 3}) {
		t.Fatalf("Seeds(3) = %v, want [1 2 3]", got)
	}
}

// TestRerun checks that the rerun command anchors every part of the
// test's name.
func TestRerun(t *testing.T) {
	t.Run("seed=4", func(t *testing.T) {
		want := "go test -run '^TestRerun$/^seed=4$' -seed 4"
		if got := Rerun(t, 4); got != want {
			t.Fatalf("Rerun = %q, want %q", got, want)
		}
	})
}
