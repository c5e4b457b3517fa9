package gen

import (
	"fmt"

	"github.com/idemcheck/idemcheck/history"
)

// script writes a bug's episode: a hand-written sequence of events on
// p0, one time step each, with op ids from 1.
type script struct {
	evs    []history.Event
	nextOp int64
	pid    int64 // the episode's producer
}

func (sc *script) e(ev history.Event) {
	ev.Time = int64(len(sc.evs))
	sc.evs = append(sc.evs, ev)
}

// call records a Replicate of pid on p0 in epoch 0 and returns its op.
func (sc *script) call(pid int64, first, last int32) int64 {
	sc.nextOp++
	op := sc.nextOp
	sc.e(history.Event{Kind: history.Replicate, Op: op, Client: pid, Partition: partName(0), PID: pid, First: first, Last: last})
	return op
}

func (sc *script) k(k history.Kind, op int64) { sc.e(history.Event{Kind: k, Op: op}) }

func (sc *script) ok(k history.Kind, op int64) {
	sc.e(history.Event{Kind: k, Op: op, Result: history.OK})
}

func (sc *script) decide(op int64, d history.Decision, off int64) {
	ev := history.Event{Kind: history.Decide, Op: op, Decision: d}
	if d.HasOffset() {
		ev.Offset = off
	}
	sc.e(ev)
}

func (sc *script) retOK(op, off int64) {
	sc.e(history.Event{Kind: history.Return, Op: op, Result: history.OK, Offset: off})
}

func (sc *script) retErr(op int64, code history.ErrorCode) {
	sc.e(history.Event{Kind: history.Return, Op: op, Result: history.Failed, Error: code})
}

// fixed records one whole request in the fixed ordering, decided d at
// offset off and acknowledged with off.
func (sc *script) fixed(pid int64, first, last int32, d history.Decision, off int64) int64 {
	op := sc.call(pid, first, last)
	sc.k(history.ReserveTicket, op)
	sc.k(history.StageWriteStart, op)
	sc.ok(history.StageWriteDone, op)
	sc.ok(history.UploadDone, op)
	sc.k(history.RedeemTicket, op)
	sc.ok(history.FenceEpoch, op)
	sc.decide(op, d, off)
	sc.k(history.ReleaseTicket, op)
	sc.retOK(op, off)
	return op
}

// overtake records batches a (called first) and b in the pre-fix
// ordering with b's stage_write resolving first, so b reserves, redeems
// and is decided before a.
func (sc *script) overtake(a, b [2]int32, decB history.Decision, offB int64, decA history.Decision, offA int64) (opA, opB int64) {
	opA = sc.call(sc.pid, a[0], a[1])
	sc.k(history.StageWriteStart, opA)
	opB = sc.call(sc.pid, b[0], b[1])
	sc.k(history.StageWriteStart, opB)
	sc.ok(history.StageWriteDone, opB)
	sc.k(history.ReserveTicket, opB)
	sc.ok(history.StageWriteDone, opA)
	sc.k(history.ReserveTicket, opA)
	sc.ok(history.UploadDone, opB)
	sc.k(history.RedeemTicket, opB)
	sc.ok(history.FenceEpoch, opB)
	sc.decide(opB, decB, offB)
	sc.k(history.ReleaseTicket, opB)
	sc.ok(history.UploadDone, opA)
	sc.k(history.RedeemTicket, opA)
	sc.ok(history.FenceEpoch, opA)
	sc.decide(opA, decA, offA)
	sc.k(history.ReleaseTicket, opA)
	return opA, opB
}

// episode returns the events of bug's episode for producer pid (and, for
// lost-ack, pid+1) on p0, from time 0 and op 1, and the end offset of
// p0's log after it.
func episode(bug Bug, pid int64) ([]history.Event, int64, error) {
	sc := &script{pid: pid}
	var end int64
	switch bug {
	case ReorderUnknown:
		// B = [2,2] overtakes A = [0,1]: B is appended through the
		// unknown-producer path, A is out of order.
		opA, opB := sc.overtake([2]int32{0, 1}, [2]int32{2, 2}, history.AppendUnknown, 0, history.OutOfOrder, 0)
		sc.retOK(opB, 0)
		sc.retErr(opA, history.OutOfOrderSequenceNumber)
		end = 1
	case ReorderKnown:
		// [0,0] at 0, [1,2] at 1 (two records: 1 and 2), [3,3] at 3.
		sc.fixed(pid, 0, 0, history.Append, 0)
		opA, opB := sc.overtake([2]int32{1, 2}, [2]int32{3, 3}, history.OutOfOrder, 0, history.Append, 1)
		sc.retErr(opB, history.OutOfOrderSequenceNumber)
		sc.retOK(opA, 1)
		sc.fixed(pid, 3, 3, history.Append, 3)
		end = 4
	case DuplicateAppend:
		a := sc.call(pid, 0, 0)
		sc.k(history.ReserveTicket, a)
		sc.k(history.StageWriteStart, a)
		b := sc.call(pid, 0, 0)
		sc.k(history.ReserveTicket, b)
		sc.k(history.StageWriteStart, b)
		for _, op := range []int64{b, a} {
			sc.ok(history.StageWriteDone, op)
			sc.ok(history.UploadDone, op)
		}
		for i, op := range []int64{a, b} {
			sc.k(history.RedeemTicket, op)
			sc.ok(history.FenceEpoch, op)
			sc.decide(op, history.Append, int64(i))
			sc.k(history.ReleaseTicket, op)
		}
		sc.retOK(a, 0)
		sc.retOK(b, 1)
		end = 2
	case LostAck:
		sc.fixed(pid, 0, 0, history.Append, 0)
		sc.fixed(pid+1, 0, 0, history.Append, 0)
		end = 1
	case NonmonotonicOffset:
		sc.fixed(pid, 0, 0, history.Append, 1)
		sc.fixed(pid, 1, 1, history.Append, 0)
		end = 2
	case GapAccept:
		sc.fixed(pid, 0, 0, history.Append, 0)
		sc.fixed(pid, 2, 2, history.Append, 1)
		end = 2
	default:
		return nil, 0, fmt.Errorf("gen: no episode for bug %q", bug)
	}
	return sc.evs, end, nil
}
