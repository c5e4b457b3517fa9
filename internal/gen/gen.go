package gen

import (
	"errors"
	"fmt"
	"math"
	"math/rand"
	"slices"
	"strings"

	"github.com/idemcheck/idemcheck/history"
	"github.com/idemcheck/idemcheck/spec"
)

// Recorder takes the generated events one at a time. *history.Log and
// *history.JSONLWriter are Recorders.
type Recorder interface {
	Record(history.Event) error
}

// Bug names a catalogue bug that [Generate] can inject.
type Bug string

// Injectable bugs. Each is a scripted episode at the start of partition
// "p0"; the client-visible outcome is what a black-box checker sees.
const (
	// ReorderUnknown is the seed race (redpanda PR #30429): for a producer
	// the partition does not know, batch B (seq 2) overtakes batch A (seq
	// 0..1) in the pre-fix ordering, is accepted through the unknown
	// producer path, and A gets OUT_OF_ORDER_SEQUENCE_NUMBER.
	ReorderUnknown Bug = "reorder-unknown"
	// ReorderKnown is the same overtaking for a known producer: B gets a
	// spurious OUT_OF_ORDER_SEQUENCE_NUMBER although A, called before it,
	// is appended; the retry of B then succeeds.
	ReorderKnown Bug = "reorder-known"
	// DuplicateAppend appends a concurrent retry of a batch a second time,
	// at a new offset, instead of answering it with the original offset.
	DuplicateAppend Bug = "duplicate-append"
	// LostAck acknowledges a batch of another producer at the offset of an
	// acknowledged batch, so the first acknowledged batch is not in the log.
	LostAck Bug = "lost-ack"
	// NonmonotonicOffset gives a producer's later batch a lower offset than
	// its earlier one.
	NonmonotonicOffset Bug = "nonmonotonic-offset"
	// GapAccept accepts a batch whose first sequence leaves a gap after the
	// producer's last batch.
	GapAccept Bug = "gap-accept"
)

// Bugs lists every injectable bug.
func Bugs() []Bug {
	return []Bug{ReorderUnknown, ReorderKnown, DuplicateAppend, LostAck, NonmonotonicOffset, GapAccept}
}

// ParseBug returns the bug named s; "" and "none" mean no bug.
func ParseBug(s string) (Bug, error) {
	if s == "" || s == "none" {
		return "", nil
	}
	for _, b := range Bugs() {
		if string(b) == s {
			return b, nil
		}
	}
	names := make([]string, 0, len(Bugs()))
	for _, b := range Bugs() {
		names = append(names, string(b))
	}
	return "", fmt.Errorf("gen: unknown bug %q (known: %s)", s, strings.Join(names, ", "))
}

// Options configure [Generate]. The zero value of a field means its
// default.
type Options struct {
	// Seed seeds the generator; the same options give the same history.
	Seed int64
	// Partitions is the number of partitions, named "p0", "p1", ...
	// (default 1).
	Partitions int
	// Producers is the number of producers, with producer ids 1, 2, ...
	// (default 1). Every producer writes to every partition.
	Producers int
	// Batches is the number of batches each producer sends to each
	// partition, retries not counted (default 10).
	Batches int
	// InFlight is the most requests a producer has outstanding per
	// partition, 1 to spec.WindowSize (the default).
	InFlight int
	// UnknownRate is the probability, 0 to 1, that the client times out on
	// an attempt: its Return is unknown while the request goes on.
	UnknownRate float64
	// Retries is how often a timed-out batch is retried with the same
	// sequence range. The last allowed retry never times out; with 0 a
	// timed-out batch is left unknown.
	Retries int
	// EpochBumps is how many times each producer bumps its epoch, at
	// seeded points; it first waits for its requests to finish.
	EpochBumps int
	// StartSeq is the first sequence of every producer on every partition
	// in epoch 0 (a producer the partition does not know may start above
	// 0); sequences wrap from INT32_MAX to 0.
	StartSeq int32
	// Inject, if not empty, injects one bug (see [Bug]).
	Inject Bug

	_ struct{}
}

func (o Options) withDefaults() (Options, error) {
	if o.Partitions == 0 {
		o.Partitions = 1
	}
	if o.Producers == 0 {
		o.Producers = 1
	}
	if o.Batches == 0 {
		o.Batches = 10
	}
	if o.InFlight == 0 {
		o.InFlight = spec.WindowSize
	}
	switch {
	case o.Partitions < 0 || o.Producers < 0 || o.Batches < 0:
		return o, errors.New("gen: partitions, producers and batches must not be negative")
	case o.InFlight < 1 || o.InFlight > spec.WindowSize:
		// An idempotent producer keeps at most as many batches in
		// flight as the partition's window remembers.
		return o, fmt.Errorf("gen: in-flight %d is not between 1 and %d", o.InFlight, spec.WindowSize)
	case o.UnknownRate < 0 || o.UnknownRate > 1 || math.IsNaN(o.UnknownRate):
		return o, fmt.Errorf("gen: unknown rate %v is not between 0 and 1", o.UnknownRate)
	case o.Retries < 0:
		return o, fmt.Errorf("gen: retries %d is negative", o.Retries)
	case o.EpochBumps < 0 || o.EpochBumps > math.MaxInt16:
		return o, fmt.Errorf("gen: epoch bumps %d out of range", o.EpochBumps)
	case o.StartSeq < 0:
		return o, fmt.Errorf("gen: start sequence %d is negative", o.StartSeq)
	}
	if _, err := ParseBug(string(o.Inject)); err != nil {
		return o, err
	}
	return o, nil
}

// Header returns the header of the history o generates: source "gen",
// ticket order "before-stage", the seed, and the expected verdict
// ("Illegal" when a bug is injected, "Ok" otherwise).
func (o Options) Header() history.Header {
	if d, err := o.withDefaults(); err == nil {
		o = d
	}
	h := history.Header{Format: history.FormatV1, Source: "gen", TicketOrder: "before-stage", Seed: o.Seed, Expect: "Ok"}
	h.Description = fmt.Sprintf("synthetic: %d partitions, %d producers, %d batches each, in-flight %d, unknown rate %g, retries %d, epoch bumps %d",
		o.Partitions, o.Producers, o.Batches, o.InFlight, o.UnknownRate, o.Retries, o.EpochBumps)
	if o.Inject != "" {
		h.Expect = "Illegal"
		h.Description += ", injected bug " + string(o.Inject)
	}
	return h
}

// Stats counts what [Generate] produced.
type Stats struct {
	Events int64 // events recorded
	Ops    int64 // Replicate calls (operations)
}

// Generate runs the simulation that o describes and records every event
// to rec, in time order. It stops at the first error of rec.
func Generate(o Options, rec Recorder) (Stats, error) {
	o, err := o.withDefaults()
	if err != nil {
		return Stats{}, err
	}
	s := newSim(o, rec)
	if err := s.run(); err != nil {
		return s.stats, err
	}
	return s.stats, nil
}

// History generates the history o describes in memory, with
// [Options.Header] as its header.
func History(o Options) (history.History, error) {
	l := history.NewLog(o.Header())
	if _, err := Generate(o, l); err != nil {
		return history.History{}, err
	}
	return l.History(), nil
}

// stream is one producer's traffic to one partition: the client side
// (next sequence, requests outstanding) and the broker side (the
// producer queue and the rm_stm producer state).
type stream struct {
	part, prod int
	// client
	nextSeq  int32
	sent     int // batches sent, retries not counted
	inflight int // attempts called and not returned
	retrying int // retry chains going on; no new batches meanwhile
	// broker
	queue []*request // tickets reserved and not released, in order
	known bool
	epoch int16
	// finished is rm_stm's window: the appended batches it remembers
	// (at most spec.WindowSize), oldest first, with their base offsets.
	finished []spec.Req
}

type producer struct {
	pid         int64
	epoch       int16
	calls       int   // batches sent over all partitions
	bumpAt      []int // call counts at which to bump, ascending
	bumping     bool
	outstanding int // requests not fully done
}

// Steps of a request after its call (fixed ordering).
const (
	stepStaged   = iota // next: StageWriteDone
	stepUploaded        // next: UploadDone
	stepRedeem          // next: RedeemTicket (when head)
	stepDecide          // next: FenceEpoch, Decide, ReleaseTicket
	stepReturn          // next: Return (if not returned yet)
	stepDone
)

type request struct {
	op          int64
	s           *stream
	epoch       int16
	first, last int32
	step        int
	timeout     bool // the client times out on this attempt
	returned    bool
	attempt     int
	result      history.Event // the Return, once decided
	idx         int           // index in sim.active
}

type sim struct {
	o      Options
	rng    *rand.Rand
	rec    Recorder
	t      int64
	nextOp int64
	stats  Stats

	offsets []int64 // next base offset per partition (one offset per record)
	streams []*stream
	prods   []*producer
	active  []*request
}

func newSim(o Options, rec Recorder) *sim {
	s := &sim{o: o, rng: rand.New(rand.NewSource(o.Seed)), rec: rec, nextOp: 1}
	s.offsets = make([]int64, o.Partitions)
	total := o.Partitions * o.Batches
	for i := range o.Producers {
		p := &producer{pid: int64(i + 1)}
		for range o.EpochBumps {
			if total > 1 {
				p.bumpAt = append(p.bumpAt, 1+s.rng.Intn(total-1))
			}
		}
		slices.Sort(p.bumpAt)
		s.prods = append(s.prods, p)
	}
	for part := range o.Partitions {
		for prod := range o.Producers {
			s.streams = append(s.streams, &stream{part: part, prod: prod, nextSeq: o.StartSeq})
		}
	}
	return s
}

func partName(i int) string { return fmt.Sprintf("p%d", i) }

func (s *sim) emit(e history.Event) error {
	e.Time = s.t
	s.t++
	s.stats.Events++
	if e.Kind == history.Replicate {
		s.stats.Ops++
	}
	return s.rec.Record(e)
}

func (s *sim) run() error {
	if s.o.Inject != "" && len(s.streams) > 0 {
		if err := s.episode(); err != nil {
			return err
		}
	}
	for {
		if len(s.active) > 0 && s.rng.Intn(2) == 0 {
			if err := s.advance(s.active[s.rng.Intn(len(s.active))]); err != nil {
				return err
			}
			continue
		}
		st := s.streams[s.rng.Intn(len(s.streams))]
		if s.canCall(st) {
			if err := s.callNew(st); err != nil {
				return err
			}
			continue
		}
		if len(s.active) > 0 {
			if err := s.advance(s.active[s.rng.Intn(len(s.active))]); err != nil {
				return err
			}
			continue
		}
		// Nothing in flight: call on any stream that still can, or stop.
		called := false
		for _, st := range s.streams {
			if s.canCall(st) {
				if err := s.callNew(st); err != nil {
					return err
				}
				called = true
				break
			}
		}
		if !called {
			return nil
		}
	}
}

func (s *sim) canCall(st *stream) bool {
	p := s.prods[st.prod]
	return st.sent < s.o.Batches && st.inflight < s.o.InFlight && st.retrying == 0 && !p.bumping
}

// callNew sends the stream's next batch of 1 to 3 records.
func (s *sim) callNew(st *stream) error {
	size := int32(1 + s.rng.Intn(3))
	first := st.nextSeq
	if rest := math.MaxInt32 - first; rest < size-1 {
		size = rest + 1
	}
	last := first + size - 1
	if last == math.MaxInt32 {
		st.nextSeq = 0
	} else {
		st.nextSeq = last + 1
	}
	st.sent++
	p := s.prods[st.prod]
	p.calls++
	timeout := s.rng.Float64() < s.o.UnknownRate
	if err := s.call(st, first, last, 0, timeout); err != nil {
		return err
	}
	if len(p.bumpAt) > 0 && p.calls >= p.bumpAt[0] {
		p.bumpAt = p.bumpAt[1:]
		p.bumping = true
		return s.maybeBump(p)
	}
	return nil
}

// call records the Replicate and, in the same synchronous step, the
// ticket reservation and the start of stage_write.
func (s *sim) call(st *stream, first, last int32, attempt int, timeout bool) error {
	p := s.prods[st.prod]
	r := &request{op: s.nextOp, s: st, epoch: p.epoch, first: first, last: last, attempt: attempt, timeout: timeout}
	s.nextOp++
	st.inflight++
	p.outstanding++
	if attempt == 0 && timeout && s.o.Retries > 0 {
		// No new batches until the retries are done, so the retries are
		// decided while the original is in rm_stm's window.
		st.retrying++
	}
	if err := s.emit(history.Event{Kind: history.Replicate, Op: r.op, Client: p.pid,
		Partition: partName(st.part), PID: p.pid, Epoch: r.epoch, First: first, Last: last}); err != nil {
		return err
	}
	if err := s.emit(history.Event{Kind: history.ReserveTicket, Op: r.op}); err != nil {
		return err
	}
	st.queue = append(st.queue, r)
	if err := s.emit(history.Event{Kind: history.StageWriteStart, Op: r.op}); err != nil {
		return err
	}
	r.idx = len(s.active)
	s.active = append(s.active, r)
	return nil
}

// advance takes the next step of r, or of the request r waits for.
func (s *sim) advance(r *request) error {
	if r.timeout && !r.returned && r.step < stepReturn && s.rng.Intn(4) == 0 {
		return s.clientReturn(r)
	}
	switch r.step {
	case stepStaged:
		r.step++
		return s.emit(history.Event{Kind: history.StageWriteDone, Op: r.op, Result: history.OK})
	case stepUploaded:
		r.step++
		return s.emit(history.Event{Kind: history.UploadDone, Op: r.op, Result: history.OK})
	case stepRedeem:
		if head := r.s.queue[0]; head != r {
			return s.advance(head)
		}
		r.step++
		return s.emit(history.Event{Kind: history.RedeemTicket, Op: r.op})
	case stepDecide:
		r.step++
		if err := s.emit(history.Event{Kind: history.FenceEpoch, Op: r.op, Result: history.OK}); err != nil {
			return err
		}
		d, off := s.decide(r.s, r.epoch, r.first, r.last)
		dec := history.Event{Kind: history.Decide, Op: r.op, Decision: d}
		if d.HasOffset() {
			dec.Offset = off
		}
		if err := s.emit(dec); err != nil {
			return err
		}
		switch d {
		case history.Append, history.AppendUnknown, history.Duplicate:
			r.result = history.Event{Kind: history.Return, Op: r.op, Result: history.OK, Offset: off}
		default:
			return fmt.Errorf("gen: internal error: op %d decided %s without an injected bug", r.op, d)
		}
		r.s.queue = r.s.queue[1:]
		if err := s.emit(history.Event{Kind: history.ReleaseTicket, Op: r.op}); err != nil {
			return err
		}
		if r.returned {
			return s.finish(r)
		}
		return nil
	case stepReturn:
		if r.timeout {
			return s.clientReturn(r) // finishes r
		}
		r.returned = true
		r.s.inflight--
		if err := s.emit(r.result); err != nil {
			return err
		}
		return s.finish(r)
	}
	return fmt.Errorf("gen: internal error: op %d advanced past its end", r.op)
}

// clientReturn records the client's timeout on r (result unknown) and
// retries the batch if retries are left.
func (s *sim) clientReturn(r *request) error {
	r.returned = true
	st := r.s
	st.inflight--
	if err := s.emit(history.Event{Kind: history.Return, Op: r.op, Result: history.Unknown}); err != nil {
		return err
	}
	if r.attempt < s.o.Retries {
		next := r.attempt + 1
		timeout := next < s.o.Retries && s.rng.Float64() < s.o.UnknownRate
		if err := s.call(st, r.first, r.last, next, timeout); err != nil {
			return err
		}
	}
	if r.step == stepReturn {
		return s.finish(r)
	}
	return nil
}

// finish drops a request whose steps are all done and whose client has
// returned.
func (s *sim) finish(r *request) error {
	r.step = stepDone
	last := s.active[len(s.active)-1]
	s.active[r.idx] = last
	last.idx = r.idx
	s.active = s.active[:len(s.active)-1]
	if r.attempt > 0 && !r.timeout {
		r.s.retrying-- // the chain's last attempt
	}
	p := s.prods[r.s.prod]
	p.outstanding--
	return s.maybeBump(p)
}

// maybeBump bumps p's epoch once it wants to and has nothing outstanding.
func (s *sim) maybeBump(p *producer) error {
	if !p.bumping || p.outstanding > 0 {
		return nil
	}
	p.bumping = false
	p.epoch++
	for _, st := range s.streams {
		if st.prod == int(p.pid-1) {
			st.nextSeq = 0
		}
	}
	return s.emit(history.Event{Kind: history.BumpEpoch, PID: p.pid, Epoch: p.epoch})
}

// decide applies the rm_stm idempotency rules ([spec.Classify]) to a batch
// and, if it is appended, appends it. It returns the decision and its
// offset: the base offset of the appended batch, or the original's for a
// duplicate.
func (s *sim) decide(st *stream, epoch int16, first, last int32) (history.Decision, int64) {
	view := spec.ProducerView{Known: st.known, Epoch: st.epoch, Window: st.finished}
	c, match, _ := spec.Classify(view, spec.Batch{PID: s.prods[st.prod].pid, Epoch: epoch, First: first, Last: last})
	var off int64
	if c == spec.ClassDuplicate {
		off = st.finished[match].Offset
	}
	if !st.known || epoch > st.epoch || c == spec.ClassSkip {
		// A new producer state, reset_with_new_epoch, or the skip path.
		st.known, st.epoch, st.finished = true, epoch, st.finished[:0]
	}
	if c.Appends() {
		off = s.appendBatch(st, epoch, first, last)
	}
	return c.Decision(), off
}

// appendBatch appends a batch to its partition's log: its base offset is
// the log's next offset, and the log grows by one offset per record (as
// in impl and the spec).
func (s *sim) appendBatch(st *stream, epoch int16, first, last int32) int64 {
	off := s.offsets[st.part]
	s.offsets[st.part] += spec.RecordCount(first, last)
	s.record(st, epoch, first, last, off)
	return off
}

// record notes an appended batch in the producer state's window.
func (s *sim) record(st *stream, epoch int16, first, last int32, off int64) {
	st.known = true
	if len(st.finished) == spec.WindowSize {
		n := copy(st.finished, st.finished[1:])
		st.finished = st.finished[:n]
	}
	st.finished = append(st.finished, spec.Req{Epoch: epoch, First: first, Last: last, Offset: off})
}
