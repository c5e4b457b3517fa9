package agreement

import (
	"fmt"

	"github.com/idemcheck/idemcheck/history"
	"github.com/idemcheck/idemcheck/spec"
)

// Names of the invariants [CheckSanity] checks: the spec's invariants,
// which are also the checker's violations.
const (
	TicketOrderIsCallOrder = spec.TicketOrderIsCallOrder
	DecideInCallOrder      = spec.DecideInCallOrder
	ContiguousAppends      = spec.ContiguousAppends
	NoDuplicateAppend      = spec.NoDuplicateAppend
	AckedInLog             = spec.AckedInLog
)

// SanityError is a broken invariant found by [CheckSanity].
type SanityError struct {
	// Invariant is the broken invariant's name.
	Invariant string
	// Index is the index of the offending event in the history.
	Index int
	// Event is the offending event.
	Event history.Event
	// Msg explains the violation.
	Msg string
}

// Error renders the violation.
func (e *SanityError) Error() string {
	return fmt.Sprintf("impl: %s violated at event %d (%s): %s", e.Invariant, e.Index, e.Event, e.Msg)
}

// CheckSanity checks the white-box invariants a history recorded by the
// reference implementation (impl, driven by impl/sim, impl/server or
// impl/replay) must keep with the fix (ticket order before-stage) when no
// producer is evicted (eviction forgets the dedup window and can break
// NoDuplicateAppend and ContiguousAppends). It reads the events only:
//
//   - TicketOrderIsCallOrder: per partition and producer id, tickets are
//     reserved in op (call) order;
//   - DecideInCallOrder: per partition and producer id, decisions come in
//     op order;
//   - ContiguousAppends: the appended batches of a partition take
//     consecutive offsets from 0 in decision order, one per record (each
//     batch's base offset is the previous one's plus its record count, so
//     a producer's offsets increase), and per partition, producer id and
//     epoch each appended range starts right after the previous one (0
//     follows INT32_MAX);
//   - NoDuplicateAppend: no (partition, pid, epoch, first, last) is
//     appended twice;
//   - AckedInLog: a Return with an offset names the base offset of a
//     batch with the op's producer id and sequences.
//
// It returns the first violation as a *[SanityError], or nil.
func CheckSanity(h history.History) error {
	type key struct {
		part string
		pid  int64
	}
	type batchKey struct {
		part        string
		pid         int64
		epoch       int16
		first, last int32
	}
	calls := make(map[int64]history.Event)
	lastReserve := make(map[key]int64)
	lastDecide := make(map[key]int64)
	type partLog struct {
		at  map[int64]history.Event // base offset → Replicate of the op appended there
		end int64                   // the next base offset
	}
	logs := make(map[string]*partLog)
	appended := make(map[batchKey]int64)
	type epochKey struct {
		part  string
		pid   int64
		epoch int16
	}
	lastSeq := make(map[epochKey]int32)
	for i, e := range h.Events {
		bad := func(inv, format string, args ...any) error {
			return &SanityError{Invariant: inv, Index: i, Event: e, Msg: fmt.Sprintf(format, args...)}
		}
		switch e.Kind {
		case history.Replicate:
			calls[e.Op] = e
		case history.ReserveTicket, history.Decide, history.Return:
			c, ok := calls[e.Op]
			if !ok {
				return bad("history", "op %d was never called", e.Op)
			}
			k := key{c.Partition, c.PID}
			switch e.Kind {
			case history.ReserveTicket:
				if prev, ok := lastReserve[k]; ok && prev > e.Op {
					return bad(TicketOrderIsCallOrder, "op %d reserved a ticket after op %d of pid %d on %q", e.Op, prev, c.PID, c.Partition)
				}
				lastReserve[k] = e.Op
			case history.Decide:
				if prev, ok := lastDecide[k]; ok && prev > e.Op {
					return bad(DecideInCallOrder, "op %d decided after op %d of pid %d on %q", e.Op, prev, c.PID, c.Partition)
				}
				lastDecide[k] = e.Op
				if !e.Decision.Appends() {
					break
				}
				pl := logs[c.Partition]
				if pl == nil {
					pl = &partLog{at: make(map[int64]history.Event)}
					logs[c.Partition] = pl
				}
				if e.Offset != pl.end {
					return bad(ContiguousAppends, "appended at offset %d, the log's next offset is %d", e.Offset, pl.end)
				}
				bk := batchKey{c.Partition, c.PID, c.Epoch, c.First, c.Last}
				if prev, ok := appended[bk]; ok {
					return bad(NoDuplicateAppend, "batch pid=%d epoch=%d seq=[%d,%d] on %q already appended by op %d", c.PID, c.Epoch, c.First, c.Last, c.Partition, prev)
				}
				ek := epochKey{c.Partition, c.PID, c.Epoch}
				if last, ok := lastSeq[ek]; ok && !spec.NextSeq(last, c.First) {
					return bad(ContiguousAppends, "pid=%d epoch=%d on %q appended seq=[%d,%d] after a batch ending at %d", c.PID, c.Epoch, c.Partition, c.First, c.Last, last)
				}
				lastSeq[ek] = c.Last
				appended[bk] = e.Op
				pl.at[e.Offset] = c
				pl.end = e.Offset + spec.RecordCount(c.First, c.Last)
			case history.Return:
				if e.Result != history.OK {
					break
				}
				pl := logs[c.Partition]
				at, ok := history.Event{}, false
				if pl != nil {
					at, ok = pl.at[e.Offset]
				}
				if !ok {
					end := int64(0)
					if pl != nil {
						end = pl.end
					}
					return bad(AckedInLog, "acked offset %d is not the base offset of a batch in the log of %q (end offset %d)", e.Offset, c.Partition, end)
				}
				if at.PID != c.PID || at.First != c.First || at.Last != c.Last {
					return bad(AckedInLog, "offset %d of %q holds pid=%d seq=[%d,%d], not pid=%d seq=[%d,%d]",
						e.Offset, c.Partition, at.PID, at.First, at.Last, c.PID, c.First, c.Last)
				}
			}
		}
	}
	return nil
}
