package checker

import (
	"fmt"
	"math"
	"slices"
	"strings"
	"time"
)

const (
	// maxFrontier bounds the states a replay keeps; beyond it the replay
	// gives up (the porcupine verdict stands, with a plainer explanation).
	maxFrontier = 1 << 14 // (frontierReason says the number)
	// orderWindow is how many operations before the first unexplained one
	// the order-free check may reorder.
	orderWindow = 32
	// orderSpan bounds the operations the order-free check takes: from
	// orderWindow before the first unexplained one to orderWindow after.
	orderSpan = 2*orderWindow + 64
	// orderMaxStates bounds the states the order-free check starts from.
	orderMaxStates = 256
	// orderBudget bounds the states the order-free check steps.
	orderBudget = 1 << 18
)

// trail is one state of a replay with the path that led to it.
type trail struct {
	s       state
	prev    *trail
	in      *opRec
	r       rule
	evicted bool
}

// replay steps the model through recs in the given order (nil: in
// order) from init. It returns the last frontier. If an operation has no
// successor, failAt is its position in the order, front is the frontier
// before it and f says why; if the frontier grows too large failAt is -2;
// otherwise failAt is -1.
func replay(m *model, recs []opRec, order []int32, init []*trail) (front []*trail, failAt int, f *failure) {
	return replayPath(m, recs, order, init, true, time.Time{})
}

// replayTimedOut is failAt when replayPath passed its deadline.
const replayTimedOut = -3

// replayPath is replay; without keepPath the trails do not link to their
// predecessors (memory bounded by the frontier), and a non-zero deadline
// stops it with failAt = replayTimedOut.
func replayPath(m *model, recs []opRec, order []int32, init []*trail, keepPath bool, deadline time.Time) (front []*trail, failAt int, f *failure) {
	front = init
	var br []branch
	var fs frontierSet
	n := len(recs)
	if order != nil {
		n = len(order)
	} else if m.callOrder {
		mr := *m
		mr.at = func(idx int32) *opRec { return &recs[idx] }
		m = &mr
	}
	for pos := 0; pos < n; pos++ {
		if !deadline.IsZero() && pos&1023 == 1023 && time.Now().After(deadline) {
			return front, replayTimedOut, nil
		}
		in := &recs[pos]
		if order != nil {
			in = &recs[order[pos]]
		}
		var next []*trail
		fs.reset()
		at := func(i int) *state { return &next[i].s }
		for _, t := range front {
			br, _ = m.step(t.s, in, br[:0], false)
			for _, b := range br {
				if !fs.admit(&b.s, at) {
					continue
				}
				u := &trail{s: b.s, in: in, r: b.r, evicted: b.evicted}
				if keepPath {
					u.prev = t
				}
				next = append(next, u)
			}
		}
		next = compact(next, &fs)
		if len(next) == 0 {
			for _, t := range front {
				_, g := m.step(t.s, in, nil, true)
				f = prefer(f, g)
			}
			if f == nil {
				f = &failure{name: NoSpuriousOutOfOrder, why: fmt.Sprintf("no behaviour of the model explains op %d %s -> %s", in.op, in.batch(), in.result())}
			}
			return front, pos, f
		}
		if len(next) > maxFrontier {
			return next, -2, nil
		}
		front = next
	}
	return front, -1, nil
}

// explain names and explains the violation of a part the model rejects.
func explain(p *part, opts Options) *Violation {
	v := &Violation{Partition: p.key.partition, PID: p.key.pid}
	m := newModel(opts, true)
	_, failAt, f := replayPath(m, p.recs, nil, p.initTrail(), false, time.Time{})
	if failAt < 0 {
		// Too many states to replay, or (NoCallOrder) a porcupine verdict
		// the call-order replay does not reproduce.
		v.Name = NoSpuriousOutOfOrder
		v.Explanation = "no order and outcome explains the operations (found without the call-order obligation), and the replay in call order could not narrow it down"
		return v
	}
	F := &p.recs[failAt]
	refs := append([]int64{F.op}, f.refs...)
	v.Name, v.Explanation = f.name, f.why
	if f.name == ContiguousAppends && F.out() == outOK {
		// A gap acked: is it a batch acked before (appended twice)?
		for i := failAt - 1; i >= 0; i-- {
			o := &p.recs[i]
			if o.out() == outOK && o.epoch == F.epoch && o.first == F.first && o.last == F.last && o.off != F.off {
				v.Name = NoDuplicateAppend
				v.Explanation = fmt.Sprintf("op %d %s was acked at offset %d, but the same batch was acked at offset %d by op %d: the batch was appended twice",
					F.op, F.batch(), F.off, o.off, o.op)
				refs = []int64{o.op, F.op}
				break
			}
		}
	}
	if !opts.NoCallOrder {
		if d := orderViolation(p, failAt, f, opts); d != nil {
			v.Name, v.Explanation, refs = DecideInCallOrder, d.why, d.refs
		}
	}
	v.Ops = p.operations(refs)
	return v
}

// orderViolation checks the part again without the call-order obligation
// for the operations from orderWindow before failAt to orderWindow after
// it (earlier ones stay in call order, later ones are left out). If some order that real time allows
// explains them all, the violation is DecideInCallOrder and it returns
// the explanation. The search is bounded by a count of model steps, not
// by time, so the name depends only on the history.
func orderViolation(p *part, failAt int, f *failure, opts Options) *failure {
	ws := max(0, failAt-orderWindow)
	we := min(len(p.recs), failAt+orderWindow+1)
	m := newModel(opts, true)
	start, fa, _ := replayPath(m, p.recs[:ws], nil, p.initTrail(), false, time.Time{})
	if fa != -1 {
		return nil
	}
	init := make([]state, len(start))
	for i, t := range start {
		init[i] = t.s
	}
	free := newModel(opts, false)
	init = expandAll(m, init, p.recs)
	if len(init) > orderMaxStates {
		// So many states before the window (a long run of unknown
		// outcomes) that a search over orders would spend its budget on
		// its first steps.
		return nil
	}
	start = start[:0]
	for _, s := range init {
		start = append(start, &trail{s: s})
	}
	lin := searchOrder(free, init, p.recs[ws:we], orderBudget)
	if lin == nil {
		return nil
	}
	order := make([]int32, len(lin))
	pos := make([]int, len(p.recs))
	for i, id := range lin {
		order[i] = int32(ws + id)
		pos[ws+id] = i
	}
	// Replay the order found to get one path of rules.
	front, fa, _ := replay(free, p.recs, order, start)
	if fa != -1 || len(front) == 0 {
		return nil
	}
	rules := make(map[int32]*trail)
	for t := front[0]; t != nil && t.in != nil; t = t.prev {
		rules[t.in.idx] = t
	}
	// The first call that a later call overtook, and its overtakers.
	var X *opRec
	var over []*opRec
	for x := ws; x < we && X == nil; x++ {
		for y := x + 1; y < we && len(over) < 3; y++ {
			if pos[y] < pos[x] {
				X = &p.recs[x]
				over = append(over, &p.recs[y])
			}
		}
	}
	if X == nil {
		return nil
	}
	F := &p.recs[failAt]
	var batches, names, deeds []string
	refs := []int64{F.op, X.op}
	for _, o := range over {
		batches = append(batches, fmt.Sprintf("batch %s (op %d)", o.batch(), o.op))
		names = append(names, fmt.Sprintf("op %d", o.op))
		deeds = append(deeds, fmt.Sprintf("op %d %s", o.op, deed(rules[o.idx])))
		refs = append(refs, o.op)
	}
	refs = append(refs, f.refs...)
	clause := f.short
	if clause == "" {
		clause = f.why
	}
	return &failure{
		name: DecideInCallOrder,
		why: fmt.Sprintf("batch %s (op %d) was called before %s but the partition decided %s first: %s and op %d then %s; in call order %s",
			X.batch(), X.op, strings.Join(batches, ", "), strings.Join(names, ", "),
			strings.Join(deeds, ", "), X.op, deed(rules[X.idx]), clause),
		refs: refs,
	}
}

// searchOrder looks for an order of recs that real time allows and that
// the model explains from init:
// depth first over frontiers (the sets of states an order allows so
// far, as the replay keeps them, so that ambiguous outcomes do not
// multiply the paths), trying the earliest call first, remembering the
// (operations placed, frontier) pairs already tried, and giving up once
// budget states have been stepped. It returns the order as indexes into
// recs, or nil.
func searchOrder(m *model, init []state, recs []opRec, budget int) []int {
	n := len(recs)
	if n > orderSpan {
		return nil
	}
	type key struct {
		done [orderSpan / 64]uint64
		hash uint64
	}
	var done [orderSpan / 64]uint64
	isDone := func(i int) bool { return done[i/64]&(1<<(i%64)) != 0 }
	seen := make(map[key][][]state)
	tried := func(front []state) bool {
		h := uint64(len(front))
		for i := range front {
			h = h*1099511628211 ^ front[i].hash()
		}
		k := key{done, h}
		for _, f := range seen[k] {
			if slices.Equal(f, front) {
				return true
			}
		}
		seen[k] = append(seen[k], front)
		return false
	}
	order := make([]int, 0, n)
	steps := 0
	var dfs func(front []state) bool
	dfs = func(front []state) bool {
		if len(order) == n {
			return true
		}
		if steps >= budget || tried(front) {
			return false
		}
		// The earliest return among the operations not placed: an
		// operation called after it cannot come next.
		minRet := int64(math.MaxInt64)
		for i := 0; i < n; i++ {
			if !isDone(i) {
				minRet = min(minRet, recs[i].ret)
			}
		}
		for i := 0; i < n; i++ {
			if isDone(i) || recs[i].call > minRet {
				continue
			}
			steps += len(front)
			next := m.stepFrontier(front, &recs[i])
			if len(next) == 0 {
				continue
			}
			done[i/64] |= 1 << (i % 64)
			order = append(order, i)
			if dfs(next) {
				return true
			}
			order = order[:len(order)-1]
			done[i/64] &^= 1 << (i % 64)
		}
		return false
	}
	if dfs(init) {
		return order
	}
	return nil
}

// deed describes what one step of a replay did, as a predicate ("was
// appended at offset 3").
func deed(t *trail) string {
	if t == nil {
		return "was decided"
	}
	in := t.in
	after := ""
	if t.evicted {
		after = " after the producer's eviction"
	}
	switch t.r {
	case ruleSkip:
		return fmt.Sprintf("was accepted through the unknown-producer path%s at offset %d", after, in.off)
	case ruleFirst:
		return fmt.Sprintf("was accepted as the producer's first batch%s at offset %d", after, in.off)
	case ruleNewEpoch:
		return fmt.Sprintf("opened epoch %d at offset %d", in.epoch, in.off)
	case ruleAppend:
		return fmt.Sprintf("was appended at offset %d", in.off)
	case ruleDup:
		return fmt.Sprintf("was answered as a duplicate at offset %d", in.off)
	case rulePersisted:
		return fmt.Sprintf("was appended but its client saw %s", in.result())
	case ruleLost:
		return fmt.Sprintf("was not appended and its client saw %s", in.result())
	}
	if in.out() == outAmbiguous {
		return "had no effect and its client saw " + in.result()
	}
	return "got " + in.result()
}
