package checker

import (
	"testing"

	"github.com/stretchr/testify/require"
)

// TestFrontierDominance: a frontier drops a state only when another of
// the same shape has offset bounds at or below all of its own, in
// whichever order the two arrive; states that differ in anything else
// (a window entry, a run, the epoch) are both kept, and incomparable
// bounds keep both.
func TestFrontierDominance(t *testing.T) {
	unknownEntry := func(lo int64) entry { return entry{op: 1, off: -1, lo: lo, first: 0, last: 0} }
	withEntry := func(minNext int64, e entry) state {
		s := state{known: true, minNext: minNext}
		s.push(e)
		return s
	}
	base := withEntry(5, unknownEntry(2))
	lower := withEntry(4, unknownEntry(1))
	mixed := withEntry(3, unknownEntry(4)) // lower minNext, higher lo
	otherOp := withEntry(5, entry{op: 9, off: -1, lo: 2})
	run := base
	run.runAt, run.runLen = 3, 1
	epoch := base
	epoch.epoch = 1
	for _, tc := range []struct {
		name string
		in   []state
		want []state
	}{
		{"lower bounds win", []state{base, lower}, []state{lower}},
		{"lower bounds win, other order", []state{lower, base}, []state{lower}},
		{"incomparable bounds", []state{base, mixed}, []state{base, mixed}},
		{"op ids do not count", []state{base, otherOp}, []state{base}},
		{"a run is another shape", []state{run, lower}, []state{run, lower}},
		{"an epoch is another shape", []state{epoch, lower}, []state{epoch, lower}},
	} {
		for _, big := range []bool{false, true} {
			var fs frontierSet
			var got []state
			at := func(i int) *state { return &got[i] }
			if big {
				// Force the map path with states of other shapes.
				for k := range linearMax {
					s := state{next: int32(100 + k)}
					if fs.admit(&s, at) {
						got = append(got, s)
					}
				}
			}
			n0 := len(got)
			for _, s := range tc.in {
				if fs.admit(&s, at) {
					got = append(got, s)
				}
			}
			got = compact(got, &fs)
			require.Equal(t, tc.want, got[n0:], "%s (map path %v)", tc.name, big)
		}
	}
}
