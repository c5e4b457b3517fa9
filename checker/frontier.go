package checker

// The replay keeps the set of model states that the operations so far
// allow (a frontier). Ambiguous outcomes fork it, so it must be kept
// small: two states that differ only in lower bounds of offsets (the
// producer's minNext and the lo of its batches whose offsets are not
// known) are ordered, because every later operation that the one with
// the higher bounds explains, the one with the lower bounds explains too
// (each bound only ever rejects an offset below it, and every step keeps
// the order). So a frontier keeps, of the states with one shape, only
// those no other state dominates. Op ids of window entries are left out
// of the shape as well: they name operations in explanations and never
// decide a step. This is what keeps a long run of unknown outcomes from
// growing the frontier with every possible count of appended records.

// shape is s without its offset lower bounds and op ids.
func (s state) shape() state {
	s.minNext = 0
	for i := 0; i < int(s.n); i++ {
		s.win[i].lo, s.win[i].op = 0, 0
	}
	return s
}

// dominates reports whether s explains everything t does: t has the same
// shape and bounds that are no lower.
func (s *state) dominates(t *state) bool {
	if s.minNext > t.minNext {
		return false
	}
	for i := 0; i < int(s.n); i++ {
		if s.win[i].off < 0 && s.win[i].lo > t.win[i].lo {
			return false
		}
	}
	return true
}

// frontierSet builds a frontier: the states admitted so far, with the
// dominated ones dropped. It is reused across steps; positions refer to
// the caller's slice, in which the caller appends each admitted state.
type frontierSet struct {
	// byShape maps shapes to positions once the frontier is large.
	byShape map[state][]int32
	dead    []bool
	n       int
	live    int
}

// linearMax is the frontier size up to which admit compares by scanning.
const linearMax = 16

func (f *frontierSet) reset() {
	f.n, f.live = 0, 0
	f.dead = f.dead[:0]
	if f.byShape != nil {
		clear(f.byShape)
	}
}

// admit decides about s, which the caller appends at position f.n if
// admit returns true; at returns the state at an earlier position. A
// state that an admitted one dominates is not admitted; admitted states
// that s dominates are marked dead (see alive).
func (f *frontierSet) admit(s *state, at func(i int) *state) bool {
	if f.n < linearMax && len(f.byShape) == 0 {
		for i := 0; i < f.n; i++ {
			if !f.dead[i] && f.sameShapeDominates(at(i), s) {
				return false
			}
		}
		for i := 0; i < f.n; i++ {
			if !f.dead[i] && f.sameShapeDominates(s, at(i)) {
				f.dead[i] = true
				f.live--
			}
		}
	} else {
		if f.byShape == nil {
			f.byShape = make(map[state][]int32)
		}
		if len(f.byShape) == 0 {
			for i := 0; i < f.n; i++ {
				if !f.dead[i] {
					k := at(i).shape()
					f.byShape[k] = append(f.byShape[k], int32(i))
				}
			}
		}
		k := s.shape()
		same := f.byShape[k]
		for _, i := range same {
			if !f.dead[i] && at(int(i)).dominates(s) {
				return false
			}
		}
		kept := same[:0]
		for _, i := range same {
			if !f.dead[i] && s.dominates(at(int(i))) {
				f.dead[i] = true
				f.live--
				continue
			}
			kept = append(kept, i)
		}
		f.byShape[k] = append(kept, int32(f.n))
	}
	f.dead = append(f.dead, false)
	f.n++
	f.live++
	return true
}

func (f *frontierSet) sameShapeDominates(s, t *state) bool {
	if s.part != t.part || s.next != t.next || s.evict != t.evict || s.epoch != t.epoch || s.known != t.known || s.n != t.n ||
		s.runAt != t.runAt || s.runLen != t.runLen {
		return false
	}
	for i := 0; i < int(s.n); i++ {
		a, b := &s.win[i], &t.win[i]
		if a.off != b.off || a.first != b.first || a.last != b.last || a.epoch != b.epoch {
			return false
		}
	}
	return s.dominates(t)
}

// alive reports whether the state at position i is still in the
// frontier.
func (f *frontierSet) alive(i int) bool { return !f.dead[i] }
