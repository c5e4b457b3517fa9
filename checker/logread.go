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
// Memory: the check keeps a compact record (56 bytes) of every operation
// of every partition and of every distinct batch observed, in both modes:
// LogBatch events may come anywhere in a history (a consumer's reads
// between the writes, the broker's log at its end), so every operation
// may yet be judged. The bounded mode keeps only a few chunks of records
// in memory and spills the rest (spill.go), so its verdicts and
// violations are those of KeepAll.

// readOp is one operation as the read check remembers it, in 56 bytes.
type readOp struct {
	op          int64
	call, ret   int64
	pid         int64
	off         int64
	first, last int32
	epoch       int16
	code        history.ErrorCode
	res         resCode
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

// opChunk is how many operations one chunk of an opStore holds.
const opChunk = 1 << 14

// opStore holds a partition's operations in chunks, so that growing it
// never copies what it holds (no transient doubling of its memory), and
// so that the bounded mode can move whole chunks to its spill file.
type opStore struct {
	// chunks holds the records; a spilled chunk is nil, at offs[c] in
	// the spill file.
	chunks [][]readOp
	offs   []int64
	n      int
}

// add appends o and returns its index. sp, if not nil, is told of every
// chunk that fills up.
func (s *opStore) add(o readOp, sp *spill) int {
	if s.n%opChunk == 0 {
		if c := len(s.chunks) - 1; c >= 0 && sp != nil {
			sp.full(s, c)
		}
		// A chunk grows by appending up to opChunk records, so a
		// partition with few operations takes little memory.
		s.chunks = append(s.chunks, make([]readOp, 0, 16))
		s.offs = append(s.offs, -1)
	}
	c := &s.chunks[len(s.chunks)-1]
	*c = append(*c, o)
	s.n++
	return s.n - 1
}

// at returns the operation of index i, which must be in memory: every
// chunk is once the partition is judged.
func (s *opStore) at(i int) *readOp { return &s.chunks[i/opChunk][i%opChunk] }

// readPart is the read check's state of one partition.
type readPart struct {
	name string
	ops  opStore
	// log holds the batches observed; the same batch observed again is
	// dropped when the log is compacted (compactLog).
	log []logEntry
	// compacted is the length of log after its last compaction.
	compacted int
}

// compactLog sorts the log in offset order and drops repeated
// observations of one batch.
func (p *readPart) compactLog() {
	slices.SortFunc(p.log, compareLog)
	p.log = slices.Compact(p.log)
	p.compacted = len(p.log)
}

// readRef is an open operation: its partition and index there.
type readRef struct {
	p *readPart
	i int
}

// readCheck is the read check of one history.
type readCheck struct {
	parts map[string]*readPart
	open  map[int64]readRef
	// sp is the spill file of the bounded mode; nil keeps every record
	// in memory.
	sp *spill
	// observed: the history has LogBatch events (a spill error then
	// matters: some partition would have been judged).
	observed bool
}

// newReadCheck returns a read check that keeps every record in memory,
// or, with spill, that spills all but a few chunks of them to a file in
// dir (os.TempDir() if empty).
func newReadCheck(spills bool, dir string) *readCheck {
	rc := &readCheck{parts: map[string]*readPart{}, open: map[int64]readRef{}}
	if spills {
		rc.sp = &spill{dir: dir, budget: residentChunks}
	}
	return rc
}

// close releases the spill file, if any. finish calls it, and
// [CheckReader] defers it for the paths that never finish (a reader's
// error, a panic); closing twice is harmless.
func (rc *readCheck) close() {
	if rc.sp != nil {
		rc.sp.close()
	}
}

func (rc *readCheck) part(name string) *readPart {
	p := rc.parts[name]
	if p == nil {
		p = &readPart{name: name}
		rc.parts[name] = p
	}
	return p
}

// add takes in one event.
func (rc *readCheck) add(e *history.Event) {
	if e.Kind == history.LogBatch {
		rc.observed = true
	}
	if rc.sp != nil && rc.sp.err != nil {
		// The spill file failed: the check ends with that error
		// whatever follows, so drop the records and keep no more
		// (memory stays bounded until the end of the input).
		rc.parts, rc.open = nil, nil
		return
	}
	switch e.Kind {
	case history.Replicate:
		p := rc.part(e.Partition)
		i := p.ops.add(readOp{op: e.Op, call: e.Time, ret: math.MaxInt64, pid: e.PID, epoch: e.Epoch,
			first: e.First, last: e.Last, res: resUnknown}, rc.sp)
		rc.open[e.Op] = readRef{p, i}
	case history.Return:
		ref, ok := rc.open[e.Op]
		if !ok {
			return
		}
		delete(rc.open, e.Op)
		ret := func(o *readOp) {
			switch e.Result {
			case history.OK:
				o.res, o.ret, o.off = resOK, e.Time, e.Offset
			case history.Failed:
				o.res, o.ret, o.code = resFailed, e.Time, e.Error
			}
		}
		if rc.sp != nil {
			rc.sp.update(&ref.p.ops, ref.i, ret)
		} else {
			ret(ref.p.ops.at(ref.i))
		}
	case history.LogBatch:
		p := rc.part(e.Partition)
		p.log = append(p.log, logEntry{off: e.Offset, pid: e.PID, epoch: e.Epoch, first: e.First, last: e.Last})
		if len(p.log) >= 2*max(p.compacted, 1024) {
			p.compactLog()
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
}

// readOutcome is the result of the read check.
type readOutcome struct {
	viols  []*Violation
	counts []ReadCount
	// err is an I/O error of the spill file: the read check could not
	// judge, and the check's verdict is then Unknown.
	err error
}

// finish judges every partition with observations, one at a time: a
// partition's spilled records come back into memory for its judging and
// go once it is judged.
func (rc *readCheck) finish() readOutcome {
	defer rc.close()
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
		if rc.sp != nil {
			if rc.sp.load(&p.ops); rc.sp.err != nil {
				return readOutcome{err: rc.sp.err}
			}
		}
		v, c := p.judge()
		p.ops = opStore{}
		out.viols = append(out.viols, v...)
		out.counts = append(out.counts, c...)
	}
	// A spill error matters only to a partition that is judged: a
	// history without observations checks as if nothing had spilled.
	if rc.sp != nil && rc.sp.err != nil && rc.observed {
		return readOutcome{err: rc.sp.err}
	}
	return out
}

// readJudge is the judging of one partition.
type readJudge struct {
	p      *readPart
	viols  []*Violation
	named  map[string]bool // name + pid already reported
	counts map[int64]*ReadCount
	// acked holds the indexes of the acked operations in the order of
	// their entries (compareLog), then of their indexes.
	acked []int32
	lo    int64 // the lowest offset read
}

// entry returns the log entry that o's ack says is in the log.
func (o *readOp) entry() logEntry {
	return logEntry{off: o.off, pid: o.pid, epoch: o.epoch, first: o.first, last: o.last}
}

// reported says whether a violation of that name was reported for pid.
func (j *readJudge) reported(name string, pid int64) bool {
	return j.named[fmt.Sprintf("%s/%d", name, pid)]
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
// ops gives the operations to name; it is called only when the violation
// is reported (finding them scans the partition's operations).
func (j *readJudge) report(name string, pid int64, opsFn func() []int, format string, args ...any) {
	key := fmt.Sprintf("%s/%d", name, pid)
	if j.named[key] {
		return
	}
	j.named[key] = true
	v := &Violation{Name: name, Partition: j.p.name, PID: pid, Explanation: fmt.Sprintf(format, args...)}
	ops := opsFn()
	slices.Sort(ops)
	ops = slices.Compact(ops)
	for _, i := range ops {
		v.Ops = append(v.Ops, j.operation(i))
	}
	j.viols = append(j.viols, v)
}

func (j *readJudge) operation(i int) Operation {
	o := j.p.ops.at(i)
	return Operation{Op: o.op, Call: o.call, Return: o.ret, Partition: j.p.name, PID: o.pid, Epoch: o.epoch,
		First: o.first, Last: o.last, Result: o.res.result(), Offset: o.off, Error: o.code}
}

// opsOf returns the indexes of the operations of pid and epoch whose
// sequences meet [first,last].
func (j *readJudge) opsOf(pid int64, epoch int16, first, last int32) []int {
	var out []int
	for i := range j.p.ops.n {
		o := j.p.ops.at(i)
		if o.pid == pid && o.epoch == epoch && o.first <= last && o.last >= first {
			out = append(out, i)
		}
	}
	return out
}

// ackedAt returns the index of an operation acked at l's offset with l's
// batch, or -1.
func (j *readJudge) ackedAt(l logEntry) int {
	k, ok := slices.BinarySearchFunc(j.acked, l, func(i int32, l logEntry) int {
		return compareLog(j.p.ops.at(int(i)).entry(), l)
	})
	if !ok {
		return -1
	}
	return int(j.acked[k])
}

// maxNamed is how many operations an explanation names of a list (the
// retries of one rejected batch may be many).
const maxNamed = 3

func describeOps(ops *opStore, idx []int) string {
	s := ""
	for k, i := range idx {
		if k == maxNamed {
			s += fmt.Sprintf(" and %d more", len(idx)-maxNamed)
			break
		}
		if k > 0 {
			s += ", "
		}
		o := ops.at(i)
		oo := Operation{Result: o.res.result(), Offset: o.off, Error: o.code}
		s += fmt.Sprintf("op %d (seq [%d,%d], %s)", o.op, o.first, o.last, oo.outcome())
	}
	return s
}

// judge checks one partition's observations against its operations.
func (p *readPart) judge() ([]*Violation, []ReadCount) {
	j := &readJudge{p: p, named: map[string]bool{}, counts: map[int64]*ReadCount{}}
	p.compactLog()
	log := p.log
	lo, hi := log[0].off, int64(0)
	j.lo = lo
	for _, l := range log {
		hi = max(hi, l.end())
		j.count(l.pid).InLog++
	}
	// Acked batches, each counted once (a duplicate is answered with the
	// original's offset): ackedList holds, in operation order, the first
	// operation acked with each (batch, offset).
	for i := range p.ops.n {
		if p.ops.at(i).res == resOK {
			j.acked = append(j.acked, int32(i))
		}
	}
	slices.SortFunc(j.acked, func(a, b int32) int {
		return cmp.Or(compareLog(p.ops.at(int(a)).entry(), p.ops.at(int(b)).entry()), cmp.Compare(a, b))
	})
	var ackedList []int
	for k, i := range j.acked {
		if k > 0 && p.ops.at(int(j.acked[k-1])).entry() == p.ops.at(int(i)).entry() {
			continue
		}
		ackedList = append(ackedList, int(i))
		j.count(p.ops.at(int(i)).pid).Acked++
	}
	slices.Sort(ackedList)

	// LogOffsetsDisjoint.
	top := -1 // the entry with the highest end so far
	for i, l := range log {
		if top >= 0 && l.off < log[top].end() {
			t := log[top]
			j.report(spec.LogOffsetsDisjoint, l.pid, func() []int {
				return append(j.opsOf(t.pid, t.epoch, t.first, t.last), j.opsOf(l.pid, l.epoch, l.first, l.last)...)
			},
				"the log holds two batches over one offset: %s (offsets %d..%d) and %s", t, t.off, t.end()-1, l)
		}
		if top < 0 || l.end() > log[top].end() {
			top = i
		}
	}

	// LostWrite.
	for _, i := range ackedList {
		o := p.ops.at(i)
		l := o.entry()
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
		if j.reported(spec.LostWrite, o.pid) {
			continue // what follows scans the log
		}
		what := fmt.Sprintf("the log holds nothing at offset %d (offsets %d..%d were read)", o.off, lo, hi-1)
		var other *logEntry
		switch {
		case k < len(log) && log[k].off == o.off:
			what = fmt.Sprintf("the log holds another batch there (%s)", log[k])
			other = &log[k]
		case k > 0 && log[k-1].end() > o.off:
			what = fmt.Sprintf("offset %d is inside another batch (%s)", o.off, log[k-1])
			other = &log[k-1]
		}
		for _, m := range log {
			if m.pid == o.pid && m.epoch == o.epoch && m.first == o.first && m.last == o.last {
				what += fmt.Sprintf("; the batch is in the log at offset %d instead", m.off)
				break
			}
		}
		j.report(spec.LostWrite, o.pid, func() []int {
			if other == nil {
				return []int{i}
			}
			return append(j.opsOf(other.pid, other.epoch, other.first, other.last), i)
		},
			"op %d (pid %d epoch %d seq [%d,%d]) was acked at offset %d but %s",
			o.op, o.pid, o.epoch, o.first, o.last, o.off, what)
	}

	// DuplicateInLog and LogInSequence, per producer in offset order
	// (the log sorted by producer in place; the order of the checks does
	// not change the violations, each reported once per name and
	// producer and sorted below).
	slices.SortStableFunc(log, func(a, b logEntry) int { return cmp.Compare(a.pid, b.pid) })
	for len(log) > 0 {
		n := 1
		for n < len(log) && log[n].pid == log[0].pid {
			n++
		}
		j.producer(log[0].pid, log[:n])
		log = log[n:]
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
			// Naming the senders scans the operations: once.
			if !j.reported(spec.DuplicateInLog, pid) {
				j.report(spec.DuplicateInLog, pid, func() []int {
					return append(j.opsOf(pid, l.epoch, l.first, l.last), j.opsOf(pid, t.epoch, t.first, t.last)...)
				},
					"sequences [%d,%d] of producer %d epoch %d are in the log twice: at %s and at %s (sent by %s)",
					max(l.first, t.first), min(l.last, t.last), pid, l.epoch, earlier, later,
					describeOps(&j.p.ops, j.opsOf(pid, l.epoch, l.first, l.last)))
			}
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
			j.report(spec.LogInSequence, pid, func() []int {
				return append(j.opsOf(pid, l.epoch, l.first, l.last), j.opsOf(pid, prev.epoch, prev.first, prev.last)...)
			}, "producer %d's epoch goes back in the log: %s comes after %s", pid, l, prev)
		}
		fresh := !has || l.epoch != prev.epoch
		if fresh {
			maxEpoch = max(maxEpoch, l.epoch)
			prev, has, pending = l, true, nil
			// The log was read from its start (offset 0) and the epoch's
			// first batch there does not start at sequence 0: the
			// sequences before it are a hole if the history sent them.
			if j.lo == 0 && l.first > 0 && !j.reported(spec.LogInSequence, pid) && len(j.opsOf(pid, l.epoch, 0, l.first-1)) > 0 {
				pending = &gap{after: l, start: true}
			}
		}
		switch {
		case fresh:
		case l.first <= prev.last:
			j.report(spec.LogInSequence, pid, func() []int {
				return append(j.opsOf(pid, prev.epoch, prev.first, prev.last), j.opsOf(pid, l.epoch, l.first, l.last)...)
			},
				"producer %d epoch %d's batches are out of sequence order in the log: %s comes after %s", pid, l.epoch, l, prev)
		case l.first > prev.last+1 && pending == nil:
			pending = &gap{before: prev, after: l}
		}
		if pending != nil {
			if a := j.ackedAt(l); a >= 0 && j.reported(spec.LogInSequence, pid) {
				pending = nil // naming the senders scans the operations: once
			} else if a >= 0 {
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
					sent = "they were sent by " + describeOps(&j.p.ops, senders)
				}
				senders = senders[:min(len(senders), maxNamed)]
				j.report(spec.LogInSequence, pid, func() []int { return append(senders, a) },
					"hole in the log: sequences [%d,%d] of producer %d epoch %d are missing %s, yet op %d (seq [%d,%d]) was acked at offset %d after them, which needs every earlier sequence of its epoch in the log; %s",
					missFirst, missLast, pid, l.epoch, where, j.p.ops.at(a).op, l.first, l.last, l.off, sent)
				pending = nil
			}
		}
		if l.last > prev.last {
			prev = l
		}
	}
}
