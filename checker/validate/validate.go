package validate

import (
	"errors"
	"fmt"
	"io"

	"github.com/idemcheck/idemcheck/history"
	"github.com/idemcheck/idemcheck/spec"
)

// FromHeader as [Options.TicketOrder] takes the ticket order from the
// history's header (before-stage when the header has none).
const FromHeader = "header"

// Options tune [Validate].
type Options struct {
	// TicketOrder is the ordering the history is validated against:
	// "before-stage" (the fix; the default when empty), "after-stage"
	// (pre-fix) or [FromHeader].
	TicketOrder string
	// Coverage, when not nil, counts the spec branches ([spec.Branch])
	// of the events the spec allows (up to the first it does not).
	Coverage *spec.Coverage
	// Window is the number of finished requests the idempotency rules
	// remember per producer (requests_cached_max); 0 means
	// [spec.WindowSize]. Set it for a broker configured otherwise, or for
	// a model checker's counterexample under a smaller window.
	Window int

	_ struct{}
}

// Error is the first event the spec does not allow.
type Error struct {
	// Line is the event's line in the history file (its index + 1 for
	// an in-memory history).
	Line int
	// Event is the offending event.
	Event history.Event
	// Expected says what the spec expected there instead.
	Expected string
	// State is the part of the spec's state that mattered.
	State string
	// Invariant names the invariant the event breaks, when the spec
	// allows the step but the step breaks an invariant.
	Invariant string
	// Missing is the event kind the history lacks altogether, when that
	// is why it cannot be validated.
	Missing history.Kind

	wanted []spec.Name
}

func (e *Error) Error() string {
	msg := fmt.Sprintf("validate: line %d: %s: %s", e.Line, e.Event, e.Expected)
	if e.State != "" {
		msg += " (state: " + e.State + ")"
	}
	return msg
}

// ErrTicketOrder is returned for an unknown [Options.TicketOrder].
var ErrTicketOrder = errors.New("validate: unknown ticket order")

// ErrNothingToValidate is returned for a history without internal events
// (a black-box history: calls and returns only). The spec judges the
// write path's steps, so there is nothing to replay; the black-box
// checker judges such a history.
var ErrNothingToValidate = errors.New("nothing to validate: the history has no internal events (ReserveTicket, StageWriteStart, Decide, ...); idemcheck check judges black-box histories")

// what says what a kind's absence stops us validating.
var what = map[spec.Name]string{
	spec.ReserveTicket:   "ticket order",
	spec.StageWriteStart: "staging",
	spec.StageWriteDone:  "staging",
	spec.UploadDone:      "uploads",
	spec.RedeemTicket:    "the producer queue",
	spec.ReleaseTicket:   "the producer queue",
	spec.FenceEpoch:      "epoch fencing",
	spec.Decide:          "idempotency decisions",
	spec.Replicate:       "calls",
}

// partition is the spec state of one partition.
type partition struct {
	name  string
	state spec.State
	// retireAt is the number of live ops at which to retire next.
	retireAt int
}

// validator holds the replay.
type validator struct {
	cfg   spec.Config
	parts []*partition
	byID  map[string]int
	ops   map[int64]int32 // op id -> partition index
	seen  [16]bool        // kinds seen so far, by index in history.Kinds()
	// internal is whether an internal event has been seen.
	internal bool
	// cov counts the branches taken (nil: not counted); branches is
	// scratch for one event's.
	cov      *spec.Coverage
	branches []spec.Branch
}

// see notes that an event of kind k has been read.
func (v *validator) see(k history.Kind) {
	v.internal = v.internal || k.Internal()
	if ki := kindIndex(k); ki < len(v.seen) {
		v.seen[ki] = true
	}
}

func kindIndex(k history.Kind) int {
	for i, kk := range history.Kinds() {
		if kk == k {
			return i
		}
	}
	return len(history.Kinds())
}

// Reader replays the events of r through the spec's Step, one spec
// state per partition (operations belong to the partition of their
// Replicate), and returns nil or an [*Error] for the first event the
// spec does not allow or that breaks one of its invariants. A history
// that lacks a kind of event the spec needs is reported as such
// ([Error.Missing]), not guessed, and one without any internal event is
// [ErrNothingToValidate]. Errors reading r are returned as they are.
func Reader(r history.Reader, opts Options) error {
	name := opts.TicketOrder
	if name == FromHeader {
		name = r.Header().TicketOrder
	}
	order, ok := spec.ParseTicketOrder(name)
	if !ok {
		return fmt.Errorf("%w %q (want %q, %q or %q)", ErrTicketOrder, name, spec.BeforeStage, spec.AfterStage, FromHeader)
	}
	if opts.Window < 0 {
		return fmt.Errorf("validate: window %d is negative", opts.Window)
	}
	v := &validator{
		cfg:  spec.Config{TicketOrder: order, Window: opts.Window},
		byID: map[string]int{},
		ops:  map[int64]int32{},
		cov:  opts.Coverage,
	}
	index := 0
	for {
		e, err := r.Next()
		if err == io.EOF {
			if !v.internal {
				return ErrNothingToValidate
			}
			return nil
		}
		if err != nil {
			return err
		}
		index++
		line := r.Line()
		if line == 0 {
			line = index
		}
		v.see(e.Kind)
		if err := v.event(e, line); err != nil {
			return v.missing(err, r)
		}
	}
}

// History is [Reader] for an in-memory history; lines are
// event indexes + 1.
func History(h history.History, opts Options) error {
	return Reader(&sliceReader{h: h}, opts)
}

type sliceReader struct {
	h history.History
	i int
}

func (s *sliceReader) Header() history.Header { return s.h.Header }
func (s *sliceReader) Line() int              { return s.i }
func (s *sliceReader) Next() (history.Event, error) {
	if s.i >= len(s.h.Events) {
		return history.Event{}, io.EOF
	}
	s.i++
	return s.h.Events[s.i-1], nil
}

// missing turns a step error whose wanted kind the history has never
// shown into a missing-kind error, reading the rest of r to be sure.
func (v *validator) missing(err error, r history.Reader) error {
	var we *Error
	if !errors.As(err, &we) || len(we.wanted) == 0 {
		return err
	}
	var unseen []spec.Name
	for _, k := range we.wanted {
		if ki := kindIndex(k); ki < len(v.seen) && !v.seen[ki] {
			unseen = append(unseen, k)
		}
	}
	if len(unseen) == 0 {
		return err
	}
	for {
		e, rerr := r.Next()
		if rerr != nil {
			break // EOF or a broken tail: judge on what was read
		}
		v.see(e.Kind)
	}
	if !v.internal {
		return ErrNothingToValidate
	}
	for _, k := range unseen {
		if ki := kindIndex(k); !v.seen[ki] {
			we.Missing = k
			we.Expected = fmt.Sprintf("history has no %s events: cannot validate %s (the spec expected %s here: %s)", k, what[k], k, we.Expected)
			return we
		}
	}
	return err
}

func (v *validator) partition(name string) *partition {
	i, ok := v.byID[name]
	if !ok {
		i = len(v.parts)
		v.byID[name] = i
		v.parts = append(v.parts, &partition{name: name, state: spec.Init(spec.Config{}), retireAt: 64})
	}
	return v.parts[i]
}

// event applies one event.
func (v *validator) event(e history.Event, line int) error {
	if e.Kind.Observation() {
		// A LogBatch records what a reader saw, not a step of the spec:
		// the checker's read check judges it.
		return nil
	}
	a := action(e)
	switch e.Kind {
	case history.BumpEpoch:
		// A client-side step: every partition sees the producer's new
		// epoch.
		for _, p := range v.parts {
			if err := v.apply(p, a, e, line); err != nil {
				return err
			}
		}
		return nil
	case history.Replicate, history.EvictProducer, history.ChangeTerm:
		p := v.partition(e.Partition)
		if e.Kind == history.Replicate {
			v.ops[e.Op] = int32(v.byID[e.Partition])
		}
		return v.apply(p, a, e, line)
	}
	pi, ok := v.ops[e.Op]
	if !ok {
		return &Error{Line: line, Event: e, Expected: fmt.Sprintf("op %d is over (it returned and finished its path), so no %s can follow", e.Op, e.Kind)}
	}
	p := v.parts[pi]
	if err := v.apply(p, a, e, line); err != nil {
		return err
	}
	if (e.Kind == history.Return || e.Kind == history.ReleaseTicket) && len(p.state.Ops) >= p.retireAt {
		p.state.Retire(func(id int64) { delete(v.ops, id) })
		p.retireAt = max(64, 2*len(p.state.Ops))
	}
	return nil
}

func (v *validator) apply(p *partition, a spec.Action, e history.Event, line int) error {
	before := p.state.Viol
	if v.cov != nil {
		v.branches = p.state.AppendBranches(v.branches[:0], v.cfg, a)
	}
	if err := p.state.Apply(v.cfg, a); err != nil {
		var se *spec.StepError
		if errors.As(err, &se) {
			state := se.State
			if len(v.parts) > 1 {
				state = "partition " + p.name + ": " + state
			}
			return &Error{Line: line, Event: e, Expected: se.Expected, State: state, wanted: se.Want}
		}
		return &Error{Line: line, Event: e, Expected: err.Error()}
	}
	if v.cov != nil {
		for _, b := range v.branches {
			v.cov.Inc(b)
		}
	}
	if p.state.Viol == before {
		return nil
	}
	for _, iv := range spec.Invariants() {
		if !iv.Marked(p.state.Viol) || iv.Marked(before) {
			continue
		}
		return &Error{Line: line, Event: e, Invariant: iv.Name,
			Expected: iv.Doc + " Broken: " + iv.Check(p.state).Error()}
	}
	return nil
}

// action maps an event to the spec action of the same name (history's
// kinds, results, decisions and error codes are spec's types).
func action(e history.Event) spec.Action {
	return spec.Action{
		Name:     e.Kind,
		Op:       e.Op,
		PID:      e.PID,
		Epoch:    e.Epoch,
		First:    e.First,
		Last:     e.Last,
		Result:   e.Result,
		Error:    e.Error,
		Decision: e.Decision,
		Offset:   e.Offset,
		Term:     e.Term,
	}
}
