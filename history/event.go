package history

import (
	"fmt"
	"strconv"
)

// Kind names one step of the produce path. The same strings are the
// action names of the TLA+ spec (spec/tla/Broker.tla) and of the Go twin
// ([spec.Action]); a test keeps the three sets equal.
type Kind string

// Client-visible kinds: the two ends of one replicate operation.
const (
	// Replicate is the client's call of replicate for one record batch:
	// producer id, epoch, partition and the batch's sequence range.
	Replicate Kind = "Replicate"
	// Return is the client-visible end of an operation: an offset, a
	// Kafka error, or unknown (the client timed out or lost the connection).
	Return Kind = "Return"
)

// Internal kinds: the steps of the cloud-topics write path in between.
const (
	// ReserveTicket reserves the operation's place in the producer queue.
	ReserveTicket Kind = "ReserveTicket"
	// StageWriteStart starts the asynchronous stage_write of the batch.
	StageWriteStart Kind = "StageWriteStart"
	// StageWriteDone is stage_write resolving, with Result ok or error.
	StageWriteDone Kind = "StageWriteDone"
	// UploadDone is execute_write (the L0 upload) resolving, ok or error.
	UploadDone Kind = "UploadDone"
	// RedeemTicket is the ticket becoming head of its producer's queue.
	RedeemTicket Kind = "RedeemTicket"
	// FenceEpoch is the epoch fence taken after redeem, ok or error.
	FenceEpoch Kind = "FenceEpoch"
	// Decide is the idempotency decision of the rm_stm role.
	Decide Kind = "Decide"
	// ReleaseTicket releases the operation's ticket.
	ReleaseTicket Kind = "ReleaseTicket"
)

// Environment kinds: steps not tied to one operation.
const (
	// EvictProducer drops an idle producer's idempotency state.
	EvictProducer Kind = "EvictProducer"
	// BumpEpoch is the producer moving to a new epoch (InitProducerId).
	BumpEpoch Kind = "BumpEpoch"
	// ChangeTerm is a leadership change of the partition.
	ChangeTerm Kind = "ChangeTerm"
)

// Kinds lists every event kind in the order of the write path.
func Kinds() []Kind {
	return []Kind{Replicate, ReserveTicket, StageWriteStart, StageWriteDone,
		UploadDone, RedeemTicket, FenceEpoch, Decide, ReleaseTicket, Return,
		EvictProducer, BumpEpoch, ChangeTerm}
}

// Valid reports whether k is one of [Kinds].
func (k Kind) Valid() bool {
	switch k {
	case Replicate, ReserveTicket, StageWriteStart, StageWriteDone, UploadDone,
		RedeemTicket, FenceEpoch, Decide, ReleaseTicket, Return,
		EvictProducer, BumpEpoch, ChangeTerm:
		return true
	}
	return false
}

// Internal reports whether k is an internal step of one operation (not
// client-visible and not an environment step).
func (k Kind) Internal() bool {
	switch k {
	case ReserveTicket, StageWriteStart, StageWriteDone, UploadDone,
		RedeemTicket, FenceEpoch, Decide, ReleaseTicket:
		return true
	}
	return false
}

// Result is the outcome of a [Return] or of an internal asynchronous step
// ([StageWriteDone], [UploadDone], [FenceEpoch]).
type Result string

// Results.
const (
	// OK: the step succeeded; for a Return, Offset holds the batch's offset.
	OK Result = "ok"
	// Failed: for a Return, Error holds the Kafka error code; for an
	// internal step, the step failed.
	Failed Result = "error"
	// Unknown: the client does not know whether the batch was appended
	// (a timeout or a dropped connection). Only valid on Return.
	Unknown Result = "unknown"
)

// Decision is what the idempotency rules decided for one batch.
type Decision string

// Decisions of the rm_stm role (DOMAIN.md §3).
const (
	// Append: next in sequence (or first batch, or a new epoch); appended.
	Append Decision = "append"
	// AppendUnknown: unknown producer with first_seq > 0; accepted through
	// the skip path and appended.
	AppendUnknown Decision = "append_unknown"
	// Duplicate: an exact (first,last) match among the finished requests;
	// the cached offset is returned and nothing is appended.
	Duplicate Decision = "duplicate"
	// DuplicateInFlight: an exact match of a request still in flight; the
	// result is the original's.
	DuplicateInFlight Decision = "duplicate_inflight"
	// OutOfOrder: a gap; OUT_OF_ORDER_SEQUENCE_NUMBER.
	OutOfOrder Decision = "out_of_order"
	// InvalidRequest: first > last.
	InvalidRequest Decision = "invalid_request"
)

// Valid reports whether d is a known decision.
func (d Decision) Valid() bool {
	switch d {
	case Append, AppendUnknown, Duplicate, DuplicateInFlight, OutOfOrder, InvalidRequest:
		return true
	}
	return false
}

// Appends reports whether the decision appends the batch to the log.
func (d Decision) Appends() bool { return d == Append || d == AppendUnknown }

// ErrorCode is a Kafka protocol error code.
type ErrorCode int16

// Kafka error codes that the produce path returns (DOMAIN.md §3).
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

// String returns the Kafka name of the code, or its number.
func (c ErrorCode) String() string {
	if n, ok := errorNames[c]; ok {
		return n
	}
	return "ERROR_" + strconv.Itoa(int(c))
}

// PartitionID names a topic-partition, for example "orders/3".
type PartitionID = string

// Event is one line of a history. Which fields are meaningful depends on
// Kind; HISTORY.md and the package documentation list them. Fields that a
// kind does not use are zero.
type Event struct {
	Kind Kind
	// Time is a timestamp in nanoseconds (or any unit; only the order
	// matters). Times never decrease along a history.
	Time int64
	// Op is the operation id. Replicate events introduce op ids in
	// strictly increasing order; every other per-operation event refers
	// to an earlier Replicate.
	Op int64
	// Client is the caller (a connection or producer instance); used to
	// lay out pictures, never to judge.
	Client int64

	Partition PartitionID
	PID       int64
	Epoch     int16
	First     int32
	Last      int32

	Result   Result
	Offset   int64
	Error    ErrorCode
	Decision Decision
	Term     int64

	_ struct{}
}

// String renders the event compactly, for messages and witnesses.
func (e Event) String() string {
	switch e.Kind {
	case Replicate:
		return fmt.Sprintf("Replicate op=%d partition=%q pid=%d epoch=%d seq=[%d,%d] t=%d",
			e.Op, e.Partition, e.PID, e.Epoch, e.First, e.Last, e.Time)
	case Return:
		switch e.Result {
		case OK:
			return fmt.Sprintf("Return op=%d ok offset=%d t=%d", e.Op, e.Offset, e.Time)
		case Failed:
			return fmt.Sprintf("Return op=%d error=%s t=%d", e.Op, e.Error, e.Time)
		}
		return fmt.Sprintf("Return op=%d %s t=%d", e.Op, e.Result, e.Time)
	case Decide:
		if e.Decision.Appends() || e.Decision == Duplicate {
			return fmt.Sprintf("Decide op=%d %s offset=%d t=%d", e.Op, e.Decision, e.Offset, e.Time)
		}
		return fmt.Sprintf("Decide op=%d %s t=%d", e.Op, e.Decision, e.Time)
	case StageWriteDone, UploadDone, FenceEpoch:
		return fmt.Sprintf("%s op=%d %s t=%d", e.Kind, e.Op, e.Result, e.Time)
	case EvictProducer:
		return fmt.Sprintf("EvictProducer partition=%q pid=%d t=%d", e.Partition, e.PID, e.Time)
	case BumpEpoch:
		return fmt.Sprintf("BumpEpoch pid=%d epoch=%d t=%d", e.PID, e.Epoch, e.Time)
	case ChangeTerm:
		return fmt.Sprintf("ChangeTerm partition=%q term=%d t=%d", e.Partition, e.Term, e.Time)
	}
	return fmt.Sprintf("%s op=%d t=%d", e.Kind, e.Op, e.Time)
}

// Header describes a history file. Every field is optional.
type Header struct {
	// Format is "idemcheck/v1".
	Format string
	// Source says what wrote the history: "impl", "mc", "record", "gen", ...
	Source string
	// TicketOrder is the write path's ticket ordering when known:
	// "before-stage" (fixed) or "after-stage" (pre-fix).
	TicketOrder string
	// Rules is the broker dialect the history should be judged by when
	// known: "redpanda" or "kafka" (see spec.Rules). Corpus files use it
	// to say which flags their expected verdict holds for.
	Rules string
	// Expect is the expected verdict ("Ok" or "Illegal") for corpus files.
	Expect string
	// Violation is the expected violation name for corpus files.
	Violation string
	// Description says in a sentence what the history shows.
	Description string
	// Seed is the seed that generated the history, if any.
	Seed int64

	_ struct{}
}

// FormatV1 is the value of [Header.Format] written by this package.
const FormatV1 = "idemcheck/v1"

// History is a header and a sequence of events in time order.
type History struct {
	Header Header
	Events []Event
}
