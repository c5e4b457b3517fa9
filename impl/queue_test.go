package impl

import (
	"errors"
	"math/rand/v2"
	"sort"
	"testing"

	"github.com/idemcheck/idemcheck/internal/testflag"
)

// TestQueueScripted mirrors producer_queue_test.cc: each case reserves
// tickets t0..tn, applies actions and checks which tickets are ready.
func TestQueueScripted(t *testing.T) {
	type action struct {
		do  string // "release", "redeem", "abort", "redeem-aborted"
		t   int
		err error
	}
	tests := []struct {
		name    string
		pids    []int64
		actions []action
		ready   []bool // after the actions, per ticket
		size    int
	}{
		{
			name:  "head is ready at once, later tickets wait (redeem in reservation order)",
			pids:  []int64{1, 1, 1},
			ready: []bool{true, false, false},
			size:  3,
		},
		{
			name:    "releasing the head wakes its successor",
			pids:    []int64{1, 1, 1},
			actions: []action{{do: "redeem", t: 0}, {do: "release", t: 0}},
			ready:   []bool{false, true, false},
			size:    2,
		},
		{
			name:    "dropping a middle ticket does not unblock the one behind it",
			pids:    []int64{1, 1, 1},
			actions: []action{{do: "release", t: 1}},
			ready:   []bool{true, true, false},
			size:    2,
		},
		{
			name:    "after a middle drop the head's release wakes the ticket behind the hole",
			pids:    []int64{1, 1, 1},
			actions: []action{{do: "release", t: 1}, {do: "redeem", t: 0}, {do: "release", t: 0}},
			ready:   []bool{false, true, true},
			size:    1,
		},
		{
			name:    "an abort while waiting releases the ticket",
			pids:    []int64{1, 1},
			actions: []action{{do: "abort", t: 1, err: ErrAborted}, {do: "redeem", t: 0}, {do: "release", t: 0}},
			ready:   []bool{false, true},
			size:    0,
		},
		{
			name:    "an abort of the head lets the successor go",
			pids:    []int64{1, 1},
			actions: []action{{do: "abort", t: 0, err: ErrAborted}},
			ready:   []bool{true, true},
			size:    1,
		},
		{
			name:    "redeem with an already aborted signal fails and releases nothing",
			pids:    []int64{1, 1},
			actions: []action{{do: "redeem-aborted", t: 0, err: ErrAborted}},
			ready:   []bool{true, false},
			size:    2,
		},
		{
			name:    "redeem of a waiting ticket is not ready",
			pids:    []int64{1, 1},
			actions: []action{{do: "redeem", t: 1, err: ErrNotReady}},
			ready:   []bool{true, false},
			size:    2,
		},
		{
			name:    "redeem succeeds at most once",
			pids:    []int64{1},
			actions: []action{{do: "redeem", t: 0}, {do: "redeem", t: 0, err: ErrRedeemed}},
			ready:   []bool{false},
			size:    1,
		},
		{
			name:    "release is idempotent",
			pids:    []int64{1, 1, 1},
			actions: []action{{do: "release", t: 0}, {do: "release", t: 0}, {do: "release", t: 0}},
			ready:   []bool{true, true, false},
			size:    2,
		},
		{
			name:    "releasing the tail makes the predecessor the tail",
			pids:    []int64{1, 1},
			actions: []action{{do: "release", t: 1}},
			ready:   []bool{true, true},
			size:    1,
		},
		{
			name:  "producers do not block each other",
			pids:  []int64{1, 2, 1, 2},
			ready: []bool{true, true, false, false},
			size:  4,
		},
		{
			name:    "no-pid tickets only limit concurrency (limit 1)",
			pids:    []int64{NoPID, NoPID},
			actions: []action{{do: "redeem", t: 1}},
			ready:   []bool{false, false},
			size:    2,
		},
		{
			name:    "a released no-pid ticket gives its unit back",
			pids:    []int64{NoPID, NoPID},
			actions: []action{{do: "redeem", t: 1}, {do: "release", t: 1}},
			ready:   []bool{true, false},
			size:    1,
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			q := NewQueue(1)
			ts := make([]*Ticket, len(tc.pids))
			for i, pid := range tc.pids {
				ts[i] = q.Reserve(pid)
			}
			for _, a := range tc.actions {
				var err error
				switch a.do {
				case "release":
					ts[a.t].Release()
				case "redeem":
					err = ts[a.t].Redeem(false)
				case "redeem-aborted":
					err = ts[a.t].Redeem(true)
				case "abort":
					err = ts[a.t].Abort()
				}
				if !errors.Is(err, a.err) {
					t.Fatalf("%s t%d: got error %v, want %v", a.do, a.t, err, a.err)
				}
			}
			for i, want := range tc.ready {
				if got := ts[i].Ready(); got != want {
					t.Errorf("t%d ready: got %t, want %t", i, got, want)
				}
			}
			if got := q.Size(); got != tc.size {
				t.Errorf("size: got %d, want %d", got, tc.size)
			}
		})
	}
}

// TestQueueErasesProducer checks that the last ticket's release erases the
// producer's entry.
func TestQueueErasesProducer(t *testing.T) {
	q := NewQueue(1)
	a, b := q.Reserve(7), q.Reserve(7)
	b.Release()
	if got := q.Producers(); got != 1 {
		t.Fatalf("producers after releasing the tail: got %d, want 1", got)
	}
	a.Release()
	if got := q.Producers(); got != 0 {
		t.Fatalf("producers after releasing every ticket: got %d, want 0", got)
	}
	c := q.Reserve(7)
	if !c.Ready() {
		t.Fatalf("a new ticket after the queue emptied is not the head")
	}
}

// TestQueueRandom mirrors producer_queue_test.cc's random test: tickets of
// a few producers are redeemed, released, dropped and aborted in random
// order; per producer, the tickets that complete a redeem do so in
// reservation order, and the queue is empty at the end.
func TestQueueRandom(t *testing.T) {
	testflag.Run(t, 200, func(t *testing.T, seed int64) {
		rng := rand.New(rand.NewPCG(uint64(seed), 0))
		q := NewQueue(1)
		type tk struct {
			t   *Ticket
			pid int64
			idx int
		}
		var live []tk
		completed := map[int64][]int{}
		n := 0
		for step := 0; step < 300; step++ {
			if rng.IntN(3) == 0 || len(live) == 0 {
				pid := int64(rng.IntN(3))
				live = append(live, tk{q.Reserve(pid), pid, n})
				n++
				continue
			}
			i := rng.IntN(len(live))
			k := live[i]
			switch rng.IntN(4) {
			case 0, 1: // redeem if ready, then release
				if k.t.Ready() {
					if err := k.t.Redeem(false); err != nil {
						t.Fatalf("redeem of a ready ticket: %v", err)
					}
					if !k.t.Released() {
						completed[k.pid] = append(completed[k.pid], k.idx)
					}
					k.t.Release()
					live = append(live[:i], live[i+1:]...)
				}
			case 2: // drop
				k.t.Release()
				live = append(live[:i], live[i+1:]...)
			case 3: // abort while waiting
				if !k.t.Ready() {
					if err := k.t.Abort(); !errors.Is(err, ErrAborted) {
						t.Fatalf("abort: %v", err)
					}
					live = append(live[:i], live[i+1:]...)
				}
			}
		}
		// Drain: redeem whatever is ready until nothing is left.
		for len(live) > 0 {
			progressed := false
			for i := 0; i < len(live); i++ {
				k := live[i]
				if k.t.Ready() {
					if err := k.t.Redeem(false); err != nil {
						t.Fatalf("drain redeem: %v", err)
					}
					completed[k.pid] = append(completed[k.pid], k.idx)
					k.t.Release()
					live = append(live[:i], live[i+1:]...)
					i--
					progressed = true
				}
			}
			if !progressed {
				t.Fatalf("%d tickets left and none ready", len(live))
			}
		}
		for pid, idx := range completed {
			if !sort.IntsAreSorted(idx) {
				t.Fatalf("pid %d completed out of reservation order: %v", pid, idx)
			}
		}
		if q.Size() != 0 || q.Producers() != 0 {
			t.Fatalf("size()=%d producers=%d at the end, want 0", q.Size(), q.Producers())
		}
	})
}

// TestNoPIDUnitsConserved checks the no-pid semaphore (the catalogue's
// "non-idempotent semaphore units": a reviewer of the original change
// worried that units leak when a ticket is given up without release).
// Random no-pid tickets, with a concurrency of 2, are redeemed,
// released twice, dropped before or after their redeem and aborted
// while waiting; after every step the units taken equal the redeemed,
// unreleased tickets and never exceed the limit, and once every ticket
// is given up all units are free again: a new ticket is ready at once.
func TestNoPIDUnitsConserved(t *testing.T) {
	testflag.Run(t, 200, func(t *testing.T, seed int64) {
		rng := rand.New(rand.NewPCG(uint64(seed), 7))
		const limit = 2
		q := NewQueue(limit)
		var live []*Ticket
		for step := 0; step < 300; step++ {
			if rng.IntN(3) == 0 || len(live) == 0 {
				live = append(live, q.Reserve(NoPID))
				continue
			}
			i := rng.IntN(len(live))
			tk := live[i]
			switch rng.IntN(5) {
			case 0, 1: // redeem if a unit is free
				if tk.Ready() {
					if err := tk.Redeem(false); err != nil {
						t.Fatalf("step %d: redeem of a ready ticket: %v", step, err)
					}
				}
			case 2: // give it up (released twice: release is idempotent)
				tk.Release()
				tk.Release()
				live = append(live[:i], live[i+1:]...)
			case 3: // abort while waiting
				if !tk.Redeemed() {
					if err := tk.Abort(); !errors.Is(err, ErrAborted) {
						t.Fatalf("step %d: abort: %v", step, err)
					}
					live = append(live[:i], live[i+1:]...)
				}
			case 4: // a redeem whose abort signal fired first
				if err := tk.Redeem(true); !errors.Is(err, ErrAborted) && !errors.Is(err, ErrRedeemed) {
					t.Fatalf("step %d: aborted redeem: %v", step, err)
				}
			}
			held := 0
			for _, x := range live {
				if x.Redeemed() && !x.Released() {
					held++
				}
			}
			if q.noPIDUse != held || held > limit {
				t.Fatalf("step %d: %d units taken, %d redeemed tickets hold one (limit %d)", step, q.noPIDUse, held, limit)
			}
		}
		for _, tk := range live {
			tk.Release()
		}
		if q.Size() != 0 || q.noPIDUse != 0 {
			t.Fatalf("after giving every ticket up: size %d, units taken %d, want 0", q.Size(), q.noPIDUse)
		}
		for range limit {
			if tk := q.Reserve(NoPID); !tk.Ready() || tk.Redeem(false) != nil {
				t.Fatalf("a unit leaked: a new no-pid ticket is not ready")
			}
		}
	})
}
