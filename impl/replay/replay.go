package replay

import (
	"fmt"

	"github.com/idemcheck/idemcheck/history"
	"github.com/idemcheck/idemcheck/impl"
)

// Option is an option of [Replay].
type Option interface{ apply(*options) }

type options struct {
	order  impl.TicketOrder
	window int
}

type orderOption impl.TicketOrder

func (o orderOption) apply(opts *options) { opts.order = impl.TicketOrder(o) }

// WithTicketOrder makes [Replay] use ordering o instead of the one in the
// history's header.
func WithTicketOrder(o impl.TicketOrder) Option { return orderOption(o) }

type windowOption int

func (w windowOption) apply(opts *options) { opts.window = int(w) }

// WithWindow makes [Replay]'s idempotency rules remember n finished
// requests per producer instead of [spec.WindowSize] (impl.Config.Window):
// for a model checker's counterexample under a smaller window.
func WithWindow(n int) Option { return windowOption(n) }

// replayDataPlane remembers which ops have a pending stage_write or upload.
type replayDataPlane struct {
	stages  map[int64]bool
	uploads map[int64]bool
}

func (d *replayDataPlane) StageWrite(op int64, _ string, _ impl.Batch)   { d.stages[op] = true }
func (d *replayDataPlane) ExecuteWrite(op int64, _ string, _ impl.Batch) { d.uploads[op] = true }

// Error is an input event the implementation cannot follow.
type Error struct {
	// Index is the index of the event in the input history.
	Index int
	// Event is the input event.
	Event history.Event
	// Err says why.
	Err error
}

// Error renders the event and the reason.
func (e *Error) Error() string {
	return fmt.Sprintf("replay: event %d (%s): %v", e.Index, e.Event, e.Err)
}

// Unwrap returns the reason.
func (e *Error) Unwrap() error { return e.Err }

// Replay drives a [impl.Frontend] through the events of h, in order, and
// returns the history the frontend recorded. The ticket ordering is the
// one of [WithTicketOrder], else h.Header.TicketOrder, else [impl.BeforeStage].
//
// Input events are followed like this:
//
//   - Replicate calls replicate with the event's op id, client, partition,
//     pid, epoch and sequences;
//   - StageWriteDone and UploadDone complete that op's stage_write or
//     upload with the recorded result;
//   - Return with result unknown is a client timeout; it is taken just
//     before the step that would finish the op if that step comes first
//     (the frontend answers in the step that decides or fails a request),
//     so an op unknown in h is unknown in the result too; any other Return
//     runs the op to its end: a stage_write or upload that h never
//     completes is completed successfully, and tickets of the same
//     producer that block the op are redeemed first, lowest op first;
//   - Decide (or, for an op h does not decide, RedeemTicket or a
//     ReleaseTicket after a redeem) runs the op's redeem, fence and
//     decision at that point, so that an environment step h records
//     between the redeem and the decision comes first; its FenceEpoch
//     result, if h has one, decides the fence, and a fence followed by a
//     term change and no decision is a failed fence (the call failed);
//   - a RedeemTicket with result error is the abort signal
//     ([impl.Frontend.Abort]), and so is a ReleaseTicket of an op
//     waiting for its ticket that h never redeems (a history that does
//     not record the aborted redeem);
//   - ReserveTicket, StageWriteStart, FenceEpoch and the other
//     ReleaseTickets are produced by the frontend itself and are skipped;
//   - EvictProducer, BumpEpoch and ChangeTerm are environment steps.
//
// At the end every ticket that can be redeemed is. The returned history
// has the same op ids as h, so its Return events can be compared with h's.
// When h omits the internal events, redeems happen when the Returns ask
// for them, so an op decided after its client timed out may get another
// offset than in the run that produced h.
func Replay(h history.History, opts ...Option) (history.History, error) {
	var o options
	for _, opt := range opts {
		opt.apply(&o)
	}
	if o.order == "" {
		o.order = impl.TicketOrder(h.Header.TicketOrder)
	}
	order, err := impl.ParseTicketOrder(string(o.order))
	if err != nil {
		return history.History{}, err
	}
	hdr := history.Header{Source: "impl", TicketOrder: string(order), Description: h.Header.Description, Seed: h.Header.Seed}
	log := history.NewLog(hdr)
	dp := &replayDataPlane{stages: make(map[int64]bool), uploads: make(map[int64]bool)}
	f, err := impl.NewFrontend(impl.Config{TicketOrder: order, Recorder: log, Window: o.window}, dp)
	if err != nil {
		return history.History{}, err
	}
	r := &replayer{f: f, dp: dp, fence: make(map[int64]bool), hasStage: make(map[int64]bool),
		hasUpload: make(map[int64]bool), unknown: make(map[int64]bool), hasRedeem: make(map[int64]bool),
		hasDecide: make(map[int64]bool)}
	partOf := map[int64]string{}
	fenced := map[int64]bool{}     // fenced ok, not decided yet
	termFailed := map[int64]bool{} // the term changed after its fence
	for _, e := range h.Events {
		switch e.Kind {
		case history.Replicate:
			partOf[e.Op] = e.Partition
		case history.Return:
			r.unknown[e.Op] = e.Result == history.Unknown
		case history.FenceEpoch:
			r.fence[e.Op] = e.Result == history.OK
			if e.Result == history.OK {
				fenced[e.Op] = true
			}
		case history.StageWriteDone:
			r.hasStage[e.Op] = true
		case history.UploadDone:
			r.hasUpload[e.Op] = true
		case history.RedeemTicket, history.Decide:
			if e.Result != history.Failed {
				r.hasRedeem[e.Op] = true
			}
			if e.Kind == history.Decide {
				r.hasDecide[e.Op] = true
				delete(fenced, e.Op)
			}
		case history.ChangeTerm:
			for op := range fenced {
				if partOf[op] == e.Partition {
					termFailed[op] = true
				}
			}
		}
	}
	// A call fenced in a term that changed before its decision fails
	// (the spec's ReleaseTicket after a term change). The frontend
	// fences and decides in one step, so the replay gives it a failed
	// fence: the same outcome.
	for op := range termFailed {
		if !r.hasDecide[op] {
			r.fence[op] = false
		}
	}
	for i, e := range h.Events {
		if err := r.step(e); err != nil {
			return log.History(), &Error{Index: i, Event: e, Err: err}
		}
		if err := f.Err(); err != nil {
			return log.History(), &Error{Index: i, Event: e, Err: err}
		}
	}
	for {
		ready := f.Redeemable()
		if len(ready) == 0 {
			break
		}
		if err := r.redeem(ready[0]); err != nil {
			return log.History(), err
		}
	}
	return log.History(), f.Err()
}

type replayer struct {
	f         *impl.Frontend
	dp        *replayDataPlane
	fence     map[int64]bool
	hasStage  map[int64]bool
	hasUpload map[int64]bool
	unknown   map[int64]bool // the op's Return in h is unknown
	hasRedeem map[int64]bool // h redeems or decides the op
	hasDecide map[int64]bool // h decides the op
}

// timeoutFirst records the client timeout of an op whose Return in h is
// unknown before a step that would finish it: the frontend answers in the
// same step as it decides or fails, so a client that timed out between
// the two is modelled as timing out just before.
func (r *replayer) timeoutFirst(op int64) error {
	if st, _ := r.f.Status(op); r.unknown[op] && !st.Returned {
		return r.f.Timeout(op)
	}
	return nil
}

func (r *replayer) fenceOK(op int64) bool {
	ok, set := r.fence[op]
	return ok || !set
}

func (r *replayer) redeem(op int64) error {
	if err := r.timeoutFirst(op); err != nil {
		return err
	}
	return r.f.Redeem(op, r.fenceOK(op))
}

func (r *replayer) completeStage(op int64, ok bool) error {
	if !r.dp.stages[op] {
		return fmt.Errorf("%w: op %d has no pending stage_write", impl.ErrWrongStep, op)
	}
	delete(r.dp.stages, op)
	if !ok {
		if err := r.timeoutFirst(op); err != nil {
			return err
		}
	}
	return r.f.CompleteStage(op, ok)
}

func (r *replayer) completeUpload(op int64, ok bool) error {
	if !r.dp.uploads[op] {
		return fmt.Errorf("%w: op %d has no pending upload", impl.ErrWrongStep, op)
	}
	delete(r.dp.uploads, op)
	if !ok {
		if err := r.timeoutFirst(op); err != nil {
			return err
		}
	}
	return r.f.CompleteUpload(op, ok)
}

// drive redeems op, first redeeming the ready tickets of the same
// producer and partition that block it. If none is ready, op stays
// waiting.
func (r *replayer) drive(op int64) error {
	for {
		o, ok := r.f.Status(op)
		if !ok {
			return fmt.Errorf("%w: op %d", impl.ErrUnknownOp, op)
		}
		if o.Phase != impl.PhaseRedeem {
			return nil
		}
		if o.Redeemable {
			return r.redeem(op)
		}
		blocker := int64(-1)
		for _, id := range r.f.Redeemable() {
			b, _ := r.f.Status(id)
			if b.Partition == o.Partition && b.Batch.PID == o.Batch.PID {
				blocker = id
				break
			}
		}
		if blocker < 0 {
			return nil
		}
		if err := r.redeem(blocker); err != nil {
			return err
		}
	}
}

func (r *replayer) step(e history.Event) error {
	f := r.f
	switch e.Kind {
	case history.Replicate:
		_, err := f.Replicate(impl.Request{Op: e.Op, Client: e.Client, Partition: e.Partition,
			Batch: impl.Batch{PID: e.PID, Epoch: e.Epoch, First: e.First, Last: e.Last}})
		return err
	case history.StageWriteDone:
		return r.completeStage(e.Op, e.Result == history.OK)
	case history.UploadDone:
		return r.completeUpload(e.Op, e.Result == history.OK)
	case history.RedeemTicket, history.Decide, history.ReleaseTicket:
		st, ok := f.Status(e.Op)
		ph := st.Phase
		if !ok {
			return fmt.Errorf("%w: op %d", impl.ErrUnknownOp, e.Op)
		}
		aborted := e.Kind == history.RedeemTicket && e.Result == history.Failed
		if e.Kind == history.RedeemTicket && !aborted && r.hasDecide[e.Op] {
			// The frontend redeems, fences and decides in one step: take
			// it at the Decide, so that an environment step recorded in
			// between (an eviction, a term change) comes first, as in h.
			return nil
		}
		if ph == impl.PhaseRedeem && (aborted || e.Kind == history.ReleaseTicket && !r.hasRedeem[e.Op]) {
			// Aborted while waiting (or, in a history that does not
			// record the aborted redeem, released while waiting and never
			// redeemed): the abort signal.
			if err := r.timeoutFirst(e.Op); err != nil {
				return err
			}
			return f.Abort(e.Op)
		}
		switch ph {
		case impl.PhaseRedeem:
			if err := r.drive(e.Op); err != nil {
				return err
			}
			if st, _ := f.Status(e.Op); st.Phase == impl.PhaseRedeem {
				return fmt.Errorf("%w: op %d cannot redeem its ticket yet", impl.ErrWrongStep, e.Op)
			}
		case impl.PhaseStage, impl.PhaseUpload:
			if e.Kind != history.ReleaseTicket {
				return fmt.Errorf("%w: %s of op %d in phase %s", impl.ErrWrongStep, e.Kind, e.Op, ph)
			}
		}
		return nil
	case history.Return:
		if e.Result == history.Unknown {
			if st, _ := f.Status(e.Op); st.Returned {
				return nil
			}
			return f.Timeout(e.Op)
		}
		if r.dp.stages[e.Op] && !r.hasStage[e.Op] {
			if err := r.completeStage(e.Op, true); err != nil {
				return err
			}
		}
		if r.dp.uploads[e.Op] && !r.hasUpload[e.Op] {
			if err := r.completeUpload(e.Op, true); err != nil {
				return err
			}
		}
		return r.drive(e.Op)
	case history.EvictProducer:
		_, err := f.Evict(e.Partition, e.PID)
		return err
	case history.BumpEpoch:
		return f.BumpEpoch(e.PID, e.Epoch)
	case history.ChangeTerm:
		if err := f.ChangeTerm(e.Partition, e.Term); err != nil {
			return f.ChangeTerm(e.Partition, 0)
		}
		return nil
	}
	return nil // ReserveTicket, StageWriteStart, FenceEpoch: produced by the frontend
}
