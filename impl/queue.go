package impl

import (
	"errors"
	"fmt"
)

// NoPID is the producer id of a non-idempotent batch. Its tickets are not
// ordered; they only limit concurrency.
const NoPID int64 = -1

// Sentinel errors of the producer queue.
var (
	// ErrAborted is returned by [Ticket.Redeem] with an aborted signal and
	// by [Ticket.Abort].
	ErrAborted = errors.New("impl: ticket redeem aborted")
	// ErrNotReady is returned by [Ticket.Redeem] when the ticket cannot be
	// redeemed yet (an earlier ticket of the same producer is held, or no
	// no-pid unit is free). In the step-driven core the caller waits and
	// tries again after a release.
	ErrNotReady = errors.New("impl: ticket not ready")
	// ErrRedeemed is returned by a second [Ticket.Redeem].
	ErrRedeemed = errors.New("impl: ticket already redeemed")
)

// Queue is the producer queue of one partition (Redpanda's
// producer_queue): it keeps the requests of one producer id in
// reservation order. It is the step-driven counterpart of the Seastar
// type: instead of a promise, a waiting ticket reports [Ticket.Ready] and
// is redeemed by the caller. A Queue is not safe for concurrent use.
//
// The zero value is not usable; call [NewQueue].
type Queue struct {
	tails    map[int64]*Ticket // pid → tail ticket
	size     int               // live (unreleased) pid tickets
	noPIDCap int               // no-pid concurrency
	noPIDUse int               // no-pid units taken
	noPIDLiv int               // live no-pid tickets
}

// NewQueue returns an empty queue whose no-pid tickets allow at most
// noPIDConcurrency redeemed at once (values below 1 mean 1).
func NewQueue(noPIDConcurrency int) *Queue {
	if noPIDConcurrency < 1 {
		noPIDConcurrency = 1
	}
	return &Queue{tails: make(map[int64]*Ticket), noPIDCap: noPIDConcurrency}
}

// Size returns the number of live tickets (reserved and not released).
func (q *Queue) Size() int { return q.size + q.noPIDLiv }

// Producers returns the number of producer ids that hold tickets.
func (q *Queue) Producers() int { return len(q.tails) }

// Ticket is one reserved place in a [Queue].
type Ticket struct {
	q        *Queue
	pid      int64
	prev     *Ticket
	next     *Ticket
	released bool
	redeemed bool
	unit     bool // holds a no-pid unit
}

// Reserve appends a ticket for pid after the producer's tail, synchronously.
// A ticket without predecessor is the head and is ready at once. For
// [NoPID] the ticket is unordered.
func (q *Queue) Reserve(pid int64) *Ticket {
	t := &Ticket{q: q, pid: pid}
	if pid == NoPID {
		q.noPIDLiv++
		return t
	}
	if tail, ok := q.tails[pid]; ok {
		tail.next = t
		t.prev = tail
	}
	q.tails[pid] = t
	q.size++
	return t
}

// PID returns the ticket's producer id.
func (t *Ticket) PID() int64 { return t.pid }

// Released reports whether the ticket has been released.
func (t *Ticket) Released() bool { return t.released }

// Redeemed reports whether the ticket has been redeemed.
func (t *Ticket) Redeemed() bool { return t.redeemed }

// Ready reports whether [Ticket.Redeem] would succeed now: the ticket is
// the head of its producer's queue (every earlier ticket was released) or
// was itself released early; a no-pid ticket is ready when a unit is free.
func (t *Ticket) Ready() bool {
	if t.redeemed {
		return false
	}
	if t.released {
		return true
	}
	if t.pid == NoPID {
		return t.q.noPIDUse < t.q.noPIDCap
	}
	return t.prev == nil
}

// Redeem waits for the ticket, step-driven: it succeeds when [Ticket.Ready]
// and fails with [ErrNotReady] otherwise. If aborted is true (the abort
// signal fired before the call) it fails with [ErrAborted] and releases
// nothing. Redeem succeeds at most once.
func (t *Ticket) Redeem(aborted bool) error {
	if t.redeemed {
		return ErrRedeemed
	}
	if aborted {
		return ErrAborted
	}
	if !t.Ready() {
		return ErrNotReady
	}
	t.redeemed = true
	if t.pid == NoPID && !t.released {
		t.q.noPIDUse++
		t.unit = true
	}
	return nil
}

// Abort is the abort signal firing while the ticket waits in Redeem: the
// ticket is released and the wait fails with [ErrAborted].
func (t *Ticket) Abort() error {
	t.Release()
	return ErrAborted
}

// Release gives the ticket up; it is idempotent. A head ticket wakes its
// successor; a ticket in the middle unlinks itself and does not wake its
// successor (which is re-linked to the predecessor); the last ticket of a
// producer erases the producer's entry. Dropping a ticket in Redpanda calls
// release, so every path that abandons a request must call Release.
func (t *Ticket) Release() {
	if t.released {
		return
	}
	t.released = true
	q := t.q
	if t.pid == NoPID {
		q.noPIDLiv--
		if t.unit {
			q.noPIDUse--
			t.unit = false
		}
		return
	}
	q.size--
	prev, next := t.prev, t.next
	if next != nil {
		next.prev = prev // nil when t was head: next becomes head (woken)
	}
	if prev != nil {
		prev.next = next
	}
	if q.tails[t.pid] == t {
		if prev != nil {
			q.tails[t.pid] = prev
		} else {
			delete(q.tails, t.pid)
		}
	}
	t.prev, t.next = nil, nil
}

// String describes the ticket, for debugging.
func (t *Ticket) String() string {
	return fmt.Sprintf("ticket(pid=%d ready=%t released=%t)", t.pid, t.Ready(), t.released)
}
