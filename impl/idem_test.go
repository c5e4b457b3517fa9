package impl

import (
	"math"
	"reflect"
	"testing"

	"github.com/idemcheck/idemcheck/history"
)

// TestProducersRules has one row per idempotency rule of rm_stm
// (spec.Classify). Each row runs steps against a fresh [Producers]: a
// decide step names the expected decision; "finish" applies an appended
// request at an offset; "evict" expects whether eviction succeeds.
func TestProducersRules(t *testing.T) {
	type step struct {
		do     string // "decide", "finish", "evict", "fail"
		op     int64
		b      Batch
		term   int64
		offset int64 // finish: the offset; decide: the expected cached offset
		want   history.Decision
		orig   int64   // expected original of a duplicate_inflight
		failed []int64 // expected failed inflight ops
		ok     bool    // evict
	}
	b := func(pid int64, epoch int16, first, last int32) Batch {
		return Batch{PID: pid, Epoch: epoch, First: first, Last: last}
	}
	tests := []struct {
		rule  string
		steps []step
	}{
		{"first batch of a new producer starts at 0: append", []step{
			{do: "decide", op: 1, b: b(1, 0, 0, 2), want: history.Append},
		}},
		{"next in sequence (last+1 == first): append", []step{
			{do: "decide", op: 1, b: b(1, 0, 0, 2), want: history.Append},
			{do: "finish", op: 1, b: b(1, 0, 0, 2), offset: 0},
			{do: "decide", op: 2, b: b(1, 0, 3, 3), want: history.Append},
		}},
		{"pipelining: validated against the last inflight request", []step{
			{do: "decide", op: 1, b: b(1, 0, 0, 0), want: history.Append},
			{do: "decide", op: 2, b: b(1, 0, 1, 1), want: history.Append},
			{do: "decide", op: 3, b: b(1, 0, 2, 4), want: history.Append},
		}},
		{"gap: OUT_OF_ORDER_SEQUENCE_NUMBER", []step{
			{do: "decide", op: 1, b: b(1, 0, 0, 0), want: history.Append},
			{do: "finish", op: 1, b: b(1, 0, 0, 0), offset: 0},
			{do: "decide", op: 2, b: b(1, 0, 2, 2), want: history.OutOfOrder},
		}},
		{"unknown producer with first_seq > 0: accepted via the skip path", []step{
			{do: "decide", op: 1, b: b(1, 0, 5, 6), want: history.AppendUnknown},
		}},
		{"skip path then the earlier batch: out of order (the seed bug)", []step{
			{do: "decide", op: 1, b: b(1, 0, 1, 1), want: history.AppendUnknown},
			{do: "finish", op: 1, b: b(1, 0, 1, 1), offset: 0},
			{do: "decide", op: 2, b: b(1, 0, 0, 0), want: history.OutOfOrder},
		}},
		{"exact duplicate among finished: cached offset", []step{
			{do: "decide", op: 1, b: b(1, 0, 0, 1), want: history.Append},
			{do: "finish", op: 1, b: b(1, 0, 0, 1), offset: 7},
			{do: "decide", op: 2, b: b(1, 0, 2, 2), want: history.Append},
			{do: "finish", op: 2, b: b(1, 0, 2, 2), offset: 8},
			{do: "decide", op: 3, b: b(1, 0, 0, 1), want: history.Duplicate, offset: 7},
		}},
		{"partial overlap is not a duplicate: out of order", []step{
			{do: "decide", op: 1, b: b(1, 0, 0, 1), want: history.Append},
			{do: "finish", op: 1, b: b(1, 0, 0, 1), offset: 0},
			{do: "decide", op: 2, b: b(1, 0, 1, 1), want: history.OutOfOrder},
		}},
		{"only the last 5 finished requests are cached: an older retry is out of order", []step{
			{do: "decide", op: 1, b: b(1, 0, 0, 0), want: history.Append},
			{do: "finish", op: 1, b: b(1, 0, 0, 0), offset: 0},
			{do: "decide", op: 2, b: b(1, 0, 1, 1), want: history.Append},
			{do: "finish", op: 2, b: b(1, 0, 1, 1), offset: 1},
			{do: "decide", op: 3, b: b(1, 0, 2, 2), want: history.Append},
			{do: "finish", op: 3, b: b(1, 0, 2, 2), offset: 2},
			{do: "decide", op: 4, b: b(1, 0, 3, 3), want: history.Append},
			{do: "finish", op: 4, b: b(1, 0, 3, 3), offset: 3},
			{do: "decide", op: 5, b: b(1, 0, 4, 4), want: history.Append},
			{do: "finish", op: 5, b: b(1, 0, 4, 4), offset: 4},
			{do: "decide", op: 6, b: b(1, 0, 1, 1), want: history.Duplicate, offset: 1},
			{do: "decide", op: 7, b: b(1, 0, 5, 5), want: history.Append},
			{do: "finish", op: 7, b: b(1, 0, 5, 5), offset: 5},
			{do: "decide", op: 8, b: b(1, 0, 0, 0), want: history.OutOfOrder},
		}},
		{"exact duplicate of an inflight request: waits for the original", []step{
			{do: "decide", op: 1, b: b(1, 0, 0, 1), want: history.Append},
			{do: "decide", op: 2, b: b(1, 0, 0, 1), want: history.DuplicateInFlight, orig: 1},
		}},
		{"inflight duplicate needs the same term", []step{
			{do: "decide", op: 1, b: b(1, 0, 0, 1), term: 1, want: history.Append},
			{do: "decide", op: 2, b: b(1, 0, 0, 1), term: 2, want: history.Append, failed: []int64{1}},
		}},
		{"term change drops older-term inflight requests (fail with timeout)", []step{
			{do: "decide", op: 1, b: b(1, 0, 0, 0), term: 1, want: history.Append},
			{do: "decide", op: 2, b: b(1, 0, 1, 1), term: 1, want: history.Append},
			{do: "decide", op: 3, b: b(1, 0, 2, 2), term: 2, want: history.OutOfOrder, failed: []int64{1, 2}},
		}},
		{"higher epoch resets the state and fails inflight requests", []step{
			{do: "decide", op: 1, b: b(1, 0, 0, 0), want: history.Append},
			{do: "finish", op: 1, b: b(1, 0, 0, 0), offset: 0},
			{do: "decide", op: 2, b: b(1, 0, 1, 1), want: history.Append},
			{do: "decide", op: 3, b: b(1, 1, 0, 0), want: history.Append, failed: []int64{2}},
		}},
		{"higher epoch must restart at 0", []step{
			{do: "decide", op: 1, b: b(1, 0, 0, 0), want: history.Append},
			{do: "finish", op: 1, b: b(1, 0, 0, 0), offset: 0},
			{do: "decide", op: 2, b: b(1, 1, 1, 1), want: history.OutOfOrder},
		}},
		{"no lower-epoch check: a lower epoch is validated as usual", []step{
			{do: "decide", op: 1, b: b(1, 3, 0, 0), want: history.Append},
			{do: "finish", op: 1, b: b(1, 3, 0, 0), offset: 0},
			{do: "decide", op: 2, b: b(1, 2, 1, 1), want: history.Append},
		}},
		{"duplicate matching ignores the epoch", []step{
			{do: "decide", op: 1, b: b(1, 0, 0, 0), want: history.Append},
			{do: "finish", op: 1, b: b(1, 0, 0, 0), offset: 4},
			{do: "decide", op: 2, b: b(1, 1, 0, 0), want: history.Append},
			{do: "finish", op: 2, b: b(1, 1, 0, 0), offset: 5},
			{do: "decide", op: 3, b: b(1, 0, 0, 0), want: history.Duplicate, offset: 5},
		}},
		{"seq 0 follows INT32_MAX", []step{
			{do: "decide", op: 1, b: b(1, 0, math.MaxInt32-1, math.MaxInt32), want: history.AppendUnknown},
			{do: "finish", op: 1, b: b(1, 0, math.MaxInt32-1, math.MaxInt32), offset: 0},
			{do: "decide", op: 2, b: b(1, 0, 0, 0), want: history.Append},
		}},
		{"first > last: invalid request", []step{
			{do: "decide", op: 1, b: b(1, 0, 3, 2), want: history.InvalidRequest},
		}},
		{"eviction of an idle producer makes it unknown (skip path again)", []step{
			{do: "decide", op: 1, b: b(1, 0, 0, 0), want: history.Append},
			{do: "finish", op: 1, b: b(1, 0, 0, 0), offset: 0},
			{do: "evict", b: b(1, 0, 0, 0), ok: true},
			{do: "decide", op: 2, b: b(1, 0, 2, 2), want: history.AppendUnknown},
		}},
		{"eviction after which a retry of an old batch is appended again", []step{
			{do: "decide", op: 1, b: b(1, 0, 0, 0), want: history.Append},
			{do: "finish", op: 1, b: b(1, 0, 0, 0), offset: 0},
			{do: "evict", b: b(1, 0, 0, 0), ok: true},
			{do: "decide", op: 2, b: b(1, 0, 0, 0), want: history.Append},
		}},
		{"no eviction while a request is inflight", []step{
			{do: "decide", op: 1, b: b(1, 0, 0, 0), want: history.Append},
			{do: "evict", b: b(1, 0, 0, 0), ok: false},
			{do: "fail", op: 1, b: b(1, 0, 0, 0)},
			{do: "evict", b: b(1, 0, 0, 0), ok: true},
		}},
		{"producers are independent", []step{
			{do: "decide", op: 1, b: b(1, 0, 0, 0), want: history.Append},
			{do: "decide", op: 2, b: b(2, 0, 0, 0), want: history.Append},
			{do: "decide", op: 3, b: b(2, 0, 1, 1), want: history.Append},
		}},
	}
	for _, tc := range tests {
		t.Run(tc.rule, func(t *testing.T) {
			ps := NewProducers()
			for i, s := range tc.steps {
				switch s.do {
				case "decide":
					v := ps.Decide(s.op, s.b, s.term)
					if v.Decision != s.want {
						t.Fatalf("step %d: decide op %d %+v: got %s, want %s", i, s.op, s.b, v.Decision, s.want)
					}
					if s.want == history.Duplicate && v.Offset != s.offset {
						t.Fatalf("step %d: duplicate offset: got %d, want %d", i, v.Offset, s.offset)
					}
					if s.want == history.DuplicateInFlight && v.Original != s.orig {
						t.Fatalf("step %d: original: got %d, want %d", i, v.Original, s.orig)
					}
					if !reflect.DeepEqual(v.Failed, s.failed) {
						t.Fatalf("step %d: failed inflight: got %v, want %v", i, v.Failed, s.failed)
					}
				case "finish":
					if !ps.Finish(s.b.PID, s.op, s.offset) {
						t.Fatalf("step %d: finish op %d: not inflight", i, s.op)
					}
				case "fail":
					if !ps.Fail(s.b.PID, s.op) {
						t.Fatalf("step %d: fail op %d: not inflight", i, s.op)
					}
				case "evict":
					if got := ps.Evict(s.b.PID); got != s.ok {
						t.Fatalf("step %d: evict pid %d: got %t, want %t", i, s.b.PID, got, s.ok)
					}
				}
			}
		})
	}
}

// TestErrcKafka checks the Kafka error mapping of produce.cc.
func TestErrcKafka(t *testing.T) {
	tests := []struct {
		errc Errc
		want history.ErrorCode
	}{
		{Success, history.None},
		{SequenceOutOfOrder, history.OutOfOrderSequenceNumber},
		{InvalidRequest, history.InvalidRequestCode},
		{NotLeader, history.NotLeaderForPartition},
		{ProducerLimit, history.PolicyViolation},
		{Timeout, history.RequestTimedOut},
	}
	for _, tc := range tests {
		if got := tc.errc.Kafka(); got != tc.want {
			t.Errorf("Errc(%d).Kafka(): got %s, want %s", tc.errc, got, tc.want)
		}
	}
}
