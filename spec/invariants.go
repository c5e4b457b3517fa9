package spec

import "fmt"

// Invariant is a named safety property of the spec. The names are those
// of the TLA+ invariants and of the checker's violations.
type Invariant struct {
	Name string
	// Doc states the invariant in one sentence.
	Doc string
	// Check returns nil when s satisfies the invariant, or an error that
	// names the operation that broke it.
	Check func(s State) error

	bit uint8
	// pred is a predicate invariant's test (nil for a flag): a call
	// that breaks it in s, or nil.
	pred func(s *State) *Op
}

// Invariant names.
const (
	TicketOrderIsCallOrder   = "TicketOrderIsCallOrder"
	DecideInCallOrder        = "DecideInCallOrder"
	NoSpuriousOutOfOrder     = "NoSpuriousOutOfOrder"
	ContiguousAppends        = "ContiguousAppends"
	NoDuplicateAppend        = "NoDuplicateAppend"
	AckedInLog               = "AckedInLog"
	EpochStartsAtFirstCall   = "EpochStartsAtFirstCall"
	LoggedBatchNotOutOfOrder = "LoggedBatchNotOutOfOrder"
)

// EveryCallReturns is the name of the liveness property: every call
// eventually returns, under weak fairness of the broker's own steps
// ([Action.Fair]).
const EveryCallReturns = "EveryCallReturns"

// Invariants returns the spec's invariants in a fixed order.
//
// Three are predicates over the state alone, as in Broker.tla:
// TicketOrderIsCallOrder and DecideInCallOrder read the calls,
// AckedInLog the calls and the log. Each is stated so that it stays
// checkable in a long replay that retires finished calls: it is broken
// in the state right after the step that breaks it, and that state
// still holds every call and log entry it names.
//
// The others are flags the breaking step sets, each because the
// property is about a moment the state no longer shows:
// NoSpuriousOutOfOrder and LoggedBatchNotOutOfOrder are about the log at
// the decision (a retry of the rejected batch may be appended later,
// legitimately); ContiguousAppends, NoDuplicateAppend and
// EpochStartsAtFirstCall compare an append with the producer's earlier
// appends, which a long replay keeps only as a summary (Producer.AppPrefix
// and AppAbove, Producer.Starts). Broker.tla states these three over the
// log itself, so TLC and the Go checker agreeing on them checks two
// formulations of each.
func Invariants() []Invariant {
	return []Invariant{
		predicate(TicketOrderIsCallOrder, bitTicketOrder,
			"For every producer, tickets are reserved in the order in which replicate() was called: no call holds or held a ticket while an earlier call of its producer can still reserve one.",
			"holds a ticket while an earlier call of its producer can still reserve one",
			func(s *State) *Op { return s.eachProducer(s.ticketOvertaker) }),
		predicate(DecideInCallOrder, bitDecideOrder,
			"For every producer, rm_stm decides the requests in the order in which replicate() was called: no call is decided while an earlier call of its producer can still be decided.",
			"was decided while an earlier call of its producer can still be decided",
			func(s *State) *Op { return s.eachProducer(s.decideOvertaker) }),
		flag(NoSpuriousOutOfOrder, bitSpuriousOOO,
			"No batch that is next in its producer's sequence (every earlier sequence of its epoch is in the log, its own are not) is rejected with OUT_OF_ORDER_SEQUENCE_NUMBER.",
			"was rejected with OUT_OF_ORDER_SEQUENCE_NUMBER although it was next in sequence"),
		flag(ContiguousAppends, bitContiguous,
			"Within an epoch each producer's appended ranges are contiguous and increasing (offsets increase by construction), and epochs never go back.",
			"was appended with a gap after, or below, the producer's previous append"),
		flag(NoDuplicateAppend, bitDuplicate,
			"No sequence number of a producer's epoch is appended twice.",
			"was appended although its sequences were already in the log"),
		predicate(AckedInLog, bitAcked,
			"Every batch acknowledged with an offset is in the log at that offset (a duplicate is answered with the original's offset).",
			"was acknowledged with an offset whose log entry is another batch",
			func(s *State) *Op {
				for i := range s.Ops {
					if !s.ackedInLog(&s.Ops[i]) {
						return &s.Ops[i]
					}
				}
				return nil
			}),
		flag(LoggedBatchNotOutOfOrder, bitLoggedOOO,
			"No batch whose sequences are all in the log is rejected with OUT_OF_ORDER_SEQUENCE_NUMBER.",
			"was rejected with OUT_OF_ORDER_SEQUENCE_NUMBER although its sequences were in the log"),
		flag(EpochStartsAtFirstCall, bitEpochStart,
			"Every producer's log of an epoch starts at the first sequence it called in that epoch (0, or where its first contact began).",
			"was the first append of its epoch, but the producer's first call in that epoch began at another sequence"),
	}
}

// Marked reports whether the violation set viol (a [State.Viol]) has
// iv broken: a step that adds iv to it is the step that broke iv.
func (iv Invariant) Marked(viol uint8) bool { return viol&iv.bit != 0 }

// OverState reports whether iv is a predicate over the state, evaluated
// on every state; otherwise it is a flag that the step breaking it sets
// (see [Invariants] for which and why).
func (iv Invariant) OverState() bool { return iv.pred != nil }

// flag makes an invariant whose breaking step sets its bit in the
// operation's Flags.
func flag(name string, bit uint8, doc, broke string) Invariant {
	return Invariant{Name: name, Doc: doc, bit: bit, Check: func(s State) error {
		if s.Viol&bit == 0 {
			return nil
		}
		for i := range s.Ops {
			if o := &s.Ops[i]; o.Flags&bit != 0 {
				return violated(name, o, broke)
			}
		}
		return fmt.Errorf("spec: %s violated by an operation that is over", name)
	}}
}

// predicate makes an invariant stated over the state: broken returns a
// call that breaks it, or nil. Check evaluates it on the state it is
// given; a state whose Viol marks it broken by an earlier step is still
// reported, as a flag's is.
func predicate(name string, bit uint8, doc, broke string, broken func(s *State) *Op) Invariant {
	return Invariant{Name: name, Doc: doc, bit: bit, pred: broken, Check: func(s State) error {
		if o := broken(&s); o != nil {
			return violated(name, o, broke)
		}
		if s.Viol&bit != 0 {
			return fmt.Errorf("spec: %s violated by an earlier step (the calls that broke it have moved on since)", name)
		}
		return nil
	}}
}

func violated(name string, o *Op, broke string) error {
	return fmt.Errorf("spec: %s violated: op %d (pid %d epoch %d seq [%d,%d]) %s", name, o.ID, o.PID, o.Epoch, o.First, o.Last, broke)
}

// eachProducer returns the first call that broken(pid) returns over the
// producers, or nil.
func (s *State) eachProducer(broken func(pid int64) *Op) *Op {
	for i := range s.Producers {
		if o := broken(s.Producers[i].PID); o != nil {
			return o
		}
	}
	return nil
}

// ticketOvertaker returns a call of pid that holds or held a ticket
// while an earlier call of pid can still reserve one (it has none and
// has not got past stage_write), or nil. TicketOrderIsCallOrder.
func (s *State) ticketOvertaker(pid int64) *Op {
	waiting := false       // an earlier call of pid can still reserve a ticket
	for i := range s.Ops { // in call order
		o := &s.Ops[i]
		switch {
		case o.PID != pid:
		case waiting && o.Reserved:
			return o
		case !o.Reserved && (o.Phase == PhaseCalled || o.Phase == PhaseStaging || o.Phase == PhaseStaged):
			waiting = true
		}
	}
	return nil
}

// decideOvertaker returns a call of pid that was decided while an
// earlier call of pid can still be decided (it has neither been decided
// nor failed, and is not fenced in a term that has passed), or nil.
// DecideInCallOrder.
func (s *State) decideOvertaker(pid int64) *Op {
	waiting := false
	for i := range s.Ops {
		o := &s.Ops[i]
		switch {
		case o.PID != pid:
		case waiting && o.Phase == PhaseDecided:
			return o
		case o.Phase != PhaseDecided && o.Phase != PhaseFailed && !(o.Phase == PhaseFenced && o.Term != s.Term):
			waiting = true
		}
	}
	return nil
}

// ackedInLog reports whether o, if it returned with an offset, is the
// log's batch at that offset. AckedInLog.
func (s *State) ackedInLog(o *Op) bool {
	if o.Returned != ReturnedNormally || o.Phase != PhaseDecided || !o.Decision.HasOffset() {
		return true
	}
	ei := s.entry(o.Offset)
	return ei >= 0 && s.Log[ei] == Entry{Offset: o.Offset, PID: o.PID, Epoch: o.Epoch, First: o.First, Last: o.Last}
}

// Broken returns the names of the invariants s breaks, in the order of
// [Invariants].
func (s State) Broken() []string { return violNames(s.Viol) }

func violNames(bits uint8) []string {
	var out []string
	for _, iv := range Invariants() {
		if bits&iv.bit != 0 {
			out = append(out, iv.Name)
		}
	}
	return out
}

// Read-side property names: what the checker verifies about the log that
// a history's [LogBatch] observations show, per partition. They are not
// invariants of the TLA+ spec (the spec's log is exact; these judge a log
// read back from a real broker), but they share the vocabulary of the
// checker's violations.
const (
	LostWrite          = "LostWrite"
	DuplicateInLog     = "DuplicateInLog"
	LogInSequence      = "LogInSequence"
	LogOffsetsDisjoint = "LogOffsetsDisjoint"
)

// ReadProperty is a named property of the log as read back: a violation
// name of the checker's read check.
type ReadProperty struct {
	Name string
	// Doc states the property in one sentence.
	Doc string
}

// ReadProperties returns the read-side properties in a fixed order.
func ReadProperties() []ReadProperty {
	return []ReadProperty{
		{LostWrite, "Every batch acknowledged with an offset that lies within the part of the log that was read is in the log at that offset, with its producer id, epoch and sequences."},
		{DuplicateInLog, "No sequence number of a producer's epoch is in the log twice."},
		{LogInSequence, "Within an epoch a producer's batches are in the log in sequence order, epochs never go back, and no sequence is missing before a later batch that was acknowledged."},
		{LogOffsetsDisjoint, "The batches read from the log occupy disjoint offset ranges, one offset per record."},
	}
}
