package validate

import (
	"errors"
	"fmt"
	"strconv"
	"strings"
	"testing"

	"github.com/idemcheck/idemcheck/history"
	"github.com/idemcheck/idemcheck/spec"
)

// parse turns a compact script into events, one per line:
//
//	Replicate <op> <partition> <pid> <epoch> <first> <last>
//	<Kind> <op> [ok|error]               internal steps
//	Decide <op> <decision> [offset]
//	Return <op> ok <offset> | error <code> | unknown
//	EvictProducer <partition> <pid> | BumpEpoch <pid> <epoch> | ChangeTerm <partition> <term>
func parse(t testing.TB, script string) history.History {
	t.Helper()
	var h history.History
	n := func(s string) int64 {
		x, err := strconv.ParseInt(s, 10, 64)
		if err != nil {
			t.Fatalf("bad number %q", s)
		}
		return x
	}
	for _, line := range strings.Split(strings.TrimSpace(script), "\n") {
		f := strings.Fields(line)
		if len(f) == 0 {
			continue
		}
		e := history.Event{Kind: history.Kind(f[0]), Time: int64(len(h.Events))}
		switch e.Kind {
		case history.Replicate:
			e.Op, e.Partition, e.PID, e.Epoch, e.First, e.Last = n(f[1]), f[2], n(f[3]), int16(n(f[4])), int32(n(f[5])), int32(n(f[6]))
			e.Client = e.PID
		case history.Decide:
			e.Op, e.Decision = n(f[1]), history.Decision(f[2])
			if len(f) > 3 {
				e.Offset = n(f[3])
			}
		case history.Return:
			e.Op, e.Result = n(f[1]), history.Result(f[2])
			switch e.Result {
			case history.OK:
				e.Offset = n(f[3])
			case history.Failed:
				e.Error = history.ErrorCode(n(f[3]))
			}
		case history.EvictProducer:
			e.Partition, e.PID = f[1], n(f[2])
		case history.BumpEpoch:
			e.PID, e.Epoch = n(f[1]), int16(n(f[2]))
		case history.ChangeTerm:
			e.Partition, e.Term = f[1], n(f[2])
		default:
			e.Op = n(f[1])
			if len(f) > 2 {
				e.Result = history.Result(f[2])
			}
		}
		h.Events = append(h.Events, e)
	}
	var s history.Stream
	for i, e := range h.Events {
		if err := s.Check(e); err != nil {
			t.Fatalf("script event %d (%s): %v", i+1, e, err)
		}
	}
	return h
}

// fixedAB: A and B of an unknown producer; B's stage_write resolves
// first, but B waits for A's ticket (the fix).
const fixedAB = `
Replicate 1 p0 1 0 0 0
ReserveTicket 1
StageWriteStart 1
Replicate 2 p0 1 0 1 1
ReserveTicket 2
StageWriteStart 2
StageWriteDone 2 ok
UploadDone 2 ok
StageWriteDone 1 ok
UploadDone 1 ok
RedeemTicket 1
FenceEpoch 1 ok
Decide 1 append 0
ReleaseTicket 1
RedeemTicket 2
FenceEpoch 2 ok
Decide 2 append 1
ReleaseTicket 2
Return 1 ok 0
Return 2 ok 1
`

// prefixOK: the pre-fix ordering where nothing went wrong for the
// client: stage_writes resolved in call order.
const prefixOK = `
Replicate 1 p0 1 0 0 0
StageWriteStart 1
Replicate 2 p0 1 0 1 1
StageWriteStart 2
StageWriteDone 1 ok
ReserveTicket 1
StageWriteDone 2 ok
ReserveTicket 2
UploadDone 1 ok
UploadDone 2 ok
RedeemTicket 1
FenceEpoch 1 ok
Decide 1 append 0
ReleaseTicket 1
RedeemTicket 2
FenceEpoch 2 ok
Decide 2 append 1
ReleaseTicket 2
Return 1 ok 0
Return 2 ok 1
`

// prefixSeed: the seed's race (PR #30429) in the pre-fix ordering.
const prefixSeed = `
Replicate 1 p0 1 0 0 0
StageWriteStart 1
Replicate 2 p0 1 0 1 1
StageWriteStart 2
StageWriteDone 2 ok
ReserveTicket 2
StageWriteDone 1 ok
ReserveTicket 1
UploadDone 2 ok
RedeemTicket 2
FenceEpoch 2 ok
Decide 2 append_unknown 0
ReleaseTicket 2
Return 2 ok 0
UploadDone 1 ok
RedeemTicket 1
FenceEpoch 1 ok
Decide 1 out_of_order
ReleaseTicket 1
Return 1 error 45
`

func TestValidate(t *testing.T) {
	tests := []struct {
		name   string
		script string
		order  string
		header string
		// want: "" for valid, else the line, and substrings of the error.
		line int
		want []string
		inv  string
		miss history.Kind
		// is: the sentinel error expected instead of an *Error.
		is error
	}{
		{name: "fixed ordering, B staged first, both appended", script: fixedAB},
		{name: "pre-fix history with a fine outcome is rejected at its ticket step (TicketOrderIsCallOrder cannot hold without the ticket in replicate())",
			script: prefixOK, line: 2, want: []string{"StageWriteStart for op 1 before its ReserveTicket", "before-stage"}},
		{name: "pre-fix history validated as after-stage passes when the order held", script: prefixOK, order: string(spec.AfterStage)},
		{name: "the seed under its own (after-stage) ordering breaks TicketOrderIsCallOrder at op 2's ReserveTicket, while op 1 is still in stage_write",
			script: prefixSeed, order: FromHeader, header: string(spec.AfterStage), line: 6, inv: spec.TicketOrderIsCallOrder,
			want: []string{"op 2 (pid 1 epoch 0 seq [1,1]) holds a ticket while an earlier call of its producer can still reserve one"}},
		{name: "header without ticket order means before-stage", script: prefixSeed, order: FromHeader, line: 2,
			want: []string{"before its ReserveTicket"}},
		{name: "no ReserveTicket events at all", script: strings.ReplaceAll(strings.ReplaceAll(fixedAB, "ReserveTicket 1\n", ""), "ReserveTicket 2\n", ""),
			line: 2, miss: history.ReserveTicket, want: []string{"history has no ReserveTicket events: cannot validate ticket order"}},
		{name: "client-visible events only (a black-box history)", script: "Replicate 1 p0 1 0 0 0\nReturn 1 ok 0",
			is: ErrNothingToValidate},
		{name: "a recorded decision that the idempotency rules do not give (DecideInCallOrder's guard)",
			script: strings.Replace(fixedAB, "Decide 1 append 0", "Decide 1 out_of_order", 1), line: 13,
			want: []string{"recorded out_of_order, but the idempotency rules give append"}},
		{name: "the fence taken before the redeem (fence before redeem, a deadlock class the spec rules out by order)",
			script: strings.Replace(fixedAB, "RedeemTicket 1\nFenceEpoch 1 ok", "FenceEpoch 1 ok\nRedeemTicket 1", 1), line: 11,
			want: []string{"FenceEpoch for op 1 while it is uploaded: the fence comes after RedeemTicket"}},
		{name: "an aborted redeem fails the call and frees its ticket: the unknown producer's next batch takes the skip path (the abort-in-redeem class)",
			script: strings.Replace(strings.Replace(fixedAB,
				"RedeemTicket 1\nFenceEpoch 1 ok\nDecide 1 append 0\nReleaseTicket 1", "RedeemTicket 1 error\nReleaseTicket 1", 1),
				"Decide 2 append 1", "Decide 2 append_unknown 0", 1), line: 15, inv: spec.EpochStartsAtFirstCall},
		{name: "a later ticket redeemed while an earlier one is held", script: `
Replicate 1 p0 1 0 0 0
ReserveTicket 1
StageWriteStart 1
Replicate 2 p0 1 0 1 1
ReserveTicket 2
StageWriteStart 2
StageWriteDone 2 ok
UploadDone 2 ok
RedeemTicket 2`, line: 9, want: []string{"while op 1 holds an earlier ticket", "queue = [1 2]"}},
		{name: "an ack with another offset than the decision (AckedInLog's guard)",
			script: strings.Replace(fixedAB, "Return 2 ok 1", "Return 2 ok 0", 1), line: 20, want: []string{"expected Return op=2 ok offset=1"}},
		{name: "return before release", script: strings.Replace(strings.Replace(fixedAB, "ReleaseTicket 2\n", "", 1), "Return 2 ok 1", "Return 2 ok 1\nReleaseTicket 2", 1),
			line: 19, want: []string{"before its ReleaseTicket"}},
		{name: "upload failure releases the ticket and times out", script: `
Replicate 1 p0 1 0 0 0
ReserveTicket 1
StageWriteStart 1
StageWriteDone 1 ok
UploadDone 1 error
ReleaseTicket 1
Return 1 error 7`},
		{name: "a failed upload lets the next batch take the skip path: the epoch's log starts at [1,1], before the retry gets a spurious OOOSN (PR #30937)", script: `
Replicate 1 p0 1 0 0 0
ReserveTicket 1
StageWriteStart 1
Replicate 2 p0 1 0 1 1
ReserveTicket 2
StageWriteStart 2
StageWriteDone 1 ok
UploadDone 1 error
ReleaseTicket 1
Return 1 error 7
StageWriteDone 2 ok
UploadDone 2 ok
RedeemTicket 2
FenceEpoch 2 ok
Decide 2 append_unknown 0
ReleaseTicket 2
Return 2 ok 0
Replicate 3 p0 1 0 0 0
ReserveTicket 3
StageWriteStart 3
StageWriteDone 3 ok
UploadDone 3 ok
RedeemTicket 3
FenceEpoch 3 ok
Decide 3 out_of_order`, line: 15, inv: spec.EpochStartsAtFirstCall},
		{name: "timeout, eviction and a retry append a batch twice (NoDuplicateAppend)", script: `
Replicate 1 p0 1 0 0 0
ReserveTicket 1
StageWriteStart 1
Return 1 unknown
StageWriteDone 1 ok
UploadDone 1 ok
RedeemTicket 1
FenceEpoch 1 ok
Decide 1 append 0
ReleaseTicket 1
EvictProducer p0 1
Replicate 2 p0 1 0 0 0
ReserveTicket 2
StageWriteStart 2
StageWriteDone 2 ok
UploadDone 2 ok
RedeemTicket 2
FenceEpoch 2 ok
Decide 2 append 1`, line: 19, inv: spec.NoDuplicateAppend},
		{name: "a term change fails a fenced request", script: `
Replicate 1 p0 1 0 0 0
ReserveTicket 1
StageWriteStart 1
StageWriteDone 1 ok
UploadDone 1 ok
RedeemTicket 1
FenceEpoch 1 ok
ChangeTerm p0 2
ReleaseTicket 1
Return 1 error 6
BumpEpoch 1 1
Replicate 2 p0 1 1 0 0
ReserveTicket 2
StageWriteStart 2
StageWriteDone 2 ok
UploadDone 2 ok
RedeemTicket 2
FenceEpoch 2 ok
Decide 2 append 0
ReleaseTicket 2
Return 2 ok 0`},
		{name: "an abort while waiting for the ticket releases it before any decision", script: `
Replicate 1 p0 1 0 0 0
ReserveTicket 1
StageWriteStart 1
Replicate 2 p0 2 0 0 0
ReserveTicket 2
StageWriteStart 2
StageWriteDone 2 ok
UploadDone 2 ok
RedeemTicket 2
FenceEpoch 2 ok
Decide 2 append 0
StageWriteDone 1 ok
UploadDone 1 ok
ReleaseTicket 1`, line: 14, want: []string{"ReleaseTicket for op 1 while it is uploaded: the ticket is released after rm_stm decides or after a failure"}},
		{name: "two partitions interleaved", script: `
Replicate 1 p0 1 0 0 0
ReserveTicket 1
StageWriteStart 1
Replicate 2 p1 1 0 0 0
ReserveTicket 2
StageWriteStart 2
StageWriteDone 2 ok
UploadDone 2 ok
RedeemTicket 2
FenceEpoch 2 ok
Decide 2 append 0
StageWriteDone 1 ok
UploadDone 1 ok
RedeemTicket 1
FenceEpoch 1 ok
Decide 1 append 0
ReleaseTicket 1
ReleaseTicket 2
Return 2 ok 0
Return 1 ok 0`},
		{name: "a partition's event between Replicate and its ReserveTicket", script: `
Replicate 1 p0 1 0 0 0
Replicate 2 p0 1 0 1 1
ReserveTicket 1`, line: 2, want: []string{"op 1 is inside its synchronous replicate() call: expected ReserveTicket for op 1"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			h := parse(t, tt.script)
			h.Header.TicketOrder = tt.header
			err := History(h, Options{TicketOrder: tt.order})
			if tt.is != nil {
				if !errors.Is(err, tt.is) {
					t.Fatalf("got %v, want %v", err, tt.is)
				}
				return
			}
			if tt.line == 0 {
				if err != nil {
					t.Fatalf("got %v, want a valid history", err)
				}
				return
			}
			var we *Error
			if !errors.As(err, &we) {
				t.Fatalf("got %v, want a *validate.Error at line %d", err, tt.line)
			}
			if we.Line != tt.line {
				t.Errorf("line %d, want %d (%v)", we.Line, tt.line, err)
			}
			if we.Invariant != tt.inv {
				t.Errorf("invariant %q, want %q (%v)", we.Invariant, tt.inv, err)
			}
			if we.Missing != tt.miss {
				t.Errorf("missing %q, want %q (%v)", we.Missing, tt.miss, err)
			}
			for _, w := range tt.want {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("error %q lacks %q", err, w)
				}
			}
		})
	}
}

// TestValidateJSONL checks the line numbers of a file: the header line
// counts.
func TestValidateJSONL(t *testing.T) {
	h := parse(t, prefixOK)
	h.Header.TicketOrder = string(spec.AfterStage)
	var b strings.Builder
	if err := history.EncodeJSONL(&b, h); err != nil {
		t.Fatal(err)
	}
	r, err := history.NewReader(strings.NewReader(b.String()), "prefix.jsonl")
	if err != nil {
		t.Fatal(err)
	}
	err = Reader(r, Options{})
	var we *Error
	if !errors.As(err, &we) || we.Line != 3 || we.Event.Kind != history.StageWriteStart {
		t.Fatalf("got %v, want an error at line 3 (StageWriteStart after the header and Replicate)", err)
	}
	if err := Reader(&sliceReader{h: h}, Options{TicketOrder: "sideways"}); !errors.Is(err, ErrTicketOrder) {
		t.Errorf("bad ticket order: %v", err)
	}
}

// longHistory returns n operations of producers that each keep two
// requests in flight on one of four partitions, all appended.
func longHistory(n int) history.History {
	var h history.History
	t := int64(0)
	add := func(e history.Event) {
		e.Time = t
		t++
		h.Events = append(h.Events, e)
	}
	offsets := map[string]int64{}
	seq := map[int64]int32{}
	op := int64(0)
	for op < int64(n) {
		pid := 1 + op/2%64
		part := fmt.Sprintf("p%d", pid%4)
		a, b := op+1, op+2
		op += 2
		for _, id := range []int64{a, b} {
			add(history.Event{Kind: history.Replicate, Op: id, Partition: part, PID: pid, First: seq[pid], Last: seq[pid]})
			seq[pid]++
			add(history.Event{Kind: history.ReserveTicket, Op: id})
			add(history.Event{Kind: history.StageWriteStart, Op: id})
		}
		for _, id := range []int64{b, a} {
			add(history.Event{Kind: history.StageWriteDone, Op: id, Result: history.OK})
			add(history.Event{Kind: history.UploadDone, Op: id, Result: history.OK})
		}
		for _, id := range []int64{a, b} {
			add(history.Event{Kind: history.RedeemTicket, Op: id})
			add(history.Event{Kind: history.FenceEpoch, Op: id, Result: history.OK})
			add(history.Event{Kind: history.Decide, Op: id, Decision: history.Append, Offset: offsets[part]})
			add(history.Event{Kind: history.ReleaseTicket, Op: id})
			add(history.Event{Kind: history.Return, Op: id, Result: history.OK, Offset: offsets[part]})
			offsets[part]++
		}
	}
	return h
}

func TestLongHistory(t *testing.T) {
	h := longHistory(20000)
	if err := History(h, Options{}); err != nil {
		t.Fatal(err)
	}
}

// BenchmarkValidate reports the validator's speed in events per second.
func BenchmarkValidate(b *testing.B) {
	h := longHistory(20000)
	b.ReportAllocs()
	b.ResetTimer()
	for b.Loop() {
		if err := History(h, Options{}); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportMetric(float64(len(h.Events))*float64(b.N)/b.Elapsed().Seconds(), "events/s")
}

// TestWindowOption checks Options.Window: a retry of a batch that has
// left a one-request window is a gap (out_of_order) for rm_stm, so the
// same history is allowed with Window 1 and refused with the default
// window, which still holds the batch (a duplicate); a negative window
// is an error.
func TestWindowOption(t *testing.T) {
	h := history.History{Header: history.Header{Format: history.FormatV1}}
	at := int64(0)
	add := func(e history.Event) {
		e.Time = at
		at++
		h.Events = append(h.Events, e)
	}
	call := func(op int64, first int32) {
		add(history.Event{Kind: history.Replicate, Op: op, Client: 1, Partition: "p0", PID: 1, First: first, Last: first})
		add(history.Event{Kind: history.ReserveTicket, Op: op})
		add(history.Event{Kind: history.StageWriteStart, Op: op})
		add(history.Event{Kind: history.StageWriteDone, Op: op, Result: history.OK})
		add(history.Event{Kind: history.UploadDone, Op: op, Result: history.OK})
		add(history.Event{Kind: history.RedeemTicket, Op: op})
		add(history.Event{Kind: history.FenceEpoch, Op: op, Result: history.OK})
	}
	call(1, 0)
	add(history.Event{Kind: history.Decide, Op: 1, Decision: history.Append, Offset: 0})
	add(history.Event{Kind: history.ReleaseTicket, Op: 1})
	add(history.Event{Kind: history.Return, Op: 1, Result: history.Unknown})
	call(2, 1)
	add(history.Event{Kind: history.Decide, Op: 2, Decision: history.Append, Offset: 1})
	add(history.Event{Kind: history.ReleaseTicket, Op: 2})
	add(history.Event{Kind: history.Return, Op: 2, Result: history.OK, Offset: 1})
	call(3, 0) // the retry of op 1
	add(history.Event{Kind: history.Decide, Op: 3, Decision: history.OutOfOrder})

	err := History(h, Options{Window: 1})
	var e *Error
	if !errors.As(err, &e) || e.Invariant != spec.LoggedBatchNotOutOfOrder {
		t.Errorf("Window 1: %v, want the retry's decision allowed but breaking %s", err, spec.LoggedBatchNotOutOfOrder)
	}
	if err := History(h, Options{}); !errors.As(err, &e) || !strings.Contains(e.Expected, "the idempotency rules give duplicate") {
		t.Errorf("default window: %v, want the out_of_order refused (a duplicate)", err)
	}
	if err := History(h, Options{Window: -1}); err == nil || !strings.Contains(err.Error(), "negative") {
		t.Errorf("Window -1: %v", err)
	}
}
