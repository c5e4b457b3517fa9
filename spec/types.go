package spec

import (
	"fmt"
	"math"
	"strings"
)

// Name is the name of an action. The values are the TLA+ action names of
// spec/tla/Broker.tla and the event kinds of package history.
type Name string

// Actions of one replicate operation, in the fixed (before-stage) order.
const (
	Replicate       Name = "Replicate"
	ReserveTicket   Name = "ReserveTicket"
	StageWriteStart Name = "StageWriteStart"
	StageWriteDone  Name = "StageWriteDone"
	UploadDone      Name = "UploadDone"
	RedeemTicket    Name = "RedeemTicket"
	FenceEpoch      Name = "FenceEpoch"
	Decide          Name = "Decide"
	ReleaseTicket   Name = "ReleaseTicket"
	Return          Name = "Return"
)

// Environment actions, not tied to one operation.
const (
	EvictProducer Name = "EvictProducer"
	BumpEpoch     Name = "BumpEpoch"
	ChangeTerm    Name = "ChangeTerm"
)

// Names lists every action name in the order of the write path.
func Names() []Name {
	return []Name{Replicate, ReserveTicket, StageWriteStart, StageWriteDone,
		UploadDone, RedeemTicket, FenceEpoch, Decide, ReleaseTicket, Return,
		EvictProducer, BumpEpoch, ChangeTerm}
}

// LogBatch is an observation, not an action: one record batch as a
// reader of the partition's log sees it (a consumer's Fetch response, or
// the broker's own log dumped at the end of a run): its base offset and
// its producer id, epoch and sequence range. Observations change no
// state; they are not steps of Broker.tla, so they are not in [Names]
// (whose set the TLA+ parity tests tie to Broker.tla's Next) and
// [Name.Valid] is false for them. The checker judges them by the
// read-side properties ([ReadProperties]).
const LogBatch Name = "LogBatch"

// Observations lists the observation names: kinds of history events that
// record what a reader saw rather than a step of the write path.
func Observations() []Name { return []Name{LogBatch} }

// Observation reports whether n is one of [Observations].
func (n Name) Observation() bool { return n == LogBatch }

// Valid reports whether n is one of [Names].
func (n Name) Valid() bool {
	switch n {
	case Replicate, ReserveTicket, StageWriteStart, StageWriteDone, UploadDone,
		RedeemTicket, FenceEpoch, Decide, ReleaseTicket, Return,
		EvictProducer, BumpEpoch, ChangeTerm:
		return true
	}
	return false
}

// Internal reports whether n is an internal step of one operation: not
// the client's Replicate or Return and not an environment step.
func (n Name) Internal() bool {
	switch n {
	case ReserveTicket, StageWriteStart, StageWriteDone, UploadDone,
		RedeemTicket, FenceEpoch, Decide, ReleaseTicket:
		return true
	}
	return false
}

// Result is the outcome carried by Return, StageWriteDone, UploadDone and
// FenceEpoch (history.Result is this type).
type Result string

// Results.
const (
	// OK: the step succeeded; an ok Return carries the batch's base
	// offset.
	OK Result = "ok"
	// Failed: for a Return, it carries a Kafka error code; for an
	// internal step, the step failed.
	Failed Result = "error"
	// Unknown: the client does not know whether the batch was appended
	// (a timeout or a dropped connection). Only a Return has it.
	Unknown Result = "unknown"
)

// Decision is the idempotency decision of the rm_stm role
// (history.Decision is this type).
type Decision string

// Decisions ([Class.Decision] maps the rule's classes to them).
const (
	// Append: next in sequence (or the first batch, or a new epoch);
	// appended at the log's next offset, one offset per record.
	Append Decision = "append"
	// AppendUnknown: a producer the partition does not know, with
	// first > 0; accepted through the skip path and appended.
	AppendUnknown Decision = "append_unknown"
	// Duplicate: an exact (first,last) match among the finished
	// requests; answered with the original batch's base offset, nothing
	// appended.
	Duplicate Decision = "duplicate"
	// DuplicateInFlight: an exact match of a request still in flight;
	// answered with the original's base offset once it is known.
	DuplicateInFlight Decision = "duplicate_inflight"
	// OutOfOrder: a gap; OUT_OF_ORDER_SEQUENCE_NUMBER.
	OutOfOrder Decision = "out_of_order"
	// InvalidRequest: first > last; INVALID_REQUEST.
	InvalidRequest Decision = "invalid_request"
)

// Valid reports whether d is one of the decisions.
func (d Decision) Valid() bool {
	switch d {
	case Append, AppendUnknown, Duplicate, DuplicateInFlight, OutOfOrder, InvalidRequest:
		return true
	}
	return false
}

// Appends reports whether d appends the batch to the log.
func (d Decision) Appends() bool { return d == Append || d == AppendUnknown }

// HasOffset reports whether a Decide of d carries an offset: the base
// offset of the appended batch, or the original's for a duplicate.
func (d Decision) HasOffset() bool { return d.Appends() || d == Duplicate || d == DuplicateInFlight }

// Bugs that a [Config] can inject, so that every invariant can be shown
// to fail (the values of [Config.Bug]).
const (
	// BugNone injects nothing.
	BugNone = "none"
	// BugReleaseBeforeDecide releases the ticket right after redeem,
	// before rm_stm has decided.
	BugReleaseBeforeDecide = "release-before-decide"
	// BugDupLatestOffset answers a duplicate with the offset of the
	// producer's latest request instead of the matched one.
	BugDupLatestOffset = "dup-latest-offset"
	// BugLeakTicket lets a failed request return without releasing its
	// ticket, so its producer's later requests wait for ever.
	BugLeakTicket = "leak-ticket"
)

// Config holds the constants of the model (the CONSTANTS of
// spec/tla/Broker.tla). The bounds and switches restrict only [Enabled],
// the model checker's choice of actions; [Step] accepts any action the
// write path allows, so recorded histories can be replayed.
type Config struct {
	// TicketOrder is BeforeStage (the default when empty) or AfterStage.
	TicketOrder TicketOrder
	// Producers is the number of producer ids (1..Producers).
	Producers int
	// Batches is the number of new batches each producer sends (batch i
	// of an epoch has the sequence range [i,i]).
	Batches int
	// KnownProducers starts every producer known to the partition with
	// an empty window (otherwise unknown, as at workload start).
	KnownProducers bool
	// StageFailure lets stage_write fail.
	StageFailure bool
	// UploadFailure lets the L0 upload fail (UploadDone with error).
	UploadFailure bool
	// FenceFailure lets fence_epoch fail.
	FenceFailure bool
	// ClientTimeout lets the client give up on a call (Return unknown)
	// while the request goes on inside the broker.
	ClientTimeout bool
	// MaxRetries bounds the client's retries per producer (a new
	// Replicate with the sequence range of a call that failed or timed
	// out); 0 switches retries off.
	MaxRetries int
	// MaxEvictions bounds EvictProducer steps; 0 switches eviction off.
	MaxEvictions int
	// MaxEpochBumps bounds BumpEpoch steps; 0 switches them off.
	MaxEpochBumps int
	// MaxTermChanges bounds ChangeTerm steps; 0 switches them off.
	MaxTermChanges int
	// Window is the number of finished requests rm_stm remembers per
	// producer (requests_cached_max); 0 means [WindowSize].
	Window int
	// Bug injects a known bug (BugNone when empty).
	Bug string
	// MaxSeq is the highest sequence number, after which 0 follows
	// (Broker.tla's MaxSeq); 0 means INT32_MAX, Kafka's. A model config
	// makes it small so that the wrap is reached.
	MaxSeq int
	// AwaitEnqueued makes a producer's next call (new batch or retry)
	// wait until each of its earlier calls holds or held its ticket or
	// failed: the caller awaits request_enqueued, as a connection that
	// handles one request at a time up to its enqueueing does.
	AwaitEnqueued bool
	// OldEpochRetry lets the client retry a call of an epoch older than
	// its current one, unchanged (a retry sent after BumpEpoch, or a
	// request of the old epoch that arrives late): rm_stm does not fence
	// old epochs, so such a batch is matched or sequenced against the
	// newer epoch's window.
	OldEpochRetry bool
	// RedeemAbort lets a call waiting in redeem be aborted (RedeemTicket
	// with result error: producer_queue's redeem(as) whose abort source
	// fires, as on a client disconnect or a shutdown): the call fails and
	// releases its ticket, so its successor may overtake it.
	RedeemAbort bool
	// TieredPath lets a call take the tiered storage path as it was
	// before PR #31106 (the storage-mode flip): no ticket, no stage_write
	// or upload, rm_stm decides it inside replicate() (Decide right after
	// Replicate), so it may overtake earlier calls still uploading.
	TieredPath bool

	_ struct{}
}

// Validate checks the constants.
func (c Config) Validate() error {
	switch c.TicketOrder {
	case "", BeforeStage, AfterStage:
	default:
		return fmt.Errorf("spec: ticket order %q is not %q or %q", c.TicketOrder, BeforeStage, AfterStage)
	}
	switch c.Bug {
	case "", BugNone, BugReleaseBeforeDecide, BugDupLatestOffset, BugLeakTicket:
	default:
		return fmt.Errorf("spec: unknown bug %q (known: %s, %s, %s, %s)", c.Bug, BugNone, BugReleaseBeforeDecide, BugDupLatestOffset, BugLeakTicket)
	}
	for _, b := range []struct {
		name string
		v    int
		max  int
	}{{"Producers", c.Producers, 100}, {"Batches", c.Batches, 100}, {"MaxRetries", c.MaxRetries, 100},
		{"MaxEvictions", c.MaxEvictions, 100}, {"MaxEpochBumps", c.MaxEpochBumps, 100},
		{"MaxTermChanges", c.MaxTermChanges, 100}, {"Window", c.Window, 100}} {
		if b.v < 0 || b.v > b.max {
			return fmt.Errorf("spec: %s = %d is out of range 0..%d", b.name, b.v, b.max)
		}
	}
	return nil
}

func (c Config) order() TicketOrder {
	if c.TicketOrder == "" {
		return BeforeStage
	}
	return c.TicketOrder
}

// maxSeq is the highest sequence number of the model.
func (c Config) maxSeq() int32 {
	if c.MaxSeq <= 0 || c.MaxSeq > math.MaxInt32 {
		return math.MaxInt32
	}
	return int32(c.MaxSeq)
}

func (c Config) window() int {
	if c.Window == 0 {
		return WindowSize
	}
	return c.Window
}

func (c Config) bug(b string) bool { return c.Bug == b }

// Action is one step of the spec. Its fields mirror history.Event, so a
// recorded event maps 1:1 to an action; fields an action does not use
// are zero.
type Action struct {
	Name Name
	// Op is the operation id (all per-operation actions).
	Op int64
	// PID, Epoch, First and Last describe the batch (Replicate), the
	// producer (EvictProducer, BumpEpoch: Epoch is the new epoch).
	PID   int64
	Epoch int16
	First int32
	Last  int32
	// Result is the outcome of StageWriteDone, UploadDone, FenceEpoch
	// and Return.
	Result Result
	// Error is the Kafka error code of a failed Return.
	Error ErrorCode
	// Decision is the decision of Decide.
	Decision Decision
	// Offset is the log offset of Decide (appends and duplicates) and of
	// a successful Return.
	Offset int64
	// Term is the new term of ChangeTerm.
	Term int64
}

// String renders the action in the style of history.Event.String.
func (a Action) String() string {
	switch a.Name {
	case Replicate:
		return fmt.Sprintf("Replicate op=%d pid=%d epoch=%d seq=[%d,%d]", a.Op, a.PID, a.Epoch, a.First, a.Last)
	case Return:
		switch a.Result {
		case OK:
			return fmt.Sprintf("Return op=%d ok offset=%d", a.Op, a.Offset)
		case Failed:
			return fmt.Sprintf("Return op=%d error=%d", a.Op, a.Error)
		}
		return fmt.Sprintf("Return op=%d %s", a.Op, a.Result)
	case Decide:
		if a.Decision.HasOffset() {
			return fmt.Sprintf("Decide op=%d %s offset=%d", a.Op, a.Decision, a.Offset)
		}
		return fmt.Sprintf("Decide op=%d %s", a.Op, a.Decision)
	case StageWriteDone, UploadDone, FenceEpoch:
		return fmt.Sprintf("%s op=%d %s", a.Name, a.Op, a.Result)
	case RedeemTicket:
		if a.Result == Failed {
			return fmt.Sprintf("RedeemTicket op=%d error", a.Op)
		}
	case EvictProducer:
		return fmt.Sprintf("EvictProducer pid=%d", a.PID)
	case BumpEpoch:
		return fmt.Sprintf("BumpEpoch pid=%d epoch=%d", a.PID, a.Epoch)
	case ChangeTerm:
		return fmt.Sprintf("ChangeTerm term=%d", a.Term)
	}
	return fmt.Sprintf("%s op=%d", a.Name, a.Op)
}

// Fair reports whether the action is one the broker itself takes and
// the liveness property EveryCallReturns assumes weakly fair: every
// per-operation step except the client's Replicate and a timed-out
// Return, and no environment step.
func (a Action) Fair() bool {
	switch a.Name {
	case Replicate, EvictProducer, BumpEpoch, ChangeTerm:
		return false
	case Return:
		return a.Result != Unknown
	case RedeemTicket:
		return a.Result != Failed // an abort comes from outside
	}
	return true
}

// StepError is an action the spec does not allow in a state: what was
// tried, what the spec expected instead, and the part of the state that
// mattered.
type StepError struct {
	Action Action
	// Expected says in a sentence what the spec expected instead.
	Expected string
	// Want lists the action names the spec would have accepted for the
	// same operation, if any (used to report missing event kinds).
	Want []Name
	// State renders the part of the state that mattered.
	State string
}

func (e *StepError) Error() string {
	var b strings.Builder
	b.WriteString("spec: ")
	b.WriteString(e.Action.String())
	b.WriteString(": ")
	b.WriteString(e.Expected)
	if e.State != "" {
		b.WriteString(" (state: ")
		b.WriteString(e.State)
		b.WriteString(")")
	}
	return b.String()
}
