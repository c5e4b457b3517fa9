package history

import (
	"fmt"

	"github.com/idemcheck/idemcheck/spec"
)

// Kind names one step of the produce path. It is [spec.Name]: the same
// strings are the action names of the TLA+ spec (spec/tla/Broker.tla) and
// of the Go twin ([spec.Action]); a test keeps the TLA+ and Go sets equal.
type Kind = spec.Name

// Client-visible kinds: the two ends of one replicate operation.
const (
	// Replicate is the client's call of replicate for one record batch:
	// producer id, epoch, partition and the batch's sequence range.
	Replicate = spec.Replicate
	// Return is the client-visible end of an operation: an offset, a
	// Kafka error, or unknown (the client timed out or lost the connection).
	Return = spec.Return
)

// Internal kinds: the steps of the cloud-topics write path in between.
const (
	// ReserveTicket reserves the operation's place in the producer queue.
	ReserveTicket = spec.ReserveTicket
	// StageWriteStart starts the asynchronous stage_write of the batch.
	StageWriteStart = spec.StageWriteStart
	// StageWriteDone is stage_write resolving, with Result ok or error.
	StageWriteDone = spec.StageWriteDone
	// UploadDone is execute_write (the L0 upload) resolving, ok or error.
	UploadDone = spec.UploadDone
	// RedeemTicket is the ticket becoming head of its producer's queue
	// (no result, or ok), or, with result error, the call aborted while
	// it waited there.
	RedeemTicket = spec.RedeemTicket
	// FenceEpoch is the epoch fence taken after redeem, ok or error.
	FenceEpoch = spec.FenceEpoch
	// Decide is the idempotency decision of the rm_stm role.
	Decide = spec.Decide
	// ReleaseTicket releases the operation's ticket.
	ReleaseTicket = spec.ReleaseTicket
)

// Environment kinds: steps not tied to one operation.
const (
	// EvictProducer drops an idle producer's idempotency state.
	EvictProducer = spec.EvictProducer
	// BumpEpoch is the producer moving to a new epoch (InitProducerId).
	BumpEpoch = spec.BumpEpoch
	// ChangeTerm is a leadership change of the partition.
	ChangeTerm = spec.ChangeTerm
)

// Observation kinds: what a reader of the log saw, not a step of the
// write path ([spec.Observations]).
const (
	// LogBatch is one record batch of a partition's log as a reader saw
	// it (a consumer's Fetch response, or the broker's log): its base
	// offset and its producer id, epoch and sequence range. It belongs to
	// no operation.
	LogBatch = spec.LogBatch
)

// Kinds lists every write-path event kind in the order of the write path
// ([spec.Names]); the observation kinds are [Observations].
func Kinds() []Kind { return spec.Names() }

// Observations lists the observation kinds ([spec.Observations]).
func Observations() []Kind { return spec.Observations() }

// KnownKind reports whether k is a write-path kind or an observation
// kind: a kind a history may hold.
func KnownKind(k Kind) bool { return k.Valid() || k.Observation() }

// Result is the outcome of a [Return] or of an internal asynchronous step
// ([StageWriteDone], [UploadDone], [FenceEpoch]): [spec.Result].
type Result = spec.Result

// Results (see [spec.OK]).
const (
	// OK: the step succeeded; for a Return, Offset holds the batch's base
	// offset.
	OK = spec.OK
	// Failed: for a Return, Error holds the Kafka error code; for an
	// internal step, the step failed.
	Failed = spec.Failed
	// Unknown: the client does not know whether the batch was appended
	// (a timeout or a dropped connection). Only valid on Return.
	Unknown = spec.Unknown
)

// Decision is what the idempotency rules decided for one batch:
// [spec.Decision].
type Decision = spec.Decision

// Decisions of the rm_stm role (see [spec.Append]).
const (
	Append            = spec.Append
	AppendUnknown     = spec.AppendUnknown
	Duplicate         = spec.Duplicate
	DuplicateInFlight = spec.DuplicateInFlight
	OutOfOrder        = spec.OutOfOrder
	InvalidRequest    = spec.InvalidRequest
)

// ErrorCode is a Kafka protocol error code: [spec.ErrorCode], which
// defines the codes and their names.
type ErrorCode = spec.ErrorCode

// Kafka error codes that the produce path returns (see [spec.None]).
const (
	None                     = spec.None
	NotLeaderForPartition    = spec.NotLeaderForPartition
	RequestTimedOut          = spec.RequestTimedOut
	InvalidRequestCode       = spec.InvalidRequestCode
	PolicyViolation          = spec.PolicyViolation
	OutOfOrderSequenceNumber = spec.OutOfOrderSequenceNumber
	DuplicateSequenceNumber  = spec.DuplicateSequenceNumber
	InvalidProducerEpoch     = spec.InvalidProducerEpoch
	UnknownProducerID        = spec.UnknownProducerID
)

// PartitionID names a topic-partition, for example "orders/3".
type PartitionID = string

// Event is one line of a history. Which fields are meaningful depends on
// Kind; the package documentation lists them. Fields that a kind does not
// use are zero.
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

	Result Result
	// Offset is the batch's base offset on an ok Return and on a Decide
	// that appends: the batch [first,last] of the operation's Replicate
	// occupies spec.RecordCount(first, last) consecutive offsets from it.
	// On a duplicate Decide (and the ok Return after it) it is the
	// original batch's base offset. On a LogBatch it is the base offset
	// the reader saw the batch at.
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
		if e.Decision.HasOffset() {
			return fmt.Sprintf("Decide op=%d %s offset=%d t=%d", e.Op, e.Decision, e.Offset, e.Time)
		}
		return fmt.Sprintf("Decide op=%d %s t=%d", e.Op, e.Decision, e.Time)
	case StageWriteDone, UploadDone, FenceEpoch:
		return fmt.Sprintf("%s op=%d %s t=%d", e.Kind, e.Op, e.Result, e.Time)
	case RedeemTicket:
		if e.Result == Failed {
			return fmt.Sprintf("RedeemTicket op=%d error t=%d", e.Op, e.Time)
		}
	case EvictProducer:
		return fmt.Sprintf("EvictProducer partition=%q pid=%d t=%d", e.Partition, e.PID, e.Time)
	case BumpEpoch:
		return fmt.Sprintf("BumpEpoch pid=%d epoch=%d t=%d", e.PID, e.Epoch, e.Time)
	case ChangeTerm:
		return fmt.Sprintf("ChangeTerm partition=%q term=%d t=%d", e.Partition, e.Term, e.Time)
	case LogBatch:
		return fmt.Sprintf("LogBatch partition=%q offset=%d pid=%d epoch=%d seq=[%d,%d] t=%d",
			e.Partition, e.Offset, e.PID, e.Epoch, e.First, e.Last, e.Time)
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
