package checker

import "github.com/idemcheck/idemcheck/spec"

// Runs of unknown outcomes. A producer's call whose outcome is unknown
// and that must be appended if it reached the partition forks the replay
// in two: appended, or lost. A run of such calls, each the next batch
// after the one before, forks into one state per possible last appended
// call (and, for a producer the partition does not know, per first one),
// so a run of n calls makes the frontier grow with n and the replay
// quadratic. Yet while the run goes on, nothing tells those states
// apart, and the family of states is the same shape at every length:
//
//   - a known producer (the run's first call was next in sequence): any
//     prefix of the run appended, the rest lost (a lost call makes every
//     later call of the run a gap, which an unknown outcome leaves
//     without effect);
//   - a producer without state (the first call was a first contact or
//     the unknown-producer path): nothing appended, or any stretch of the
//     run from a call i to a call k, since a lost call leaves the
//     producer unknown again.
//
// So the replay keeps one state for the run (the state before it, plus
// where the run starts and how long it is) and forks it into the family
// only when a call comes that does not extend the run. With dominance
// (frontier.go) the family has at most WindowSize states per possible
// last call, and it is built once per run, so a run costs linear time.
// Runs are kept only in call-order replays (model.at set) and only where
// no eviction may fall inside them.

// startsRun reports whether the decision of in, an unknown outcome of an
// appending class c on s, may open a run.
func (m *model) startsRun(s *state, in *opRec, c spec.Class) bool {
	if m.at == nil || !m.noEviction(s, in) {
		return false
	}
	switch c {
	case spec.ClassNext:
		return s.known
	case spec.ClassFirst, spec.ClassSkip:
		return !s.known
	}
	return false
}

// noEviction reports whether no eviction may come before in's decision
// that s has not applied, and the evictions s has applied may come
// before it.
func (m *model) noEviction(s *state, in *opRec) bool {
	return in.evictMin <= s.evict && in.evictOrd <= s.evict && s.evict <= in.evictMax
}

// extendsRun reports whether in continues s's run: its outcome is
// unknown, and it is the next batch after the run's last one, in the same
// epoch, without wrapping (so it can match no batch of the window).
func (m *model) extendsRun(s *state, in *opRec) bool {
	if in.out() != outAmbiguous || !m.noEviction(s, in) || in.first > in.last {
		return false
	}
	last := m.at(s.runAt + s.runLen - 1)
	return in.epoch == last.epoch && int64(in.first) == int64(last.last)+1
}

// stepRun steps s, which holds a run, over in: it extends the run, or
// forks it into its family and steps each member.
func (m *model) stepRun(s state, in *opRec, out []branch, why bool) ([]branch, *failure) {
	if m.extendsRun(&s, in) {
		s.runLen++
		s.next++
		return append(out, branch{s: s, r: rulePersisted}), nil
	}
	n := len(out)
	var f *failure
	m.expandRun(s, func(e state) {
		var g *failure
		out, g = m.step(e, in, out, why)
		f = prefer(f, g)
	})
	if len(out) > n {
		return out, nil
	}
	return out, f
}

// expandRun calls yield with each state of s's run family (see the
// package comment above), leaving out members that another one
// dominates.
func (m *model) expandRun(s state, yield func(state)) {
	base := s
	base.runAt, base.runLen = 0, 0
	at, n := s.runAt, s.runLen
	if base.known {
		// Any prefix appended.
		e := base
		yield(e)
		for j := int32(0); j < n; j++ {
			e = appended(e, m.at(at+j), spec.ClassNext, -1)
			yield(e)
		}
		return
	}
	// Nothing appended, or the calls i..k-1. For one k, a start below
	// k-WindowSize leaves the same window with higher bounds than
	// k-WindowSize: dominated, so it is not built.
	yield(base)
	for i := int32(0); i < n; i++ {
		in := m.at(at + i)
		c := spec.ClassSkip
		if in.first == 0 {
			c = spec.ClassFirst
		}
		e := appended(base, in, c, -1)
		yield(e)
		for k := i + 2; k <= n && k-i <= windowSize; k++ {
			e = appended(e, m.at(at+k-1), spec.ClassNext, -1)
			yield(e)
		}
	}
}
