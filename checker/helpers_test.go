package checker

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/idemcheck/idemcheck/history"
	"github.com/idemcheck/idemcheck/internal/testflag"
	"github.com/stretchr/testify/require"
)

// golden compares got with the file testdata/name, or writes got there
// when the tests run with -rewrite (review the diff before committing).
func golden(t *testing.T, name, got string) {
	t.Helper()
	path := filepath.Join("testdata", name)
	if testflag.Rewrite() {
		require.NoError(t, os.MkdirAll(filepath.Dir(path), 0o755))
		require.NoError(t, os.WriteFile(path, []byte(got), 0o644))
		return
	}
	want, err := os.ReadFile(path)
	require.NoError(t, err, "no golden file: run the test with -rewrite to write it")
	require.Equal(t, string(want), got, "%s differs: if the change is meant, rerun with -rewrite and review the diff", path)
}

// goldenName turns a test case's name into a file name.
func goldenName(name string) string {
	return strings.Map(func(r rune) rune {
		if r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9' {
			return r
		}
		return '-'
	}, name) + ".txt"
}

// formatViolations renders violations for golden files: each one's name
// and place, its explanation and the operations it names.
func formatViolations(vs []*Violation) string {
	var b strings.Builder
	for _, v := range vs {
		fmt.Fprintf(&b, "%s on partition %q, producer %d:\n  %s\n", v.Name, v.Partition, v.PID, v.Explanation)
		for _, o := range v.Ops {
			fmt.Fprintf(&b, "  %s\n", o)
		}
	}
	return b.String()
}

// hb builds hand-written histories: each method records one event one
// time unit after the previous one.
type hb struct {
	t      int64
	events []history.Event
}

func (b *hb) add(e history.Event) *hb {
	b.t++
	e.Time = b.t
	b.events = append(b.events, e)
	return b
}

// req is a Replicate for [hb.call]: the op id, who sends it and the
// batch's sequence range. The zero part is "p0" and the zero pid is
// producer 1, the producer most tests need.
type req struct {
	op          int64
	part        string
	pid         int64
	epoch       int16
	first, last int32
}

// call records the Replicate r (its client is its op id).
func (b *hb) call(r req) *hb {
	if r.part == "" {
		r.part = "p0"
	}
	if r.pid == 0 {
		r.pid = 1
	}
	return b.add(history.Event{Kind: history.Replicate, Op: r.op, Client: r.op, Partition: r.part,
		PID: r.pid, Epoch: r.epoch, First: r.first, Last: r.last})
}

func (b *hb) ok(op, off int64) *hb {
	return b.add(history.Event{Kind: history.Return, Op: op, Result: history.OK, Offset: off})
}

func (b *hb) fail(op int64, code history.ErrorCode) *hb {
	return b.add(history.Event{Kind: history.Return, Op: op, Result: history.Failed, Error: code})
}

func (b *hb) unknown(op int64) *hb {
	return b.add(history.Event{Kind: history.Return, Op: op, Result: history.Unknown})
}

func (b *hb) step(k history.Kind, op int64) *hb {
	e := history.Event{Kind: k, Op: op}
	if k == history.StageWriteDone || k == history.UploadDone || k == history.FenceEpoch {
		e.Result = history.OK
	}
	return b.add(e)
}

func (b *hb) decide(op int64, d history.Decision, off int64) *hb {
	return b.add(history.Event{Kind: history.Decide, Op: op, Decision: d, Offset: off})
}

func (b *hb) evict(part string, pid int64) *hb {
	return b.add(history.Event{Kind: history.EvictProducer, Partition: part, PID: pid})
}

func (b *hb) h() history.History {
	return history.History{Header: history.Header{Format: history.FormatV1}, Events: b.events}
}

// seedBad is the bug of PR #30429 as the pre-fix write path records it:
// producer 1 is unknown to partition p0; op 1 [0,0] is called before op 2
// [1,1], but op 2's stage_write resolves first, so it reserves its ticket
// first, is accepted through the unknown-producer path at offset 0, and
// op 1 and its retries (ops 3 and 4) get OUT_OF_ORDER_SEQUENCE_NUMBER.
func seedBad() *hb {
	b := &hb{}
	b.call(req{op: 1, first: 0, last: 0}).step(history.StageWriteStart, 1)
	b.call(req{op: 2, first: 1, last: 1}).step(history.StageWriteStart, 2)
	b.step(history.StageWriteDone, 2).step(history.ReserveTicket, 2)
	b.step(history.StageWriteDone, 1).step(history.ReserveTicket, 1)
	b.step(history.UploadDone, 2).step(history.RedeemTicket, 2).step(history.FenceEpoch, 2)
	b.decide(2, history.AppendUnknown, 0).step(history.ReleaseTicket, 2).ok(2, 0)
	b.step(history.UploadDone, 1).step(history.RedeemTicket, 1).step(history.FenceEpoch, 1)
	b.decide(1, history.OutOfOrder, 0).step(history.ReleaseTicket, 1)
	b.fail(1, history.OutOfOrderSequenceNumber)
	for op := int64(3); op <= 4; op++ {
		b.call(req{op: op, first: 0, last: 0}).fail(op, history.OutOfOrderSequenceNumber)
	}
	return b
}

// seedFixed is the same calls through the fixed write path: tickets are
// reserved in call order, op 1 is decided first and both succeed.
func seedFixed() *hb {
	b := &hb{}
	b.call(req{op: 1, first: 0, last: 0}).step(history.ReserveTicket, 1).step(history.StageWriteStart, 1)
	b.call(req{op: 2, first: 1, last: 1}).step(history.ReserveTicket, 2).step(history.StageWriteStart, 2)
	b.step(history.StageWriteDone, 2).step(history.StageWriteDone, 1)
	b.step(history.UploadDone, 2).step(history.UploadDone, 1)
	b.step(history.RedeemTicket, 1).step(history.FenceEpoch, 1).decide(1, history.Append, 0)
	b.step(history.ReleaseTicket, 1).step(history.RedeemTicket, 2).step(history.FenceEpoch, 2)
	b.decide(2, history.Append, 1).step(history.ReleaseTicket, 2)
	b.ok(1, 0).ok(2, 1)
	return b
}
