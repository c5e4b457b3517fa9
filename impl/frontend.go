package impl

import (
	"errors"
	"fmt"
	"sort"

	"github.com/idemcheck/idemcheck/history"
	"github.com/idemcheck/idemcheck/spec"
)

// TicketOrder says where the write path reserves a request's producer
// queue ticket: [spec.TicketOrder].
type TicketOrder = spec.TicketOrder

// Ticket orderings.
const (
	// BeforeStage reserves the ticket synchronously inside Replicate,
	// before stage_write starts: ticket order is call order. This is the
	// fix of Redpanda PR #30429 and the default.
	BeforeStage = spec.BeforeStage
	// AfterStage reserves the ticket when stage_write resolves (the
	// pre-fix write path): a later call whose stage_write resolves first
	// takes an earlier ticket.
	AfterStage = spec.AfterStage
)

// ParseTicketOrder parses "before-stage" or "after-stage"; "" is
// [BeforeStage] ([spec.ParseTicketOrder], with an error).
func ParseTicketOrder(s string) (TicketOrder, error) {
	if o, ok := spec.ParseTicketOrder(s); ok {
		return o, nil
	}
	return "", fmt.Errorf("impl: unknown ticket order %q (want %q or %q)", s, BeforeStage, AfterStage)
}

// Recorder receives the events of the write path. [history.Log] and
// [history.JSONLWriter] satisfy it.
type Recorder interface {
	Record(history.Event) error
}

// DataPlane is the asynchronous data plane the frontend calls. Both calls
// start work and return at once; the owner of the [Frontend] reports the
// completion later with [Frontend.CompleteStage] and
// [Frontend.CompleteUpload], in any order.
type DataPlane interface {
	// StageWrite starts stage_write (prepare_write) of op's batch.
	StageWrite(op int64, partition string, b Batch)
	// ExecuteWrite starts execute_write (the L0 upload) of op's staged batch.
	ExecuteWrite(op int64, partition string, b Batch)
}

// Config configures a [Frontend].
type Config struct {
	// TicketOrder selects where tickets are reserved; "" is [BeforeStage].
	TicketOrder TicketOrder
	// Recorder receives every event; nil turns recording off.
	Recorder Recorder
	// Clock returns the time of the next event; it must not decrease. Nil
	// uses a logical clock that counts events (0, 1, 2, ...).
	Clock func() int64
	// Window is the number of finished requests the idempotency rules
	// remember per producer (requests_cached_max); 0 means
	// [spec.WindowSize]. A model config's smaller window is replayed with
	// it.
	Window int
	_      struct{}
}

// Request is one replicate call.
type Request struct {
	// Op is the operation id. Zero gives the next id; a non-zero id must
	// be above every earlier one (op ids increase in call order).
	Op int64
	// Client identifies the caller in the history (for pictures only).
	Client int64
	// Partition names the partition; it is created on first use.
	Partition string
	// Batch is the idempotent batch; PID must not be negative (the
	// frontend models idempotent batches only, so [NoPID] is refused).
	Batch

	_ struct{}
}

// Result is the finished stage of a replicate call.
type Result struct {
	// Err is the internal result; [Success] means the batch is in the log.
	Err Errc
	// Offset is the batch's offset when Err is [Success].
	Offset int64
}

// Kafka returns the Kafka error code of r.
func (r Result) Kafka() history.ErrorCode { return r.Err.Kafka() }

// String renders r as "offset=N" or the Kafka error name.
func (r Result) String() string {
	if r.Err == Success {
		return fmt.Sprintf("offset=%d", r.Offset)
	}
	return r.Kafka().String()
}

// Finished is a finished replicate call, reported by [Frontend.Ready].
type Finished struct {
	Op     int64
	Result Result
}

// Ready lists what happened since the last call of [Frontend.Ready]: the
// ops whose enqueued stage fired and the ops that finished, each in the
// order it happened.
type Ready struct {
	Enqueued []int64
	Finished []Finished
}

// Phase is where an operation is in the write path.
type Phase int

// Phases of an operation.
const (
	// PhaseStage: stage_write is pending.
	PhaseStage Phase = iota
	// PhaseUpload: the upload is pending.
	PhaseUpload
	// PhaseRedeem: waiting for its ticket (see [Frontend.Redeemable]).
	PhaseRedeem
	// PhaseDone: finished.
	PhaseDone
)

var phaseNames = [...]string{"stage", "upload", "redeem", "done"}

// String names the phase.
func (p Phase) String() string {
	if p >= 0 && int(p) < len(phaseNames) {
		return phaseNames[p]
	}
	return fmt.Sprintf("Phase(%d)", int(p))
}

// Sentinel errors of the frontend's step methods.
var (
	ErrUnknownOp = errors.New("impl: unknown operation")
	ErrWrongStep = errors.New("impl: step not enabled for operation")
	ErrOpOrder   = errors.New("impl: op id does not increase")
	ErrBadBatch  = errors.New("impl: bad batch")
)

type partition struct {
	name      string
	queue     *Queue
	producers *Producers
	log       Log
	term      int64
}

type operation struct {
	id        int64
	client    int64
	part      *partition
	batch     Batch
	ticket    *Ticket
	phase     Phase
	returned  bool // the client-visible Return has been recorded
	enqueued  bool
	result    Result
	reserveAt TicketOrder
}

// Frontend is the step-driven, single-threaded core of the cloud-topics
// write path of a broker: per partition a producer queue, the idempotency
// rules and a log; per operation the chain prologue → stage_write →
// (ticket) → upload → redeem → fence → decide → release. Asynchronous work
// is started through the [DataPlane] and completed by the caller; tickets
// that became redeemable are listed by [Frontend.Redeemable] and redeemed
// by the caller. A Frontend is not safe for concurrent use: the owner
// calls it from one goroutine.
//
// The first error of the [Recorder] stops the frontend: the step that hit
// it returns it (naming the event that could not be recorded) and records
// nothing more, and every later step returns the same error without doing
// anything, so a history is never silently incomplete.
type Frontend struct {
	order     TicketOrder
	window    int
	rec       Recorder
	clock     func() int64
	now       int64
	dp        DataPlane
	parts     map[string]*partition
	partNames []string
	ops       map[int64]*operation
	waiting   map[int64]*operation // ops in PhaseRedeem
	lastOp    int64
	ready     Ready
	err       error
}

// NewFrontend returns a frontend that starts asynchronous work on dp.
func NewFrontend(cfg Config, dp DataPlane) (*Frontend, error) {
	order, err := ParseTicketOrder(string(cfg.TicketOrder))
	if err != nil {
		return nil, err
	}
	if dp == nil {
		return nil, errors.New("impl: nil data plane")
	}
	if cfg.Window < 0 {
		return nil, fmt.Errorf("impl: window %d is negative", cfg.Window)
	}
	f := &Frontend{order: order, window: cfg.Window, rec: cfg.Recorder, clock: cfg.Clock,
		dp: dp, parts: make(map[string]*partition), ops: make(map[int64]*operation),
		waiting: make(map[int64]*operation)}
	return f, nil
}

// Err returns the first error the recorder returned, if any: the error
// every step returns since (see [Frontend]).
func (f *Frontend) Err() error { return f.err }

// Now returns the time the next event would get from the logical clock
// (the number of events recorded so far) or the configured clock.
func (f *Frontend) Now() int64 {
	if f.clock != nil {
		return f.clock()
	}
	return f.now
}

func (f *Frontend) record(e history.Event) {
	if f.clock != nil {
		e.Time = f.clock()
	} else {
		e.Time = f.now
		f.now++
	}
	if f.rec == nil || f.err != nil {
		return
	}
	if err := f.rec.Record(e); err != nil {
		f.err = fmt.Errorf("impl: recording %s: %w", e, err)
	}
}

func (f *Frontend) recordOp(k history.Kind, o *operation) {
	f.record(history.Event{Kind: k, Op: o.id})
}

func (f *Frontend) recordResult(k history.Kind, o *operation, ok bool) {
	r := history.OK
	if !ok {
		r = history.Failed
	}
	f.record(history.Event{Kind: k, Op: o.id, Result: r})
}

func (f *Frontend) partition(name string) *partition {
	p, ok := f.parts[name]
	if !ok {
		p = &partition{name: name, queue: NewQueue(1), producers: NewProducersWindow(f.window)}
		f.parts[name] = p
		f.partNames = append(f.partNames, name)
		sort.Strings(f.partNames)
	}
	return p
}

// Replicate is the frontend's replicate call. It records the Replicate
// event, reserves the ticket if the ordering is [BeforeStage], and starts
// stage_write; the two stages of the call are reported later by
// [Frontend.Ready] (enqueued when stage_write resolves, finished with an
// offset or an error). It returns the op id.
func (f *Frontend) Replicate(req Request) (int64, error) {
	if f.err != nil {
		return 0, f.err
	}
	if req.Partition == "" {
		return 0, fmt.Errorf("%w: empty partition", ErrBadBatch)
	}
	if req.PID < 0 || req.Epoch < 0 || req.First < 0 || req.Last < 0 {
		return 0, fmt.Errorf("%w: pid=%d epoch=%d seq=[%d,%d]", ErrBadBatch, req.PID, req.Epoch, req.First, req.Last)
	}
	id := req.Op
	if id == 0 {
		id = f.lastOp + 1
	}
	if id <= f.lastOp || id < 0 {
		return 0, fmt.Errorf("%w: op %d after op %d", ErrOpOrder, id, f.lastOp)
	}
	f.lastOp = id
	o := &operation{id: id, client: req.Client, part: f.partition(req.Partition), batch: req.Batch, reserveAt: f.order}
	f.ops[id] = o
	f.record(history.Event{Kind: history.Replicate, Op: id, Client: req.Client, Partition: req.Partition,
		PID: req.PID, Epoch: req.Epoch, First: req.First, Last: req.Last})
	if o.reserveAt == BeforeStage {
		o.ticket = o.part.queue.Reserve(req.PID)
		f.recordOp(history.ReserveTicket, o)
	}
	f.recordOp(history.StageWriteStart, o)
	o.phase = PhaseStage
	if f.err == nil {
		f.dp.StageWrite(id, req.Partition, req.Batch)
	}
	return id, f.err
}

func (f *Frontend) op(id int64, want Phase) (*operation, error) {
	if f.err != nil {
		return nil, f.err
	}
	o, ok := f.ops[id]
	if !ok {
		return nil, fmt.Errorf("%w: op %d", ErrUnknownOp, id)
	}
	if o.phase != want {
		return nil, fmt.Errorf("%w: op %d is in phase %s, not %s", ErrWrongStep, id, o.phase, want)
	}
	return o, nil
}

// CompleteStage resolves op's stage_write, successfully or not. On
// success the pre-fix ordering reserves the ticket now and the upload
// starts; on failure the ticket is released and the call finishes with
// [Timeout]. Either way the enqueued stage fires.
func (f *Frontend) CompleteStage(op int64, ok bool) error {
	o, err := f.op(op, PhaseStage)
	if err != nil {
		return err
	}
	f.recordResult(history.StageWriteDone, o, ok)
	if !ok {
		f.enqueue(o)
		f.release(o)
		f.finish(o, Result{Err: Timeout})
		return f.err
	}
	if o.reserveAt == AfterStage {
		o.ticket = o.part.queue.Reserve(o.batch.PID)
		f.recordOp(history.ReserveTicket, o)
	}
	f.enqueue(o)
	o.phase = PhaseUpload
	if f.err == nil {
		f.dp.ExecuteWrite(o.id, o.part.name, o.batch)
	}
	return f.err
}

// CompleteUpload resolves op's upload. On success the op waits for its
// ticket; on failure the ticket is released and the call finishes with
// [Timeout].
func (f *Frontend) CompleteUpload(op int64, ok bool) error {
	o, err := f.op(op, PhaseUpload)
	if err != nil {
		return err
	}
	f.recordResult(history.UploadDone, o, ok)
	if !ok {
		f.release(o)
		f.finish(o, Result{Err: Timeout})
		return f.err
	}
	o.phase = PhaseRedeem
	f.waiting[o.id] = o
	return f.err
}

// Redeemable returns, in op order, the ops waiting for their ticket whose
// ticket is ready: [Frontend.Redeem] is enabled for them.
func (f *Frontend) Redeemable() []int64 {
	var ids []int64
	for id, o := range f.waiting {
		if o.ticket.Ready() {
			ids = append(ids, id)
		}
	}
	sort.Slice(ids, func(i, j int) bool { return ids[i] < ids[j] })
	return ids
}

// Redeem redeems op's ready ticket and runs the rest of the request:
// the epoch fence (fenceOK false makes it fail: release, [Timeout]), the
// idempotency decision, the append to the log, the ticket release (the
// rm_stm enqueued stage) and the result. Replication in the partition is
// synchronous: an appended batch is committed at once.
func (f *Frontend) Redeem(op int64, fenceOK bool) error {
	o, err := f.op(op, PhaseRedeem)
	if err != nil {
		return err
	}
	if err := o.ticket.Redeem(false); err != nil {
		return fmt.Errorf("impl: redeem op %d: %w", op, err)
	}
	delete(f.waiting, op)
	f.recordOp(history.RedeemTicket, o)
	f.recordResult(history.FenceEpoch, o, fenceOK)
	if !fenceOK {
		f.release(o)
		f.finish(o, Result{Err: Timeout})
		return f.err
	}
	p := o.part
	v := p.producers.Decide(o.batch, p.log.End())
	ev := history.Event{Kind: history.Decide, Op: o.id, Decision: v.Decision}
	res := Result{Err: v.Err()}
	switch {
	case v.Decision.Appends():
		p.log.Append(o.id, p.term, o.batch) // at v.Offset, the log's end
		ev.Offset, res.Offset = v.Offset, v.Offset
	case v.Decision == history.Duplicate:
		ev.Offset, res.Offset = v.Offset, v.Offset
	}
	f.record(ev)
	f.release(o)
	f.finish(o, res)
	return f.err
}

func (f *Frontend) enqueue(o *operation) {
	if o.enqueued {
		return
	}
	o.enqueued = true
	f.ready.Enqueued = append(f.ready.Enqueued, o.id)
}

func (f *Frontend) release(o *operation) {
	if o.ticket == nil || o.ticket.Released() {
		return
	}
	o.ticket.Release()
	f.recordOp(history.ReleaseTicket, o)
}

func (f *Frontend) finish(o *operation, r Result) {
	o.phase = PhaseDone
	o.result = r
	f.ready.Finished = append(f.ready.Finished, Finished{Op: o.id, Result: r})
	if !o.returned {
		o.returned = true
		ev := history.Event{Kind: history.Return, Op: o.id}
		if r.Err == Success {
			ev.Result, ev.Offset = history.OK, r.Offset
		} else {
			ev.Result, ev.Error = history.Failed, r.Kafka()
		}
		f.record(ev)
	}
}

// Abort is the request's abort signal firing while op waits for its
// ticket (Redpanda's redeem(as)): the wait fails and the ticket is
// released, so a later request of the same producer can overtake op,
// which finishes with [Timeout] without reaching the idempotency rules
// (a bug class). It records RedeemTicket with result error (the aborted
// wait), ReleaseTicket and the Return.
func (f *Frontend) Abort(op int64) error {
	o, err := f.op(op, PhaseRedeem)
	if err != nil {
		return err
	}
	delete(f.waiting, op)
	_ = o.ticket.Abort() // always ErrAborted: the wait failed
	f.recordResult(history.RedeemTicket, o, false)
	f.recordOp(history.ReleaseTicket, o)
	f.finish(o, Result{Err: Timeout})
	return f.err
}

// Timeout is the client giving up on op (a request timeout or a dropped
// connection): it records a Return with result unknown. The request goes
// on inside the broker; its later result is reported by [Frontend.Ready]
// but not recorded.
func (f *Frontend) Timeout(op int64) error {
	if f.err != nil {
		return f.err
	}
	o, ok := f.ops[op]
	if !ok {
		return fmt.Errorf("%w: op %d", ErrUnknownOp, op)
	}
	if o.returned {
		return fmt.Errorf("%w: op %d has already returned", ErrWrongStep, op)
	}
	o.returned = true
	f.record(history.Event{Kind: history.Return, Op: op, Result: history.Unknown})
	return f.err
}

// Evict evicts producer pid from partition's idempotency state if the
// partition knows it, recording EvictProducer. It reports whether it
// evicted.
func (f *Frontend) Evict(partition string, pid int64) (bool, error) {
	if f.err != nil {
		return false, f.err
	}
	p, ok := f.parts[partition]
	if !ok || !p.producers.Evict(pid) {
		return false, nil
	}
	f.record(history.Event{Kind: history.EvictProducer, Partition: partition, PID: pid})
	return true, f.err
}

// ChangeTerm moves partition to a new term (term 0 means the next one),
// recording ChangeTerm. Replication being synchronous, no request is in
// flight across a term change: the term only marks the batches appended
// from now on ([Entry.Term]).
func (f *Frontend) ChangeTerm(partition string, term int64) error {
	if f.err != nil {
		return f.err
	}
	p := f.partition(partition)
	if term == 0 {
		term = p.term + 1
	}
	if term <= p.term {
		return fmt.Errorf("impl: change term of %q to %d: not above %d", partition, term, p.term)
	}
	p.term = term
	f.record(history.Event{Kind: history.ChangeTerm, Partition: partition, Term: term})
	return f.err
}

// BumpEpoch records that producer pid moved to epoch (a client-side
// InitProducerId). Partitions learn the epoch from the next batch.
func (f *Frontend) BumpEpoch(pid int64, epoch int16) error {
	if f.err != nil {
		return f.err
	}
	f.record(history.Event{Kind: history.BumpEpoch, PID: pid, Epoch: epoch})
	return f.err
}

// Ready returns and clears the enqueued and finished notifications.
func (f *Frontend) Ready() Ready {
	r := f.ready
	f.ready = Ready{}
	return r
}

// Status is what the frontend knows of one operation ([Frontend.Status]).
type Status struct {
	// Op, Client, Partition and Batch are the call's.
	Op        int64
	Client    int64
	Partition string
	Batch     Batch
	// Phase is where the op is in the write path.
	Phase Phase
	// Redeemable is true when [Frontend.Redeem] is enabled: the op waits
	// for its ticket (PhaseRedeem) and the ticket is ready.
	Redeemable bool
	// Enqueued is true once the enqueued stage fired (stage_write
	// resolved).
	Enqueued bool
	// Returned is true once the client-visible Return was recorded (a
	// result or a client timeout).
	Returned bool
	// Result is the finished stage when Phase is [PhaseDone].
	Result Result
}

// Status returns what the frontend knows of op, and false if op is
// unknown (never called, or forgotten).
func (f *Frontend) Status(op int64) (Status, bool) {
	o, ok := f.ops[op]
	if !ok {
		return Status{}, false
	}
	return Status{Op: o.id, Client: o.client, Partition: o.part.name, Batch: o.batch, Phase: o.phase,
		Redeemable: o.phase == PhaseRedeem && o.ticket.Ready(), Enqueued: o.enqueued,
		Returned: o.returned, Result: o.result}, true
}

// PartitionStatus is what the frontend knows of one partition
// ([Frontend.Partitions]).
type PartitionStatus struct {
	// Name names the partition.
	Name string
	// Term is the partition's term.
	Term int64
	// Tickets is the number of live tickets of its producer queue.
	Tickets int
	// Producers lists the producer ids the idempotency state knows,
	// sorted: those [Frontend.Evict] would evict.
	Producers []int64
	// LogEnd is the log's end offset (see [Frontend.Log] for its batches).
	LogEnd int64
}

// Partitions returns the partitions, sorted by name.
func (f *Frontend) Partitions() []PartitionStatus {
	out := make([]PartitionStatus, len(f.partNames))
	for i, name := range f.partNames {
		p := f.parts[name]
		out[i] = PartitionStatus{Name: name, Term: p.term, Tickets: p.queue.Size(),
			Producers: p.producers.pids(), LogEnd: p.log.End()}
	}
	return out
}

// Log returns a copy of partition's log.
func (f *Frontend) Log(partition string) []Entry {
	p, ok := f.parts[partition]
	if !ok {
		return nil
	}
	return p.log.Entries()
}

// Open returns the ops that have not finished inside the broker, sorted.
func (f *Frontend) Open() []int64 {
	var ids []int64
	for id, o := range f.ops {
		if o.phase != PhaseDone {
			ids = append(ids, id)
		}
	}
	sort.Slice(ids, func(i, j int) bool { return ids[i] < ids[j] })
	return ids
}

// Forget drops a finished op's bookkeeping, for long-running owners such
// as a server; afterwards the op is unknown to the frontend.
func (f *Frontend) Forget(op int64) {
	if o, ok := f.ops[op]; ok && o.phase == PhaseDone {
		delete(f.ops, op)
	}
}
