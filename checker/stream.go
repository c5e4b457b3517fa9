package checker

import (
	"io"
	"math"
	"slices"
	"sort"
	"time"

	"github.com/idemcheck/idemcheck/history"
)

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

// partState is where the streaming replay of a part stands. A part
// starts in replaying, or in evicted when evictions of its producer were
// recorded before its first call, and moves on:
//
//	replaying → evicted       an eviction is recorded and the replay so
//	                          far stands (a later call returned before it)
//	replaying → redo          an eviction is recorded that may precede
//	                          decisions the replay made assuming none
//	replaying → failedFinal   no state explains a record
//	evicted → waiting         the next record waits for time to pass a
//	                          return (the part is in streamer.waiting)
//	waiting → evicted         time passed it
//	evicted, waiting → failed no state explains a record
//	replaying, evicted, waiting → tooMany
//	                          the frontier outgrew maxFrontier
//	failedFinal, tooMany → redo
//	                          as replaying → redo
//
// The replay stops in failedFinal, failed, tooMany and redo, and the
// part is decided at the end from its records: failedFinal is Illegal
// and only explained (no eviction was recorded when it failed, and none
// recorded later may precede the failing decision), failed and redo are
// judged again with every eviction known, tooMany is Unknown.
type partState uint8

const (
	replaying partState = iota
	evicted
	waiting
	failedFinal
	failed
	tooMany
	redo
)

// replays reports whether the replay goes on in state s.
func (s partState) replays() bool { return s <= waiting }

// evicted reports whether the part had recorded evictions when it
// entered state s (for the states the replay goes on in).
func (s partState) evicted() bool { return s == evicted || s == waiting }

// sPart is one (partition, pid) of the streaming check.
type sPart struct {
	key   partKey
	recs  recList
	state partState
	// done records are replayed into front; the replay is the call-order
	// decision procedure, exact for parts without evictions. When the
	// replay failed, done is the record it failed at and failRet that
	// record's return time.
	done    int
	front   []state
	failRet int64

	// Bounded mode. The records before base are dropped; baseFront is
	// the replay's frontier before record base, and snaps are the
	// frontiers at later chunk boundaries, candidates for the next base.
	// settled is the last decided record with a known outcome (-1:
	// none): its return shows that it and every earlier record were
	// decided before any event still to come.
	base      int
	baseFront []state
	snaps     []snapshot
	settled   int
	// unkept counts the calls after a failedFinal failure that the
	// bounded check counts without keeping: only the records the
	// explanation reads are needed.
	unkept int

	// own holds the producer's last distinct acks, to tell its
	// duplicates' answers from a clash.
	own [ownAcks]ownAck
	// ranges holds the floors of the producer's latest distinct sequence
	// ranges (see callFloor).
	ranges              [retryRanges]rangeFloor
	rangesN, rangesNext int
	ownN, ownNext       int

	// at returns a record by call index, for the model's runs.
	at func(idx int32) *opRec
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

// streamMode is what a streamer keeps and does.
type streamMode uint8

const (
	// bounded drops a part's records once decided (the default).
	bounded streamMode = iota
	// keepAll keeps every record ([Options.KeepAll]).
	keepAll
	// recordOnly keeps every record and runs the partition-level check,
	// without replays: the batch form of a history (split).
	recordOnly
)

// streamer is the state of one streaming check: the open operations and
// the parts with their frontiers.
type streamer struct {
	m    model
	mode streamMode
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
	// reads is the read check (logread.go).
	reads *readCheck
	// now is the time of the latest event; waiting are the parts in
	// state waiting.
	now     int64
	waiting []*sPart
	// scratch
	next []state
	br   []branch
	fset frontierSet
}

// opRef is an open call: its part, its record's index there and its
// floor (see callFloor).
type opRef struct {
	p     *sPart
	i     int32
	floor int64
}

// unkeptCall is an open call the bounded check does not keep.
type unkeptCall struct {
	p     *sPart
	rec   opRec
	floor int64
}

func newStreamer(opts Options) *streamer {
	var deadline time.Time
	if opts.Timeout > 0 {
		deadline = time.Now().Add(opts.Timeout)
	}
	mode := bounded
	if opts.KeepAll {
		mode = keepAll
	}
	return &streamer{
		deadline:  deadline,
		m:         *newModel(opts, true),
		mode:      mode,
		logs:      make(map[string]*logCheck),
		unkept:    make(map[int64]unkeptCall),
		parts:     make(map[partKey]*sPart),
		open:      make(map[int64]opRef),
		evictions: make(map[partKey][]int64),
		reads:     newReadCheck(mode == bounded, opts.TempDir),
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
				if p.state == waiting {
					p.state = evicted
				}
				st.advance(p)
			}
		}
	}
	st.reads.add(e)
	switch e.Kind {
	case history.Replicate:
		st.calls++
		k := partKey{e.Partition, e.PID}
		p := st.parts[k]
		if p == nil {
			p = &sPart{key: k, front: []state{initState(0)}, settled: -1}
			p.at = func(idx int32) *opRec { return p.recs.at(int(idx)) }
			if len(st.evictions[k]) > 0 {
				p.state = evicted
			}
			st.parts[k] = p
			st.order = append(st.order, p)
		}
		r := opRec{op: e.Op, client: e.Client, call: e.Time, ret: math.MaxInt64,
			first: e.First, last: e.Last, epoch: e.Epoch, idx: int32(p.recs.n)}
		floor := st.callFloor(p, &r)
		if st.mode == bounded && p.state == failedFinal && st.now > p.failRet && p.recs.n >= p.done+1+keepAfterFailure {
			p.unkept++
			st.unkept[e.Op] = unkeptCall{p, r, floor}
			return
		}
		p.recs.add(r)
		st.open[e.Op] = opRef{p, int32(p.recs.n - 1), floor}
	case history.Return:
		ref, ok := st.open[e.Op]
		if !ok {
			if u, ok := st.unkept[e.Op]; ok {
				delete(st.unkept, e.Op)
				if e.Result == history.OK {
					u.rec.res, u.rec.ret, u.rec.off = resOK, e.Time, e.Offset
					st.ack(u.p, &u.rec, u.floor)
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
			st.ack(ref.p, r, ref.floor)
		case history.Failed:
			r.ret, r.res, r.code = e.Time, resFailed, e.Error
		}
		if int(ref.i) == ref.p.done || ref.p.state.evicted() {
			st.advance(ref.p)
		}
	case history.EvictProducer:
		k := partKey{e.Partition, e.PID}
		st.evictions[k] = append(st.evictions[k], e.Time)
		p := st.parts[k]
		if p == nil || p.state != replaying && p.state != failedFinal && p.state != tooMany {
			// (A part that replayed with evictions replayed each record
			// only once the evictions its decision may follow were
			// known; one judged again at the end reads them all.)
			return
		}
		// The replay so far assumed no eviction could come before the
		// decisions it made (or the one it failed at). That holds if a
		// call at or after the last one replayed returned before this
		// eviction: its decision, and so every earlier one, came before
		// it.
		last := p.done - 1
		if p.state == failedFinal {
			last = p.done
		}
		if last >= 0 {
			if ret, ok := p.minReturn(last); !ok || ret >= e.Time {
				p.state = redo
				return
			}
		}
		if p.state == replaying {
			p.state = evicted
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
	if st.mode == recordOnly || st.timedOut || !p.state.replays() {
		return // decided at the end from the records
	}
	for p.done < p.recs.n && p.recs.at(p.done).closed {
		r := p.recs.at(p.done)
		if p.state.evicted() {
			ret, ok := p.minReturn(p.done)
			if !ok || ret >= st.now {
				// Not every eviction that may precede this decision is
				// known yet.
				if ok && p.state == evicted {
					p.state = waiting
					st.waiting = append(st.waiting, p)
				}
				return
			}
			st.evictBounds(p, r, ret)
		}
		if !st.step(p, r) {
			return
		}
		if r.res != resUnknown {
			p.settled = p.done
		}
		p.done++
		if st.mode == bounded && p.done%recChunk == 0 {
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

// evictBounds sets the eviction bounds of r, a record of p, in call
// order: evictions recorded before the call must have been applied; if
// the operation was decided, no eviction recorded after its return may
// have been; and the decision came before the earliest return of a later
// call that was surely decided (a later call is decided after this one),
// so no eviction recorded after that return may have been. ret is that
// return (math.MaxInt64: none, at the end).
func (st *streamer) evictBounds(p *sPart, r *opRec, ret int64) {
	evs := st.evictions[p.key]
	r.evictMin = int32(sort.Search(len(evs), func(j int) bool { return evs[j] >= r.call }))
	r.evictMax = int32(sort.Search(len(evs), func(j int) bool { return evs[j] > r.ret }))
	r.evictOrd = int32(sort.Search(len(evs), func(j int) bool { return evs[j] > ret }))
}

// step moves p's frontier over r, the record p.done; false when the part
// failed or its frontier grew too large, or the check ran out of time.
func (st *streamer) step(p *sPart, r *opRec) bool {
	if st.steps++; st.steps&1023 == 0 && !st.deadline.IsZero() && time.Now().After(st.deadline) {
		st.timedOut = true
	}
	if st.timedOut {
		return false
	}
	st.m.at = p.at
	var next []state
	next, st.br = st.m.stepInto(p.front, r, st.next, &st.fset, st.br)
	switch {
	case len(next) == 0:
		p.failRet = r.ret
		p.state = pick(p.state.evicted(), failed, failedFinal)
		return false
	case len(next) > maxFrontier:
		p.state = tooMany
		return false
	}
	// Swap buffers: the part keeps next, the scratch gets its old front.
	p.front, st.next = next, p.front[:0]
	return true
}

// sortParts sorts st.order by key.
func (st *streamer) sortParts() {
	sort.Slice(st.order, func(i, j int) bool { return st.order[i].key.less(st.order[j].key) })
}

// finish decides every part and returns the result.
func (st *streamer) finish(opts Options) Result {
	if st.calls == 0 {
		return Result{Verdict: Unknown, Err: ErrNoOperations}
	}
	st.sortParts()
	ps := st.order
	res := Result{Parts: make([]PartResult, len(ps))}
	var slow []int
	for i, p := range ps {
		pr := &res.Parts[i]
		pr.Partition, pr.PID, pr.Ops = p.key.partition, p.key.pid, p.opCount()
		// Operations still open at the end have unknown outcomes.
		for p.state.replays() && p.done < p.recs.n && !st.timedOut {
			r := p.recs.at(p.done)
			if p.state.evicted() {
				ret, _ := p.minReturn(p.done)
				st.evictBounds(p, r, ret)
			}
			if !st.step(p, r) {
				break
			}
			p.done++
		}
		switch {
		case p.state == tooMany:
			pr.Verdict, pr.Reason = Unknown, frontierReason
		case !p.state.replays():
			slow = append(slow, i)
		case p.done == p.recs.n:
			pr.Verdict = Ok
		default:
			pr.Verdict, pr.Reason = Unknown, timeoutReason(opts)
		}
	}
	inParallel(opts, len(slow), func(k int) {
		i := slow[k]
		p := ps[i]
		full := p.part(st.evictions[p.key])
		if p.state == failedFinal {
			// The replay is exact: no need to search again.
			res.Parts[i] = PartResult{Partition: p.key.partition, PID: p.key.pid, Ops: p.opCount(),
				Verdict: Illegal, Violation: explain(full, opts)}
			return
		}
		res.Parts[i] = checkPart(full, opts, false)
		res.Parts[i].Ops = p.opCount() // (full lacks the records dropped)
	})
	finishResult(&res, st.breaches(), st.reads.finish())
	return res
}

// part returns the batch form of p, from the first record kept.
func (p *sPart) part(evictions []int64) *part {
	n := p.recs.n - p.base
	q := &part{key: p.key, recs: make([]opRec, n), evictions: evictions}
	for i := range n {
		q.recs[i] = *p.recs.at(p.base + i)
		q.recs[i].idx = int32(i)
	}
	attachEvictions(q)
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
// record of each open or recently decided operation (of every operation
// with [Options.KeepAll]) instead of the events. It relies on r to check
// the events' consistency (every [history.Reader] does). The result is
// the one [Check] gives for the same history; a read error is its Err.
func CheckReader(r history.Reader, opts Options) Result {
	if opts.NoCallOrder {
		// Porcupine's search needs every operation at once.
		h := history.History{Header: r.Header()}
		for {
			e, err := r.Next()
			if err == io.EOF {
				break
			}
			if err != nil {
				return Result{Verdict: Unknown, Err: err}
			}
			h.Events = append(h.Events, e)
		}
		return Check(h, opts)
	}
	const batch = 1024
	batches := make(chan []history.Event, 8)
	free := make(chan []history.Event, 10)
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
			case history.Replicate, history.Return, history.EvictProducer, history.LogBatch:
			default:
				// The replay needs only these (the other events' times
				// would only let it commit a little earlier).
				continue
			}
			buf = append(buf, e)
			if len(buf) == batch {
				batches <- buf
				select {
				case buf = <-free:
					buf = buf[:0]
				default:
					buf = make([]history.Event, 0, batch)
				}
			}
		}
		if len(buf) > 0 {
			batches <- buf
		}
	}()
	st := newStreamer(opts)
	// The spill file goes on every path, a panic included (finish
	// closes it too; closing twice is harmless).
	defer st.reads.close()
	for b := range batches {
		for i := range b {
			st.add(&b[i])
		}
		select {
		case free <- b:
		default:
		}
	}
	if readErr != nil {
		return Result{Verdict: Unknown, Err: readErr}
	}
	return st.finish(opts)
}
