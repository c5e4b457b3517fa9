package agreement

import (
	"slices"

	"github.com/idemcheck/idemcheck/checker"
	"github.com/idemcheck/idemcheck/history"
)

// shrink returns a smaller history that still has property keep (h has
// it): without the internal and environment events other than
// EvictProducer, then without whole operations and evictions one at a
// time while keep holds, then with times and op ids renumbered from 0 and
// 1. Every candidate is a consistent history.
func shrink(h history.History, keep func(history.History) bool) history.History {
	try := func(x history.History) bool {
		return len(checker.Operations(x)) > 0 && consistent(x) && keep(x)
	}
	if x := filter(h, func(e history.Event) bool {
		return e.Kind == history.Replicate || e.Kind == history.Return || e.Kind == history.EvictProducer
	}); try(x) {
		h = x
	}
	for changed := true; changed; {
		changed = false
		for _, id := range opIDs(h) {
			x := filter(h, func(e history.Event) bool {
				return e.Kind == history.EvictProducer || e.Kind == history.BumpEpoch || e.Kind == history.ChangeTerm || e.Op != id
			})
			if try(x) {
				h, changed = x, true
			}
		}
		for i := len(h.Events) - 1; i >= 0; i-- {
			if i >= len(h.Events) || h.Events[i].Kind != history.EvictProducer {
				continue
			}
			x := h
			x.Events = slices.Delete(slices.Clone(h.Events), i, i+1)
			if try(x) {
				h, changed = x, true
			}
		}
	}
	if x := renumber(h); try(x) {
		h = x
	}
	return h
}

// filter returns h with the events for which keep is true.
func filter(h history.History, keep func(history.Event) bool) history.History {
	x := history.History{Header: h.Header}
	for _, e := range h.Events {
		if keep(e) {
			x.Events = append(x.Events, e)
		}
	}
	return x
}

// opIDs lists the op ids of h's Replicate events, in order.
func opIDs(h history.History) []int64 {
	var ids []int64
	for _, e := range h.Events {
		if e.Kind == history.Replicate {
			ids = append(ids, e.Op)
		}
	}
	return ids
}

// renumber maps h's times to 0, 1, ... (equal times stay equal) and its
// op ids to 1, 2, ... in call order.
func renumber(h history.History) history.History {
	x := history.History{Header: h.Header}
	ids := map[int64]int64{}
	var t, last int64 = -1, -1
	for _, e := range h.Events {
		if e.Time != last || t < 0 {
			t++
			last = e.Time
		}
		e.Time = t
		switch {
		case e.Kind == history.Replicate:
			ids[e.Op] = int64(len(ids) + 1)
			e.Op = ids[e.Op]
		case e.Kind == history.Return || e.Kind.Internal():
			e.Op = ids[e.Op]
		}
		x.Events = append(x.Events, e)
	}
	return x
}

// consistent reports whether history.Stream accepts every event of h.
func consistent(h history.History) bool {
	var s history.Stream
	for _, e := range h.Events {
		if s.Check(e) != nil {
			return false
		}
	}
	return true
}
