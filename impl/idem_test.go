package impl

import (
	"math"
	"testing"

	"github.com/idemcheck/idemcheck/history"
)

// TestProducersRules has one row per idempotency rule of rm_stm
// (spec.Classify). Each row runs steps against a fresh [Producers]: a
// decide step gives the log's end offset and names the expected decision
// and offset (the end offset for an append, the cached offset for a
// duplicate); an evict step expects whether eviction succeeds.
func TestProducersRules(t *testing.T) {
	type step struct {
		do     string // "decide", "evict"
		b      Batch
		end    int64 // decide: the log's end offset
		want   history.Decision
		offset int64 // decide: the expected offset of an append or a duplicate
		ok     bool  // evict
	}
	b := func(pid int64, epoch int16, first, last int32) Batch {
		return Batch{PID: pid, Epoch: epoch, First: first, Last: last}
	}
	// d decides b at end offset end; an append is expected at end.
	d := func(bt Batch, end int64, want history.Decision) step {
		return step{do: "decide", b: bt, end: end, want: want, offset: end}
	}
	dup := func(bt Batch, end int64, cached int64) step {
		return step{do: "decide", b: bt, end: end, want: history.Duplicate, offset: cached}
	}
	tests := []struct {
		rule  string
		steps []step
	}{
		{"first batch of a new producer starts at 0: append", []step{
			d(b(1, 0, 0, 2), 0, history.Append),
		}},
		{"next in sequence (last+1 == first): append", []step{
			d(b(1, 0, 0, 2), 0, history.Append),
			d(b(1, 0, 3, 3), 3, history.Append),
		}},
		{"each batch is validated against the last appended one", []step{
			d(b(1, 0, 0, 0), 0, history.Append),
			d(b(1, 0, 1, 1), 1, history.Append),
			d(b(1, 0, 2, 4), 2, history.Append),
		}},
		{"gap: OUT_OF_ORDER_SEQUENCE_NUMBER", []step{
			d(b(1, 0, 0, 0), 0, history.Append),
			{do: "decide", b: b(1, 0, 2, 2), end: 1, want: history.OutOfOrder},
		}},
		{"unknown producer with first_seq > 0: accepted via the skip path", []step{
			d(b(1, 0, 5, 6), 0, history.AppendUnknown),
		}},
		{"skip path then the earlier batch: out of order (the seed bug)", []step{
			d(b(1, 0, 1, 1), 0, history.AppendUnknown),
			{do: "decide", b: b(1, 0, 0, 0), end: 1, want: history.OutOfOrder},
		}},
		{"exact duplicate among finished: cached offset", []step{
			d(b(1, 0, 0, 1), 7, history.Append),
			d(b(1, 0, 2, 2), 9, history.Append),
			dup(b(1, 0, 0, 1), 10, 7),
		}},
		{"partial overlap is not a duplicate: out of order", []step{
			d(b(1, 0, 0, 1), 0, history.Append),
			{do: "decide", b: b(1, 0, 1, 1), end: 2, want: history.OutOfOrder},
		}},
		{"only the last 5 finished requests are cached: an older retry is out of order", []step{
			d(b(1, 0, 0, 0), 0, history.Append),
			d(b(1, 0, 1, 1), 1, history.Append),
			d(b(1, 0, 2, 2), 2, history.Append),
			d(b(1, 0, 3, 3), 3, history.Append),
			d(b(1, 0, 4, 4), 4, history.Append),
			dup(b(1, 0, 1, 1), 5, 1),
			d(b(1, 0, 5, 5), 5, history.Append),
			{do: "decide", b: b(1, 0, 0, 0), end: 6, want: history.OutOfOrder},
		}},
		{"higher epoch resets the state and restarts at 0", []step{
			d(b(1, 0, 0, 0), 0, history.Append),
			d(b(1, 1, 0, 0), 1, history.Append),
			{do: "decide", b: b(1, 1, 1, 1), end: 2, want: history.Append, offset: 2},
		}},
		{"higher epoch must restart at 0", []step{
			d(b(1, 0, 0, 0), 0, history.Append),
			{do: "decide", b: b(1, 1, 1, 1), end: 1, want: history.OutOfOrder},
		}},
		{"no lower-epoch check: a lower epoch is validated as usual", []step{
			d(b(1, 3, 0, 0), 0, history.Append),
			d(b(1, 2, 1, 1), 1, history.Append),
		}},
		{"duplicate matching ignores the epoch", []step{
			d(b(1, 0, 0, 0), 4, history.Append),
			d(b(1, 1, 0, 0), 5, history.Append),
			dup(b(1, 0, 0, 0), 6, 5),
		}},
		{"seq 0 follows INT32_MAX", []step{
			d(b(1, 0, math.MaxInt32-1, math.MaxInt32), 0, history.AppendUnknown),
			d(b(1, 0, 0, 0), 2, history.Append),
		}},
		{"first > last: invalid request", []step{
			{do: "decide", b: b(1, 0, 3, 2), want: history.InvalidRequest},
		}},
		{"eviction makes the producer unknown (skip path again)", []step{
			d(b(1, 0, 0, 0), 0, history.Append),
			{do: "evict", b: b(1, 0, 0, 0), ok: true},
			d(b(1, 0, 2, 2), 1, history.AppendUnknown),
		}},
		{"eviction after which a retry of an old batch is appended again", []step{
			d(b(1, 0, 0, 0), 0, history.Append),
			{do: "evict", b: b(1, 0, 0, 0), ok: true},
			d(b(1, 0, 0, 0), 1, history.Append),
		}},
		{"evicting an unknown producer does nothing", []step{
			{do: "evict", b: b(1, 0, 0, 0), ok: false},
		}},
		{"producers are independent", []step{
			d(b(1, 0, 0, 0), 0, history.Append),
			d(b(2, 0, 0, 0), 1, history.Append),
			d(b(2, 0, 1, 1), 2, history.Append),
		}},
	}
	for _, tc := range tests {
		t.Run(tc.rule, func(t *testing.T) {
			ps := NewProducers()
			for i, s := range tc.steps {
				switch s.do {
				case "decide":
					v := ps.Decide(s.b, s.end)
					if v.Decision != s.want {
						t.Fatalf("step %d: decide %+v: got %s, want %s", i, s.b, v.Decision, s.want)
					}
					if s.want.HasOffset() && v.Offset != s.offset {
						t.Fatalf("step %d: %s offset: got %d, want %d", i, v.Decision, v.Offset, s.offset)
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
