package gen

import (
	"fmt"
	"math"
	"math/rand"
	"slices"

	"github.com/idemcheck/idemcheck/impl"
)

// generate drives impl's frontend through the workload o describes and
// lets it record to rec. o has its defaults.
func generate(o Options, rec Recorder) error {
	d, err := newDriver(o, rec)
	if err != nil {
		return err
	}
	return d.run()
}

// stream is one producer's traffic to one partition, as its client and
// the driver see it.
type stream struct {
	part     string
	prod     int
	nextSeq  int32
	sent     int // batches sent, retries not counted
	inflight int // attempts called and not returned
	retrying int // retry chains going on; no new batches meanwhile
	// queue holds the stream's requests not yet redeemed, in call order:
	// with the fixed ordering, the order of their tickets.
	queue []*request
}

type producer struct {
	pid         int64
	epoch       int16
	calls       int   // batches sent over all partitions
	bumpAt      []int // call counts at which to bump, ascending
	bumping     bool
	outstanding int // requests not fully done
}

// Where a request is in the write path: the frontend's next step for it.
const (
	stepStage  = iota // CompleteStage
	stepUpload        // CompleteUpload
	stepRedeem        // Redeem, once its ticket is the stream's head
	stepDone          // decided (the frontend has forgotten it)
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
// the idempotency rules, the log, the events) to impl's frontend.
type driver struct {
	o       Options
	rng     *rand.Rand
	f       *impl.Frontend
	streams []*stream
	prods   []*producer
	active  []*request // requests not both decided and returned
}

// noData is the data plane of the driver: the driver knows what is
// pending from the steps it took, so starting work does nothing.
type noData struct{}

func (noData) StageWrite(int64, string, impl.Batch)   {}
func (noData) ExecuteWrite(int64, string, impl.Batch) {}

func newDriver(o Options, rec Recorder) (*driver, error) {
	// EndOnly: the driver never reads the log, so the frontend keeps its
	// end offset only and memory stays bounded by the requests in flight.
	f, err := impl.NewFrontend(impl.Config{TicketOrder: impl.BeforeStage, Recorder: rec, EndOnly: true}, noData{})
	if err != nil {
		return nil, err
	}
	d := &driver{o: o, rng: rand.New(rand.NewSource(o.Seed)), f: f}
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
		name := partName(part)
		for prod := range o.Producers {
			d.streams = append(d.streams, &stream{part: name, prod: prod, nextSeq: o.StartSeq})
		}
	}
	return d, nil
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

// call makes the frontend's Replicate call: it records the call, reserves
// the ticket and starts stage_write.
func (d *driver) call(st *stream, first, last int32, attempt int, timeout bool) error {
	p := d.prods[st.prod]
	op, err := d.f.Replicate(impl.Request{Client: p.pid, Partition: st.part,
		Batch: impl.Batch{PID: p.pid, Epoch: p.epoch, First: first, Last: last}})
	if err != nil {
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
	switch r.step {
	case stepStage:
		r.step++
		return d.f.CompleteStage(r.op, true)
	case stepUpload:
		r.step++
		return d.f.CompleteUpload(r.op, true)
	case stepRedeem:
		if head := r.s.queue[0]; head != r {
			return d.advance(head)
		}
		if r.timeout && !r.returned {
			// The client times out on this attempt before the answer.
			return d.clientTimeout(r)
		}
		if err := d.f.Redeem(r.op, true); err != nil {
			return err
		}
		r.step = stepDone
		r.s.queue = r.s.queue[1:]
		for _, fin := range d.f.Ready().Finished {
			if fin.Result.Err != impl.Success {
				return fmt.Errorf("gen: internal error: op %d finished with %s", fin.Op, fin.Result)
			}
		}
		d.f.Forget(r.op)
		if !r.returned {
			// The frontend recorded the Return with the result.
			r.returned = true
			r.s.inflight--
		}
		return d.finish(r)
	}
	return fmt.Errorf("gen: internal error: op %d advanced past its end", r.op)
}

// clientTimeout records the client's timeout on r (result unknown) and
// retries the batch if retries are left.
func (d *driver) clientTimeout(r *request) error {
	if err := d.f.Timeout(r.op); err != nil {
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
// returned.
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
	p := d.prods[r.s.prod]
	p.outstanding--
	return d.maybeBump(p)
}

// maybeBump bumps p's epoch once it wants to and has nothing outstanding.
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
	return d.f.BumpEpoch(p.pid, p.epoch)
}
