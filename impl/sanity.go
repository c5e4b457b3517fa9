package impl

import (
	"fmt"
	"math"

	"github.com/idemcheck/idemcheck/history"
)

// Names of the invariants [CheckSanity] checks; the same strings as the
// spec's invariants and the checker's violations.
const (
	TicketOrderIsCallOrder = "TicketOrderIsCallOrder"
	DecideInCallOrder      = "DecideInCallOrder"
	ContiguousAppends      = "ContiguousAppends"
	NoDuplicateAppend      = "NoDuplicateAppend"
	AckedInLog             = "AckedInLog"
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

// CheckSanity checks the white-box invariants a history recorded by this
// package must keep with the fix (ticket order [BeforeStage]) when no
// producer is evicted (eviction forgets the dedup window and can break
// NoDuplicateAppend and ContiguousAppends). It reads the events only:
//
//   - TicketOrderIsCallOrder: per partition and producer id, tickets are
//     reserved in op (call) order;
//   - DecideInCallOrder: per partition and producer id, decisions come in
//     op order;
//   - ContiguousAppends: the appended batches of a partition get offsets
//     0, 1, 2, ... in decision order (so a producer's offsets increase),
//     and per partition, producer id and epoch each appended range starts
//     right after the previous one (0 follows INT32_MAX);
//   - NoDuplicateAppend: no (partition, pid, epoch, first, last) is
//     appended twice;
//   - AckedInLog: a Return with an offset names an offset holding a batch
//     with the op's producer id and sequences.
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
	logs := make(map[string][]history.Event) // partition → Replicate of the op appended at each offset
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
				if want := int64(len(logs[c.Partition])); e.Offset != want {
					return bad(ContiguousAppends, "appended at offset %d, the log's next offset is %d", e.Offset, want)
				}
				bk := batchKey{c.Partition, c.PID, c.Epoch, c.First, c.Last}
				if prev, ok := appended[bk]; ok {
					return bad(NoDuplicateAppend, "batch pid=%d epoch=%d seq=[%d,%d] on %q already appended by op %d", c.PID, c.Epoch, c.First, c.Last, c.Partition, prev)
				}
				ek := epochKey{c.Partition, c.PID, c.Epoch}
				if last, ok := lastSeq[ek]; ok && int64(c.First) != int64(last)+1 && !(last == math.MaxInt32 && c.First == 0) {
					return bad(ContiguousAppends, "pid=%d epoch=%d on %q appended seq=[%d,%d] after a batch ending at %d", c.PID, c.Epoch, c.Partition, c.First, c.Last, last)
				}
				lastSeq[ek] = c.Last
				appended[bk] = e.Op
				logs[c.Partition] = append(logs[c.Partition], c)
			case history.Return:
				if e.Result != history.OK {
					break
				}
				log := logs[c.Partition]
				if e.Offset >= int64(len(log)) {
					return bad(AckedInLog, "acked offset %d is beyond the log of %q (length %d)", e.Offset, c.Partition, len(log))
				}
				if at := log[e.Offset]; at.PID != c.PID || at.First != c.First || at.Last != c.Last {
					return bad(AckedInLog, "offset %d of %q holds pid=%d seq=[%d,%d], not pid=%d seq=[%d,%d]",
						e.Offset, c.Partition, at.PID, at.First, at.Last, c.PID, c.First, c.Last)
				}
			}
		}
	}
	return nil
}
