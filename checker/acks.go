package checker

import (
	"fmt"
	"math"
	"slices"
	"sort"
)

// The partition-level check. A partition's log is one sequence of records
// shared by every producer, and a produce ack names where a batch's
// records sit in it: from the acked base offset, one offset per record.
// So, across producers:
//
//   - the acked record ranges of different batches never overlap (two
//     acks are of one batch when the producer, the sequence range and the
//     offset are the same: a duplicate is answered with the original's
//     offset);
//   - the log is linearizable: a batch acked before another producer's
//     batch was called sits below it, unless an earlier call of that
//     batch (a retry's original) came before the ack.
//
// Overlaps within one producer are its model's to judge (its offsets
// increase, with room for every batch it appended), so the check names
// only pairs of different producers. Both rules are checked as the acks
// arrive, in the order of the history, in every mode of the check; the
// first breach of a partition is its violation.

// recentAcks is how many of a partition's latest acks the check keeps
// whole to name the other batch of a breach when the bounded check has
// dropped the records.
const recentAcks = 1024

// ownAcks is how many of a producer's latest acks the check remembers,
// to tell a duplicate's answer (the same batch again) from a clash: more
// than its window of batches, the only ones a duplicate may be answered
// with.
const ownAcks = 16

// retryRanges is how many of a producer's latest distinct sequence
// ranges the check remembers with the floor of their first call, for a
// retry to take its original's floor.
const retryRanges = 32

// rangeFloor is the floor of the first call of a sequence range.
type rangeFloor struct {
	first, last int32
	floor       int64
}

// logCheck is the partition-level check of one partition.
type logCheck struct {
	partition string
	// acked is the union of the acked record ranges.
	acked rangeSet
	// top holds the two highest ends (exclusive) of acked ranges that
	// have returned, from two different producers: a call's floor is the
	// higher one of a producer other than its own. The acks that returned
	// at time pendT are held in pend until time passes it, so that a call
	// at the same time does not count them (an ack bounds only the calls
	// after it).
	top   [2]floorMark
	pend  []floorMark
	pendT int64
	// recent are the latest acks, oldest first once the ring is full.
	recent [recentAcks]ackRec
	next   int
	n      int
	// viol is the partition's first breach.
	viol *Violation
}

type floorMark struct {
	end int64 // the end (exclusive) of the highest range; 0: none
	pid int64
}

// ackRec is one ack of a partition, as the check remembers it.
type ackRec struct {
	pid int64
	rec opRec
}

func (a *ackRec) end() int64 { return endOf(a.rec.off, a.rec.records()) }

// endOf is the end (exclusive) of n records from off, saturated.
func endOf(off, n int64) int64 {
	if off > math.MaxInt64-n {
		return math.MaxInt64
	}
	return off + n
}

// floor returns the lowest offset a batch of pid called at time now may
// be appended at: the end of every range acked by another producer
// before now.
func (lc *logCheck) floor(pid, now int64) int64 {
	lc.advance(now)
	if lc.top[0].pid != pid {
		return lc.top[0].end
	}
	return lc.top[1].end
}

// advance applies the acks held in pend once time has passed them.
func (lc *logCheck) advance(now int64) {
	if now <= lc.pendT {
		return
	}
	for _, m := range lc.pend {
		lc.raise(m.pid, m.end)
	}
	lc.pend = lc.pend[:0]
	lc.pendT = now
}

// raise notes that pid's range ending at end (exclusive) has returned.
func (lc *logCheck) raise(pid, end int64) {
	switch {
	case lc.top[0].pid == pid || lc.top[0].end == 0:
		lc.top[0] = floorMark{max(lc.top[0].end, end), pid}
	case end > lc.top[0].end:
		lc.top[1], lc.top[0] = lc.top[0], floorMark{end, pid}
		return
	case lc.top[1].pid == pid || end > lc.top[1].end:
		lc.top[1] = floorMark{max(lc.top[1].end, end), pid}
	}
	if lc.top[1].pid == lc.top[0].pid {
		lc.top[1] = floorMark{}
	}
}

// logFor returns the check of partition, creating it.
func (st *streamer) logFor(partition string) *logCheck {
	lc := st.logs[partition]
	if lc == nil {
		lc = &logCheck{partition: partition}
		st.logs[partition] = lc
	}
	return lc
}

// callFloor returns the floor of r, a call of p: the lowest offset its
// batch may be appended at, the end of the ranges other producers had
// acked before the call; or, for a retry, the floor of the first call of
// its sequence range among the producer's latest retryRanges (a
// duplicate is answered with the offset its original took). The check
// keeps it with the open call (opRef), for the ack.
func (st *streamer) callFloor(p *sPart, r *opRec) int64 {
	floor := st.logFor(p.key.partition).floor(p.key.pid, r.call)
	for i := 0; i < p.rangesN; i++ {
		if f := &p.ranges[i]; f.first == r.first && f.last == r.last {
			return f.floor
		}
	}
	p.ranges[p.rangesNext] = rangeFloor{r.first, r.last, floor}
	p.rangesNext = (p.rangesNext + 1) % retryRanges
	p.rangesN = min(p.rangesN+1, retryRanges)
	return floor
}

// ack takes in the ack of r, an operation of p called with the given
// floor (see callFloor), and checks it against the partition's log.
func (st *streamer) ack(p *sPart, r *opRec, floor int64) {
	lc := st.logFor(p.key.partition)
	defer func() {
		lc.advance(r.ret)
		lc.pend = append(lc.pend, floorMark{endOf(r.off, r.records()), p.key.pid})
		lc.remember(p.key.pid, r)
	}()
	if lc.viol != nil {
		return
	}
	if r.off < floor {
		partner, ok := st.findAck(lc, p.key.pid, func(a *ackRec) bool {
			return a.rec.ret < r.call && a.end() > r.off
		})
		lc.viol = orderBreach(lc.partition, p.key.pid, r, partner, ok)
		return
	}
	own, me := false, ownAck{r.off, r.first, r.last}
	for i := 0; i < p.ownN; i++ {
		if p.own[i] == me {
			own = true // a duplicate's answer: the same batch again
			break
		}
	}
	if !own {
		p.own[p.ownNext] = me
		p.ownNext = (p.ownNext + 1) % ownAcks
		p.ownN = min(p.ownN+1, ownAcks)
	}
	end := endOf(r.off, r.records())
	if own || !lc.acked.overlaps(r.off, end) {
		lc.acked.add(r.off, end)
		return
	}
	lc.acked.add(r.off, end)
	partner, ok := st.findAck(lc, p.key.pid, func(a *ackRec) bool {
		return a.rec.off < end && r.off < a.end()
	})
	if !ok {
		if _, mine := st.findAck(lc, -1, func(a *ackRec) bool {
			return a.pid == p.key.pid && a.rec.op != r.op && a.rec.off < end && r.off < a.end()
		}); mine {
			return // the producer's own batches: its model judges them
		}
	}
	lc.viol = overlapBreach(lc.partition, p.key.pid, r, partner, ok)
}

type ownAck struct {
	off         int64
	first, last int32
}

// remember keeps r among the partition's recent acks.
func (lc *logCheck) remember(pid int64, r *opRec) {
	lc.recent[lc.next] = ackRec{pid, *r}
	lc.next = (lc.next + 1) % recentAcks
	lc.n = min(lc.n+1, recentAcks)
}

// findAck returns the ack of the partition by a producer other than
// notPID that matches and returned first (then the earliest call), from
// the records the check still holds and its recent acks.
func (st *streamer) findAck(lc *logCheck, notPID int64, match func(*ackRec) bool) (Operation, bool) {
	var best *ackRec
	consider := func(a *ackRec) {
		if a.pid != notPID && match(a) && (best == nil || a.rec.ret < best.rec.ret ||
			a.rec.ret == best.rec.ret && a.rec.op < best.rec.op) {
			c := *a
			best = &c
		}
	}
	for _, q := range st.order {
		if q.key.partition != lc.partition {
			continue
		}
		for j := q.base; j < q.recs.n; j++ {
			if r := q.recs.at(j); r.res == resOK {
				consider(&ackRec{q.key.pid, *r})
			}
		}
	}
	for i := 0; i < lc.n; i++ {
		consider(&lc.recent[i])
	}
	if best == nil {
		return Operation{}, false
	}
	return best.rec.operation(partKey{lc.partition, best.pid}), true
}

// overlapBreach is the AckedInLog violation of r's ack, whose records
// overlap those of another producer's batch (other, if still held).
func overlapBreach(partition string, pid int64, r *opRec, other Operation, named bool) *Violation {
	b := r.operation(partKey{partition, pid})
	if !named {
		return breach(b, nil, fmt.Sprintf("batch %s of producer %d (op %d) was acked at %s, where another producer's batch had been acked earlier: the records of two batches cannot share an offset, so one acked write is not in the log where it was acked (%s)",
			b.batch(), pid, b.Op, offsetRange(b.Offset, b.records()), notHeld))
	}
	a := other
	return breach(b, &a, fmt.Sprintf("batch %s of producer %d (op %d) was acked at %s and batch %s of producer %d (op %d) at %s: the records of two batches cannot share an offset, so one acked write is not in the log where it was acked",
		a.batch(), a.PID, a.Op, offsetRange(a.Offset, a.records()), b.batch(), pid, b.Op, offsetRange(b.Offset, b.records())))
}

// orderBreach is the AckedInLog violation of r's ack below a batch of
// another producer (other, if still held) that was acked before r was
// called.
func orderBreach(partition string, pid int64, r *opRec, other Operation, named bool) *Violation {
	b := r.operation(partKey{partition, pid})
	if !named {
		return breach(b, nil, fmt.Sprintf("batch %s of producer %d (op %d) was called at t=%d and acked at %s, below the records of another producer's batch that had been acked before that call: a batch appended after another was acked sits above it (%s)",
			b.batch(), pid, b.Op, b.Call, offsetRange(b.Offset, b.records()), notHeld))
	}
	a := other
	return breach(b, &a, fmt.Sprintf("batch %s of producer %d (op %d) was acked at %s at t=%d, before batch %s of producer %d (op %d) was called at t=%d, yet the later batch was acked at %s, below it: a batch appended after another was acked sits above it in the log",
		a.batch(), a.PID, a.Op, offsetRange(a.Offset, a.records()), a.Return, b.batch(), pid, b.Op, b.Call, offsetRange(b.Offset, b.records())))
}

// notHeld ends the explanation of a breach whose other operation the
// bounded check has dropped.
const notHeld = "the bounded check no longer holds that earlier operation; a check with Options.KeepAll, idemcheck check --bounded=false, names it"

// breach is the AckedInLog violation of b's ack, explained by why, with
// the other operation involved when it is known.
func breach(b Operation, other *Operation, why string) *Violation {
	v := &Violation{Name: AckedInLog, Partition: b.Partition, PID: b.PID, Explanation: why, Ops: []Operation{b}}
	if other != nil {
		v.Ops = sortedOps(*other, b)
	}
	return v
}

func sortedOps(a, b Operation) []Operation {
	if a.Op > b.Op {
		a, b = b, a
	}
	return []Operation{a, b}
}

// breaches returns the breach found on each partition, by partition.
func (st *streamer) breaches() []*Violation {
	var out []*Violation
	for _, lc := range st.logs {
		if lc.viol != nil {
			out = append(out, lc.viol)
		}
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Partition < out[j].Partition })
	return out
}

// rangeSet is a set of log offsets kept as sorted, disjoint, non-adjacent
// half-open ranges. A partition's acked offsets are nearly contiguous, so
// it holds about one range per gap in the log (offsets of batches whose
// ack was lost, or of other writers).
type rangeSet struct {
	r []offRange
}

type offRange struct{ lo, hi int64 } // [lo, hi)

// search returns the index of the first range that ends at or after lo.
func (s *rangeSet) search(lo int64) int {
	return sort.Search(len(s.r), func(i int) bool { return s.r[i].hi >= lo })
}

// overlaps reports whether [lo, hi) shares an offset with the set.
func (s *rangeSet) overlaps(lo, hi int64) bool {
	i := sort.Search(len(s.r), func(i int) bool { return s.r[i].hi > lo })
	return i < len(s.r) && s.r[i].lo < hi
}

// add puts [lo, hi) in the set, merging the ranges it touches.
func (s *rangeSet) add(lo, hi int64) {
	if hi <= lo {
		return
	}
	i := s.search(lo)
	j := i
	for j < len(s.r) && s.r[j].lo <= hi {
		lo, hi = min(lo, s.r[j].lo), max(hi, s.r[j].hi)
		j++
	}
	s.r = slices.Replace(s.r, i, j, offRange{lo, hi})
}
