package checker

import (
	"io"
	"math"
	"runtime"
	"slices"
	"sort"
	"sync"
	"time"

	"github.com/idemcheck/idemcheck/history"
)

// opRec is the compact record of one operation kept by the streaming
// check (the part's key is not repeated).
type opRec struct {
	op, client int64
	call, ret  int64
	off        int64
	// floor is the lowest offset the batch may be appended at: the end of
	// the ranges other producers had acked before its first call.
	floor       int64
	first, last int32
	epoch       int16
	code        history.ErrorCode
	res         resCode
	closed      bool
}

// recList is a part's records in chunks of recChunk, so that growing it
// never copies (a doubling slice would briefly hold three times the
// records, and leave the old arrays to the collector).
type recList struct {
	chunks [][]opRec
	n      int
}

const recChunk = 256

func (l *recList) add(r opRec) {
	if l.n%recChunk == 0 {
		c := recChunk
		if l.n == 0 {
			c = 4 // most parts of small histories are short
		}
		l.chunks = append(l.chunks, make([]opRec, 0, c))
	}
	last := &l.chunks[len(l.chunks)-1]
	if len(*last) == cap(*last) {
		// Only the first chunk starts small.
		*last = append(make([]opRec, 0, recChunk), *last...)
	}
	*last = append(*last, r)
	l.n++
}

func (l *recList) at(i int) *opRec { return &l.chunks[i/recChunk][i%recChunk] }

// drop frees the chunks of the records before upTo, a multiple of
// recChunk; at must not be called for them again.
func (l *recList) drop(upTo int) {
	for c := 0; c < upTo/recChunk; c++ {
		l.chunks[c] = nil
	}
}

// resCode is a history.Result in one byte.
type resCode uint8

const (
	resUnknown resCode = iota
	resOK
	resFailed
)

func (c resCode) result() history.Result {
	switch c {
	case resOK:
		return history.OK
	case resFailed:
		return history.Failed
	}
	return history.Unknown
}

// sPart is one (partition, pid) of the streaming check.
type sPart struct {
	key  partKey
	recs recList
	// done ops are replayed into front; the replay is the call-order
	// decision procedure, exact for parts without evictions.
	done  int
	front []state
	// failed: the replay found an operation no state explains; tooMany:
	// the frontier outgrew maxFrontier (porcupine decides at the end).
	failed, tooMany bool
	// evicted: the part has recorded evictions; an operation is then
	// replayed only once the evictions its decision may follow are
	// known (see evictInput). redo: an eviction came after the replay
	// had assumed there were none; the part is decided at the end.
	evicted, redo bool
	waiting       bool // in streamer.waiting
	// at returns the input of a record by call index, for the model's
	// runs (into scratch, valid until the next call).
	at      func(idx int32) *input
	scratch input

	// Bounded mode (Options.Bounded). The records before base are
	// dropped; baseFront is the replay's frontier before record base,
	// and snaps are the frontiers at later chunk boundaries, candidates
	// for the next base. settled is the last decided record with a known
	// outcome (-1: none): its return shows that it and every earlier
	// record were decided before any event still to come.
	base      int
	baseFront []state
	snaps     []snapshot
	settled   int
	// own holds the producer's last distinct acks, to tell its
	// duplicates' answers from a clash.
	own [ownAcks]ownAck
	// ranges holds the floors of the producer's latest distinct sequence
	// ranges (see callFloor).
	ranges              [retryRanges]rangeFloor
	rangesN, rangesNext int
	ownN, ownNext       int
	// failAt is the record the replay failed at; exactFail says the part
	// had no eviction then, so the failure is final (the failing record
	// returned with a known outcome, before any eviction still to come)
	// and only the records the explanation reads are needed: the
	// bounded check counts the later calls (unkept) without keeping
	// them.
	failAt    int
	failRet   int64 // the return time of the record failed at
	exactFail bool
	unkept    int
}

// opCount is the number of operations of the part.
func (p *sPart) opCount() int { return p.recs.n + p.unkept }

// keepAfterFailure is how many records after a final failure the
// explanation may read (see orderViolation).
const keepAfterFailure = orderWindow + 1

// snapshot is a part's replay frontier before record at.
type snapshot struct {
	at    int
	front []state
}

// streamer is the state of one streaming check: the open operations and
// the parts with their frontiers.
type streamer struct {
	m       model
	bounded bool
	// logOnly runs the partition-level check alone, without replays.
	logOnly bool
	// deadline is when Options.Timeout runs out (zero: never); steps
	// counts replay steps, to look at the clock now and then; timedOut
	// stops every replay.
	deadline time.Time
	steps    int
	timedOut bool
	logs     map[string]*logCheck // the partition-level check, by partition
	// unkept are the open calls of failed parts that the bounded check
	// does not keep (see sPart.unkept); their acks still count.
	unkept    map[int64]unkeptCall
	parts     map[partKey]*sPart
	order     []*sPart
	open      map[int64]opRef
	evictions map[partKey][]int64
	calls     int
	// now is the time of the latest event; waiting are evicted parts
	// whose next operation waits for time to pass a return.
	now     int64
	waiting []*sPart
	// scratch
	next []state
	br   []branch
	fset frontierSet
}

type opRef struct {
	p *sPart
	i int32
}

type unkeptCall struct {
	p   *sPart
	rec opRec
}

func newStreamer(opts Options) *streamer {
	var deadline time.Time
	if opts.Timeout > 0 {
		deadline = time.Now().Add(opts.Timeout)
	}
	return &streamer{
		deadline:  deadline,
		m:         *newModel(opts, true),
		bounded:   opts.Bounded,
		logs:      make(map[string]*logCheck),
		unkept:    make(map[int64]unkeptCall),
		parts:     make(map[partKey]*sPart),
		open:      make(map[int64]opRef),
		evictions: make(map[partKey][]int64),
	}
}

// add takes in one event.
func (st *streamer) add(e *history.Event) {
	if e.Time > st.now {
		st.now = e.Time
		if len(st.waiting) > 0 {
			w := st.waiting
			st.waiting = nil
			for _, p := range w {
				p.waiting = false
				st.advance(p)
			}
		}
	}
	switch e.Kind {
	case history.Replicate:
		st.calls++
		k := partKey{e.Partition, e.PID}
		p := st.parts[k]
		if p == nil {
			p = &sPart{key: k, front: []state{initState(0)}, evicted: len(st.evictions[k]) > 0, settled: -1}
			p.at = func(idx int32) *input {
				p.scratch = recInput(idx, p.recs.at(int(idx)))
				return &p.scratch
			}
			st.parts[k] = p
			st.order = append(st.order, p)
		}
		r := opRec{op: e.Op, client: e.Client, call: e.Time, ret: math.MaxInt64,
			first: e.First, last: e.Last, epoch: e.Epoch}
		st.callFloor(p, &r)
		if st.bounded && p.exactFail && st.now > p.failRet && p.recs.n >= p.failAt+1+keepAfterFailure {
			p.unkept++
			st.unkept[e.Op] = unkeptCall{p, r}
			return
		}
		p.recs.add(r)
		st.open[e.Op] = opRef{p, int32(p.recs.n - 1)}
	case history.Return:
		ref, ok := st.open[e.Op]
		if !ok {
			if u, ok := st.unkept[e.Op]; ok {
				delete(st.unkept, e.Op)
				if e.Result == history.OK {
					u.rec.res, u.rec.ret, u.rec.off = resOK, e.Time, e.Offset
					st.ack(u.p, &u.rec)
				}
			}
			return
		}
		delete(st.open, e.Op)
		r := ref.p.recs.at(int(ref.i))
		r.closed = true
		switch e.Result {
		case history.OK:
			r.ret, r.res, r.off = e.Time, resOK, e.Offset
			st.ack(ref.p, r)
		case history.Failed:
			r.ret, r.res, r.code = e.Time, resFailed, e.Error
		}
		if int(ref.i) == ref.p.done || ref.p.evicted {
			st.advance(ref.p)
		}
	case history.EvictProducer:
		k := partKey{e.Partition, e.PID}
		st.evictions[k] = append(st.evictions[k], e.Time)
		if p := st.parts[k]; p != nil && !p.evicted {
			p.evicted = true
			// The replay so far assumed no eviction could come before
			// the decisions it made (or the one it failed at). That
			// holds if a call at or after the last one replayed returned
			// before this eviction: its decision, and so every earlier
			// one, came before it.
			last := p.done - 1
			if p.failed {
				last = p.failAt
			}
			if last >= 0 {
				if ret, ok := p.minReturn(last); !ok || ret >= e.Time {
					p.redo, p.exactFail = true, false
				}
			}
		}
	}
}

// minReturn returns the earliest known return time among the calls from
// i on, if one has returned with a known outcome.
func (p *sPart) minReturn(i int) (int64, bool) {
	m, ok := int64(math.MaxInt64), false
	for j := i; j < p.recs.n; j++ {
		if r := p.recs.at(j); r.closed && r.decided() && r.ret < m {
			m, ok = r.ret, true
		}
	}
	return m, ok
}

// advance replays the closed operations at the head of p.
func (st *streamer) advance(p *sPart) {
	if st.logOnly || st.timedOut || p.failed || p.tooMany || p.redo {
		return // decided at the end from the records
	}
	for p.done < p.recs.n && p.recs.at(p.done).closed {
		r := p.recs.at(p.done)
		in := recInput(int32(p.done), r)
		if p.evicted {
			ret, ok := p.minReturn(p.done)
			if !ok || ret >= st.now {
				// Not every eviction that may precede this decision is
				// known yet.
				if ok && !p.waiting {
					p.waiting = true
					st.waiting = append(st.waiting, p)
				}
				return
			}
			st.evictInput(&in, p, r, ret)
		}
		if !st.step(p, &in) {
			return
		}
		if r.res != resUnknown {
			p.settled = p.done
		}
		p.done++
		if st.bounded && p.done%recChunk == 0 {
			p.snaps = append(p.snaps, snapshot{p.done, slices.Clone(p.front)})
			p.prune()
		}
	}
}

// prune drops the records that the bounded check no longer needs: those
// more than a chunk behind the replay (the chunk kept lets explanations
// name the operations before a failure), and only when they are settled,
// so that an eviction recorded later cannot have come before their
// decisions (see the redo case of add).
func (p *sPart) prune() {
	for len(p.snaps) > 0 {
		s := p.snaps[0]
		if s.at > p.done-recChunk || s.at > p.settled+1 {
			return
		}
		p.recs.drop(s.at)
		p.base, p.baseFront = s.at, s.front
		p.snaps = p.snaps[1:]
	}
}

// evictInput sets the eviction bounds of in (call order): evictions
// recorded before the call must have been applied; if the operation was
// decided, no eviction recorded after its return may have been; and the
// decision came before the earliest return of a later call that was
// surely decided (a later call is decided after this one), so no
// eviction recorded after that return may have been. ret is that return
// (math.MaxInt64: none, at the end).
func (st *streamer) evictInput(in *input, p *sPart, r *opRec, ret int64) {
	evs := st.evictions[p.key]
	in.evictMin = int32(sort.Search(len(evs), func(j int) bool { return evs[j] >= r.call }))
	in.evictMax = int32(sort.Search(len(evs), func(j int) bool { return evs[j] > r.ret }))
	in.evictOrd = int32(sort.Search(len(evs), func(j int) bool { return evs[j] > ret }))
}

// decided reports whether the operation was surely decided by the
// partition before it returned: an ack or a definite error. A call whose
// outcome is ambiguous may have failed before the decision, so its return
// bounds no eviction (unless the replay takes it as appended).
func (r *opRec) decided() bool {
	return r.res == resOK || r.res == resFailed && !r.code.Ambiguous()
}

// step moves p's frontier over in; false when the part failed or its
// frontier grew too large, or the check ran out of time.
func (st *streamer) step(p *sPart, in *input) bool {
	if st.steps++; st.steps&1023 == 0 && !st.deadline.IsZero() && time.Now().After(st.deadline) {
		st.timedOut = true
	}
	if st.timedOut {
		return false
	}
	st.m.at = p.at
	var next []state
	next, st.br = st.m.stepInto(p.front, in, st.next, &st.fset, st.br)
	switch {
	case len(next) == 0:
		p.failed, p.failAt, p.exactFail = true, p.done, !p.evicted
		p.failRet = p.recs.at(p.done).ret
		return false
	case len(next) > maxFrontier:
		p.tooMany = true
		return false
	}
	// Swap buffers: the part keeps next, the scratch gets its old front.
	p.front, st.next = next, p.front[:0]
	return true
}

// recInput is newInput for a record of a part without evictions,
// without allocating.
func recInput(idx int32, r *opRec) input {
	in := input{idx: idx, epoch: r.epoch, first: r.first, last: r.last, off: r.off, op: r.op, code: r.code}
	switch r.res {
	case resOK:
		in.out = outOK
	case resFailed:
		in.out = outcomeOf(r.code)
	default:
		in.out = outAmbiguous
	}
	return in
}

func (r *opRec) operation(partition string, pid int64) Operation {
	return Operation{Op: r.op, Client: r.client, Call: r.call, Return: r.ret, Partition: partition,
		PID: pid, Epoch: r.epoch, First: r.first, Last: r.last, Result: r.res.result(), Offset: r.off, Error: r.code}
}

// finish decides every part and returns the result.
func (st *streamer) finish(opts Options) Result {
	if st.calls == 0 {
		return Result{Verdict: Unknown, Err: ErrNoOperations}
	}
	ps := st.order
	sort.Slice(ps, func(i, j int) bool { return ps[i].key.less(ps[j].key) })
	res := Result{Parts: make([]PartResult, len(ps))}
	full := make([]*part, len(ps))
	var slow []int
	for i, p := range ps {
		evs := st.evictions[p.key]
		pr := &res.Parts[i]
		pr.Partition, pr.PID, pr.Ops = p.key.partition, p.key.pid, p.opCount()
		switch {
		case p.failed || p.redo:
			full[i] = p.part(evs)
			slow = append(slow, i)
			continue
		case p.tooMany:
			pr.Verdict, pr.Reason = Unknown, frontierReason
			continue
		}
		// Operations still open at the end have unknown outcomes.
		for p.done < p.recs.n && !st.timedOut {
			r := p.recs.at(p.done)
			in := recInput(int32(p.done), r)
			if p.evicted {
				ret, _ := p.minReturn(p.done)
				st.evictInput(&in, p, r, ret)
			}
			if !st.step(p, &in) {
				break
			}
			p.done++
		}
		switch {
		case p.failed:
			full[i] = p.part(evs)
			slow = append(slow, i)
		case p.tooMany:
			pr.Verdict, pr.Reason = Unknown, frontierReason
		case p.done == p.recs.n:
			pr.Verdict = Ok
		default:
			pr.Verdict, pr.Reason = Unknown, timeoutReason(opts)
		}
	}
	workers := opts.Workers
	if workers <= 0 {
		workers = runtime.GOMAXPROCS(0)
	}
	var wg sync.WaitGroup
	sem := make(chan struct{}, workers)
	for _, i := range slow {
		wg.Add(1)
		sem <- struct{}{}
		go func() {
			defer wg.Done()
			defer func() { <-sem }()
			p := ps[i]
			if p.failed && (len(st.evictions[p.key]) == 0 || p.exactFail) {
				// The replay is exact: no need to search again.
				res.Parts[i] = PartResult{Partition: p.key.partition, PID: p.key.pid, Ops: p.opCount(),
					Verdict: Illegal, Violation: explain(full[i], opts)}
				return
			}
			res.Parts[i] = checkPart(full[i], opts, false)
			res.Parts[i].Ops = p.opCount() // (full[i] lacks the records dropped)
		}()
	}
	wg.Wait()
	finishResult(&res, st.breaches())
	return res
}

// part rebuilds the batch form of p (as [split] makes it), from the
// first record kept.
func (p *sPart) part(evictions []int64) *part {
	n := p.recs.n - p.base
	q := &part{key: p.key, ops: make([]Operation, n), in: make([]*input, n), evictions: evictions}
	for i := range n {
		q.ops[i] = p.recs.at(p.base+i).operation(p.key.partition, p.key.pid)
	}
	attachInputs(q)
	if p.base > 0 {
		// The replay's states before the first record kept, with the
		// call index counted from it.
		q.init = make([]state, len(p.baseFront))
		for i, s := range p.baseFront {
			s.next -= int32(p.base)
			if s.runLen > 0 {
				s.runAt -= int32(p.base)
			}
			q.init[i] = s
		}
	}
	return q
}

// CheckReader judges the history that r reads as it reads it: each
// producer's operations are replayed in call order as soon as they have
// returned, so a part is mostly decided by the time the last event is
// read; decoding and checking run on two goroutines. It keeps a compact
// record of each operation (for explanations and the porcupine fallback)
// instead of the events. It relies on r to check the events' consistency
// (every [history.Reader] does). The result is the one [Check] gives for
// the same history; the error is a read error or the one in Result.Err.
func CheckReader(r history.Reader, opts Options) (Result, error) {
	if opts.NoCallOrder || opts.PlainSearch {
		h := history.History{Header: r.Header()}
		for {
			e, err := r.Next()
			if err == io.EOF {
				break
			}
			if err != nil {
				return Result{Verdict: Unknown, Err: err}, err
			}
			h.Events = append(h.Events, e)
		}
		res := Check(h, opts)
		return res, res.Err
	}
	const batch = 1024
	batches := make(chan []history.Event, 8)
	free := make(chan []history.Event, 10)
	done := make(chan struct{})
	var readErr error
	go func() {
		defer close(batches)
		buf := make([]history.Event, 0, batch)
		for {
			e, err := r.Next()
			if err == io.EOF {
				break
			}
			if err != nil {
				readErr = err
				break
			}
			switch e.Kind {
			case history.Replicate, history.Return, history.EvictProducer:
			default:
				// The replay needs only these (the other events' times
				// would only let it commit a little earlier).
				continue
			}
			buf = append(buf, e)
			if len(buf) == batch {
				select {
				case batches <- buf:
				case <-done:
					return
				}
				select {
				case buf = <-free:
					buf = buf[:0]
				default:
					buf = make([]history.Event, 0, batch)
				}
			}
		}
		if len(buf) > 0 {
			select {
			case batches <- buf:
			case <-done:
			}
		}
	}()
	st := newStreamer(opts)
	for b := range batches {
		for i := range b {
			st.add(&b[i])
		}
		select {
		case free <- b:
		default:
		}
	}
	close(done)
	if readErr != nil {
		return Result{Verdict: Unknown, Err: readErr}, readErr
	}
	res := st.finish(opts)
	return res, res.Err
}
