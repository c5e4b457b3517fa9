package impl

import (
	"math"

	"github.com/idemcheck/idemcheck/history"
)

// RequestsCachedMax is how many finished requests the idempotency state
// keeps per producer (rm_stm's requests_cached_max).
const RequestsCachedMax = 5

// Batch identifies an idempotent record batch: producer id, epoch and the
// sequence range [First, Last].
type Batch struct {
	PID   int64
	Epoch int16
	First int32
	Last  int32
}

// Errc is an internal result of the write path, mapped to a Kafka error
// code by [Errc.Kafka].
type Errc int

// Internal results (DOMAIN.md §3).
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
func (e Errc) Kafka() history.ErrorCode {
	switch e {
	case Success:
		return history.None
	case SequenceOutOfOrder:
		return history.OutOfOrderSequenceNumber
	case InvalidRequest:
		return history.InvalidRequestCode
	case NotLeader:
		return history.NotLeaderForPartition
	case ProducerLimit:
		return history.PolicyViolation
	}
	return history.RequestTimedOut
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

func (p *producerState) lastSeq() (int32, bool) {
	if n := len(p.inflight); n > 0 {
		return p.inflight[n-1].last, true
	}
	if n := len(p.finished); n > 0 {
		return p.finished[n-1].last, true
	}
	return 0, false
}

// Verdict is the outcome of [Producers.Decide].
type Verdict struct {
	// Decision is what the rules decided.
	Decision history.Decision
	// Offset is the cached offset of a [history.Duplicate].
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
// per producer id, the epoch, up to [RequestsCachedMax] finished requests
// and the inflight ones. It is a pure value type, not safe for concurrent
// use; the zero value is not usable, call [NewProducers].
//
// Rules (DOMAIN.md §3): a higher epoch resets the state, failing inflight
// requests; there is no lower-epoch check; an unknown producer with
// first > 0 is accepted through the skip path; first > last is an invalid
// request; an exact (first,last) match among finished requests returns the
// cached offset and among inflight requests of the same term waits for
// the original; a new request must follow the last sequence (0 follows
// INT32_MAX) or, with no last request, start at 0; otherwise it is out of
// order. Duplicate matching ignores the epoch.
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
// with its offset once it is in the log, or [Producers.Fail].
func (ps *Producers) Decide(op int64, b Batch, term int64) Verdict {
	st, known := ps.m[b.PID]
	if !known {
		st = &producerState{epoch: b.Epoch}
		ps.m[b.PID] = st
	}
	var v Verdict
	if b.Epoch > st.epoch {
		v.Failed = append(v.Failed, st.reset(b.Epoch)...)
	}
	skip := !known && b.First > 0
	if b.First > b.Last {
		v.Decision = history.InvalidRequest
		return v
	}
	if skip {
		v.Failed = append(v.Failed, st.reset(st.epoch)...)
		st.inflight = append(st.inflight, request{op: op, first: b.First, last: b.Last, term: term})
		v.Decision = history.AppendUnknown
		return v
	}
	// Drop inflight requests from older terms.
	kept := st.inflight[:0]
	for _, r := range st.inflight {
		if r.term < term {
			v.Failed = append(v.Failed, r.op)
			continue
		}
		kept = append(kept, r)
	}
	st.inflight = kept
	for _, r := range st.finished {
		if r.first == b.First && r.last == b.Last {
			v.Decision, v.Offset = history.Duplicate, r.offset
			return v
		}
	}
	for _, r := range st.inflight {
		if r.first == b.First && r.last == b.Last && r.term == term {
			v.Decision, v.Original = history.DuplicateInFlight, r.op
			return v
		}
	}
	last, ok := st.lastSeq()
	valid := (!ok && b.First == 0) || (ok && int64(last)+1 == int64(b.First)) ||
		(ok && last == math.MaxInt32 && b.First == 0)
	if !valid {
		v.Decision = history.OutOfOrder
		return v
	}
	st.inflight = append(st.inflight, request{op: op, first: b.First, last: b.Last, term: term})
	v.Decision = history.Append
	return v
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
// queue and joins the finished ones (at most [RequestsCachedMax]) with its
// offset. It reports false if op is not inflight (it was failed by a
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
		if n := len(st.finished); n > RequestsCachedMax {
			st.finished = append(st.finished[:0], st.finished[n-RequestsCachedMax:]...)
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
