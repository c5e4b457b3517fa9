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
// The order and call-order invariants are stated over history
// variables that Step keeps (the highest op id of each producer that
// reserved a ticket and that was decided, whether an out-of-order batch
// was next in sequence when it was decided, the appended sequences), so
// each check is cheap and a long replay can drop finished operations.
func Invariants() []Invariant {
	return []Invariant{
		inv(TicketOrderIsCallOrder, bitTicketOrder,
			"For every producer, tickets are reserved in the order in which replicate() was called.",
			"reserved its ticket after a later call of the same producer"),
		inv(DecideInCallOrder, bitDecideOrder,
			"For every producer, rm_stm decides the requests in the order in which replicate() was called.",
			"was decided after a later call of the same producer"),
		inv(NoSpuriousOutOfOrder, bitSpuriousOOO,
			"No batch that is next in its producer's sequence (every earlier sequence of its epoch is in the log, its own are not) is rejected with OUT_OF_ORDER_SEQUENCE_NUMBER.",
			"was rejected with OUT_OF_ORDER_SEQUENCE_NUMBER although it was next in sequence"),
		inv(ContiguousAppends, bitContiguous,
			"Within an epoch each producer's appended ranges are contiguous and increasing (offsets increase by construction), and epochs never go back.",
			"was appended with a gap after, or below, the producer's previous append"),
		inv(NoDuplicateAppend, bitDuplicate,
			"No sequence number of a producer's epoch is appended twice.",
			"was appended although its sequences were already in the log"),
		inv(AckedInLog, bitAcked,
			"Every batch acknowledged with an offset is in the log at that offset (a duplicate is answered with the original's offset).",
			"was acknowledged with an offset whose log entry is another batch"),
		inv(LoggedBatchNotOutOfOrder, bitLoggedOOO,
			"No batch whose sequences are all in the log is rejected with OUT_OF_ORDER_SEQUENCE_NUMBER.",
			"was rejected with OUT_OF_ORDER_SEQUENCE_NUMBER although its sequences were in the log"),
		inv(EpochStartsAtFirstCall, bitEpochStart,
			"Every producer's log of an epoch starts at the first sequence it called in that epoch (0, or where its first contact began).",
			"was the first append of its epoch, but the producer's first call in that epoch began at another sequence"),
	}
}

func inv(name string, bit uint8, doc, broke string) Invariant {
	return Invariant{Name: name, Doc: doc, bit: bit, Check: func(s State) error {
		if s.Viol&bit == 0 {
			return nil
		}
		for i := range s.Ops {
			if o := &s.Ops[i]; o.Flags&bit != 0 {
				return fmt.Errorf("spec: %s violated: op %d (pid %d epoch %d seq [%d,%d]) %s", name, o.ID, o.PID, o.Epoch, o.First, o.Last, broke)
			}
		}
		return fmt.Errorf("spec: %s violated by an operation that is over", name)
	}}
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
