package sim

import (
	"errors"
	"fmt"
	"math/rand/v2"
	"slices"
	"sort"
	"strings"

	"github.com/idemcheck/idemcheck/history"
	"github.com/idemcheck/idemcheck/impl"
	"github.com/idemcheck/idemcheck/spec"
)

// ItemKind names a kind of pending step of a [Sim].
type ItemKind string

// Pending step kinds.
const (
	// StageItem completes a pending stage_write (Item.Fail: with an error).
	StageItem ItemKind = "complete-stage"
	// UploadItem completes a pending upload (Item.Fail: with an error).
	UploadItem ItemKind = "complete-upload"
	// RedeemItem redeems a ready ticket and runs the request to its
	// decision (Item.Fail: the epoch fence fails).
	RedeemItem ItemKind = "redeem"
	// SendItem makes a client send its next batch (or retry) to a partition.
	SendItem ItemKind = "send"
	// TimeoutItem is a client's request timeout of an outstanding attempt.
	TimeoutItem ItemKind = "timeout"
)

// Item is one step a [Sim] can take next.
type Item struct {
	Kind ItemKind
	// Op is the operation of stage, upload, redeem and timeout items.
	Op int64
	// Client and Partition name the sender of a send item.
	Client    int
	Partition string
	// Fail makes the step fail (stage, upload, fence).
	Fail bool
}

// String renders the item as a script command.
func (it Item) String() string {
	var b strings.Builder
	b.WriteString(string(it.Kind))
	if it.Kind == SendItem {
		fmt.Fprintf(&b, " client=%d partition=%s", it.Client, it.Partition)
	} else {
		fmt.Fprintf(&b, " op=%d", it.Op)
	}
	if it.Fail {
		b.WriteString(" fail")
	}
	return b.String()
}

// Faults gives the probabilities of the random choices of [Sim.Step].
type Faults struct {
	// StageFail, UploadFail and FenceFail are the probabilities that a
	// stage_write, an upload or an epoch fence fails.
	StageFail  float64
	UploadFail float64
	FenceFail  float64
	// Timeout is the probability that a step is a client request timeout
	// of a random outstanding attempt (when there is one).
	Timeout float64
	// Evict is the probability that a step first evicts a random idle
	// producer of a random partition.
	Evict float64
	// ChangeTerm is the probability that a step first moves a random
	// partition to the next term.
	ChangeTerm float64
	// Abort is the probability that a step first fires the abort signal of
	// a random request waiting for its ticket ([impl.Frontend.Abort]; a bug
	// class, off in [DefaultFaults]).
	Abort float64
	// BumpEpoch is the probability that a step first makes a random client
	// with no attempt outstanding bump its epoch (see [Sim.BumpEpoch]).
	BumpEpoch float64

	_ struct{}
}

// Config configures a [Sim].
type Config struct {
	// TicketOrder is the frontend's ordering; "" is [impl.BeforeStage].
	TicketOrder impl.TicketOrder
	// Header is the header of the recorded history; Source defaults to
	// "impl" and TicketOrder to the frontend's ordering.
	Header history.Header

	_ struct{}
}

// Sim is a deterministic simulation of one broker's write path: a
// [impl.Frontend], a fake data plane whose stage_writes and uploads wait in
// explicit pending queues, and idempotent [Client]s. Nothing happens
// until a caller picks a pending [Item] ([Sim.Pending], [Sim.Do]), or
// lets a *rand.Rand pick ([Sim.Step]) or the fixed order of
// [Sim.Stabilize] pick. Every event is recorded in a [history.Log] with
// the frontend's logical clock, so the same choices give the same
// history, byte for byte. A Sim is not safe for concurrent use.
type Sim struct {
	f       *impl.Frontend
	log     *history.Log
	stages  []int64
	uploads []int64
	clients []*Client
	owner   map[int64]*clientBatch
	byOp    map[int64]*Client
	steps   int
}

type simDataPlane struct{ s *Sim }

func (d simDataPlane) StageWrite(op int64, _ string, _ impl.Batch) {
	d.s.stages = append(d.s.stages, op)
}
func (d simDataPlane) ExecuteWrite(op int64, _ string, _ impl.Batch) {
	d.s.uploads = append(d.s.uploads, op)
}

// New returns an empty simulation.
func New(cfg Config) (*Sim, error) {
	order, err := impl.ParseTicketOrder(string(cfg.TicketOrder))
	if err != nil {
		return nil, err
	}
	h := cfg.Header
	if h.Source == "" {
		h.Source = "impl"
	}
	if h.TicketOrder == "" {
		h.TicketOrder = string(order)
	}
	s := &Sim{log: history.NewLog(h), owner: make(map[int64]*clientBatch), byOp: make(map[int64]*Client)}
	s.f, err = impl.NewFrontend(impl.Config{TicketOrder: order, Recorder: s.log}, simDataPlane{s})
	if err != nil {
		return nil, err
	}
	return s, nil
}

// ReadBack records what a consumer reading every partition's log from
// its start would see: one [history.LogBatch] per batch of each
// partition's log, in partition and offset order, at the frontend's
// current time. Call it at the end of a run; the read check of package
// checker then judges the log against the clients' acks.
func (s *Sim) ReadBack() error {
	now := s.f.Now()
	for _, p := range s.f.Partitions() {
		for _, e := range s.f.Log(p.Name) {
			if err := s.log.Record(history.Event{Kind: history.LogBatch, Time: now, Partition: p.Name,
				Offset: e.Offset, PID: e.PID, Epoch: e.Epoch, First: e.First, Last: e.Last}); err != nil {
				return fmt.Errorf("sim: read back: %w", err)
			}
		}
	}
	return nil
}

// Frontend returns the simulated frontend, for inspection and for steps
// the Sim has no item for (evictions, term changes, raw requests).
func (s *Sim) Frontend() *impl.Frontend { return s.f }

// History returns the history recorded so far.
func (s *Sim) History() history.History { return s.log.History() }

// Steps returns the number of items done so far.
func (s *Sim) Steps() int { return s.steps }

// Err returns the first recording error.
func (s *Sim) Err() error { return s.f.Err() }

// AddClient adds an idempotent producer client; its id (index + 1) is its
// history client id.
func (s *Sim) AddClient(cfg ClientConfig) (*Client, error) {
	if cfg.PID < 0 || cfg.Epoch < 0 {
		return nil, fmt.Errorf("sim: client pid=%d epoch=%d out of range", cfg.PID, cfg.Epoch)
	}
	if cfg.MaxInFlight <= 0 {
		// An idempotent producer keeps at most as many batches in flight
		// as the partition's window remembers.
		cfg.MaxInFlight = spec.WindowSize
	}
	if cfg.DeliveryTimeout <= 0 {
		cfg.DeliveryTimeout = 500
	}
	c := &Client{id: len(s.clients) + 1, cfg: cfg, parts: make(map[string]*clientPartition), enqueued: make(map[int64]bool)}
	s.clients = append(s.clients, c)
	return c, nil
}

// Clients returns the clients in id order.
func (s *Sim) Clients() []*Client { return append([]*Client(nil), s.clients...) }

// Outcomes returns every client batch, by client, partition and sequence.
func (s *Sim) Outcomes() []Outcome {
	var out []Outcome
	for _, c := range s.clients {
		out = append(out, c.Outcomes()...)
	}
	return out
}

// Replicate calls the frontend directly (a raw request, not from a
// client) and returns its op id.
func (s *Sim) Replicate(req impl.Request) (int64, error) {
	op, err := s.f.Replicate(req)
	s.dispatch()
	return op, err
}

// Timeout is a client timeout of op (see [impl.Frontend.Timeout]); if a client
// owns op, the client treats it as a retriable error.
func (s *Sim) Timeout(op int64) error {
	if err := s.f.Timeout(op); err != nil {
		return err
	}
	if b, ok := s.owner[op]; ok {
		delete(s.owner, op)
		if b.op == op {
			s.byOp[op].timedOut(b, s.f.Now())
		}
	}
	s.dispatch()
	return nil
}

// BumpEpoch makes client id move to its next epoch, as after
// InitProducerId, recording BumpEpoch: its sequences restart at 0 on every
// partition, and the batches it has not had acked (or lost) are
// re-sequenced with the new epoch. The client must have no attempt
// outstanding; attempts it gave up on may still be inside the broker.
func (s *Sim) BumpEpoch(id int) error {
	if id < 1 || id > len(s.clients) {
		return fmt.Errorf("sim: no client %d", id)
	}
	c := s.clients[id-1]
	if !c.idle() {
		return fmt.Errorf("sim: client %d has attempts in flight", id)
	}
	if !c.bumpEpoch() {
		return fmt.Errorf("sim: client %d: epoch %d cannot grow", id, c.cfg.Epoch)
	}
	return s.f.BumpEpoch(c.cfg.PID, c.cfg.Epoch)
}

// Abort fires the abort signal of op while it waits for its ticket (see
// [impl.Frontend.Abort]); a client that owns op sees REQUEST_TIMED_OUT.
func (s *Sim) Abort(op int64) error {
	if err := s.f.Abort(op); err != nil {
		return err
	}
	s.dispatch()
	return s.f.Err()
}

// Pending returns the steps the Sim can take now, in a fixed order:
// stage_writes and uploads in start order, redeemable tickets in op order,
// client sends by client and partition, then client timeouts in op order.
// Items are returned with Fail false.
func (s *Sim) Pending() []Item {
	var items []Item
	for _, op := range s.stages {
		items = append(items, Item{Kind: StageItem, Op: op})
	}
	for _, op := range s.uploads {
		items = append(items, Item{Kind: UploadItem, Op: op})
	}
	for _, op := range s.f.Redeemable() {
		items = append(items, Item{Kind: RedeemItem, Op: op})
	}
	for _, c := range s.clients {
		for _, n := range c.names {
			if c.sendable(c.parts[n]) != nil {
				items = append(items, Item{Kind: SendItem, Client: c.id, Partition: n})
			}
		}
	}
	for _, op := range s.timeoutOps() {
		items = append(items, Item{Kind: TimeoutItem, Op: op})
	}
	return items
}

// returned reports whether op's client-visible Return was recorded.
func (s *Sim) returned(op int64) bool {
	st, ok := s.f.Status(op)
	return ok && st.Returned
}

// waiting returns the ops waiting for their ticket, ready or not, in op
// order.
func (s *Sim) waiting() []int64 {
	var ops []int64
	for _, op := range s.f.Open() {
		if st, _ := s.f.Status(op); st.Phase == impl.PhaseRedeem {
			ops = append(ops, op)
		}
	}
	return ops
}

func (s *Sim) timeoutOps() []int64 {
	var ops []int64
	for op, b := range s.owner {
		if b.op == op && !s.returned(op) {
			ops = append(ops, op)
		}
	}
	sort.Slice(ops, func(i, j int) bool { return ops[i] < ops[j] })
	return ops
}

// ErrNotPending is returned by [Sim.Do] for an item that is not pending.
var ErrNotPending = errors.New("sim: item not pending")

func remove(ops []int64, op int64) ([]int64, bool) {
	for i, o := range ops {
		if o == op {
			return append(ops[:i], ops[i+1:]...), true
		}
	}
	return ops, false
}

// Do takes one step.
func (s *Sim) Do(it Item) error {
	var err error
	switch it.Kind {
	case StageItem:
		var ok bool
		if s.stages, ok = remove(s.stages, it.Op); !ok {
			return fmt.Errorf("%w: %s", ErrNotPending, it)
		}
		err = s.f.CompleteStage(it.Op, !it.Fail)
	case UploadItem:
		var ok bool
		if s.uploads, ok = remove(s.uploads, it.Op); !ok {
			return fmt.Errorf("%w: %s", ErrNotPending, it)
		}
		err = s.f.CompleteUpload(it.Op, !it.Fail)
	case RedeemItem:
		if st, ok := s.f.Status(it.Op); !ok || !st.Redeemable {
			return fmt.Errorf("%w: %s", ErrNotPending, it)
		}
		err = s.f.Redeem(it.Op, !it.Fail)
	case SendItem:
		err = s.send(it.Client, it.Partition)
	case TimeoutItem:
		if b, ok := s.owner[it.Op]; !ok || b.op != it.Op || s.returned(it.Op) {
			return fmt.Errorf("%w: %s", ErrNotPending, it)
		}
		err = s.Timeout(it.Op)
	default:
		return fmt.Errorf("sim: unknown item kind %q", it.Kind)
	}
	if err != nil {
		return err
	}
	s.steps++
	s.dispatch()
	return s.f.Err()
}

func (s *Sim) send(client int, partition string) error {
	if client < 1 || client > len(s.clients) {
		return fmt.Errorf("%w: no client %d", ErrNotPending, client)
	}
	c := s.clients[client-1]
	cp, ok := c.parts[partition]
	if !ok {
		return fmt.Errorf("%w: client %d has no partition %q", ErrNotPending, client, partition)
	}
	b := c.sendable(cp)
	if b == nil {
		return fmt.Errorf("%w: client %d has nothing to send to %q", ErrNotPending, client, partition)
	}
	now := s.f.Now()
	if b.State == Retrying && now >= b.deadline {
		b.State = Lost
		return nil
	}
	op, err := s.f.Replicate(impl.Request{Client: int64(c.id), Partition: partition,
		Batch: impl.Batch{PID: b.PID, Epoch: b.Epoch, First: b.First, Last: b.Last}})
	if err != nil {
		return err
	}
	if b.deadline < 0 {
		b.deadline = now + c.cfg.DeliveryTimeout
	}
	b.State, b.op = InFlight, op
	b.Attempts = append(b.Attempts, op)
	c.lastSent = op
	s.owner[op] = b
	s.byOp[op] = c
	return nil
}

// dispatch hands the frontend's notifications to the clients.
func (s *Sim) dispatch() {
	r := s.f.Ready()
	for _, op := range r.Enqueued {
		if c, ok := s.byOp[op]; ok {
			c.enqueued[op] = true
		}
	}
	for _, fin := range r.Finished {
		b, ok := s.owner[fin.Op]
		if !ok {
			continue
		}
		delete(s.owner, fin.Op)
		if b.op != fin.Op {
			continue
		}
		c := s.byOp[fin.Op]
		c.respond(c.parts[b.Partition], b, fin.Result, s.f.Now())
	}
}

// Step takes one random step: with probability faults.Timeout a client
// timeout (if one is pending), otherwise a uniformly chosen other pending
// item whose failure is drawn from faults; before it, an eviction, a term
// change, an abort or an epoch bump may happen. It reports false when nothing but timeouts is
// pending (the run is over).
func (s *Sim) Step(rng *rand.Rand, faults Faults) (bool, error) {
	items := s.Pending()
	var timeouts, others []Item
	for _, it := range items {
		if it.Kind == TimeoutItem {
			timeouts = append(timeouts, it)
		} else {
			others = append(others, it)
		}
	}
	if len(others) == 0 {
		return false, nil
	}
	if faults.Evict > 0 && rng.Float64() < faults.Evict {
		if err := s.randomEvict(rng); err != nil {
			return false, err
		}
	}
	if faults.ChangeTerm > 0 && rng.Float64() < faults.ChangeTerm {
		parts := s.f.Partitions()
		if len(parts) > 0 {
			if err := s.f.ChangeTerm(parts[rng.IntN(len(parts))].Name, 0); err != nil {
				return false, err
			}
		}
	}
	if faults.Abort > 0 && rng.Float64() < faults.Abort {
		if waiting := s.waiting(); len(waiting) > 0 {
			if err := s.Abort(waiting[rng.IntN(len(waiting))]); err != nil {
				return false, err
			}
		}
	}
	if faults.BumpEpoch > 0 && rng.Float64() < faults.BumpEpoch {
		var idle []*Client
		for _, c := range s.clients {
			if c.idle() {
				idle = append(idle, c)
			}
		}
		if len(idle) > 0 {
			if err := s.BumpEpoch(idle[rng.IntN(len(idle))].id); err != nil {
				return false, err
			}
		}
	}
	// The environment steps may have changed what is pending (an abort
	// finishes a request).
	timeouts, others = timeouts[:0], others[:0]
	for _, it := range s.Pending() {
		if it.Kind == TimeoutItem {
			timeouts = append(timeouts, it)
		} else {
			others = append(others, it)
		}
	}
	if len(others) == 0 {
		return true, nil
	}
	var it Item
	if len(timeouts) > 0 && faults.Timeout > 0 && rng.Float64() < faults.Timeout {
		it = timeouts[rng.IntN(len(timeouts))]
	} else {
		it = others[rng.IntN(len(others))]
		var p float64
		switch it.Kind {
		case StageItem:
			p = faults.StageFail
		case UploadItem:
			p = faults.UploadFail
		case RedeemItem:
			p = faults.FenceFail
		}
		it.Fail = p > 0 && rng.Float64() < p
	}
	if err := s.Do(it); err != nil {
		return false, err
	}
	return true, nil
}

func (s *Sim) randomEvict(rng *rand.Rand) error {
	type cand struct {
		part string
		pid  int64
	}
	var cands []cand
	for _, p := range s.f.Partitions() {
		for _, c := range s.clients {
			if slices.Contains(p.Producers, c.cfg.PID) {
				cands = append(cands, cand{p.Name, c.cfg.PID})
			}
		}
	}
	if len(cands) == 0 {
		return nil
	}
	c := cands[rng.IntN(len(cands))]
	_, err := s.f.Evict(c.part, c.pid)
	return err
}

// ErrTooManySteps is returned by [Sim.Run] and [Sim.Stabilize] when the
// step budget runs out.
var ErrTooManySteps = errors.New("sim: step budget exhausted")

// Run takes random steps until only timeouts are pending, at most
// maxSteps (0 means 100000).
func (s *Sim) Run(rng *rand.Rand, faults Faults, maxSteps int) error {
	if maxSteps <= 0 {
		maxSteps = 100000
	}
	for i := 0; i < maxSteps; i++ {
		more, err := s.Step(rng, faults)
		if err != nil || !more {
			return err
		}
	}
	return fmt.Errorf("%w after %d steps", ErrTooManySteps, maxSteps)
}

// Stabilize takes the first pending non-timeout item, successfully, until
// only timeouts are pending, at most maxSteps (0 means 100000).
func (s *Sim) Stabilize(maxSteps int) error {
	if maxSteps <= 0 {
		maxSteps = 100000
	}
	for i := 0; i < maxSteps; i++ {
		var next *Item
		for _, it := range s.Pending() {
			if it.Kind != TimeoutItem {
				next = &it
				break
			}
		}
		if next == nil {
			return nil
		}
		if err := s.Do(*next); err != nil {
			return err
		}
	}
	return fmt.Errorf("%w after %d steps", ErrTooManySteps, maxSteps)
}
