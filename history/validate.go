package history

import (
	"errors"
	"fmt"
	"math"
)

// Sentinel errors of inconsistent histories; every error returned by
// [Stream.Check], [Log.Record] and the decoders wraps one of them (or is
// a syntax error), so callers can use errors.Is.
var (
	ErrUnknownKind      = errors.New("unknown event kind")
	ErrMissingField     = errors.New("missing field")
	ErrBadValue         = errors.New("bad value")
	ErrReturnNoCall     = errors.New("return without a call")
	ErrDuplicateOp      = errors.New("duplicate operation id")
	ErrTimeBackwards    = errors.New("time goes backwards")
	ErrUnknownOperation = errors.New("event of an unknown operation")
)

// FieldError is an inconsistency in one event: which field, and why.
type FieldError struct {
	Field string
	Err   error
	Msg   string
}

func (e *FieldError) Error() string {
	if e.Field == "" {
		return fmt.Sprintf("%v: %s", e.Err, e.Msg)
	}
	return fmt.Sprintf("field %q: %v: %s", e.Field, e.Err, e.Msg)
}

func (e *FieldError) Unwrap() error { return e.Err }

func fieldErr(field string, err error, format string, args ...any) *FieldError {
	return &FieldError{Field: field, Err: err, Msg: fmt.Sprintf(format, args...)}
}

// Stream checks that a sequence of events is a consistent history: known
// kinds, the fields each kind needs with values in range, strictly
// increasing op ids on Replicate, a Return only for an open operation,
// and times that never decrease. Its memory grows with the operations
// still open, not with the length of the history. The zero value is ready
// to use.
type Stream struct {
	started bool
	lastT   int64
	maxOp   int64
	open    map[int64]struct{}
}

// Open returns the number of operations called and not yet returned.
func (s *Stream) Open() int { return len(s.open) }

// Check checks e against the events seen so far and, if it is
// consistent, takes it in. An inconsistent event is not taken in.
func (s *Stream) Check(e Event) error {
	if err := CheckFields(e); err != nil {
		return err
	}
	if s.started && e.Time < s.lastT {
		return fieldErr("t", ErrTimeBackwards, "t=%d after t=%d", e.Time, s.lastT)
	}
	switch {
	case e.Kind == Replicate:
		if s.started && e.Op <= s.maxOp {
			return fieldErr("op", ErrDuplicateOp, "op %d is not above the last op id %d (op ids increase in call order)", e.Op, s.maxOp)
		}
		if s.open == nil {
			s.open = make(map[int64]struct{})
		}
		s.open[e.Op] = struct{}{}
		s.maxOp = e.Op
	case e.Kind == Return:
		if _, ok := s.open[e.Op]; !ok {
			if !s.started || e.Op > s.maxOp {
				return fieldErr("op", ErrReturnNoCall, "op %d was never called", e.Op)
			}
			// The stream keeps only the open operations, so it cannot
			// tell a second Return from one whose Replicate line is
			// missing (op ids need not be dense): it names both.
			return fieldErr("op", ErrReturnNoCall, "op %d is not open: it has already returned, or its Replicate event is missing", e.Op)
		}
		delete(s.open, e.Op)
	case e.Kind.Internal():
		if !s.started || e.Op > s.maxOp {
			return fieldErr("op", ErrUnknownOperation, "op %d was never called", e.Op)
		}
	}
	s.started = true
	s.lastT = e.Time
	return nil
}

// CheckFields checks one event on its own: its kind is known and it has
// the fields its kind needs, with values in range.
func CheckFields(e Event) error {
	if !KnownKind(e.Kind) {
		return fieldErr("kind", ErrUnknownKind, "%q", string(e.Kind))
	}
	if e.Time < 0 {
		return fieldErr("t", ErrBadValue, "negative time %d", e.Time)
	}
	if e.Kind == Replicate || e.Kind == Return || e.Kind.Internal() {
		if e.Op < 1 {
			return fieldErr("op", ErrBadValue, "op id %d (op ids start at 1)", e.Op)
		}
	}
	if len(e.Partition) > MaxNameBytes {
		return fieldErr("partition", ErrBadValue, "name of %d bytes (at most %d)", len(e.Partition), MaxNameBytes)
	}
	switch e.Kind {
	case Replicate:
		if e.Partition == "" {
			return fieldErr("partition", ErrMissingField, "a Replicate needs a partition")
		}
		return checkBatch(e)
	case Return:
		switch e.Result {
		case OK:
			if e.Offset < 0 {
				return fieldErr("offset", ErrBadValue, "negative offset %d", e.Offset)
			}
		case Failed:
			if e.Error == None {
				return fieldErr("error", ErrMissingField, "a failed Return needs a non-zero Kafka error code")
			}
		case Unknown:
		case "":
			return fieldErr("result", ErrMissingField, "a Return needs a result")
		default:
			return fieldErr("result", ErrBadValue, "%q is not ok, error or unknown", string(e.Result))
		}
	case StageWriteDone, UploadDone, FenceEpoch:
		switch e.Result {
		case OK, Failed:
		case "":
			return fieldErr("result", ErrMissingField, "a %s needs a result", e.Kind)
		default:
			return fieldErr("result", ErrBadValue, "%q is not ok or error", string(e.Result))
		}
	case RedeemTicket:
		switch e.Result {
		case "", OK, Failed:
		default:
			return fieldErr("result", ErrBadValue, "%q is not ok or error (error: the redeem was aborted)", string(e.Result))
		}
	case Decide:
		if e.Decision == "" {
			return fieldErr("decision", ErrMissingField, "a Decide needs a decision")
		}
		if !e.Decision.Valid() {
			return fieldErr("decision", ErrBadValue, "unknown decision %q", string(e.Decision))
		}
		if e.Offset < 0 {
			return fieldErr("offset", ErrBadValue, "negative offset %d", e.Offset)
		}
	case EvictProducer:
		if e.Partition == "" {
			return fieldErr("partition", ErrMissingField, "an EvictProducer needs a partition")
		}
		if e.PID < 0 {
			return fieldErr("pid", ErrBadValue, "negative producer id %d", e.PID)
		}
	case BumpEpoch:
		if e.PID < 0 {
			return fieldErr("pid", ErrBadValue, "negative producer id %d", e.PID)
		}
		if e.Epoch < 0 {
			return fieldErr("epoch", ErrBadValue, "negative epoch %d", e.Epoch)
		}
	case LogBatch:
		if e.Partition == "" {
			return fieldErr("partition", ErrMissingField, "a LogBatch needs a partition")
		}
		if e.Offset < 0 {
			return fieldErr("offset", ErrBadValue, "negative offset %d", e.Offset)
		}
		return checkBatch(e)
	case ChangeTerm:
		if e.Partition == "" {
			return fieldErr("partition", ErrMissingField, "a ChangeTerm needs a partition")
		}
		if e.Term < 0 || e.Term == math.MaxInt64 {
			return fieldErr("term", ErrBadValue, "term %d out of range", e.Term)
		}
	}
	return nil
}

// checkBatch checks the fields of a batch that a Replicate and a
// LogBatch share: its producer id, epoch and sequence range.
func checkBatch(e Event) error {
	if e.PID < 0 {
		return fieldErr("pid", ErrBadValue, "negative producer id %d", e.PID)
	}
	if e.Epoch < 0 {
		return fieldErr("epoch", ErrBadValue, "negative epoch %d", e.Epoch)
	}
	if e.First < 0 {
		return fieldErr("first", ErrBadValue, "negative sequence %d", e.First)
	}
	if e.Last < 0 {
		return fieldErr("last", ErrBadValue, "negative sequence %d", e.Last)
	}
	if e.First > e.Last {
		return fieldErr("first", ErrBadValue, "first %d > last %d", e.First, e.Last)
	}
	return nil
}
