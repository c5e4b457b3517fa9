package checker

import (
	"fmt"
	"math"
	"strings"

	"github.com/anishathalye/porcupine"
	"github.com/idemcheck/idemcheck/history"
)

// windowSize is the number of appended batches a broker remembers per
// producer for duplicate detection (Kafka's and Redpanda's 5).
const windowSize = 5

// Shared invariant names (the same strings as the spec's and TLA+'s).
const (
	DecideInCallOrder    = "DecideInCallOrder"
	NoSpuriousOutOfOrder = "NoSpuriousOutOfOrder"
	ContiguousAppends    = "ContiguousAppends"
	NoDuplicateAppend    = "NoDuplicateAppend"
	AckedInLog           = "AckedInLog"
)

// outcome classifies a Return for the model.
type outcome uint8

const (
	outOK         outcome = iota // acked with an offset
	outAmbiguous                 // unknown, timeout, not leader, other codes
	outOutOfOrder                // OUT_OF_ORDER_SEQUENCE_NUMBER
	outStaleEpoch                // INVALID_PRODUCER_EPOCH
	outDupSeq                    // DUPLICATE_SEQUENCE_NUMBER
	outNoProducer                // UNKNOWN_PRODUCER_ID or POLICY_VIOLATION
	outInvalid                   // INVALID_REQUEST
)

// input is the model's view of one operation: the call and its outcome.
// Porcupine gets the same pointer as input and output.
type input struct {
	idx      int32 // index in the part's call order
	part     int32 // part tag, for multi-part pictures
	evictMin int32 // EvictProducer events recorded before the call
	evictMax int32 // EvictProducer events recorded before the return
	// evictOrd is evictMax under the call-order obligation: the least
	// evictMax of this and every later call, all decided after this one.
	evictOrd int32
	epoch    int16
	out      outcome
	first    int32
	last     int32
	off      int64
	op       int64
	code     history.ErrorCode
}

func newInput(idx int32, o Operation, evictMin, evictMax int32) *input {
	in := &input{idx: idx, evictMin: evictMin, evictMax: evictMax, epoch: o.Epoch, first: o.First,
		last: o.Last, off: o.Offset, op: o.Op, code: o.Error}
	switch {
	case o.Result == history.OK:
		in.out = outOK
	case o.Result == history.Failed:
		in.out = outcomeOf(o.Error)
	default:
		in.out = outAmbiguous
	}
	return in
}

// outcomeOf classifies a failed Return's error code, as
// [Operation.Ambiguous] does for the ambiguous ones.
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
	case history.UnknownProducerID, history.PolicyViolation:
		return outNoProducer
	}
	return outAmbiguous
}

func (in *input) batch() string { return fmt.Sprintf("[%d,%d]", in.first, in.last) }

func (in *input) result() string {
	switch in.out {
	case outOK:
		return fmt.Sprintf("ok at offset %d", in.off)
	case outAmbiguous:
		if in.code == history.None {
			return "unknown"
		}
	}
	return in.code.String()
}

// entry is one appended batch in the producer's window.
type entry struct {
	op    int64 // op id of the operation that appended it
	off   int64 // its offset, -1 when not known yet (an ambiguous append)
	lo    int64 // its offset is above lo (the producer's offset before it)
	first int32
	last  int32
	epoch int16
}

// state is the model state of one producer on one partition. It is a
// comparable value: == is state equality.
type state struct {
	lastOff int64 // highest offset known to be the producer's, -1 if none
	part    int32
	next    int32 // index of the next call to decide (call-order mode)
	evict   int32 // evictions applied
	epoch   int16
	known   bool
	n       int8
	win     [windowSize]entry // the last n appended batches, oldest first
}

func initState(part int32) state { return state{lastOff: -1, part: part} }

func (s *state) hash() uint64 {
	h := uint64(14695981039346656037)
	mix := func(v uint64) { h ^= v; h *= 1099511628211 }
	mix(uint64(s.lastOff))
	mix(uint64(s.part)<<32 | uint64(uint32(s.next)))
	mix(uint64(s.evict)<<32 | uint64(uint16(s.epoch))<<8 | uint64(s.n))
	if s.known {
		mix(1)
	}
	for i := 0; i < int(s.n); i++ {
		e := &s.win[i]
		mix(uint64(e.op))
		mix(uint64(e.off))
		mix(uint64(uint32(e.first))<<32 | uint64(uint32(e.last)))
	}
	return h
}

func (s state) String() string {
	if !s.known {
		if s.lastOff >= 0 {
			return fmt.Sprintf("no state (last offset %d)", s.lastOff)
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
			fmt.Fprintf(&b, " [%d,%d]@?", e.first, e.last)
		}
	}
	return b.String()
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

// kind classifies a call against a state.
type kind uint8

const (
	kFirst kind = iota
	kSkip
	kNewEpoch
	kNext
	kDup
	kGap
	kStale
)

// nextSeq reports whether first follows last (0 follows INT32_MAX).
func nextSeq(last, first int32) bool {
	if last == math.MaxInt32 {
		return first == 0
	}
	return first == last+1
}

// classify says what a correct broker in state s must do with the call.
// For kDup, j is the matching window entry.
func classify(s *state, in *input) (k kind, j int) {
	if !s.known {
		if in.first > 0 {
			return kSkip, -1
		}
		return kFirst, -1
	}
	if in.epoch > s.epoch {
		if in.first == 0 {
			return kNewEpoch, -1
		}
		return kGap, -1
	}
	// Duplicate matching ignores the epoch (Redpanda); the window only
	// holds batches of the current epoch anyway.
	for i := int(s.n) - 1; i >= 0; i-- {
		if s.win[i].first == in.first && s.win[i].last == in.last {
			return kDup, i
		}
	}
	if in.epoch < s.epoch {
		return kStale, -1
	}
	if s.n == 0 {
		if in.first == 0 {
			return kNext, -1
		}
		return kGap, -1
	}
	if nextSeq(s.win[s.n-1].last, in.first) {
		return kNext, -1
	}
	return kGap, -1
}

// failure explains why no branch of the model explains an operation.
type failure struct {
	name  string
	why   string  // a sentence about the operation
	short string  // a clause for DecideInCallOrder, "op 1 was next in sequence"
	refs  []int64 // op ids of related operations
}

// model is the sequential per-producer specification.
type model struct {
	callOrder bool
}

// step returns the successor states of s for in (appended to out), and
// when there are none and why is set, the reason.
func (m *model) step(s state, in *input, out []branch, why bool) ([]branch, *failure) {
	if s.part != in.part || (m.callOrder && s.next != in.idx) {
		return out, nil
	}
	s.next++
	// Evictions recorded before the call must have been applied, and
	// none recorded after the return may have been: this decision came
	// before them.
	evictMax := in.evictMax
	if m.callOrder {
		evictMax = in.evictOrd
	}
	if s.evict > evictMax {
		return out, nil
	}
	n := len(out)
	var f *failure
	if s.evict >= in.evictMin {
		out, f = m.decide(s, in, out, why)
	}
	for k := max(s.evict+1, in.evictMin); k <= evictMax; k++ {
		e := s
		e.clear()
		e.evict = k
		m0 := len(out)
		var g *failure
		out, g = m.decide(e, in, out, why && f == nil)
		if f == nil {
			f = g
		}
		for i := m0; i < len(out); i++ {
			out[i].evicted = true
		}
	}
	if len(out) > n {
		return out, nil
	}
	return out, f
}

// appended returns s with in's batch appended at off (-1: unknown).
func appended(s state, in *input, k kind, off int64) state {
	if k != kNext {
		s.clear()
		s.known, s.epoch = true, in.epoch
	}
	s.push(entry{op: in.op, off: off, lo: s.lastOff, first: in.first, last: in.last, epoch: in.epoch})
	if off > s.lastOff {
		s.lastOff = off
	}
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

func (m *model) decide(s state, in *input, out []branch, why bool) ([]branch, *failure) {
	k, j := classify(&s, in)
	fail := func(name string, refs []int64, short string, format string, args ...any) *failure {
		if !why {
			return nil
		}
		return &failure{name: name, why: fmt.Sprintf(format, args...), short: short, refs: refs}
	}
	switch k {
	case kFirst, kSkip, kNewEpoch, kNext:
		r := ruleAppend
		switch k {
		case kFirst:
			r = ruleFirst
		case kSkip:
			r = ruleSkip
		case kNewEpoch:
			r = ruleNewEpoch
		}
		var ctx string
		var refs []int64
		if why {
			switch k {
			case kFirst, kSkip:
				ctx = "the producer had no state on the partition, so any first sequence is accepted"
			case kNewEpoch:
				ctx = fmt.Sprintf("it starts the producer's new epoch %d at sequence 0", in.epoch)
			default:
				ctx = lastBatch(&s)
				refs = lastRefs(&s)
			}
		}
		switch in.out {
		case outOK:
			if in.off <= s.lastOff {
				return out, fail(ContiguousAppends, refs, "",
					"op %d %s was acked at offset %d, not above the producer's earlier offset %d: a producer's offsets increase",
					in.op, in.batch(), in.off, s.lastOff)
			}
			return append(out, branch{s: appended(s, in, k, in.off), r: r}), nil
		case outAmbiguous:
			return append(out,
				branch{s: appended(s, in, k, -1), r: rulePersisted},
				branch{s: s, r: ruleLost}), nil
		case outNoProducer:
			if k == kFirst || k == kSkip {
				return append(out, branch{s: s, r: ruleNoEffect}), nil
			}
		}
		return out, fail(NoSpuriousOutOfOrder, refs, fmt.Sprintf("op %d was next in sequence", in.op),
			"op %d %s got %s but it was next in sequence (%s), so it must be appended",
			in.op, in.batch(), in.result(), ctx)
	case kDup:
		e := s.win[j]
		refs := []int64{e.op}
		switch in.out {
		case outOK:
			if e.off >= 0 {
				if in.off == e.off {
					return append(out, branch{s: s, r: ruleDup}), nil
				}
				return out, fail(AckedInLog, refs, "",
					"op %d %s is a retry of op %d's batch, appended at offset %d, but was acked at offset %d: a duplicate must return the original offset",
					in.op, in.batch(), e.op, e.off, in.off)
			}
			ok := in.off > e.lo
			for i := 0; i < int(s.n) && ok; i++ {
				if o := s.win[i].off; o >= 0 && ((i < j && in.off <= o) || (i > j && in.off >= o)) {
					ok = false
				}
			}
			if !ok {
				return out, fail(ContiguousAppends, refs, "",
					"op %d %s is a retry of op %d's batch (outcome unknown) and was acked at offset %d, which does not fit between the offsets of the batches before and after it",
					in.op, in.batch(), e.op, in.off)
			}
			s.win[j].off = in.off
			if in.off > s.lastOff {
				s.lastOff = in.off
			}
			return append(out, branch{s: s, r: ruleDup}), nil
		case outAmbiguous, outDupSeq:
			return append(out, branch{s: s, r: ruleNoEffect}), nil
		case outStaleEpoch:
			if in.epoch < s.epoch {
				return append(out, branch{s: s, r: ruleNoEffect}), nil
			}
		}
		return out, fail(NoSpuriousOutOfOrder, refs, fmt.Sprintf("op %d was a duplicate of op %d", in.op, e.op),
			"op %d %s got %s but it is a retry of op %d's batch, still among the producer's last %d batches, so it must get the original offset",
			in.op, in.batch(), in.result(), e.op, windowSize)
	case kGap, kStale:
		switch in.out {
		case outOutOfOrder, outAmbiguous, outDupSeq:
			return append(out, branch{s: s, r: ruleNoEffect}), nil
		case outStaleEpoch:
			if k == kStale {
				return append(out, branch{s: s, r: ruleNoEffect}), nil
			}
		case outOK:
			if k == kStale {
				return out, fail(ContiguousAppends, lastRefs(&s), "",
					"op %d %s of epoch %d was acked at offset %d after the producer moved to epoch %d",
					in.op, in.batch(), in.epoch, in.off, s.epoch)
			}
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
	return out, nil
}

// porcupine returns the model as a porcupine model whose initial states
// are init.
func (m *model) porcupine(init []state) porcupine.Model {
	nm := porcupine.NondeterministicModel{
		Init: func() []any {
			r := make([]any, len(init))
			for i, s := range init {
				r[i] = s
			}
			return r
		},
		Step: func(st, in, _ any) []any {
			br, _ := m.step(st.(state), in.(*input), nil, false)
			if len(br) == 0 {
				return nil
			}
			r := make([]any, len(br))
			for i := range br {
				r[i] = br[i].s
			}
			return r
		},
		Equal: func(a, b any) bool { return a.(state) == b.(state) },
		Hash: func(a any) uint64 {
			s := a.(state)
			return s.hash()
		},
		DescribeOperation: func(in, _ any) string {
			i := in.(*input)
			return fmt.Sprintf("op %d e%d %s → %s", i.op, i.epoch, i.batch(), i.result())
		},
		DescribeState: func(st any) string { return st.(state).String() },
		DescribeOperationMetadata: func(md any) string {
			if md == nil {
				return ""
			}
			return fmt.Sprint(md)
		},
		Partition: func(ops []porcupine.Operation) [][]porcupine.Operation {
			var parts [][]porcupine.Operation
			for _, o := range ops {
				p := int(o.Input.(*input).part)
				for len(parts) <= p {
					parts = append(parts, nil)
				}
				parts[p] = append(parts[p], o)
			}
			return parts
		},
	}
	return nm.ToModel()
}
