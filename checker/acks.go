package checker

import (
	"fmt"
	"sort"
)

// recentAcks is how many of a partition's latest acks the bounded check
// keeps whole, to name the other operation of a clash.
const recentAcks = 1024

// ackTracker finds, for the bounded check, two producers acked at one
// offset of a partition as the acks arrive (what [crossCheck] finds at the
// end from every record). It keeps one bit per acked offset and the
// latest recentAcks acks whole.
type ackTracker struct {
	partition string
	bits      offsetSet
	recent    map[int64]recentAck
	ring      [recentAcks]int64 // offsets of recent, oldest at next once full
	next      int
	// clash is the clash at the lowest offset so far.
	clash    *Violation
	clashOff int64
}

type recentAck struct {
	pid int64
	rec opRec
}

// ack takes in the ack of r, an operation of p.
func (st *streamer) ack(p *sPart, r *opRec) {
	off := r.off
	for i := 0; i < p.ownN; i++ {
		if p.own[i] == off {
			// The producer's own offset again: a duplicate's answer,
			// judged by the producer's model.
			return
		}
	}
	p.own[p.ownNext] = off
	p.ownNext = (p.ownNext + 1) % ownAcks
	p.ownN = min(p.ownN+1, ownAcks)
	t := st.acks[p.key.partition]
	if t == nil {
		t = &ackTracker{partition: p.key.partition, recent: make(map[int64]recentAck)}
		st.acks[p.key.partition] = t
	}
	t.add(p.key.pid, r)
}

func (t *ackTracker) add(pid int64, r *opRec) {
	off := r.off
	if t.bits.add(off) && (t.clash == nil || off < t.clashOff) {
		if other, ok := t.recent[off]; !ok {
			t.clash, t.clashOff = t.unnamedClash(pid, r), off
		} else if other.pid != pid {
			t.clash, t.clashOff = clashViolation(other.rec.operation(t.partition, other.pid), r.operation(t.partition, pid)), off
		}
		// (The same producer again, beyond its own last offsets: its
		// model rejects that ack, as its offsets must increase.)
	}
	if _, ok := t.recent[off]; !ok {
		if len(t.recent) == recentAcks {
			delete(t.recent, t.ring[t.next])
		}
		t.ring[t.next] = off
		t.next = (t.next + 1) % recentAcks
	}
	t.recent[off] = recentAck{pid, *r}
}

// unnamedClash is the violation when the earlier ack at the offset is no
// longer held.
func (t *ackTracker) unnamedClash(pid int64, r *opRec) *Violation {
	b := r.operation(t.partition, pid)
	return &Violation{
		Name: AckedInLog, Partition: t.partition, PID: pid,
		Explanation: fmt.Sprintf("batch %s of producer %d (op %d) was acked at offset %d, where another batch had been acked earlier: two different batches cannot sit at one offset, so one acked write is not in the log where it was acked (the bounded check no longer holds that earlier operation; a check with Options.Bounded off, idemcheck check --bounded=false, names it)",
			b.batch(), pid, b.Op, b.Offset),
		Ops: []Operation{b},
	}
}

// clashes returns the clash found on each partition, by partition.
func (st *streamer) clashes() []*Violation {
	var out []*Violation
	for _, t := range st.acks {
		if t.clash != nil {
			out = append(out, t.clash)
		}
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Partition < out[j].Partition })
	return out
}

// offsetSet is a set of log offsets, one bit each: a dense bitmap over
// the range where a log's offsets are (a partition's acked offsets are
// nearly contiguous), and 64-bit words in a map for offsets far from it,
// so that scattered offsets cost a map entry each rather than a bitmap
// across the gaps.
type offsetSet struct {
	dense  []uint64 // words from base
	base   int64    // word index of dense[0]
	n      int64    // offsets added
	sparse map[int64]uint64
}

// denseSlack is how many words the dense bitmap may hold beyond one per
// offset added (64 per offset: batches of up to 64 records on average
// stay dense), and how far below the first offset it starts.
const denseSlack = 1 << 14

// add puts off in the set and reports whether it was there already.
func (s *offsetSet) add(off int64) bool {
	w, b := off>>6, uint64(1)<<(uint64(off)&63)
	s.n++
	if s.dense == nil && s.sparse == nil {
		s.base = max(0, w-denseSlack/4)
	}
	if i := w - s.base; i >= 0 {
		// (An offset added while it was beyond the bitmap stays in
		// sparse when the bitmap grows over it.)
		if i < int64(len(s.dense)) {
			had := s.dense[i]&b != 0 || s.sparse[w]&b != 0
			s.dense[i] |= b
			return had
		}
		if i < s.n+denseSlack {
			s.dense = append(s.dense, make([]uint64, i+1-int64(len(s.dense)))...)
			s.dense[i] |= b
			return s.sparse[w]&b != 0
		}
	}
	if s.sparse == nil {
		s.sparse = make(map[int64]uint64)
	}
	had := s.sparse[w]&b != 0
	s.sparse[w] |= b
	return had
}
