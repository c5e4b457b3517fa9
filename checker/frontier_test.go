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

// TestRevealRoom: a retry answered as a duplicate places its original,
// whose outcome was unknown, at the acked offset only where the records
// of the batches around it fit: [0,0]@0, [1,1] unknown, [2,2]@2, then the
// retry of [1,1] acked at 1 is Ok, at 2 overlaps [2,2]'s offset, at 0
// overlaps [0,0]'s.
func TestRevealRoom(t *testing.T) {
	for _, tc := range []struct {
		retryAt int64
		want    Verdict
	}{{1, Ok}, {2, Illegal}, {0, Illegal}} {
		h := (&hb{}).call(req{op: 1, first: 0, last: 0}).ok(1, 0).
			call(req{op: 2, first: 1, last: 1}).unknown(2).
			call(req{op: 3, first: 2, last: 2}).ok(3, 2).
			call(req{op: 4, first: 1, last: 1}).ok(4, tc.retryAt).h()
		for _, bounded := range []bool{false, true} {
			res := Check(h, Options{KeepAll: !bounded})
			require.Equal(t, tc.want, res.Verdict, "retry acked at %d: %v", tc.retryAt, res.Violations)
		}
	}
}
