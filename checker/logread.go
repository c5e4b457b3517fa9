package checker

import (
	"cmp"
	"fmt"
	"math"
	"slices"
	"sort"

	"github.com/idemcheck/idemcheck/history"
	"github.com/idemcheck/idemcheck/spec"
)

// The read check. A history's [history.LogBatch] events are observations
// of a partition's log: a batch's base offset, producer id, epoch and
// sequences, as a consumer (or the broker's own log) showed them. For each
// partition with observations the check verifies, against the operations
// of the history:
//
//   - LostWrite: every batch acked with an offset whose records lie
//     within the offsets read (from the lowest base offset observed to
//     the end of the highest batch) is in the log at that offset with its
//     producer id, epoch and sequences. An acked batch outside the
//     offsets read is not judged (counted as unread).
//   - DuplicateInLog: no sequence of a producer's epoch is in the log
//     twice (the same batch observed twice at one offset is one batch).
//   - LogInSequence: in offset order, a producer's epochs never go back
//     and within an epoch its batches' sequences increase, with no
//     sequence missing before a later batch that was acked; the missing
//     sequences are named with the operations that sent them (the lost or
//     rejected batch) and the acked batch that needed them.
//   - LogOffsetsDisjoint: the batches observed occupy disjoint offset
//     ranges, one offset per record.
//
// Each property's first breach per (partition, producer) is a violation.
// A partition without observations is not read-checked, so a history
// without LogBatch events is checked as before.
//
// Memory: the check keeps a compact record (about 64 bytes) of every
// operation of a partition and every distinct batch observed. In the
// bounded mode (the default) it keeps at most readKeep operations per
// partition; a partition with more operations and with observations is
// then not read-checked and the verdict is at best Unknown, with a reason
// that says to check with KeepAll.

// readKeep is how many operations per partition the bounded check keeps
// for the read check.
const readKeep = 1 << 16

// readOp is one operation as the read check remembers it.
type readOp struct {
	op          int64
	call, ret   int64
	pid         int64
	off         int64
	epoch       int16
	code        history.ErrorCode
	first, last int32
	res         history.Result
}

// logEntry is one distinct batch observed in a partition's log.
type logEntry struct {
	off         int64
	pid         int64
	epoch       int16
	first, last int32
}

// compareLog orders log entries by offset, then by batch.
func compareLog(a, b logEntry) int {
	return cmp.Or(cmp.Compare(a.off, b.off), cmp.Compare(a.pid, b.pid), cmp.Compare(a.epoch, b.epoch),
		cmp.Compare(a.first, b.first), cmp.Compare(a.last, b.last))
}

func (l logEntry) end() int64 { return endOf(l.off, int64(l.last)-int64(l.first)+1) }

func (l logEntry) String() string {
	return fmt.Sprintf("offset %d: pid=%d epoch=%d seq=[%d,%d]", l.off, l.pid, l.epoch, l.first, l.last)
}

// batchKey names a producer's batch.
type batchKey struct {
	pid         int64
	epoch       int16
	first, last int32
}

// readPart is the read check's state of one partition.
type readPart struct {
	name   string
	ops    []readOp
	capped bool
	seen   map[logEntry]struct{}
	log    []logEntry
}

// readRef is an open operation: its partition and index there.
type readRef struct {
	p *readPart
	i int
}

// readCheck is the read check of one history.
type readCheck struct {
	keepAll bool
	parts   map[string]*readPart
	open    map[int64]readRef
}

func newReadCheck(keepAll bool) *readCheck {
	return &readCheck{keepAll: keepAll, parts: map[string]*readPart{}, open: map[int64]readRef{}}
}

func (rc *readCheck) part(name string) *readPart {
	p := rc.parts[name]
	if p == nil {
		p = &readPart{name: name, seen: map[logEntry]struct{}{}}
		rc.parts[name] = p
	}
	return p
}

// add takes in one event.
func (rc *readCheck) add(e *history.Event) {
	switch e.Kind {
	case history.Replicate:
		p := rc.part(e.Partition)
		if !rc.keepAll && len(p.ops) >= readKeep {
			p.capped = true
			return
		}
		p.ops = append(p.ops, readOp{op: e.Op, call: e.Time, ret: math.MaxInt64, pid: e.PID, epoch: e.Epoch,
			first: e.First, last: e.Last, res: history.Unknown})
		rc.open[e.Op] = readRef{p, len(p.ops) - 1}
	case history.Return:
		ref, ok := rc.open[e.Op]
		if !ok {
			return
		}
		delete(rc.open, e.Op)
		o := &ref.p.ops[ref.i]
		switch e.Result {
		case history.OK:
			o.res, o.ret, o.off = history.OK, e.Time, e.Offset
		case history.Failed:
			o.res, o.ret, o.code = history.Failed, e.Time, e.Error
		}
	case history.LogBatch:
		p := rc.part(e.Partition)
		l := logEntry{off: e.Offset, pid: e.PID, epoch: e.Epoch, first: e.First, last: e.Last}
		if _, ok := p.seen[l]; !ok {
			p.seen[l] = struct{}{}
			p.log = append(p.log, l)
		}
	}
}

// ReadCount is the read check's tally for one producer on one partition
// whose log was observed, like Jepsen's Kafka workload's: batches acked,
// in the log, lost and duplicated.
type ReadCount struct {
	Partition string
	PID       int64
	// Acked is the number of distinct batches acked with an offset.
	Acked int
	// InLog is the number of distinct batches of the producer observed
	// in the log.
	InLog int
	// Lost is the number of acked batches not in the log at their acked
	// offset (LostWrite).
	Lost int
	// Duplicated is the number of batches observed whose sequences are in
	// the log already at another offset (DuplicateInLog).
	Duplicated int
	// Unread is the number of acked batches outside the offsets read,
	// which the check does not judge.
	Unread int
	// Reason says why the partition was not read-checked, if it was not
	// (the counts are then zero).
	Reason string
}

// readOutcome is the result of the read check.
type readOutcome struct {
	viols  []*Violation
	counts []ReadCount
	// unknown: a partition with observations was not read-checked.
	unknown bool
}

// finish judges every partition with observations.
func (rc *readCheck) finish() readOutcome {
	var out readOutcome
	names := make([]string, 0, len(rc.parts))
	for n, p := range rc.parts {
		if len(p.log) > 0 {
			names = append(names, n)
		}
	}
	sort.Strings(names)
	for _, n := range names {
		p := rc.parts[n]
		if p.capped {
			out.unknown = true
			out.counts = append(out.counts, ReadCount{Partition: n, PID: -1,
				Reason: fmt.Sprintf("read check skipped: more than %d operations on the partition (check with --bounded=false)", readKeep)})
			continue
		}
		v, c := p.judge()
		out.viols = append(out.viols, v...)
		out.counts = append(out.counts, c...)
	}
	return out
}

// readJudge is the judging of one partition.
type readJudge struct {
	p      *readPart
	viols  []*Violation
	named  map[string]bool // name + pid already reported
	counts map[int64]*ReadCount
	acked  map[batchKey][]int // indexes of acked ops of a batch
	lo     int64              // the lowest offset read
}

func (j *readJudge) count(pid int64) *ReadCount {
	c := j.counts[pid]
	if c == nil {
		c = &ReadCount{Partition: j.p.name, PID: pid}
		j.counts[pid] = c
	}
	return c
}

// report adds a violation unless one of that name was reported for pid.
func (j *readJudge) report(name string, pid int64, ops []int, format string, args ...any) {
	key := fmt.Sprintf("%s/%d", name, pid)
	if j.named[key] {
		return
	}
	j.named[key] = true
	v := &Violation{Name: name, Partition: j.p.name, PID: pid, Explanation: fmt.Sprintf(format, args...)}
	slices.Sort(ops)
	ops = slices.Compact(ops)
	for _, i := range ops {
		v.Ops = append(v.Ops, j.operation(i))
	}
	j.viols = append(j.viols, v)
}

func (j *readJudge) operation(i int) Operation {
	o := &j.p.ops[i]
	return Operation{Op: o.op, Call: o.call, Return: o.ret, Partition: j.p.name, PID: o.pid, Epoch: o.epoch,
		First: o.first, Last: o.last, Result: o.res, Offset: o.off, Error: o.code}
}

// opsOf returns the indexes of the operations of pid and epoch whose
// sequences meet [first,last].
func (j *readJudge) opsOf(pid int64, epoch int16, first, last int32) []int {
	var out []int
	for i := range j.p.ops {
		o := &j.p.ops[i]
		if o.pid == pid && o.epoch == epoch && o.first <= last && o.last >= first {
			out = append(out, i)
		}
	}
	return out
}

// ackedAt returns the index of an operation acked at l's offset with l's
// batch, or -1.
func (j *readJudge) ackedAt(l logEntry) int {
	for _, i := range j.acked[batchKey{l.pid, l.epoch, l.first, l.last}] {
		if j.p.ops[i].off == l.off {
			return i
		}
	}
	return -1
}

// maxNamed is how many operations an explanation names of a list (the
// retries of one rejected batch may be many).
const maxNamed = 3

func describeOps(ops []readOp, idx []int) string {
	s := ""
	for k, i := range idx {
		if k == maxNamed {
			s += fmt.Sprintf(" and %d more", len(idx)-maxNamed)
			break
		}
		if k > 0 {
			s += ", "
		}
		o := &ops[i]
		oo := Operation{Result: o.res, Offset: o.off, Error: o.code}
		s += fmt.Sprintf("op %d (seq [%d,%d], %s)", o.op, o.first, o.last, oo.outcome())
	}
	return s
}

// judge checks one partition's observations against its operations.
func (p *readPart) judge() ([]*Violation, []ReadCount) {
	j := &readJudge{p: p, named: map[string]bool{}, counts: map[int64]*ReadCount{}, acked: map[batchKey][]int{}}
	log := slices.Clone(p.log)
	slices.SortFunc(log, compareLog)
	lo, hi := log[0].off, int64(0)
	j.lo = lo
	for _, l := range log {
		hi = max(hi, l.end())
		j.count(l.pid).InLog++
	}
	// Acked batches, each counted once (a duplicate is answered with the
	// original's offset).
	type ackKey struct {
		b   batchKey
		off int64
	}
	seenAck := map[ackKey]bool{}
	var ackedList []int
	for i := range p.ops {
		o := &p.ops[i]
		if o.res != history.OK {
			continue
		}
		k := batchKey{o.pid, o.epoch, o.first, o.last}
		j.acked[k] = append(j.acked[k], i)
		if !seenAck[ackKey{k, o.off}] {
			seenAck[ackKey{k, o.off}] = true
			ackedList = append(ackedList, i)
			j.count(o.pid).Acked++
		}
	}

	// LogOffsetsDisjoint.
	top := -1 // the entry with the highest end so far
	for i, l := range log {
		if top >= 0 && l.off < log[top].end() {
			t := log[top]
			j.report(spec.LogOffsetsDisjoint, l.pid, append(j.opsOf(t.pid, t.epoch, t.first, t.last), j.opsOf(l.pid, l.epoch, l.first, l.last)...),
				"the log holds two batches over one offset: %s (offsets %d..%d) and %s", t, t.off, t.end()-1, l)
		}
		if top < 0 || l.end() > log[top].end() {
			top = i
		}
	}

	// DuplicateInLog and LogInSequence, per producer in offset order.
	byPID := map[int64][]logEntry{}
	var pids []int64
	for _, l := range log {
		if _, ok := byPID[l.pid]; !ok {
			pids = append(pids, l.pid)
		}
		byPID[l.pid] = append(byPID[l.pid], l)
	}
	slices.Sort(pids)
	for _, pid := range pids {
		j.producer(pid, byPID[pid])
	}

	// LostWrite.
	for _, i := range ackedList {
		o := &p.ops[i]
		l := logEntry{off: o.off, pid: o.pid, epoch: o.epoch, first: o.first, last: o.last}
		c := j.count(o.pid)
		if o.off < lo || l.end() > hi {
			c.Unread++
			continue
		}
		k := sort.Search(len(log), func(k int) bool { return log[k].off >= o.off })
		if k < len(log) && log[k].off == o.off {
			found := false
			for m := k; m < len(log) && log[m].off == o.off; m++ {
				if log[m] == l {
					found = true
				}
			}
			if found {
				continue
			}
		}
		c.Lost++
		what := fmt.Sprintf("the log holds nothing at offset %d (offsets %d..%d were read)", o.off, lo, hi-1)
		var others []int
		switch {
		case k < len(log) && log[k].off == o.off:
			what = fmt.Sprintf("the log holds another batch there (%s)", log[k])
			others = j.opsOf(log[k].pid, log[k].epoch, log[k].first, log[k].last)
		case k > 0 && log[k-1].end() > o.off:
			what = fmt.Sprintf("offset %d is inside another batch (%s)", o.off, log[k-1])
			others = j.opsOf(log[k-1].pid, log[k-1].epoch, log[k-1].first, log[k-1].last)
		}
		for _, m := range log {
			if m.pid == o.pid && m.epoch == o.epoch && m.first == o.first && m.last == o.last {
				what += fmt.Sprintf("; the batch is in the log at offset %d instead", m.off)
				break
			}
		}
		j.report(spec.LostWrite, o.pid, append(others, i),
			"op %d (pid %d epoch %d seq [%d,%d]) was acked at offset %d but %s",
			o.op, o.pid, o.epoch, o.first, o.last, o.off, what)
	}

	out := make([]ReadCount, 0, len(j.counts))
	for _, c := range j.counts {
		out = append(out, *c)
	}
	slices.SortFunc(out, func(a, b ReadCount) int { return cmp.Compare(a.PID, b.PID) })
	// A producer's violations in the order of spec.ReadProperties: a
	// lost write before the hole it leaves.
	rank := func(name string) int {
		for i, rp := range spec.ReadProperties() {
			if rp.Name == name {
				return i
			}
		}
		return len(name)
	}
	slices.SortStableFunc(j.viols, func(a, b *Violation) int {
		return cmp.Or(cmp.Compare(a.PID, b.PID), cmp.Compare(rank(a.Name), rank(b.Name)))
	})
	return j.viols, out
}

// producer checks one producer's batches, in offset order.
func (j *readJudge) producer(pid int64, log []logEntry) {
	c := j.count(pid)
	// Duplicates: sequences of one epoch in the log twice. Sweep by
	// first sequence; of an overlapping pair the one at the higher offset
	// is the duplicate.
	dup := map[logEntry]bool{}
	byFirst := slices.Clone(log)
	slices.SortStableFunc(byFirst, func(a, b logEntry) int {
		return cmp.Or(cmp.Compare(a.epoch, b.epoch), cmp.Compare(a.first, b.first))
	})
	top := -1
	for i, l := range byFirst {
		if top >= 0 && byFirst[top].epoch == l.epoch && l.first <= byFirst[top].last {
			t := byFirst[top]
			later, earlier := l, t
			if later.off < earlier.off {
				later, earlier = earlier, later
			}
			if !dup[later] {
				dup[later] = true
				c.Duplicated++
			}
			ops := append(j.opsOf(pid, l.epoch, l.first, l.last), j.opsOf(pid, t.epoch, t.first, t.last)...)
			j.report(spec.DuplicateInLog, pid, ops,
				"sequences [%d,%d] of producer %d epoch %d are in the log twice: at %s and at %s (sent by %s)",
				max(l.first, t.first), min(l.last, t.last), pid, l.epoch, earlier, later,
				describeOps(j.p.ops, j.opsOf(pid, l.epoch, l.first, l.last)))
		}
		if top < 0 || byFirst[top].epoch != l.epoch || l.last > byFirst[top].last {
			top = i
		}
	}

	// Order and holes, in offset order.
	type gap struct {
		before, after logEntry
		start         bool // no batch before: the hole is [0, after.first-1]
	}
	var (
		maxEpoch int16 = -1
		prev     logEntry
		has      bool
		pending  *gap
	)
	for _, l := range log {
		if dup[l] {
			continue
		}
		if has && l.epoch < maxEpoch {
			j.report(spec.LogInSequence, pid, append(j.opsOf(pid, l.epoch, l.first, l.last), j.opsOf(pid, prev.epoch, prev.first, prev.last)...),
				"producer %d's epoch goes back in the log: %s comes after %s", pid, l, prev)
		}
		fresh := !has || l.epoch != prev.epoch
		if fresh {
			maxEpoch = max(maxEpoch, l.epoch)
			prev, has, pending = l, true, nil
			// The log was read from its start (offset 0) and the epoch's
			// first batch there does not start at sequence 0: the
			// sequences before it are a hole if the history sent them.
			if j.lo == 0 && l.first > 0 && len(j.opsOf(pid, l.epoch, 0, l.first-1)) > 0 {
				pending = &gap{after: l, start: true}
			}
		}
		switch {
		case fresh:
		case l.first <= prev.last:
			j.report(spec.LogInSequence, pid, append(j.opsOf(pid, prev.epoch, prev.first, prev.last), j.opsOf(pid, l.epoch, l.first, l.last)...),
				"producer %d epoch %d's batches are out of sequence order in the log: %s comes after %s", pid, l.epoch, l, prev)
		case l.first > prev.last+1 && pending == nil:
			pending = &gap{before: prev, after: l}
		}
		if pending != nil {
			if a := j.ackedAt(l); a >= 0 {
				g := pending
				missFirst, missLast := g.before.last+1, g.after.first-1
				where := fmt.Sprintf("between %s and %s", g.before, g.after)
				if g.start {
					missFirst = 0
					where = fmt.Sprintf("before %s, the epoch's first batch in the log read from offset 0", g.after)
				}
				senders := j.opsOf(pid, l.epoch, missFirst, missLast)
				sent := "no operation of the history sent them"
				if len(senders) > 0 {
					sent = "they were sent by " + describeOps(j.p.ops, senders)
				}
				senders = senders[:min(len(senders), maxNamed)]
				j.report(spec.LogInSequence, pid, append(senders, a),
					"hole in the log: sequences [%d,%d] of producer %d epoch %d are missing %s, yet op %d (seq [%d,%d]) was acked at offset %d after them, which needs every earlier sequence of its epoch in the log; %s",
					missFirst, missLast, pid, l.epoch, where, j.p.ops[a].op, l.first, l.last, l.off, sent)
				pending = nil
			}
		}
		if l.last > prev.last {
			prev = l
		}
	}
}
