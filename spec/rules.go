package spec

import (
	"math"
	"strconv"
)

// WindowSize is how many of a producer's appended batches a partition
// remembers for duplicate detection: Redpanda's requests_cached_max and
// Kafka's ProducerStateEntry.NUM_BATCHES_TO_RETAIN. It is the only
// definition of the number in the project.
const WindowSize = 5

// TicketOrder is where the write path reserves a request's producer-queue
// ticket.
type TicketOrder string

// Ticket orderings.
const (
	// BeforeStage is the fix of Redpanda PR #30429: the ticket is
	// reserved inside replicate(), before stage_write starts.
	BeforeStage TicketOrder = "before-stage"
	// AfterStage is the pre-fix ordering: the ticket is reserved in the
	// continuation that runs when stage_write resolves.
	AfterStage TicketOrder = "after-stage"
)

// ParseTicketOrder returns the ordering named s ("" is BeforeStage).
func ParseTicketOrder(s string) (TicketOrder, bool) {
	switch TicketOrder(s) {
	case "", BeforeStage:
		return BeforeStage, true
	case AfterStage:
		return AfterStage, true
	}
	return "", false
}

// ErrorCode is a Kafka protocol error code.
type ErrorCode int16

// The Kafka error codes a produce path may answer with. Each is defined
// here once; package history and the brokers use these.
const (
	None                     ErrorCode = 0
	NotLeaderForPartition    ErrorCode = 6
	RequestTimedOut          ErrorCode = 7
	InvalidRequestCode       ErrorCode = 42
	PolicyViolation          ErrorCode = 44
	OutOfOrderSequenceNumber ErrorCode = 45
	DuplicateSequenceNumber  ErrorCode = 46
	InvalidProducerEpoch     ErrorCode = 47
	UnknownProducerID        ErrorCode = 59
)

var errorNames = map[ErrorCode]string{
	None:                     "NONE",
	NotLeaderForPartition:    "NOT_LEADER_FOR_PARTITION",
	RequestTimedOut:          "REQUEST_TIMED_OUT",
	InvalidRequestCode:       "INVALID_REQUEST",
	PolicyViolation:          "POLICY_VIOLATION",
	OutOfOrderSequenceNumber: "OUT_OF_ORDER_SEQUENCE_NUMBER",
	DuplicateSequenceNumber:  "DUPLICATE_SEQUENCE_NUMBER",
	InvalidProducerEpoch:     "INVALID_PRODUCER_EPOCH",
	UnknownProducerID:        "UNKNOWN_PRODUCER_ID",
}

// String returns the Kafka name of the code, or ERROR_ and its number.
func (c ErrorCode) String() string {
	if n, ok := errorNames[c]; ok {
		return n
	}
	return "ERROR_" + strconv.Itoa(int(c))
}

// Ambiguous reports whether a client that got c cannot tell whether its
// batch was appended: REQUEST_TIMED_OUT, NOT_LEADER_FOR_PARTITION and
// every code the produce path's idempotency rules do not answer with.
func (c ErrorCode) Ambiguous() bool {
	switch c {
	case OutOfOrderSequenceNumber, InvalidProducerEpoch, InvalidRequestCode,
		DuplicateSequenceNumber, UnknownProducerID, PolicyViolation:
		return false
	}
	return true
}

// Rules names a broker dialect of the idempotency rules.
type Rules string

// Dialects.
const (
	// Redpanda is rm_stm's rules: a producer the partition does not know
	// may start at any sequence (the skip path), there is no lower-epoch
	// check, a duplicate is matched ignoring the epoch, and a duplicate
	// older than the window gets OUT_OF_ORDER_SEQUENCE_NUMBER.
	Redpanda Rules = "redpanda"
	// Kafka is Apache Kafka's ProducerStateManager across versions: a
	// producer without state may start at any sequence (KIP-360, 2.5 and
	// later), or is answered OUT_OF_ORDER_SEQUENCE_NUMBER (transaction
	// protocol v2, KAFKA-18202; a partition never written, KAFKA-15591)
	// or UNKNOWN_PRODUCER_ID (before 2.5); a lower epoch is answered
	// INVALID_PRODUCER_EPOCH; a duplicate must carry the same epoch.
	Kafka Rules = "kafka"
)

// ParseRules returns the dialect named s ("" is Redpanda).
func ParseRules(s string) (Rules, bool) {
	switch Rules(s) {
	case "", Redpanda:
		return Redpanda, true
	case Kafka:
		return Kafka, true
	}
	return "", false
}

// RecordCount is the number of records of a batch with sequence range
// [first, last]: last−first+1, counting across the wrap from INT32_MAX to
// 0 when last < first. A batch occupies that many consecutive log
// offsets from its base offset.
func RecordCount(first, last int32) int64 {
	if last >= first {
		return int64(last) - int64(first) + 1
	}
	return int64(math.MaxInt32) - int64(first) + 1 + int64(last) + 1
}

// NextSeq reports whether first is the sequence after last (0 follows
// INT32_MAX).
func NextSeq(last, first int32) bool { return nextSeqIn(math.MaxInt32, last, first) }

// nextSeqIn is NextSeq in a sequence space whose highest number is max.
func nextSeqIn(max, last, first int32) bool {
	if last == max {
		return first == 0
	}
	return int64(first) == int64(last)+1
}

// Batch identifies an idempotent record batch: producer id, epoch and
// sequence range.
type Batch struct {
	PID   int64
	Epoch int16
	First int32
	Last  int32
}

// ProducerView is what the idempotency rules read of one producer's state
// on a partition.
type ProducerView struct {
	// Known: the partition has state for the producer.
	Known bool
	// Epoch is the producer's epoch as the partition knows it.
	Epoch int16
	// Window holds the producer's remembered requests, oldest first: the
	// finished ones (at most WindowSize) and then those in flight. The
	// last one's Last is the producer's last sequence.
	Window []Req
	// MaxSeq is the highest sequence number, after which 0 follows
	// (0 means INT32_MAX, Kafka's; a model config may make it small so
	// that the wrap is reached).
	MaxSeq int32
}

// Class is what the idempotency rules make of a batch against a
// producer's state.
type Class uint8

// Classes.
const (
	// ClassInvalid: first > last (Redpanda: INVALID_REQUEST).
	ClassInvalid Class = iota + 1
	// ClassFirst: the partition has no state for the producer and the
	// batch starts at sequence 0; it is appended.
	ClassFirst
	// ClassSkip: no state and a first sequence above 0 (the
	// unknown-producer path; Redpanda appends it).
	ClassSkip
	// ClassNewEpoch: a higher epoch starting at sequence 0; the state is
	// reset and the batch appended.
	ClassNewEpoch
	// ClassNext: the next batch in sequence; appended.
	ClassNext
	// ClassDuplicate: an exact (first,last) match in the window; the
	// original offset is returned and nothing appended.
	ClassDuplicate
	// ClassGap: not next in sequence (or a higher epoch not at 0);
	// OUT_OF_ORDER_SEQUENCE_NUMBER.
	ClassGap
)

var classNames = [...]string{"", "invalid", "first", "skip", "new-epoch", "next", "duplicate", "gap"}

func (c Class) String() string {
	if int(c) < len(classNames) && c != 0 {
		return classNames[c]
	}
	return "class" + strconv.Itoa(int(c))
}

// Appends reports whether a batch of class c is appended.
func (c Class) Appends() bool {
	return c == ClassFirst || c == ClassSkip || c == ClassNewEpoch || c == ClassNext
}

// Decision is the rm_stm decision for a batch of class c (Redpanda's
// rules); a duplicate of a request still in flight is
// [DuplicateInFlight], which the caller tells apart.
func (c Class) Decision() Decision {
	switch c {
	case ClassInvalid:
		return InvalidRequest
	case ClassSkip:
		return AppendUnknown
	case ClassFirst, ClassNewEpoch, ClassNext:
		return Append
	case ClassDuplicate:
		return Duplicate
	}
	return OutOfOrder
}

// Classify applies the idempotency rules of a partition to batch b of a
// producer in state p. It is the one decision rule of the project: the
// spec's Decide action, the reference implementation's rm_stm, the
// generator and the checker's model all call it. match is the index in
// p.Window of the request a ClassDuplicate matches (the latest one), or
// -1.
//
// Stale is true when b's epoch is below the producer's. Redpanda has no
// lower-epoch check, so the class is computed as for the current epoch;
// Kafka answers INVALID_PRODUCER_EPOCH, and appending a stale batch
// breaks ContiguousAppends (epochs never go back) in every dialect.
func Classify(p ProducerView, b Batch) (c Class, match int, stale bool) {
	win := p.Window
	if !p.Known || b.Epoch > p.Epoch {
		win = nil // a new producer, or reset_with_new_epoch
	}
	stale = p.Known && b.Epoch < p.Epoch
	switch {
	case b.First > b.Last:
		return ClassInvalid, -1, stale
	case !p.Known && b.First > 0:
		return ClassSkip, -1, false
	case !p.Known:
		return ClassFirst, -1, false
	}
	for i := len(win) - 1; i >= 0; i-- {
		if win[i].First == b.First && win[i].Last == b.Last {
			return ClassDuplicate, i, stale
		}
	}
	if len(win) == 0 {
		if b.First != 0 {
			return ClassGap, -1, stale
		}
		if b.Epoch > p.Epoch {
			return ClassNewEpoch, -1, false
		}
		return ClassNext, -1, stale
	}
	maxSeq := p.MaxSeq
	if maxSeq == 0 {
		maxSeq = math.MaxInt32
	}
	if nextSeqIn(maxSeq, win[len(win)-1].Last, b.First) {
		return ClassNext, -1, stale
	}
	return ClassGap, -1, stale
}
