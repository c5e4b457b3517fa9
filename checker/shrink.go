package checker

import (
	"fmt"
	"io"
	"sort"
	"strings"

	"github.com/idemcheck/idemcheck/history"
	"github.com/idemcheck/idemcheck/spec"
)

// Shrink returns a small sub-history of h that is still Illegal with the
// same violation name as h's first violation: delta debugging (ddmin)
// over whole operations, each dropped with its Replicate, Return and
// internal events. Environment events are kept when they concern a kept
// partition or producer. A history that is not Illegal is returned as is.
func Shrink(h history.History, opts Options) history.History {
	res := Check(h, opts)
	if res.Verdict != Illegal || len(res.Violations) == 0 {
		return h
	}
	v := res.Violations[0]
	if !readViolation(v.Name) {
		// The write path's violations do not read the log read back:
		// the witness leaves the observations out.
		h = withoutObservations(h)
	}
	base := h
	still := func(ids []int64) bool {
		if len(ids) == 0 {
			return false
		}
		r := Check(subHistory(base, ids), opts)
		for _, w := range r.Violations {
			if w.Name == v.Name {
				return true
			}
		}
		return false
	}
	ops := Operations(h)
	all := make([]int64, len(ops))
	for i, o := range ops {
		all[i] = o.Op
	}
	// Start from the violating producer (and the other operations the
	// violation names) when that is enough, and within it from a window
	// around the operations the violation names: on a big history each
	// test then checks a few operations, not the whole file.
	var focus []int64
	for _, o := range ops {
		if (o.Partition == v.Partition && o.PID == v.PID) || inOps(v.Ops, o.Op) {
			focus = append(focus, o.Op)
		}
	}
	ids := all
	if len(focus) < len(all) {
		base = subHistory(h, focus)
		if still(focus) {
			ids = focus
		} else {
			base = h
		}
	}
	if w := window(ids, v.Ops); len(w) < len(ids) {
		// The window alone, or with the part's first operations (which
		// make the producer known to the partition, say, while the ones
		// between them and the window are a long run that changes
		// nothing).
		head := ids[:min(shrinkHead, len(ids))]
		if hw := union(head, w); still(w) {
			ids = w
		} else if len(hw) < len(ids) && still(hw) {
			ids = hw
		}
	}
	ids = ddmin(ids, still)
	return subHistory(base, ids)
}

// readViolation reports whether name is one of the read check's.
func readViolation(name string) bool {
	for _, rp := range spec.ReadProperties() {
		if rp.Name == name {
			return true
		}
	}
	return false
}

// withoutObservations returns h without its LogBatch events.
func withoutObservations(h history.History) history.History {
	out := history.History{Header: h.Header, Events: make([]history.Event, 0, len(h.Events))}
	for _, e := range h.Events {
		if !e.Kind.Observation() {
			out.Events = append(out.Events, e)
		}
	}
	return out
}

// shrinkWindow is how many operations before the first one a violation
// names the first cut of [Shrink] keeps; shrinkHead is how many of the
// first operations it may keep besides.
const (
	shrinkWindow = 64
	shrinkHead   = 8
)

// union returns the sorted ids of a and b, both sorted.
func union(a, b []int64) []int64 {
	out := make([]int64, 0, len(a)+len(b))
	i, j := 0, 0
	for i < len(a) || j < len(b) {
		switch {
		case j == len(b) || i < len(a) && a[i] < b[j]:
			out = append(out, a[i])
			i++
		case i == len(a) || b[j] < a[i]:
			out = append(out, b[j])
			j++
		default:
			out = append(out, a[i])
			i, j = i+1, j+1
		}
	}
	return out
}

// window returns the ids (sorted) from shrinkWindow before the first of
// named to the last of named.
func window(ids []int64, named []Operation) []int64 {
	if len(named) == 0 {
		return ids
	}
	lo, hi := named[0].Op, named[0].Op
	for _, o := range named {
		lo, hi = min(lo, o.Op), max(hi, o.Op)
	}
	i := sort.Search(len(ids), func(i int) bool { return ids[i] >= lo })
	j := sort.Search(len(ids), func(j int) bool { return ids[j] > hi })
	return ids[max(0, i-shrinkWindow):j]
}

func inOps(ops []Operation, id int64) bool {
	for _, o := range ops {
		if o.Op == id {
			return true
		}
	}
	return false
}

// ddmin is Zeller's delta debugging: it returns a subset of c, minimal in
// the sense that removing any one element makes test fail, and for which
// test holds (test(c) must hold).
func ddmin(c []int64, test func([]int64) bool) []int64 {
	n := 2
	for len(c) >= 2 {
		chunks := chunk(c, n)
		reduced := false
		for _, ch := range chunks {
			if test(ch) {
				c, n, reduced = ch, 2, true
				break
			}
		}
		// With two chunks the complements are the chunks themselves.
		if !reduced && n > 2 {
			for i := range chunks {
				comp := complement(chunks, i)
				if test(comp) {
					c, n, reduced = comp, max(n-1, 2), true
					break
				}
			}
		}
		if !reduced {
			if n >= len(c) {
				break
			}
			n = min(2*n, len(c))
		}
	}
	return c
}

func chunk(c []int64, n int) [][]int64 {
	var r [][]int64
	for i := 0; i < n; i++ {
		lo, hi := i*len(c)/n, (i+1)*len(c)/n
		if lo < hi {
			r = append(r, c[lo:hi])
		}
	}
	return r
}

func complement(chunks [][]int64, skip int) []int64 {
	var r []int64
	for i, ch := range chunks {
		if i != skip {
			r = append(r, ch...)
		}
	}
	return r
}

// subHistory keeps the events of the operations ids (sorted) and the
// environment events of their partitions and producers.
func subHistory(h history.History, ids []int64) history.History {
	keep := func(op int64) bool {
		i := sort.Search(len(ids), func(i int) bool { return ids[i] >= op })
		return i < len(ids) && ids[i] == op
	}
	parts := map[string]bool{}
	pids := map[int64]bool{}
	producers := map[partKey]bool{}
	for _, e := range h.Events {
		if e.Kind == history.Replicate && keep(e.Op) {
			parts[e.Partition], pids[e.PID], producers[partKey{e.Partition, e.PID}] = true, true, true
		}
	}
	out := history.History{Header: h.Header}
	for _, e := range h.Events {
		var k bool
		switch {
		case e.Kind == history.Replicate || e.Kind == history.Return || e.Kind.Internal():
			k = keep(e.Op)
		case e.Kind == history.EvictProducer:
			k = producers[partKey{e.Partition, e.PID}]
		case e.Kind == history.ChangeTerm || e.Kind == history.LogBatch:
			// (A witness keeps its partitions' observations: they are
			// few, and a read-side violation needs them.)
			k = parts[e.Partition]
		case e.Kind == history.BumpEpoch:
			k = pids[e.PID]
		}
		if k {
			out.Events = append(out.Events, e)
		}
	}
	return out
}

// FormatWitness prints a (small) history for people: one line per event
// in time order, the internal steps of an operation indented under it,
// preceded by a line per operation with its client-visible outcome.
func FormatWitness(h history.History) string {
	var b strings.Builder
	ops := Operations(h)
	fmt.Fprintf(&b, "%d operations:\n", len(ops))
	for _, o := range ops {
		fmt.Fprintf(&b, "  %s\n", o)
	}
	b.WriteString("events:\n")
	for _, e := range h.Events {
		indent := "  "
		if e.Kind.Internal() {
			indent = "      "
		}
		fmt.Fprintf(&b, "%s%s\n", indent, e)
	}
	return b.String()
}

// ShrinkReader is [Shrink] for a history too big to hold: given the
// violation v that [CheckReader] found in a history, it reads the same
// history again from r keeping only the events of v's producer, of the
// operations v names and the environment events that concern them, and
// shrinks that to a minimal witness with v's violation. Its memory is that
// of the kept events.
func ShrinkReader(r history.Reader, v *Violation, opts Options) (history.History, error) {
	h, err := readKept(r, []partKey{{v.Partition, v.PID}}, []*Violation{v})
	if err != nil {
		return history.History{}, err
	}
	return Shrink(h, opts), nil
}

// FailingHistory reads again, from r, the history that res judged (from
// [CheckReader] or [Check]) and keeps what explains its verdict: every
// event of each part that is not Ok, of the operations its violations
// name, and the environment events of their producers and partitions
// (all of the history when every part is Ok). [Shrink] and [Visualize]
// give on it what they give on the whole history, within the memory of
// the failing producers.
func FailingHistory(r history.Reader, res Result) (history.History, error) {
	var keys []partKey
	for _, p := range res.Parts {
		if p.Verdict != Ok {
			keys = append(keys, partKey{p.Partition, p.PID})
		}
	}
	if len(keys) == 0 {
		return readKept(r, nil, nil)
	}
	return readKept(r, keys, res.Violations)
}

// readKept reads r and keeps the events of the operations of the parts
// keys and of the operations the violations vs name, and the environment
// events of their producers and partitions; nil keys keep everything. It
// also keeps the operations acked at the offset of an AckedInLog
// violation: one found by the bounded check may not name the other
// operation there.
func readKept(r history.Reader, keyList []partKey, vs []*Violation) (history.History, error) {
	var named, clashes []Operation
	for _, v := range vs {
		named = append(named, v.Ops...)
		if v.Name == AckedInLog {
			clashes = append(clashes, v.Ops...)
		}
	}
	all := keyList == nil
	keys, parts := map[partKey]bool{}, map[partKey]bool{}
	for _, k := range keyList {
		keys[k], parts[k] = true, true
	}
	ids := map[int64]bool{}
	for _, o := range named {
		keys[partKey{o.Partition, o.PID}] = true
		ids[o.Op] = true
	}
	partitions, pids := map[string]bool{}, map[int64]bool{}
	for k := range keys {
		partitions[k.partition], pids[k.pid] = true, true
	}
	kept := map[int64]bool{}
	h := history.History{Header: r.Header()}
	// The clash partners: calls of the clashes' partitions wait in
	// pending for their return; those acked at a clash offset go to
	// extra, merged back in input order (pos) at the end.
	type clashKey struct {
		partition string
		off       int64
	}
	type placed struct {
		pos int
		e   history.Event
	}
	clashAt, clashParts := map[clashKey]bool{}, map[string]bool{}
	for _, o := range clashes {
		if o.Result == history.OK {
			clashAt[clashKey{o.Partition, o.Offset}], clashParts[o.Partition] = true, true
		}
	}
	pending := map[int64]placed{}
	var extra []placed
	var pos []int
	for n := 0; ; n++ {
		e, err := r.Next()
		if err == io.EOF {
			break
		}
		if err != nil {
			return history.History{}, err
		}
		if c, ok := pending[e.Op]; ok && e.Kind == history.Return {
			delete(pending, e.Op)
			if e.Result == history.OK && clashAt[clashKey{c.e.Partition, e.Offset}] {
				extra = append(extra, c, placed{n, e})
				kept[e.Op] = true
				continue
			}
		}
		k := all
		switch {
		case all:
		case e.Kind == history.Replicate:
			k = ids[e.Op] || parts[partKey{e.Partition, e.PID}]
			if k {
				kept[e.Op] = true
			}
		case e.Kind == history.Return || e.Kind.Internal():
			// (Internal events may follow an unknown Return.)
			k = kept[e.Op]
		case e.Kind == history.EvictProducer:
			k = keys[partKey{e.Partition, e.PID}]
		case e.Kind == history.ChangeTerm || e.Kind == history.LogBatch:
			k = partitions[e.Partition]
		case e.Kind == history.BumpEpoch:
			k = pids[e.PID]
		}
		if k {
			h.Events = append(h.Events, e)
			if len(clashAt) > 0 {
				pos = append(pos, n)
			}
		} else if e.Kind == history.Replicate && clashParts[e.Partition] {
			pending[e.Op] = placed{n, e}
		}
	}
	if len(extra) > 0 {
		sort.Slice(extra, func(i, j int) bool { return extra[i].pos < extra[j].pos })
		merged := make([]history.Event, 0, len(h.Events)+len(extra))
		i := 0
		for _, x := range extra {
			for ; i < len(h.Events) && pos[i] < x.pos; i++ {
				merged = append(merged, h.Events[i])
			}
			merged = append(merged, x.e)
		}
		h.Events = append(merged, h.Events[i:]...)
	}
	return h, nil
}
