package impl

import (
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

// request is one entry of a producer's inflight or finished queue.
type request struct {
	op     int64
	first  int32
	last   int32
	term   int64
	offset int64
	done   bool
}

// producerState is rm_stm's producer_state for one pid.
type producerState struct {
	epoch    int16
	inflight []request
	finished []request
}

// view is what the idempotency rules read of the producer: its epoch and
// its finished requests followed by those in flight, oldest first.
func (p *producerState) view() spec.ProducerView {
	w := make([]spec.Req, 0, len(p.finished)+len(p.inflight))
	for _, q := range [2][]request{p.finished, p.inflight} {
		for _, r := range q {
			w = append(w, spec.Req{Epoch: p.epoch, First: r.first, Last: r.last, Offset: r.offset})
		}
	}
	return spec.ProducerView{Known: true, Epoch: p.epoch, Window: w}
}

// Verdict is the outcome of [Producers.Decide].
type Verdict struct {
	// Decision is what the rules decided.
	Decision history.Decision
	// Offset is the base offset of the finished request a
	// [history.Duplicate] matched.
	Offset int64
	// Original is the op id whose result a [history.DuplicateInFlight]
	// waits for.
	Original int64
	// Failed lists the ops of inflight requests that the decision failed
	// with [Timeout] (epoch reset, skip path, older term), in queue order.
	Failed []int64
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
// per producer id, the epoch, up to [spec.WindowSize] finished requests
// and the inflight ones. It is a pure value type, not safe for concurrent
// use; the zero value is not usable, call [NewProducers].
//
// The decision is the project's one rule, [spec.Classify] (Redpanda's
// rules), over the finished requests followed by the inflight ones. On
// top of it: a higher epoch resets the state, failing inflight requests;
// the skip path of an unknown producer starts a fresh state; inflight
// requests of an older term are failed before a batch is classified; a
// duplicate whose match is still in flight waits for the original
// ([history.DuplicateInFlight]).
type Producers struct {
	m map[int64]*producerState
}

// NewProducers returns an empty idempotency state.
func NewProducers() *Producers { return &Producers{m: make(map[int64]*producerState)} }

// Known reports whether pid has state (it wrote and was not evicted).
func (ps *Producers) Known(pid int64) bool { _, ok := ps.m[pid]; return ok }

// Len returns the number of known producers.
func (ps *Producers) Len() int { return len(ps.m) }

// Decide applies the rules to batch b of operation op, in term term. An
// appending decision ([history.Append], [history.AppendUnknown]) adds the
// request to the inflight queue; the caller then calls [Producers.Finish]
// with its base offset once it is in the log, or [Producers.Fail].
func (ps *Producers) Decide(op int64, b Batch, term int64) Verdict {
	st, known := ps.m[b.PID]
	var v Verdict
	view := spec.ProducerView{}
	if known {
		if b.First <= b.Last && b.Epoch <= st.epoch {
			// Inflight requests of an older term can no longer finish:
			// fail them before reading the window.
			v.Failed = st.dropOlderTerms(term)
		}
		view = st.view()
	}
	c, match, _ := spec.Classify(view, b)
	switch {
	case !known:
		st = &producerState{epoch: b.Epoch}
		ps.m[b.PID] = st
	case b.Epoch > st.epoch:
		v.Failed = append(v.Failed, st.reset(b.Epoch)...)
	}
	v.Decision = c.Decision()
	switch {
	case c == spec.ClassDuplicate && match >= len(st.finished):
		v.Decision, v.Original = history.DuplicateInFlight, st.inflight[match-len(st.finished)].op
	case c == spec.ClassDuplicate:
		v.Offset = st.finished[match].offset
	case c.Appends():
		st.inflight = append(st.inflight, request{op: op, first: b.First, last: b.Last, term: term})
	}
	return v
}

// dropOlderTerms removes the inflight requests of terms before term and
// returns their ops, in queue order.
func (st *producerState) dropOlderTerms(term int64) []int64 {
	var failed []int64
	kept := st.inflight[:0]
	for _, r := range st.inflight {
		if r.term < term {
			failed = append(failed, r.op)
			continue
		}
		kept = append(kept, r)
	}
	st.inflight = kept
	return failed
}

// reset clears both queues for a new epoch and returns the failed
// inflight ops.
func (st *producerState) reset(epoch int16) []int64 {
	var failed []int64
	for _, r := range st.inflight {
		failed = append(failed, r.op)
	}
	st.epoch = epoch
	st.inflight = nil
	st.finished = nil
	return failed
}

// Finish applies the inflight request of op: it leaves the inflight
// queue and joins the finished ones (at most [spec.WindowSize]) with its
// base offset. It reports false if op is not inflight (it was failed by a
// reset, a skip or a term change, or the producer was evicted).
func (ps *Producers) Finish(pid, op, offset int64) bool {
	st, ok := ps.m[pid]
	if !ok {
		return false
	}
	for i, r := range st.inflight {
		if r.op != op {
			continue
		}
		st.inflight = append(st.inflight[:i], st.inflight[i+1:]...)
		r.offset, r.done = offset, true
		st.finished = append(st.finished, r)
		if n := len(st.finished); n > spec.WindowSize {
			st.finished = append(st.finished[:0], st.finished[n-spec.WindowSize:]...)
		}
		return true
	}
	return false
}

// Fail removes the inflight request of op (its replication failed).
func (ps *Producers) Fail(pid, op int64) bool {
	st, ok := ps.m[pid]
	if !ok {
		return false
	}
	for i, r := range st.inflight {
		if r.op == op {
			st.inflight = append(st.inflight[:i], st.inflight[i+1:]...)
			return true
		}
	}
	return false
}

// Evict drops pid's state if it can be evicted: it is known and has no
// inflight request. It reports whether it evicted. The next request of an
// evicted producer is treated as unknown.
func (ps *Producers) Evict(pid int64) bool {
	st, ok := ps.m[pid]
	if !ok || len(st.inflight) > 0 {
		return false
	}
	delete(ps.m, pid)
	return true
}

// Inflight returns the ops of pid's inflight requests, in order.
func (ps *Producers) Inflight(pid int64) []int64 {
	st, ok := ps.m[pid]
	if !ok {
		return nil
	}
	ops := make([]int64, len(st.inflight))
	for i, r := range st.inflight {
		ops[i] = r.op
	}
	return ops
}

// Epoch returns pid's epoch as the partition knows it.
func (ps *Producers) Epoch(pid int64) (int16, bool) {
	st, ok := ps.m[pid]
	if !ok {
		return 0, false
	}
	return st.epoch, true
}
