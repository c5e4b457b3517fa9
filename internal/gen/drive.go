package gen

import (
	"fmt"
	"math"
	"math/rand"
	"slices"

	"github.com/idemcheck/idemcheck/history"
	"github.com/idemcheck/idemcheck/spec"
)

// generate drives the spec's step function through the workload o
// describes and records every step to rec. o has its defaults.
func generate(o Options, rec Recorder) error {
	return newDriver(o, rec).run()
}

// stream is one producer's traffic to one partition, as its client and
// the driver see it.
type stream struct {
	part     *partition
	prod     int
	nextSeq  int32
	sent     int // batches sent, retries not counted
	inflight int // attempts called and not returned
	retrying int // retry chains going on; no new batches meanwhile
	// queue holds the stream's requests not yet redeemed, in call order:
	// with the fixed ordering, the order of their tickets.
	queue []*request
}

// partition is the spec state of one partition (the spec models one
// partition; an operation belongs to the partition of its Replicate).
type partition struct {
	name  string
	state spec.State
	// retireAt is the number of live ops at which to retire next.
	retireAt int
}

type producer struct {
	pid         int64
	epoch       int16
	calls       int   // batches sent over all partitions
	bumpAt      []int // call counts at which to bump, ascending
	bumping     bool
	outstanding int // requests not fully done
}

// Where a request is in the write path: the driver's next step for it.
const (
	stepStage  = iota // StageWriteDone
	stepUpload        // UploadDone
	stepRedeem        // RedeemTicket to Return, once its ticket is the stream's head
	stepDone          // decided and its ticket released
)

type request struct {
	op          int64
	s           *stream
	first, last int32
	step        int
	timeout     bool // the client times out on this attempt
	returned    bool // the client's Return is recorded
	attempt     int
	idx         int // index in driver.active
}

// driver is the workload: it decides which producer sends what and when
// the data plane's work completes, and leaves the write path (tickets,
// the idempotency rules, the log's offsets) to the spec: every step is
// taken with [spec.State.Apply], which refuses what the write path does
// not allow, and recorded as the history event of the same name
// ([history.FromAction]); a Decide and a normal Return are the ones the
// spec enables ([spec.AppendOpEnabled]), so their decision, offset and
// result are the spec's.
type driver struct {
	o       Options
	rng     *rand.Rand
	cfg     spec.Config
	rec     Recorder
	now     int64 // the next event's time
	lastOp  int64
	parts   []*partition
	streams []*stream
	prods   []*producer
	active  []*request // requests not both decided and returned
	acts    []spec.Action
}

func newDriver(o Options, rec Recorder) *driver {
	d := &driver{o: o, rng: rand.New(rand.NewSource(o.Seed)), rec: rec,
		// ClientTimeout: the spec enables a Return unknown for every
		// op not yet returned, which the workload takes when its client
		// times out.
		cfg: spec.Config{TicketOrder: spec.BeforeStage, ClientTimeout: true}}
	total := o.Partitions * o.Batches
	for i := range o.Producers {
		p := &producer{pid: int64(i + 1)}
		for range o.EpochBumps {
			if total > 1 {
				p.bumpAt = append(p.bumpAt, 1+d.rng.Intn(total-1))
			}
		}
		slices.Sort(p.bumpAt)
		d.prods = append(d.prods, p)
	}
	for part := range o.Partitions {
		pt := &partition{name: partName(part), state: spec.Init(spec.Config{}), retireAt: 64}
		d.parts = append(d.parts, pt)
		for prod := range o.Producers {
			d.streams = append(d.streams, &stream{part: pt, prod: prod, nextSeq: o.StartSeq})
		}
	}
	return d
}

func partName(i int) string { return fmt.Sprintf("p%d", i) }

func (d *driver) run() error {
	for {
		if len(d.active) > 0 && d.rng.Intn(2) == 0 {
			if err := d.advance(d.active[d.rng.Intn(len(d.active))]); err != nil {
				return err
			}
			continue
		}
		st := d.streams[d.rng.Intn(len(d.streams))]
		if d.canCall(st) {
			if err := d.callNew(st); err != nil {
				return err
			}
			continue
		}
		if len(d.active) > 0 {
			if err := d.advance(d.active[d.rng.Intn(len(d.active))]); err != nil {
				return err
			}
			continue
		}
		// Nothing in flight: call on any stream that still can, or stop.
		called := false
		for _, st := range d.streams {
			if d.canCall(st) {
				if err := d.callNew(st); err != nil {
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

// apply takes action a in partition p's spec state. The workload is
// correct, so a refused step or a broken invariant is an internal error.
func (d *driver) apply(p *partition, a spec.Action) error {
	if err := p.state.Apply(d.cfg, a); err != nil {
		return fmt.Errorf("gen: internal error: partition %s: %w", p.name, err)
	}
	if p.state.Viol != 0 {
		for _, iv := range spec.Invariants() {
			if err := iv.Check(p.state); err != nil {
				return fmt.Errorf("gen: internal error: partition %s: %s breaks %s: %w", p.name, a, iv.Name, err)
			}
		}
		return fmt.Errorf("gen: internal error: partition %s: %s breaks an invariant", p.name, a)
	}
	return nil
}

// record records a as the event of the same name, at the next time.
func (d *driver) record(a spec.Action, part string) error {
	e := history.FromAction(a, d.now, part)
	d.now++
	return d.rec.Record(e)
}

// step applies a in p and records it.
func (d *driver) step(p *partition, a spec.Action) error {
	if err := d.apply(p, a); err != nil {
		return err
	}
	return d.record(a, p.name)
}

// opStep applies and records op's step of name, which succeeds (result
// ok for the steps that have one). The spec's Apply checks that it is
// allowed.
func (d *driver) opStep(p *partition, op int64, name spec.Name) error {
	a := spec.Action{Name: name, Op: op}
	switch name {
	case spec.StageWriteDone, spec.UploadDone, spec.FenceEpoch:
		a.Result = spec.OK
	}
	return d.step(p, a)
}

// take takes the step of name that the spec enables for op in p (not a
// client's timeout) and returns it: the spec computes rm_stm's decision
// and offset for a Decide and the result a Return owes.
func (d *driver) take(p *partition, op int64, name spec.Name) (spec.Action, error) {
	d.acts = spec.AppendOpEnabled(d.acts[:0], d.cfg, &p.state, op)
	for _, a := range d.acts {
		if a.Name == name && a.Result != spec.Unknown {
			return a, d.step(p, a)
		}
	}
	return spec.Action{}, fmt.Errorf("gen: internal error: partition %s: the spec does not enable %s for op %d (enabled: %v)", p.name, name, op, d.acts)
}

func (d *driver) canCall(st *stream) bool {
	p := d.prods[st.prod]
	return st.sent < d.o.Batches && st.inflight < d.o.InFlight && st.retrying == 0 && !p.bumping
}

// callNew sends the stream's next batch of 1 to 3 records.
func (d *driver) callNew(st *stream) error {
	size := int32(1 + d.rng.Intn(3))
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
	p := d.prods[st.prod]
	p.calls++
	timeout := d.rng.Float64() < d.o.UnknownRate
	if err := d.call(st, first, last, 0, timeout); err != nil {
		return err
	}
	if len(p.bumpAt) > 0 && p.calls >= p.bumpAt[0] {
		p.bumpAt = p.bumpAt[1:]
		p.bumping = true
		return d.maybeBump(p)
	}
	return nil
}

// call is the replicate() call: Replicate, then, synchronously in the
// fixed ordering, ReserveTicket and StageWriteStart.
func (d *driver) call(st *stream, first, last int32, attempt int, timeout bool) error {
	p := d.prods[st.prod]
	d.lastOp++
	op := d.lastOp
	a := spec.Action{Name: spec.Replicate, Op: op, PID: p.pid, Epoch: p.epoch, First: first, Last: last}
	if err := d.step(st.part, a); err != nil {
		return err
	}
	if err := d.opStep(st.part, op, spec.ReserveTicket); err != nil {
		return err
	}
	if err := d.opStep(st.part, op, spec.StageWriteStart); err != nil {
		return err
	}
	r := &request{op: op, s: st, first: first, last: last, attempt: attempt, timeout: timeout}
	st.inflight++
	p.outstanding++
	if attempt == 0 && timeout && d.o.Retries > 0 {
		// No new batches until the retries are done, so the retries are
		// decided while the original is in rm_stm's window.
		st.retrying++
	}
	st.queue = append(st.queue, r)
	r.idx = len(d.active)
	d.active = append(d.active, r)
	return nil
}

// advance takes the next step of r, or of the request r waits for.
func (d *driver) advance(r *request) error {
	if r.timeout && !r.returned && d.rng.Intn(4) == 0 {
		return d.clientTimeout(r)
	}
	pt := r.s.part
	switch r.step {
	case stepStage:
		r.step++
		return d.opStep(pt, r.op, spec.StageWriteDone)
	case stepUpload:
		r.step++
		return d.opStep(pt, r.op, spec.UploadDone)
	case stepRedeem:
		if head := r.s.queue[0]; head != r {
			return d.advance(head)
		}
		if r.timeout && !r.returned {
			// The client times out on this attempt before the answer.
			return d.clientTimeout(r)
		}
		return d.redeem(r)
	}
	return fmt.Errorf("gen: internal error: op %d advanced past its end", r.op)
}

// redeem runs the rest of r's request at once, as the broker does once
// the ticket is the head of its producer's queue: RedeemTicket, the
// epoch fence, rm_stm's decision, ReleaseTicket and, unless the client
// has timed out, the Return.
func (d *driver) redeem(r *request) error {
	pt := r.s.part
	if err := d.opStep(pt, r.op, spec.RedeemTicket); err != nil {
		return err
	}
	if err := d.opStep(pt, r.op, spec.FenceEpoch); err != nil {
		return err
	}
	a, err := d.take(pt, r.op, spec.Decide)
	if err != nil {
		return err
	}
	if !a.Decision.HasOffset() {
		// The workload sends in sequence: every batch is appended or a
		// duplicate.
		return fmt.Errorf("gen: internal error: partition %s: %s", pt.name, a)
	}
	if err := d.opStep(pt, r.op, spec.ReleaseTicket); err != nil {
		return err
	}
	r.step = stepDone
	r.s.queue = r.s.queue[1:]
	if !r.returned {
		a, err := d.take(pt, r.op, spec.Return)
		if err != nil {
			return err
		}
		if a.Result != spec.OK {
			return fmt.Errorf("gen: internal error: partition %s: %s", pt.name, a)
		}
		r.returned = true
		r.s.inflight--
	}
	return d.finish(r)
}

// clientTimeout records the client's timeout on r (Return unknown) and
// retries the batch if retries are left.
func (d *driver) clientTimeout(r *request) error {
	if err := d.step(r.s.part, spec.Action{Name: spec.Return, Op: r.op, Result: spec.Unknown}); err != nil {
		return err
	}
	r.returned = true
	st := r.s
	st.inflight--
	if r.attempt < d.o.Retries {
		next := r.attempt + 1
		timeout := next < d.o.Retries && d.rng.Float64() < d.o.UnknownRate
		if err := d.call(st, r.first, r.last, next, timeout); err != nil {
			return err
		}
	}
	if r.step == stepDone {
		return d.finish(r)
	}
	return nil
}

// finish drops a request once it is decided and its client has
// returned, and retires the partition's finished ops from its spec
// state now and then, as checker/validate does, so that the state
// holds what is in flight and what the idempotency windows refer to.
func (d *driver) finish(r *request) error {
	if r.step != stepDone || !r.returned {
		return nil
	}
	last := d.active[len(d.active)-1]
	d.active[r.idx] = last
	last.idx = r.idx
	d.active = d.active[:len(d.active)-1]
	if r.attempt > 0 && !r.timeout {
		r.s.retrying-- // the chain's last attempt
	}
	if pt := r.s.part; len(pt.state.Ops) >= pt.retireAt {
		pt.state.Retire(nil)
		pt.retireAt = max(64, 2*len(pt.state.Ops))
	}
	p := d.prods[r.s.prod]
	p.outstanding--
	return d.maybeBump(p)
}

// maybeBump bumps p's epoch once it wants to and has nothing
// outstanding: a client-side step every partition's state takes,
// recorded once.
func (d *driver) maybeBump(p *producer) error {
	if !p.bumping || p.outstanding > 0 {
		return nil
	}
	p.bumping = false
	p.epoch++
	for _, st := range d.streams {
		if st.prod == int(p.pid-1) {
			st.nextSeq = 0
		}
	}
	a := spec.Action{Name: spec.BumpEpoch, PID: p.pid, Epoch: p.epoch}
	for _, pt := range d.parts {
		if err := d.apply(pt, a); err != nil {
			return err
		}
	}
	return d.record(a, "")
}
