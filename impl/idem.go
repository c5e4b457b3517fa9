package impl

import (
	"sort"

	"github.com/idemcheck/idemcheck/history"
	"github.com/idemcheck/idemcheck/spec"
)

// Batch identifies an idempotent record batch: producer id, epoch and the
// sequence range [First, Last] ([spec.Batch]).
type Batch = spec.Batch

// Errc is an internal result of the write path, mapped to a Kafka error
// code by [Errc.Kafka].
type Errc int

// Internal results.
const (
	// Success: the batch is in the log.
	Success Errc = iota
	// SequenceOutOfOrder is rm_stm's sequence_out_of_order.
	SequenceOutOfOrder
	// InvalidRequest is first > last.
	InvalidRequest
	// Timeout covers raft timeouts, failed stage_writes, failed uploads,
	// failed fences, requests failed by an epoch reset or a term change.
	Timeout
	// NotLeader is a lost leadership.
	NotLeader
	// ProducerLimit is producer_ids_vcluster_limit_exceeded.
	ProducerLimit
)

// Kafka maps an internal result to the Kafka error code the produce
// handler returns (produce.cc map_produce_error_code).
func (e Errc) Kafka() spec.ErrorCode {
	switch e {
	case Success:
		return spec.None
	case SequenceOutOfOrder:
		return spec.OutOfOrderSequenceNumber
	case InvalidRequest:
		return spec.InvalidRequestCode
	case NotLeader:
		return spec.NotLeaderForPartition
	case ProducerLimit:
		return spec.PolicyViolation
	}
	return spec.RequestTimedOut
}

// request is one finished request of a producer, as rm_stm remembers it
// for duplicate detection.
type request struct {
	first  int32
	last   int32
	offset int64
}

// producerState is rm_stm's producer_state for one pid.
type producerState struct {
	epoch    int16
	finished []request
}

// view is what the idempotency rules read of the producer: its epoch and
// its finished requests, oldest first.
func (p *producerState) view() spec.ProducerView {
	w := make([]spec.Req, 0, len(p.finished))
	for _, r := range p.finished {
		w = append(w, spec.Req{Epoch: p.epoch, First: r.first, Last: r.last, Offset: r.offset})
	}
	return spec.ProducerView{Known: true, Epoch: p.epoch, Window: w}
}

// Verdict is the outcome of [Producers.Decide].
type Verdict struct {
	// Decision is what the rules decided.
	Decision history.Decision
	// Offset is the batch's base offset for an appending decision (the
	// end offset the caller passed) and the base offset of the finished
	// request a [history.Duplicate] matched.
	Offset int64
}

// Err returns the internal error of a rejecting decision, or [Success].
func (v Verdict) Err() Errc {
	switch v.Decision {
	case history.OutOfOrder:
		return SequenceOutOfOrder
	case history.InvalidRequest:
		return InvalidRequest
	}
	return Success
}

// Producers is the idempotency state of one partition (the rm_stm role):
// per producer id, the epoch and up to [spec.WindowSize] finished
// requests (or the window of [NewProducersWindow]). It is a pure value type, not safe for concurrent use; the
// zero value is not usable, call [NewProducers].
//
// The decision is the project's one rule, [spec.Classify] (Redpanda's
// rules), over the finished requests. On top of it: a higher epoch resets
// the state and the skip path of an unknown producer starts a fresh one.
//
// The partition's replication is synchronous (an appended batch is
// committed when it is decided), so a request is never in flight inside
// rm_stm: every match of [spec.Classify] is a finished request, a
// duplicate is always [history.Duplicate] and never
// [history.DuplicateInFlight], and a term change has no inflight request
// to fail.
type Producers struct {
	m      map[int64]*producerState
	window int
}

// NewProducers returns an empty idempotency state that remembers
// [spec.WindowSize] finished requests per producer.
func NewProducers() *Producers { return NewProducersWindow(0) }

// NewProducersWindow returns an empty idempotency state that remembers
// window finished requests per producer (below 1: [spec.WindowSize]).
func NewProducersWindow(window int) *Producers {
	if window < 1 {
		window = spec.WindowSize
	}
	return &Producers{m: make(map[int64]*producerState), window: window}
}

// Known reports whether pid has state (it wrote and was not evicted).
func (ps *Producers) Known(pid int64) bool { _, ok := ps.m[pid]; return ok }

// Decide applies the rules to batch b, which would be appended at the
// log's end offset end. An appending decision ([history.Append],
// [history.AppendUnknown]) takes b into the producer's finished requests
// at offset end (the oldest one leaves past [spec.WindowSize]): the
// caller appends b to the log at end before anything else happens.
func (ps *Producers) Decide(b Batch, end int64) Verdict {
	st, known := ps.m[b.PID]
	view := spec.ProducerView{}
	if known {
		view = st.view()
	}
	c, match, _ := spec.Classify(view, b)
	switch {
	case !known:
		st = &producerState{epoch: b.Epoch}
		ps.m[b.PID] = st
	case b.Epoch > st.epoch:
		st.epoch, st.finished = b.Epoch, nil
	}
	v := Verdict{Decision: c.Decision()}
	switch {
	case c == spec.ClassDuplicate:
		v.Offset = st.finished[match].offset
	case c.Appends():
		v.Offset = end
		st.finished = append(st.finished, request{first: b.First, last: b.Last, offset: end})
		if n := len(st.finished); n > ps.window {
			st.finished = append(st.finished[:0], st.finished[n-ps.window:]...)
		}
	}
	return v
}

// Evict drops pid's state. It reports whether pid was known. The next
// request of an evicted producer is treated as unknown.
func (ps *Producers) Evict(pid int64) bool {
	if _, ok := ps.m[pid]; !ok {
		return false
	}
	delete(ps.m, pid)
	return true
}

// pids returns the known producer ids, sorted.
func (ps *Producers) pids() []int64 {
	pids := make([]int64, 0, len(ps.m))
	for pid := range ps.m {
		pids = append(pids, pid)
	}
	sort.Slice(pids, func(i, j int) bool { return pids[i] < pids[j] })
	return pids
}
