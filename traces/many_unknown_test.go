package traces_test

import (
	"github.com/idemcheck/idemcheck/history"
)

// manyUnknown is the number of consecutive unknown outcomes in the
// many-unknown-* traces.
const manyUnknown = 1000

// manyUnknownTraces lists the many-unknown-* traces: one producer whose
// long run of one-record batches all have unknown outcomes, followed by
// acked batches whose offsets decide the verdict.
func manyUnknownTraces() []generated {
	return []generated{
		{"many-unknown-known-ok.jsonl", manyUnknownKnown(true)},
		{"many-unknown-known-bad.jsonl", manyUnknownKnown(false)},
		{"many-unknown-first-ok.jsonl", manyUnknownFirst(true)},
		{"many-unknown-first-bad.jsonl", manyUnknownFirst(false)},
	}
}

// unknownRun records one producer's calls one after the other on
// partition p0: each a one-record batch, called and answered before the
// next call.
type unknownRun struct {
	events []history.Event
	t, op  int64
}

func (r *unknownRun) call(seq int32, result history.Result, offset int64) {
	r.op++
	r.events = append(r.events, history.Event{Kind: history.Replicate, Time: r.t, Op: r.op, Client: 1,
		Partition: "p0", PID: 1, First: seq, Last: seq})
	ret := history.Event{Kind: history.Return, Time: r.t + 1, Op: r.op, Result: result}
	if result == history.OK {
		ret.Offset = offset
	}
	r.events = append(r.events, ret)
	r.t += 2
}

func (r *unknownRun) history(expect, violation, description string) history.History {
	return history.History{
		Header: history.Header{Format: history.FormatV1, Source: "hand", Expect: expect,
			Violation: violation, Description: description},
		Events: r.events,
	}
}

// manyUnknownKnown: [0,0] acked at 0 makes the producer known, then
// [1,1]..[1000,1000] have unknown outcomes and [1001,1001] is acked. Being
// next in sequence, it needs every unknown batch appended before it, one
// offset each: at 1001 there is room (ok), at 1000 there is not.
func manyUnknownKnown(ok bool) func() (history.History, error) {
	return func() (history.History, error) {
		var r unknownRun
		r.call(0, history.OK, 0)
		for s := int32(1); s <= manyUnknown; s++ {
			r.call(s, history.Unknown, 0)
		}
		if ok {
			r.call(manyUnknown+1, history.OK, manyUnknown+1)
			return r.history("Ok", "", "Producer 1 is known to the partition ([0,0] acked at 0); [1,1]..[1000,1000] have unknown outcomes and [1001,1001] is acked at 1001: accepted as next in sequence, it needs all 1,000 unknown batches appended before it, and offsets 1-1000 hold them."), nil
		}
		r.call(manyUnknown+1, history.OK, manyUnknown)
		return r.history("Illegal", "ContiguousAppends", "Producer 1 is known to the partition ([0,0] acked at 0); [1,1]..[1000,1000] have unknown outcomes and [1001,1001] is acked at 1000: accepted as next in sequence, it needs all 1,000 unknown batches appended between offset 0 and it, and only 999 offsets lie in between."), nil
	}
}

// manyUnknownFirst: the same run for a producer the partition has no
// state for. Any suffix of the unknown batches, or none of them (the
// unknown-producer path), may have been appended before the first acked
// batch, so its offset alone proves nothing; what cannot be explained is
// an acked batch that is neither next in sequence nor a duplicate once
// the producer is known.
func manyUnknownFirst(ok bool) func() (history.History, error) {
	return func() (history.History, error) {
		var r unknownRun
		for s := int32(0); s < manyUnknown; s++ {
			r.call(s, history.Unknown, 0)
		}
		if ok {
			r.call(manyUnknown, history.OK, manyUnknown)
			return r.history("Ok", "", "Producer 1 has no state on the partition; [0,0]..[999,999] have unknown outcomes and [1000,1000] is acked at 1000, which any suffix of the unknown batches appended before it explains (or none of them, through the unknown-producer path)."), nil
		}
		r.call(manyUnknown+2, history.OK, 5)
		r.call(manyUnknown+1, history.OK, 6)
		return r.history("Illegal", "ContiguousAppends", "Producer 1 has no state on the partition; [0,0]..[999,999] have unknown outcomes, then [1002,1002] is acked at 5 and [1001,1001], called after that ack, at 6. [1002,1002] is next after none of the unknown batches, so it came through the unknown-producer path and leaves the producer's last sequence at 1002; [1001,1001] is then neither next nor a duplicate, and no outcome of the unknown batches lets it be appended."), nil
	}
}
