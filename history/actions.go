package history

import "github.com/idemcheck/idemcheck/spec"

// FromAction maps a spec action to the event of the same kind at time t
// in partition (the spec models one partition, so the action names
// none). The client of a Replicate is its producer id.
func FromAction(a spec.Action, t int64, partition string) Event {
	e := Event{Kind: a.Name, Time: t, Op: a.Op}
	switch a.Name {
	case spec.Replicate:
		e.Client, e.Partition, e.PID, e.Epoch, e.First, e.Last = a.PID, partition, a.PID, a.Epoch, a.First, a.Last
	case spec.Return:
		e.Result = a.Result
		switch a.Result {
		case spec.OK:
			e.Offset = a.Offset
		case spec.Failed:
			e.Error = a.Error
		}
	case spec.StageWriteDone, spec.UploadDone, spec.FenceEpoch:
		e.Result = a.Result
	case spec.RedeemTicket:
		if a.Result == spec.Failed {
			e.Result = a.Result
		}
	case spec.Decide:
		e.Decision = a.Decision
		if a.Decision.HasOffset() {
			e.Offset = a.Offset
		}
	case spec.EvictProducer:
		e.Op, e.Partition, e.PID = 0, partition, a.PID
	case spec.BumpEpoch:
		e.Op, e.PID, e.Epoch = 0, a.PID, a.Epoch
	case spec.ChangeTerm:
		e.Op, e.Partition, e.Term = 0, partition, a.Term
	}
	return e
}

// FromActions returns a behaviour of the spec (a model checker's
// counterexample, a random walk) as a history with header h: one event
// per action ([FromAction]), the i-th (from 0) at time i+1, all in
// partition.
func FromActions(h Header, partition string, acts []spec.Action) History {
	out := History{Header: h, Events: make([]Event, 0, len(acts))}
	for i, a := range acts {
		out.Events = append(out.Events, FromAction(a, int64(i+1), partition))
	}
	return out
}
