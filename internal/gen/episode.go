package gen

import (
	"fmt"

	"github.com/idemcheck/idemcheck/history"
)

// script records a hand-written sequence of events, keeping the first
// error.
type script struct {
	s   *sim
	err error
}

func (sc *script) e(ev history.Event) {
	if sc.err == nil {
		sc.err = sc.s.emit(ev)
	}
}

// call records a Replicate of pid on p0 in epoch 0 and returns its op.
func (sc *script) call(pid int64, first, last int32) int64 {
	op := sc.s.nextOp
	sc.s.nextOp++
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
	opA = sc.call(1, a[0], a[1])
	sc.k(history.StageWriteStart, opA)
	opB = sc.call(1, b[0], b[1])
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

// episode records the injected bug's scripted episode on p0 for producer
// 1 (and, for lost-ack, a producer id no other traffic uses) and leaves
// the simulation state as the episode left the broker.
func (s *sim) episode() error {
	sc := &script{s: s}
	st := s.streams[0] // p0, producer 1
	o := s.offsets[0]
	switch s.o.Inject {
	case ReorderUnknown:
		opA, opB := sc.overtake([2]int32{0, 1}, [2]int32{2, 2}, history.AppendUnknown, o, history.OutOfOrder, 0)
		sc.retOK(opB, o)
		sc.retErr(opA, history.OutOfOrderSequenceNumber)
		s.record(st, 0, 2, 2, o)
		s.offsets[0] = o + 1
		st.nextSeq, st.sent = 3, 2
	case ReorderKnown:
		// [0,0] at o, [1,2] at o+1 (two records: o+1 and o+2), [3,3] at o+3.
		sc.fixed(1, 0, 0, history.Append, o)
		opA, opB := sc.overtake([2]int32{1, 2}, [2]int32{3, 3}, history.OutOfOrder, 0, history.Append, o+1)
		sc.retErr(opB, history.OutOfOrderSequenceNumber)
		sc.retOK(opA, o+1)
		sc.fixed(1, 3, 3, history.Append, o+3)
		s.record(st, 0, 0, 0, o)
		s.record(st, 0, 1, 2, o+1)
		s.record(st, 0, 3, 3, o+3)
		s.offsets[0] = o + 4
		st.nextSeq, st.sent = 4, 3
	case DuplicateAppend:
		a := sc.call(1, 0, 0)
		sc.k(history.ReserveTicket, a)
		sc.k(history.StageWriteStart, a)
		b := sc.call(1, 0, 0)
		sc.k(history.ReserveTicket, b)
		sc.k(history.StageWriteStart, b)
		for _, op := range []int64{b, a} {
			sc.ok(history.StageWriteDone, op)
			sc.ok(history.UploadDone, op)
		}
		for i, op := range []int64{a, b} {
			sc.k(history.RedeemTicket, op)
			sc.ok(history.FenceEpoch, op)
			sc.decide(op, history.Append, o+int64(i))
			sc.k(history.ReleaseTicket, op)
		}
		sc.retOK(a, o)
		sc.retOK(b, o+1)
		s.record(st, 0, 0, 0, o)
		s.offsets[0] = o + 2
		st.nextSeq, st.sent = 1, 1
	case LostAck:
		other := int64(s.o.Producers + 1)
		sc.fixed(1, 0, 0, history.Append, o)
		sc.fixed(other, 0, 0, history.Append, o)
		s.record(st, 0, 0, 0, o)
		s.offsets[0] = o + 1
		st.nextSeq, st.sent = 1, 1
	case NonmonotonicOffset:
		sc.fixed(1, 0, 0, history.Append, o+1)
		sc.fixed(1, 1, 1, history.Append, o)
		s.record(st, 0, 0, 0, o+1)
		s.record(st, 0, 1, 1, o)
		s.offsets[0] = o + 2
		st.nextSeq, st.sent = 2, 2
	case GapAccept:
		sc.fixed(1, 0, 0, history.Append, o)
		sc.fixed(1, 2, 2, history.Append, o+1)
		s.record(st, 0, 0, 0, o)
		s.record(st, 0, 2, 2, o+1)
		s.offsets[0] = o + 2
		st.nextSeq, st.sent = 3, 2
	default:
		return fmt.Errorf("gen: no episode for bug %q", s.o.Inject)
	}
	return sc.err
}
