package checker

import (
	"github.com/idemcheck/idemcheck/history"
)

// hb builds hand-written histories: each method records one event one
// time unit after the previous one.
type hb struct {
	t      int64
	events []history.Event
}

func (b *hb) add(e history.Event) *hb {
	b.t++
	e.Time = b.t
	b.events = append(b.events, e)
	return b
}

// call records a Replicate of op on partition part for producer pid.
func (b *hb) call(op int64, part string, pid int64, epoch int16, first, last int32) *hb {
	return b.add(history.Event{Kind: history.Replicate, Op: op, Client: op, Partition: part,
		PID: pid, Epoch: epoch, First: first, Last: last})
}

func (b *hb) ok(op, off int64) *hb {
	return b.add(history.Event{Kind: history.Return, Op: op, Result: history.OK, Offset: off})
}

func (b *hb) fail(op int64, code history.ErrorCode) *hb {
	return b.add(history.Event{Kind: history.Return, Op: op, Result: history.Failed, Error: code})
}

func (b *hb) unknown(op int64) *hb {
	return b.add(history.Event{Kind: history.Return, Op: op, Result: history.Unknown})
}

func (b *hb) step(k history.Kind, op int64) *hb {
	e := history.Event{Kind: k, Op: op}
	if k == history.StageWriteDone || k == history.UploadDone || k == history.FenceEpoch {
		e.Result = history.OK
	}
	return b.add(e)
}

func (b *hb) decide(op int64, d history.Decision, off int64) *hb {
	return b.add(history.Event{Kind: history.Decide, Op: op, Decision: d, Offset: off})
}

func (b *hb) evict(part string, pid int64) *hb {
	return b.add(history.Event{Kind: history.EvictProducer, Partition: part, PID: pid})
}

func (b *hb) h() history.History {
	return history.History{Header: history.Header{Format: history.FormatV1}, Events: b.events}
}

// seedBad is the bug of PR #30429 as the pre-fix write path records it:
// producer 1 is unknown to partition p0; op 1 [0,0] is called before op 2
// [1,1], but op 2's stage_write resolves first, so it reserves its ticket
// first, is accepted through the unknown-producer path at offset 0, and
// op 1 and its retries (ops 3 and 4) get OUT_OF_ORDER_SEQUENCE_NUMBER.
func seedBad() *hb {
	b := &hb{}
	b.call(1, "p0", 1, 0, 0, 0).step(history.StageWriteStart, 1)
	b.call(2, "p0", 1, 0, 1, 1).step(history.StageWriteStart, 2)
	b.step(history.StageWriteDone, 2).step(history.ReserveTicket, 2)
	b.step(history.StageWriteDone, 1).step(history.ReserveTicket, 1)
	b.step(history.UploadDone, 2).step(history.RedeemTicket, 2).step(history.FenceEpoch, 2)
	b.decide(2, history.AppendUnknown, 0).step(history.ReleaseTicket, 2).ok(2, 0)
	b.step(history.UploadDone, 1).step(history.RedeemTicket, 1).step(history.FenceEpoch, 1)
	b.decide(1, history.OutOfOrder, 0).step(history.ReleaseTicket, 1)
	b.fail(1, history.OutOfOrderSequenceNumber)
	for op := int64(3); op <= 4; op++ {
		b.call(op, "p0", 1, 0, 0, 0).fail(op, history.OutOfOrderSequenceNumber)
	}
	return b
}

// seedFixed is the same calls through the fixed write path: tickets are
// reserved in call order, op 1 is decided first and both succeed.
func seedFixed() *hb {
	b := &hb{}
	b.call(1, "p0", 1, 0, 0, 0).step(history.ReserveTicket, 1).step(history.StageWriteStart, 1)
	b.call(2, "p0", 1, 0, 1, 1).step(history.ReserveTicket, 2).step(history.StageWriteStart, 2)
	b.step(history.StageWriteDone, 2).step(history.StageWriteDone, 1)
	b.step(history.UploadDone, 2).step(history.UploadDone, 1)
	b.step(history.RedeemTicket, 1).step(history.FenceEpoch, 1).decide(1, history.Append, 0)
	b.step(history.ReleaseTicket, 1).step(history.RedeemTicket, 2).step(history.FenceEpoch, 2)
	b.decide(2, history.Append, 1).step(history.ReleaseTicket, 2)
	b.ok(1, 0).ok(2, 1)
	return b
}
