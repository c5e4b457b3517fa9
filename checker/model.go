package checker

import (
	"fmt"
	"slices"
	"strings"

	"github.com/anishathalye/porcupine"
	"github.com/idemcheck/idemcheck/history"
	"github.com/idemcheck/idemcheck/spec"
)

// windowSize is how many appended batches the model remembers per
// producer for duplicate detection (the spec's).
const windowSize = spec.WindowSize

// The violation names: the spec's invariant names.
const (
	DecideInCallOrder    = spec.DecideInCallOrder
	NoSpuriousOutOfOrder = spec.NoSpuriousOutOfOrder
	ContiguousAppends    = spec.ContiguousAppends
	NoDuplicateAppend    = spec.NoDuplicateAppend
	AckedInLog           = spec.AckedInLog
)

// The read check's violation names: the spec's read-side properties
// (see logread.go).
const (
	LostWrite          = spec.LostWrite
	DuplicateInLog     = spec.DuplicateInLog
	LogInSequence      = spec.LogInSequence
	LogOffsetsDisjoint = spec.LogOffsetsDisjoint
)

// outcome classifies a Return for the model.
type outcome uint8

const (
	outOK         outcome = iota // acked with an offset
	outAmbiguous                 // unknown, timeout, not leader, other codes
	outOutOfOrder                // OUT_OF_ORDER_SEQUENCE_NUMBER
	outStaleEpoch                // INVALID_PRODUCER_EPOCH
	outDupSeq                    // DUPLICATE_SEQUENCE_NUMBER
	outNoProducer                // UNKNOWN_PRODUCER_ID
	outPolicy                    // POLICY_VIOLATION (Redpanda's producer limit)
	outInvalid                   // INVALID_REQUEST
)

// outcomeOf classifies a failed Return's error code.
func outcomeOf(code history.ErrorCode) outcome {
	switch code {
	case history.OutOfOrderSequenceNumber:
		return outOutOfOrder
	case history.InvalidProducerEpoch:
		return outStaleEpoch
	case history.DuplicateSequenceNumber:
		return outDupSeq
	case history.InvalidRequestCode:
		return outInvalid
	case history.UnknownProducerID:
		return outNoProducer
	case history.PolicyViolation:
		return outPolicy
	}
	return outAmbiguous
}

func offsetRange(off, n int64) string {
	if n == 1 {
		return fmt.Sprintf("offset %d", off)
	}
	return fmt.Sprintf("offsets %d..%d", off, off+n-1)
}

// entry is one appended batch in the producer's window.
type entry struct {
	op int64 // op id of the operation that appended it
	// off is its base offset, -1 while not known (an ambiguous append
	// whose offset no duplicate's answer has shown yet).
	off int64
	// lo is the lowest base offset it can have while off is unknown.
	lo    int64
	first int32
	last  int32
	epoch int16
}

func (e *entry) records() int64 { return spec.RecordCount(e.first, e.last) }

// state is the model state of one producer on one partition. It is a
// comparable value: == is state equality.
type state struct {
	// minNext is the lowest base offset the producer's next append can
	// take: every batch it appended before, acked or not, needs its
	// records below it.
	minNext int64
	part    int32
	next    int32 // index of the next call to decide (call-order mode)
	evict   int32 // evictions applied
	epoch   int16
	known   bool
	n       int8
	win     [windowSize]entry // the last n appended batches, oldest first
	// A run is runLen consecutive calls from call index runAt whose
	// outcomes are unknown, each the next batch in sequence after the one
	// before, which the state has not forked over yet (see runs.go). The
	// fields above are then the state before the run.
	runAt, runLen int32
}

func initState(part int32) state { return state{part: part} }

func (s *state) hash() uint64 {
	h := uint64(14695981039346656037)
	mix := func(v uint64) { h ^= v; h *= 1099511628211 }
	mix(uint64(s.minNext))
	mix(uint64(s.part)<<32 | uint64(uint32(s.next)))
	mix(uint64(s.evict)<<32 | uint64(uint16(s.epoch))<<8 | uint64(s.n))
	mix(uint64(s.runAt)<<32 | uint64(uint32(s.runLen)))
	if s.known {
		mix(1)
	}
	for i := 0; i < int(s.n); i++ {
		e := &s.win[i]
		mix(uint64(e.op))
		mix(uint64(e.off))
		mix(uint64(e.lo))
		mix(uint64(uint32(e.first))<<32 | uint64(uint32(e.last)))
	}
	return h
}

func (s state) String() string {
	if s.runLen > 0 {
		t := s
		t.runLen = 0
		return fmt.Sprintf("%s, then %d calls with unknown outcomes from call %d, any prefix of them appended", t, s.runLen, s.runAt)
	}
	if !s.known {
		if s.minNext > 0 {
			return fmt.Sprintf("no state (next offset at least %d)", s.minNext)
		}
		return "no state"
	}
	var b strings.Builder
	fmt.Fprintf(&b, "epoch %d:", s.epoch)
	for i := 0; i < int(s.n); i++ {
		e := s.win[i]
		if e.off >= 0 {
			fmt.Fprintf(&b, " [%d,%d]@%d", e.first, e.last, e.off)
		} else {
			fmt.Fprintf(&b, " [%d,%d]@≥%d", e.first, e.last, e.lo)
		}
	}
	return b.String()
}

// view is the producer's state as spec's decision rule reads it; buf
// holds the window.
func (s *state) view(buf *[windowSize]spec.Req) spec.ProducerView {
	for i := 0; i < int(s.n); i++ {
		e := &s.win[i]
		buf[i] = spec.Req{Epoch: e.epoch, First: e.first, Last: e.last, Offset: e.off}
	}
	return spec.ProducerView{Known: s.known, Epoch: s.epoch, Window: buf[:s.n]}
}

// push appends e to the window, dropping the oldest batch when full.
func (s *state) push(e entry) {
	if int(s.n) == windowSize {
		copy(s.win[:], s.win[1:])
		s.win[windowSize-1] = e
		return
	}
	s.win[s.n] = e
	s.n++
}

// clear forgets the producer (eviction); offsets still increase.
func (s *state) clear() {
	s.known, s.epoch, s.n, s.win = false, 0, 0, [windowSize]entry{}
}

// reveal sets the unknown offset of window entry j to off, as a
// duplicate's answer shows it, and raises the bounds of the batches after
// it. It reports false if off leaves no room for the batches around it.
func (s *state) reveal(j int, off int64) bool {
	if off < s.win[j].lo {
		return false
	}
	s.win[j].off = off
	cur := off + s.win[j].records()
	for i := j + 1; i < int(s.n); i++ {
		e := &s.win[i]
		if e.off >= 0 {
			if cur > e.off {
				return false
			}
			cur = e.off + e.records()
			continue
		}
		e.lo = max(e.lo, cur)
		cur = e.lo + e.records()
	}
	s.minNext = max(s.minNext, cur)
	return true
}

// rule says how the model explained one step.
type rule uint8

const (
	ruleFirst     rule = iota // first batch of a producer without state, first == 0
	ruleSkip                  // unknown-producer path, first > 0
	ruleNewEpoch              // first batch of a higher epoch
	ruleAppend                // next in sequence, appended
	ruleDup                   // duplicate, original offset returned
	rulePersisted             // ambiguous, assumed appended
	ruleLost                  // ambiguous, assumed not appended
	ruleNoEffect              // rejected or ambiguous, no effect
)

// branch is one successor state and the rule that produced it.
type branch struct {
	s       state
	r       rule
	evicted bool
}

// failure explains why no branch of the model explains an operation.
type failure struct {
	name  string
	why   string  // a sentence about the operation
	short string  // a clause for DecideInCallOrder, "op 1 was next in sequence"
	refs  []int64 // op ids of related operations
	// room: the operation was next in sequence but its offset leaves no
	// room for the producer's earlier records. Of the failures of the
	// states of a frontier, explanations prefer this one: it is the
	// branch where the batches with unknown outcomes were appended.
	room bool
}

// prefer returns the failure an explanation gives, of f (so far) and g.
func prefer(f, g *failure) *failure {
	if f == nil || (g != nil && g.room && !f.room) {
		return g
	}
	return f
}

// model is the sequential per-producer specification.
type model struct {
	callOrder bool
	// rules is the broker dialect whose answers are allowed.
	rules spec.Rules
	// at returns the part's operation at a call index. When it is set
	// (call-order replays), runs of unknown outcomes are kept as runs
	// instead of forking at each (see runs.go).
	at func(idx int32) *opRec
}

// newModel returns the model for opts's dialect.
func newModel(opts Options, callOrder bool) *model {
	rules, _ := spec.ParseRules(string(opts.Rules))
	return &model{callOrder: callOrder, rules: rules}
}

// step returns the successor states of s for in (appended to out), and
// when there are none and why is set, the reason.
func (m *model) step(s state, in *opRec, out []branch, why bool) ([]branch, *failure) {
	if s.part != in.part || (m.callOrder && s.next != in.idx) {
		return out, nil
	}
	if s.runLen > 0 {
		return m.stepRun(s, in, out, why)
	}
	s.next++
	// Evictions recorded before the call must have been applied. If the
	// call was decided, none recorded after its return may have been (an
	// ambiguous call taken as lost may have failed before any decision);
	// and none recorded after the return of a later call that was surely
	// decided (evictOrd, under the call-order obligation).
	hi := in.evictMax
	if m.callOrder {
		hi = in.evictOrd
	}
	if s.evict > hi {
		return out, nil
	}
	n := len(out)
	var f *failure
	for k := max(s.evict, in.evictMin); k <= hi; k++ {
		e := s
		if k > s.evict {
			e.clear()
			e.evict = k
		}
		m0 := len(out)
		var g *failure
		out, g = m.decide(e, in, out, why && f == nil)
		if f == nil {
			f = g
		}
		if k > in.evictMax || s.evict > in.evictMax {
			// Only the branches in which the call was never decided.
			kept := m0
			for i := m0; i < len(out); i++ {
				if out[i].r == ruleLost || out[i].r == ruleNoEffect && in.out() == outAmbiguous {
					out[kept] = out[i]
					kept++
				}
			}
			out = out[:kept]
		}
		for i := m0; i < len(out); i++ {
			out[i].evicted = k > s.evict
		}
	}
	if len(out) > n {
		return out, nil
	}
	return out, f
}

// appended returns s with in's batch of class c appended at base offset
// off (-1: unknown, somewhere from s.minNext on).
func appended(s state, in *opRec, c spec.Class, off int64) state {
	if c != spec.ClassNext {
		s.clear()
		s.known, s.epoch = true, in.epoch
	}
	lo := s.minNext
	if off >= 0 {
		lo = off
	}
	s.push(entry{op: in.op, off: off, lo: lo, first: in.first, last: in.last, epoch: in.epoch})
	s.minNext = lo + in.records()
	return s
}

// lastBatch describes the producer's last appended batch, for messages.
func lastBatch(s *state) string {
	if s.n == 0 {
		return fmt.Sprintf("the producer has epoch %d and no batch in its window", s.epoch)
	}
	e := s.win[s.n-1]
	return fmt.Sprintf("the producer's last batch was [%d,%d] (op %d) in epoch %d", e.first, e.last, e.op, e.epoch)
}

func lastRefs(s *state) []int64 {
	if s.n == 0 {
		return nil
	}
	return []int64{s.win[s.n-1].op}
}

// roomRefs names the window's batches: those whose records an acked
// offset below minNext leaves no room for are among them.
func roomRefs(s *state) []int64 {
	var r []int64
	for i := 0; i < int(s.n); i++ {
		r = append(r, s.win[i].op)
	}
	return r
}

// decide returns the successors of s for in by spec's decision rule
// ([spec.Classify]) and the answers the dialect allows for its class.
func (m *model) decide(s state, in *opRec, out []branch, why bool) ([]branch, *failure) {
	var buf [windowSize]spec.Req
	c, j, stale := spec.Classify(s.view(&buf), spec.Batch{Epoch: in.epoch, First: in.first, Last: in.last})
	kafka := m.rules == spec.Kafka
	fail := func(name string, refs []int64, short string, format string, args ...any) *failure {
		if !why {
			return nil
		}
		return &failure{name: name, why: fmt.Sprintf(format, args...), short: short, refs: refs}
	}
	noEffect := func() ([]branch, *failure) { return append(out, branch{s: s, r: ruleNoEffect}), nil }
	if stale && (kafka || c != spec.ClassDuplicate) {
		// A batch of an epoch the producer has left is never appended.
		switch in.out() {
		case outStaleEpoch, outAmbiguous:
			return noEffect()
		case outOutOfOrder:
			if !kafka {
				return noEffect()
			}
		case outOK:
			return out, fail(ContiguousAppends, lastRefs(&s), "",
				"op %d %s of epoch %d was acked at offset %d after the producer moved to epoch %d: epochs never go back",
				in.op, in.batch(), in.epoch, in.off, s.epoch)
		}
		return out, fail(NoSpuriousOutOfOrder, lastRefs(&s), "",
			"op %d %s of epoch %d got %s, but a batch of an epoch below the producer's %d gets INVALID_PRODUCER_EPOCH%s",
			in.op, in.batch(), in.epoch, in.result(), s.epoch, pick(kafka, "", " or OUT_OF_ORDER_SEQUENCE_NUMBER"))
	}
	switch c {
	case spec.ClassFirst, spec.ClassSkip, spec.ClassNewEpoch, spec.ClassNext:
		r := ruleAppend
		switch c {
		case spec.ClassFirst:
			r = ruleFirst
		case spec.ClassSkip:
			r = ruleSkip
		case spec.ClassNewEpoch:
			r = ruleNewEpoch
		}
		var ctx string
		var refs []int64
		if why {
			switch c {
			case spec.ClassFirst, spec.ClassSkip:
				ctx = "the producer had no state on the partition, so any first sequence is accepted"
			case spec.ClassNewEpoch:
				ctx = fmt.Sprintf("it starts the producer's new epoch %d at sequence 0", in.epoch)
			default:
				ctx = lastBatch(&s)
				refs = lastRefs(&s)
			}
		}
		switch in.out() {
		case outOK:
			if in.off < s.minNext {
				f := fail(ContiguousAppends, roomRefs(&s), "",
					"op %d %s was acked at offset %d, but the producer's batches appended before it (acked or not) reach offset %d: a producer's appends take increasing offsets, one per record",
					in.op, in.batch(), in.off, s.minNext-1)
				if f != nil && c == spec.ClassNext && s.n > 0 && s.win[s.n-1].off < 0 {
					e := s.win[s.n-1]
					f.why = fmt.Sprintf("op %d %s was acked at offset %d, but it is next in sequence after op %d [%d,%d], whose outcome is unknown: op %d must then have been appended, and the producer's batches before op %d take offsets up to %d (one per record), so op %d cannot start at %d",
						in.op, in.batch(), in.off, e.op, e.first, e.last, e.op, in.op, s.minNext-1, in.op, in.off)
				}
				if f != nil {
					f.room = true
				}
				return out, f
			}
			return append(out, branch{s: appended(s, in, c, in.off), r: r}), nil
		case outAmbiguous:
			if m.startsRun(&s, in, c) {
				s.runAt, s.runLen = in.idx, 1
				return append(out, branch{s: s, r: rulePersisted}), nil
			}
			return append(out,
				branch{s: appended(s, in, c, -1), r: rulePersisted},
				branch{s: s, r: ruleLost}), nil
		case outPolicy:
			if c == spec.ClassFirst || c == spec.ClassSkip {
				return noEffect() // the partition's producer limit
			}
		case outOutOfOrder, outNoProducer:
			if kafka && c == spec.ClassSkip {
				// KAFKA-18202, KAFKA-15591; UNKNOWN_PRODUCER_ID before 2.5.
				return noEffect()
			}
		}
		return out, fail(NoSpuriousOutOfOrder, refs, fmt.Sprintf("op %d was next in sequence", in.op),
			"op %d %s got %s but it was next in sequence (%s), so it must be appended",
			in.op, in.batch(), in.result(), ctx)
	case spec.ClassDuplicate:
		e := s.win[j]
		refs := []int64{e.op}
		switch in.out() {
		case outOK:
			if e.off >= 0 {
				if in.off == e.off {
					return append(out, branch{s: s, r: ruleDup}), nil
				}
				return out, fail(AckedInLog, refs, "",
					"op %d %s is a retry of op %d's batch, appended at offset %d, but was acked at offset %d: a duplicate must return the original offset",
					in.op, in.batch(), e.op, e.off, in.off)
			}
			if !s.reveal(j, in.off) {
				return out, fail(ContiguousAppends, refs, "",
					"op %d %s is a retry of op %d's batch (outcome unknown) and was acked at offset %d, which leaves no room for the records of the producer's batches before and after it",
					in.op, in.batch(), e.op, in.off)
			}
			return append(out, branch{s: s, r: ruleDup}), nil
		case outAmbiguous, outDupSeq:
			return noEffect()
		case outStaleEpoch:
			if stale {
				return noEffect()
			}
		}
		return out, fail(NoSpuriousOutOfOrder, refs, fmt.Sprintf("op %d was a duplicate of op %d", in.op, e.op),
			"op %d %s got %s but it is a retry of op %d's batch, still among the producer's last %d batches, so it must get the original offset",
			in.op, in.batch(), in.result(), e.op, windowSize)
	case spec.ClassInvalid:
		switch in.out() {
		case outInvalid, outAmbiguous:
			return noEffect()
		case outOK:
			return out, fail(ContiguousAppends, nil, "",
				"op %d %s was acked at offset %d, but its first sequence is above its last: an invalid request",
				in.op, in.batch(), in.off)
		}
		return out, fail(NoSpuriousOutOfOrder, nil, "",
			"op %d %s got %s, but a batch whose first sequence is above its last gets INVALID_REQUEST", in.op, in.batch(), in.result())
	}
	// spec.ClassGap
	switch in.out() {
	case outOutOfOrder, outAmbiguous, outDupSeq:
		return noEffect()
	case outOK:
		ctx := lastBatch(&s)
		if in.epoch > s.epoch {
			ctx = fmt.Sprintf("it opens the producer's new epoch %d, which must start at sequence 0", in.epoch)
		}
		return out, fail(ContiguousAppends, lastRefs(&s), "",
			"op %d %s was acked at offset %d but it is not next in sequence (%s): a gap was accepted",
			in.op, in.batch(), in.off, ctx)
	}
	return out, fail(NoSpuriousOutOfOrder, lastRefs(&s), "",
		"op %d %s got %s, which the produce path never returns for it", in.op, in.batch(), in.result())
}

func pick[T any](c bool, a, b T) T {
	if c {
		return a
	}
	return b
}

// porcupine returns the model as a porcupine model whose initial states
// are init. Its states are frontiers, the sets of model states that the
// operations so far allow with the dominated ones left out (see
// frontier.go), so that porcupine's sets stay as small as the replay's;
// porcupine's NondeterministicModel would compare states only by
// equality. init must hold no run unless m.at is set.
func (m *model) porcupine(init []state) porcupine.Model {
	return porcupine.Model{
		Init: func() any { return init },
		Step: func(st, in, _ any) (bool, any) {
			next := m.stepFrontier(st.([]state), in.(*opRec))
			return len(next) > 0, next
		},
		Equal: func(a, b any) bool { return slices.Equal(a.([]state), b.([]state)) },
		Hash: func(a any) uint64 {
			h := uint64(len(a.([]state)))
			for _, s := range a.([]state) {
				h = h*1099511628211 ^ s.hash()
			}
			return h
		},
		DescribeOperation: func(in, _ any) string {
			i := in.(*opRec)
			return fmt.Sprintf("op %d e%d %s → %s", i.op, i.epoch, i.batch(), i.result())
		},
		DescribeState: func(st any) string {
			var b strings.Builder
			for i, s := range st.([]state) {
				if i > 0 {
					b.WriteString(" | ")
				}
				b.WriteString(s.String())
			}
			return b.String()
		},
		DescribeOperationMetadata: func(md any) string {
			if md == nil {
				return ""
			}
			return fmt.Sprint(md)
		},
		Partition: func(ops []porcupine.Operation) [][]porcupine.Operation {
			var parts [][]porcupine.Operation
			for _, o := range ops {
				p := int(o.Input.(*opRec).part)
				for len(parts) <= p {
					parts = append(parts, nil)
				}
				parts[p] = append(parts[p], o)
			}
			return parts
		},
	}
}

// stepFrontier returns the frontier after in from front (nil: none).
func (m *model) stepFrontier(front []state, in *opRec) []state {
	var fs frontierSet
	next, _ := m.stepInto(front, in, nil, &fs, nil)
	return next
}

// stepInto appends the frontier after in from front to next (reset to
// length 0) and returns it; fs and br are scratch space, br returned for
// reuse.
func (m *model) stepInto(front []state, in *opRec, next []state, fs *frontierSet, br []branch) ([]state, []branch) {
	next = next[:0]
	fs.reset()
	at := func(i int) *state { return &next[i] }
	for _, s := range front {
		br, _ = m.step(s, in, br[:0], false)
		for _, b := range br {
			if fs.admit(&b.s, at) {
				next = append(next, b.s)
			}
		}
	}
	return compact(next, fs), br
}

// compact drops from next the states fs marked dead.
func compact[T any](next []T, fs *frontierSet) []T {
	if fs.live == len(next) {
		return next
	}
	k := 0
	for i := range next {
		if fs.alive(i) {
			next[k] = next[i]
			k++
		}
	}
	return next[:k]
}
