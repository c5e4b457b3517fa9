package refcheck

import (
	"errors"
	"fmt"
	"math"
	"sort"
	"strings"

	"github.com/idemcheck/idemcheck/history"
	"github.com/idemcheck/idemcheck/spec"
)

// Verdict is the reference checker's answer for a history.
type Verdict string

// Verdicts.
const (
	// Ok: some explanation of the history keeps every obligation.
	Ok Verdict = "Ok"
	// Illegal: no explanation does.
	Illegal Verdict = "Illegal"
)

// Limits of the enumeration.
const (
	// MaxOps is the most operations (Replicate calls) a history may have.
	MaxOps = 24
	// MaxAmbiguous is the most ambiguous operations a history may have.
	MaxAmbiguous = 12
	// MaxScenarios is the most explanations (subsets of ambiguous
	// operations times eviction placements) tried for one producer.
	MaxScenarios = 1 << 16
)

// Errors of [Check].
var (
	// ErrUnsupported: the history is beyond the limits of the enumeration
	// (or names rules the checker does not know); no verdict.
	ErrUnsupported = errors.New("refcheck: unsupported history")
	// ErrInvalid: the history breaks the consistency rules of
	// [history.Stream]; no verdict.
	ErrInvalid = errors.New("refcheck: inconsistent history")
)

// Result is a verdict and, for Illegal, a short reason for debugging.
type Result struct {
	Verdict Verdict
	// Reason says, for Illegal, which obligation fails: a partition-level
	// clash, or for a producer the failure of the explanation that got
	// furthest.
	Reason string
}

// ClassifyFunc has the signature of [spec.Classify].
type ClassifyFunc func(spec.ProducerView, spec.Batch) (spec.Class, int, bool)

// Options configure [Options.Check].
type Options struct {
	// Rules is the broker dialect ([spec.Redpanda] when empty).
	Rules spec.Rules
	// Classify replaces [spec.Classify] when not nil. It exists so that a
	// test can break one rule on purpose and show that a differential
	// test notices; leave it nil.
	Classify ClassifyFunc
}

// Check judges h under the dialect rules. See the package documentation
// for what Ok and Illegal mean.
func Check(h history.History, rules spec.Rules) (Result, error) {
	return Options{Rules: rules}.Check(h)
}

// op is one operation.
type op struct {
	id          int64
	partition   string
	pid         int64
	epoch       int16
	first, last int32
	call, ret   int64 // ret is math.MaxInt64 for +∞
	outcome     outcome
	offset      int64          // when acked
	code        spec.ErrorCode // when failed definitely
}

type outcome uint8

const (
	acked outcome = iota + 1
	failed
	ambiguous
)

func (o *op) count() int64 { return spec.RecordCount(o.first, o.last) }

func (o *op) String() string {
	var res string
	switch o.outcome {
	case acked:
		res = fmt.Sprintf("ok@%d", o.offset)
	case failed:
		res = fmt.Sprintf("error %d", o.code)
	default:
		res = "ambiguous"
	}
	return fmt.Sprintf("op %d pid %d epoch %d [%d,%d] %s", o.id, o.pid, o.epoch, o.first, o.last, res)
}

// is reports whether o failed definitely with code c.
func (o *op) is(c spec.ErrorCode) bool { return o.outcome == failed && o.code == c }

type key struct {
	partition string
	pid       int64
}

// producer is the operations of one (partition, pid), in call order, and
// the times of its recorded evictions, in recorded order.
type producer struct {
	key       key
	ops       []*op
	evictions []int64
}

// Check judges h under o's dialect.
func (o Options) Check(h history.History) (Result, error) {
	rules, ok := spec.ParseRules(string(o.Rules))
	if !ok {
		return Result{}, fmt.Errorf("%w: unknown rules %q", ErrUnsupported, o.Rules)
	}
	classify := o.Classify
	if classify == nil {
		classify = spec.Classify
	}
	var s history.Stream
	for i, e := range h.Events {
		if err := s.Check(e); err != nil {
			return Result{}, fmt.Errorf("%w: event %d: %v", ErrInvalid, i+1, err)
		}
	}

	// Operations, by op id.
	var ops []*op
	byID := map[int64]*op{}
	var evictions []history.Event
	for _, e := range h.Events {
		switch e.Kind {
		case history.Replicate:
			x := &op{id: e.Op, partition: e.Partition, pid: e.PID, epoch: e.Epoch,
				first: e.First, last: e.Last, call: e.Time, ret: math.MaxInt64, outcome: ambiguous}
			ops = append(ops, x)
			byID[e.Op] = x
		case history.Return:
			x := byID[e.Op]
			switch e.Result {
			case history.OK:
				x.outcome, x.offset, x.ret = acked, e.Offset, e.Time
			case history.Failed:
				x.ret = e.Time
				if c := spec.ErrorCode(e.Error); !c.Ambiguous() {
					x.outcome, x.code = failed, c
				}
			}
		case history.EvictProducer:
			evictions = append(evictions, e)
		case history.LogBatch:
			return Result{}, fmt.Errorf("%w: LogBatch observations (the reference judges the write path, not a log read back)", ErrUnsupported)
		}
	}
	if len(ops) > MaxOps {
		return Result{}, fmt.Errorf("%w: %d operations, at most %d", ErrUnsupported, len(ops), MaxOps)
	}
	namb := 0
	for _, x := range ops {
		if x.outcome == ambiguous {
			namb++
		}
	}
	if namb > MaxAmbiguous {
		return Result{}, fmt.Errorf("%w: %d ambiguous operations, at most %d", ErrUnsupported, namb, MaxAmbiguous)
	}

	// (c) once per partition: it depends on no choice.
	if reason := checkPartitions(ops); reason != "" {
		return Result{Verdict: Illegal, Reason: reason}, nil
	}

	// (a) and (b) per producer.
	prods := map[key]*producer{}
	var keys []key
	for _, x := range ops {
		k := key{x.partition, x.pid}
		p := prods[k]
		if p == nil {
			p = &producer{key: k}
			prods[k] = p
			keys = append(keys, k)
		}
		p.ops = append(p.ops, x)
	}
	for _, e := range evictions {
		if p := prods[key{e.Partition, e.PID}]; p != nil {
			p.evictions = append(p.evictions, e.Time)
		}
	}
	sort.Slice(keys, func(i, j int) bool {
		if keys[i].partition != keys[j].partition {
			return keys[i].partition < keys[j].partition
		}
		return keys[i].pid < keys[j].pid
	})
	for _, k := range keys {
		ok, reason, err := explain(prods[k], rules, classify)
		if err != nil {
			return Result{}, err
		}
		if !ok {
			return Result{Verdict: Illegal, Reason: fmt.Sprintf("partition %q pid %d: %s", k.partition, k.pid, reason)}, nil
		}
	}
	return Result{Verdict: Ok}, nil
}

// checkPartitions checks (c1) and (c2) on every pair of acked operations
// of a partition and returns why they fail, or "".
func checkPartitions(ops []*op) string {
	for _, a := range ops {
		if a.outcome != acked {
			continue
		}
		for _, b := range ops {
			if b == a || b.outcome != acked || b.partition != a.partition {
				continue
			}
			same := a.pid == b.pid && a.first == b.first && a.last == b.last && a.offset == b.offset
			// (c1), each unordered pair once.
			if a.id < b.id && !same && a.offset <= b.offset+b.count()-1 && b.offset <= a.offset+a.count()-1 {
				return fmt.Sprintf("partition %q: %s and %s are different batches acked at overlapping offsets [%d,%d] and [%d,%d]",
					a.partition, a, b, a.offset, a.offset+a.count()-1, b.offset, b.offset+b.count()-1)
			}
			// (c2): a returned before b was called.
			if !(a.ret < b.call) {
				continue
			}
			inFlight := false // an attempt of b's batch called by a's return
			for _, z := range ops {
				if z.partition == b.partition && z.pid == b.pid && z.first == b.first && z.last == b.last && z.call <= a.ret {
					inFlight = true
				}
			}
			if !inFlight && b.offset < a.offset+a.count() {
				return fmt.Sprintf("partition %q: %s returned at t=%d, before %s was called at t=%d (and no attempt of its batch was), but its offset %d is below %d, the end of the first one's records",
					a.partition, a, a.ret, b, b.call, b.offset, a.offset+a.count())
			}
		}
	}
	return ""
}

// explain reports whether some explanation of p's operations keeps (a)
// and (b): every subset of the ambiguous operations as the ones that took
// effect, times every allowed placement of the evictions. If none does,
// reason is the failure of the explanation that got furthest.
func explain(p *producer, rules spec.Rules, classify ClassifyFunc) (ok bool, reason string, err error) {
	var amb []int // indices in p.ops of the ambiguous operations
	for i, x := range p.ops {
		if x.outcome == ambiguous {
			amb = append(amb, i)
		}
	}
	if n := len(evictionPlacements(p, nil)) << len(amb); n > MaxScenarios {
		return false, "", fmt.Errorf("%w: partition %q pid %d has %d explanations to try, at most %d",
			ErrUnsupported, p.key.partition, p.key.pid, n, MaxScenarios)
	}
	best := failure{depth: -1}
	for mask := 0; mask < 1<<len(amb); mask++ {
		took := make([]bool, len(p.ops))
		for b, i := range amb {
			took[i] = mask&(1<<b) != 0
		}
		for _, pl := range evictionPlacements(p, took) {
			f := replay(p.ops, took, pl, rules, classify)
			if f == nil {
				return true, "", nil
			}
			if f.redundant {
				continue
			}
			if f.depth > best.depth {
				best = *f
				best.reason += describeScenario(p.ops, took, pl)
			}
		}
	}
	return false, best.reason, nil
}

func describeScenario(ops []*op, took []bool, placement []int) string {
	var parts []string
	var tookIDs []string
	for i, x := range ops {
		if took[i] {
			tookIDs = append(tookIDs, fmt.Sprint(x.id))
		}
	}
	if len(tookIDs) > 0 {
		parts = append(parts, "ambiguous ops that took effect: "+strings.Join(tookIDs, ","))
	} else {
		parts = append(parts, "no ambiguous op took effect")
	}
	for _, pos := range placement {
		if pos < len(ops) {
			parts = append(parts, fmt.Sprintf("eviction before op %d", ops[pos].id))
		} else {
			parts = append(parts, "eviction after the last op")
		}
	}
	return " (in the explanation that got furthest: " + strings.Join(parts, "; ") + ")"
}

// evictionPlacements lists every allowed placement of p's evictions: for
// eviction i (in recorded order), the index in p.ops of the operation
// whose decision it comes before (len(p.ops) for after the last), the
// indices never decreasing. Only decided operations bound a placement:
// every operation with a definite outcome, and the ambiguous ones that
// took effect (took; nil: none did); an ambiguous operation that was lost
// may have failed before any decision.
func evictionPlacements(p *producer, took []bool) [][]int {
	n := len(p.ops)
	decided := func(i int) bool { return p.ops[i].outcome != ambiguous || took != nil && took[i] }
	allowed := func(t int64, pos int) bool {
		for i := 0; i < pos; i++ {
			if decided(i) && t < p.ops[i].call {
				return false
			}
		}
		for i := pos; i < n; i++ {
			if decided(i) && t > p.ops[i].ret {
				return false
			}
		}
		return true
	}
	var out [][]int
	var rec func(cur []int, from int)
	rec = func(cur []int, from int) {
		if len(cur) == len(p.evictions) {
			out = append(out, append([]int(nil), cur...))
			return
		}
		if len(out) > MaxScenarios {
			return // too many; explain reports ErrUnsupported
		}
		t := p.evictions[len(cur)]
		for pos := from; pos <= n; pos++ {
			if allowed(t, pos) {
				rec(append(cur, pos), pos)
			}
		}
	}
	rec(nil, 0)
	return out
}

// failure is why one explanation fails. depth orders explanations by how
// far they got: the number of operations decided, and one more for a
// failure of (b) after all were.
type failure struct {
	depth  int
	reason string
	// redundant: the explanation says an ambiguous operation took effect
	// although its batch would not be appended; the same explanation with
	// "lost" is tried too.
	redundant bool
}

// entry is a batch in the window: its sequence range, epoch and index in
// the producer's appended batches.
type entry struct {
	first, last int32
	epoch       int16
	batch       int
}

// appended is one appended batch of a producer, for (b).
type appended struct {
	op       *op
	offset   int64
	known    bool
	revealed *op // the duplicate whose ack revealed the offset, if any
}

// replay decides ops in call order with the ambiguous operations marked
// in took taking effect and an eviction before the decision of each index
// in placement; it returns nil if (a) and (b) hold.
func replay(ops []*op, took []bool, placement []int, rules spec.Rules, classify ClassifyFunc) *failure {
	var (
		known  bool
		epoch  int16
		window []entry
		log    []appended
	)
	evictBefore := make([]bool, len(ops)+1)
	for _, pos := range placement {
		evictBefore[pos] = true
	}
	fail := func(i int, format string, args ...any) *failure {
		return &failure{depth: i, reason: ops[i].String() + ": " + fmt.Sprintf(format, args...)}
	}
	for i, x := range ops {
		if evictBefore[i] {
			known, epoch, window = false, 0, nil
		}
		view := spec.ProducerView{Known: known, Epoch: epoch}
		for _, w := range window {
			view.Window = append(view.Window, spec.Req{Epoch: w.epoch, First: w.first, Last: w.last})
		}
		class, match, stale := classify(view, spec.Batch{PID: x.pid, Epoch: x.epoch, First: x.first, Last: x.last})
		amb := x.outcome == ambiguous
		appends := false // the batch is appended
		switch {
		case class == spec.ClassInvalid:
			if !amb && !x.is(spec.InvalidRequestCode) {
				return fail(i, "an invalid batch may only get INVALID_REQUEST")
			}
		case stale && (class != spec.ClassDuplicate || rules == spec.Kafka):
			switch {
			case amb, x.is(spec.InvalidProducerEpoch):
			case rules == spec.Redpanda && x.is(spec.OutOfOrderSequenceNumber):
			case x.outcome == acked:
				return fail(i, "a batch of epoch %d below the producer's %d (class %s) is never appended", x.epoch, epoch, class)
			default:
				return fail(i, "a batch of epoch %d below the producer's %d (class %s) may not get this answer", x.epoch, epoch, class)
			}
		case class == spec.ClassDuplicate:
			switch {
			case x.outcome == acked:
				a := &log[window[match].batch]
				if a.known && a.offset != x.offset {
					by := "its ack"
					if a.revealed != nil {
						by = fmt.Sprintf("the ack of op %d", a.revealed.id)
					}
					return fail(i, "a duplicate of op %d must be answered with its offset %d (known from %s)", a.op.id, a.offset, by)
				}
				if !a.known {
					a.offset, a.known, a.revealed = x.offset, true, x
				}
			case amb, x.is(spec.DuplicateSequenceNumber):
			case rules == spec.Redpanda && stale && x.is(spec.InvalidProducerEpoch):
			default:
				return fail(i, "a duplicate of op %d may only get its offset or DUPLICATE_SEQUENCE_NUMBER", log[window[match].batch].op.id)
			}
		case class == spec.ClassGap:
			switch {
			case amb, x.is(spec.OutOfOrderSequenceNumber), x.is(spec.DuplicateSequenceNumber):
			case x.outcome == acked:
				return fail(i, "a batch out of sequence (gap) is never appended%s", lastSeqNote(known, window))
			default:
				return fail(i, "a batch out of sequence (gap) may only get OUT_OF_ORDER_SEQUENCE_NUMBER or DUPLICATE_SEQUENCE_NUMBER%s", lastSeqNote(known, window))
			}
		case class.Appends():
			first := class == spec.ClassFirst || class == spec.ClassSkip
			switch {
			case x.outcome == acked:
				appends = true
			case amb:
				appends = took[i]
			case first && x.is(spec.PolicyViolation):
			case rules == spec.Kafka && class == spec.ClassSkip &&
				(x.is(spec.OutOfOrderSequenceNumber) || x.is(spec.UnknownProducerID)):
			default:
				return fail(i, "a batch of class %s must be appended%s", class, lastSeqNote(known, window))
			}
		default:
			return fail(i, "class %s of the decision rule is not handled", class)
		}
		if took[i] && !appends {
			return &failure{redundant: true}
		}
		if !appends {
			continue
		}
		if class != spec.ClassNext {
			known, epoch, window = true, x.epoch, nil
		}
		log = append(log, appended{op: x, offset: x.offset, known: x.outcome == acked})
		window = append(window, entry{first: x.first, last: x.last, epoch: x.epoch, batch: len(log) - 1})
		if len(window) > spec.WindowSize {
			window = window[len(window)-spec.WindowSize:]
		}
	}

	// (b): the smallest offset each append can have, given those before.
	var next int64 // the least offset the next append may take
	for k, a := range log {
		if a.known {
			if a.offset < next {
				var why string
				if k == 0 {
					why = "below 0"
				} else {
					prev := log[k-1]
					why = fmt.Sprintf("below %d, where the records appended before it (op %d and earlier) end at the earliest", next, prev.op.id)
				}
				by := "acked"
				if a.revealed != nil {
					by = fmt.Sprintf("revealed by the ack of op %d", a.revealed.id)
				}
				return &failure{depth: len(ops), reason: fmt.Sprintf("%s: its offset %d (%s) is %s", a.op, a.offset, by, why)}
			}
			next = a.offset
		}
		next += a.op.count()
	}
	return nil
}

// lastSeqNote describes the producer's state for a message.
func lastSeqNote(known bool, window []entry) string {
	if !known {
		return " (the producer is unknown)"
	}
	if len(window) == 0 {
		return " (the producer's window is empty)"
	}
	w := window[len(window)-1]
	return fmt.Sprintf(" (the producer's last batch is [%d,%d] epoch %d)", w.first, w.last, w.epoch)
}
