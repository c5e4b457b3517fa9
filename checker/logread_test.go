package checker

import (
	"bytes"
	"fmt"
	"os"
	"path/filepath"
	"testing"

	"github.com/idemcheck/idemcheck/history"
	"github.com/stretchr/testify/require"
)

// readHist builds a history of one partition "p0": calls and their
// returns, then LogBatch observations.
type readHist struct {
	h   history.History
	now int64
	op  int64
}

func (b *readHist) tick() int64 { b.now++; return b.now }

// call adds a Replicate and its Return: ok at off when off >= 0, else
// failed with OUT_OF_ORDER_SEQUENCE_NUMBER when off == -1, else unknown.
func (b *readHist) call(pid int64, epoch int16, first, last int32, off int64) {
	b.op++
	b.h.Events = append(b.h.Events, history.Event{Kind: history.Replicate, Time: b.tick(), Op: b.op, Client: pid,
		Partition: "p0", PID: pid, Epoch: epoch, First: first, Last: last})
	ret := history.Event{Kind: history.Return, Time: b.tick(), Op: b.op}
	switch {
	case off >= 0:
		ret.Result, ret.Offset = history.OK, off
	case off == -1:
		ret.Result, ret.Error = history.Failed, history.OutOfOrderSequenceNumber
	default:
		ret.Result = history.Unknown
	}
	b.h.Events = append(b.h.Events, ret)
}

func (b *readHist) log(off, pid int64, epoch int16, first, last int32) {
	b.h.Events = append(b.h.Events, history.Event{Kind: history.LogBatch, Time: b.tick(), Partition: "p0",
		Offset: off, PID: pid, Epoch: epoch, First: first, Last: last})
}

// readViolations returns the read-side violations of the result.
func readViolations(res Result) []*Violation {
	var out []*Violation
	for _, v := range res.Violations {
		switch v.Name {
		case LostWrite, DuplicateInLog, LogInSequence, LogOffsetsDisjoint:
			out = append(out, v)
		}
	}
	return out
}

func TestReadCheck(t *testing.T) {
	for _, tc := range []struct {
		name  string
		build func(b *readHist)
		// want is the violation name ("" for none) and words its
		// explanation must hold.
		want   string
		words  []string
		counts ReadCount
	}{
		{name: "ok", build: func(b *readHist) {
			b.call(1, 0, 0, 1, 0)
			b.call(1, 0, 2, 2, 2)
			b.log(0, 1, 0, 0, 1)
			b.log(2, 1, 0, 2, 2)
			b.log(2, 1, 0, 2, 2) // read twice: one batch
		}, counts: ReadCount{Acked: 2, InLog: 2}},
		{name: "ok/unread acked batch is not judged", build: func(b *readHist) {
			b.call(1, 0, 0, 0, 0)
			b.call(1, 0, 1, 1, 1)
			b.log(1, 1, 0, 1, 1)
		}, counts: ReadCount{Acked: 2, InLog: 1, Unread: 1}},
		{name: "lost write", build: func(b *readHist) {
			b.call(1, 0, 0, 0, 0)
			b.call(1, 0, 1, 1, 1)
			b.call(1, 0, 2, 2, 2)
			b.log(0, 1, 0, 0, 0)
			b.log(2, 1, 0, 2, 2)
		}, want: "LostWrite", words: []string{"op 2", "acked at offset 1", "nothing at offset 1"},
			counts: ReadCount{Acked: 3, InLog: 2, Lost: 1}},
		{name: "lost write/overwritten", build: func(b *readHist) {
			b.call(1, 0, 0, 0, 0)
			b.call(2, 0, 0, 0, 1)
			b.log(0, 1, 0, 0, 0)
			b.log(1, 3, 0, 0, 0)
		}, want: "LostWrite", words: []string{"op 2", "another batch", "pid=3"}},
		{name: "duplicate", build: func(b *readHist) {
			b.call(1, 0, 0, 0, 0)
			b.call(1, 0, 1, 1, -2)
			b.call(1, 0, 1, 1, 2) // a retry appended again
			b.log(0, 1, 0, 0, 0)
			b.log(1, 1, 0, 1, 1)
			b.log(2, 1, 0, 1, 1)
		}, want: "DuplicateInLog", words: []string{"in the log twice", "offset 1", "offset 2", "op 2", "op 3"},
			counts: ReadCount{Acked: 2, InLog: 3, Duplicated: 1}},
		{name: "hole", build: func(b *readHist) {
			b.call(1, 0, 0, 0, 0)
			b.call(1, 0, 1, 1, -1) // rejected as out of order
			b.call(1, 0, 2, 2, 1)
			b.log(0, 1, 0, 0, 0)
			b.log(1, 1, 0, 2, 2)
		}, want: "LogInSequence", words: []string{"hole", "sequences [1,1]", "op 3", "op 2", "OUT_OF_ORDER_SEQUENCE_NUMBER"},
			counts: ReadCount{Acked: 2, InLog: 2}},
		{name: "gap before an unacked batch is no violation", build: func(b *readHist) {
			b.call(1, 0, 0, 0, 0)
			b.call(1, 0, 1, 1, -1)
			b.call(1, 0, 2, 2, -2)
			b.log(0, 1, 0, 0, 0)
			b.log(1, 1, 0, 2, 2)
		}, counts: ReadCount{Acked: 1, InLog: 2}},
		{name: "reorder", build: func(b *readHist) {
			b.call(1, 0, 0, 0, -2)
			b.call(1, 0, 1, 1, -2)
			b.log(0, 1, 0, 1, 1)
			b.log(1, 1, 0, 0, 0)
		}, want: "LogInSequence", words: []string{"out of sequence order", "offset 1", "offset 0"}},
		{name: "epoch goes back", build: func(b *readHist) {
			b.call(1, 1, 0, 0, -2)
			b.call(1, 0, 5, 5, -2)
			b.log(0, 1, 1, 0, 0)
			b.log(1, 1, 0, 5, 5)
		}, want: "LogInSequence", words: []string{"epoch goes back"}},
		{name: "overlapping offsets", build: func(b *readHist) {
			b.call(1, 0, 0, 2, -2)
			b.call(2, 0, 0, 0, -2)
			b.log(0, 1, 0, 0, 2)
			b.log(2, 2, 0, 0, 0)
		}, want: "LogOffsetsDisjoint", words: []string{"two batches over one offset", "offsets 0..2"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			b := &readHist{h: history.History{Header: history.Header{Format: history.FormatV1}}}
			tc.build(b)
			for _, mode := range []struct {
				name string
				opts Options
			}{{"bounded", Options{}}, {"keepall", Options{KeepAll: true}}, {"search", Options{NoCallOrder: true}}} {
				res := Check(b.h, mode.opts)
				require.NoError(t, res.Err)
				vs := readViolations(res)
				if tc.want == "" {
					require.Empty(t, vs, "%s: %v", mode.name, vs)
				} else {
					require.NotEmpty(t, vs, mode.name)
					require.Equal(t, tc.want, vs[0].Name, "%s: %v", mode.name, vs)
					require.Equal(t, Illegal, res.Verdict)
					for _, w := range tc.words {
						require.Contains(t, vs[0].Error(), w, mode.name)
					}
				}
				require.NotEmpty(t, res.Reads)
				if tc.counts != (ReadCount{}) {
					c := tc.counts
					c.Partition, c.PID = "p0", 1
					require.Equal(t, c, res.Reads[0], mode.name)
				}
			}
			var buf bytes.Buffer
			require.NoError(t, history.EncodeJSONL(&buf, b.h))
			rd, err := history.NewReader(&buf, "h.jsonl")
			require.NoError(t, err)
			rr := CheckReader(rd, Options{})
			want := Check(b.h, Options{})
			require.Equal(t, want.Reads, rr.Reads)
			require.Equal(t, want.Verdict, rr.Verdict)
		})
	}
}

// TestReadCheckNoObservations: a history without LogBatch events has no
// read counts.
func TestReadCheckNoObservations(t *testing.T) {
	b := &readHist{h: history.History{Header: history.Header{Format: history.FormatV1}}}
	b.call(1, 0, 0, 0, 0)
	res := Check(b.h, Options{})
	require.Equal(t, Ok, res.Verdict)
	require.Empty(t, res.Reads)
}

// TestReadCheckShrink: the witness of a lost write keeps the
// observations and the acked batch, not the other producer's calls.
func TestReadCheckShrink(t *testing.T) {
	b := &readHist{h: history.History{Header: history.Header{Format: history.FormatV1}}}
	b.call(1, 0, 0, 0, 0)
	for i := int32(0); i < 5; i++ {
		b.call(2, 0, i, i, -2)
	}
	b.call(1, 0, 1, 1, 1)
	b.call(1, 0, 2, 2, 2)
	b.log(0, 1, 0, 0, 0)
	b.log(2, 1, 0, 2, 2)
	res := Check(b.h, Options{})
	require.Equal(t, "LostWrite", res.Violations[0].Name, "%v", res.Violations)
	w := Shrink(b.h, Options{})
	require.Equal(t, "LostWrite", Check(w, Options{}).Violations[0].Name)
	kinds := map[history.Kind]int{}
	for _, e := range w.Events {
		kinds[e.Kind]++
		if e.Kind == history.Replicate {
			require.Equal(t, int64(1), e.PID, "the other producer is not needed")
		}
	}
	require.Equal(t, 2, kinds[history.LogBatch])
	require.LessOrEqual(t, kinds[history.Replicate], 2)
}

// TestReadCheckHoleAtStart: read from offset 0, the epoch's first batch
// in the log is [1,1], acked, while the history sent [0,0], which was
// rejected: a hole before the first batch, naming both.
func TestReadCheckHoleAtStart(t *testing.T) {
	b := &readHist{h: history.History{Header: history.Header{Format: history.FormatV1}}}
	b.call(1, 0, 0, 0, -1)
	b.call(1, 0, 1, 1, 0)
	b.log(0, 1, 0, 1, 1)
	res := Check(b.h, Options{})
	vs := readViolations(res)
	require.Len(t, vs, 1, "%v", vs)
	require.Equal(t, LogInSequence, vs[0].Name)
	require.Contains(t, vs[0].Explanation, "sequences [0,0]")
	require.Contains(t, vs[0].Explanation, "op 1 (seq [0,0], OUT_OF_ORDER_SEQUENCE_NUMBER)")
	require.Len(t, vs[0].Ops, 2)

	// Read from offset 5 on, the start is not known: no hole.
	b = &readHist{h: history.History{Header: history.Header{Format: history.FormatV1}}}
	b.call(1, 0, 0, 0, -1)
	b.call(1, 0, 1, 1, 5)
	b.log(5, 1, 0, 1, 1)
	require.Empty(t, readViolations(Check(b.h, Options{})))
}

// TestReadCheckBigPartition: a partition with more operations than the
// old bounded read check kept (65536) and with LogBatch events is judged,
// with the same verdict, violations and counts in the bounded mode and
// with KeepAll, through Check and CheckReader.
func TestReadCheckBigPartition(t *testing.T) {
	// Past the bounded mode's budget of residentChunks chunks (65536
	// operations), so that its read check spills; the lost write is
	// producer 1's, near the end.
	const n, producers = 115000, 10
	require.Greater(t, n, (residentChunks+2)*opChunk)
	b := &readHist{h: history.History{Header: history.Header{Format: history.FormatV1}}}
	for i := range n {
		pid := int64(i%producers + 1)
		seq := int32(i / producers)
		b.call(pid, 0, seq, seq, int64(i))
	}
	lost := int64(n - 100) // in the last chunk; the first ones spilled
	for i := range int64(n) {
		if i != lost {
			pid := i%producers + 1
			seq := int32(i / producers)
			b.log(i, pid, 0, seq, seq)
		}
	}
	var buf bytes.Buffer
	require.NoError(t, history.EncodeJSONL(&buf, b.h))
	var results []Result
	for _, opts := range []Options{{}, {KeepAll: true}} {
		results = append(results, Check(b.h, opts))
		rd, err := history.NewReader(bytes.NewReader(buf.Bytes()), "h.jsonl")
		require.NoError(t, err)
		results = append(results, CheckReader(rd, opts))
	}
	want := results[0]
	require.NoError(t, want.Err)
	require.Equal(t, Illegal, want.Verdict)
	vs := readViolations(want)
	require.Len(t, vs, 2, "%v", vs)
	require.Equal(t, LostWrite, vs[0].Name)
	require.Equal(t, LogInSequence, vs[1].Name)
	require.Contains(t, vs[0].Explanation, fmt.Sprintf("acked at offset %d", lost))
	require.Len(t, want.Reads, producers)
	require.Equal(t, ReadCount{Partition: "p0", PID: 1, Acked: n / producers, InLog: n/producers - 1, Lost: 1}, want.Reads[0])
	for i, r := range results[1:] {
		require.NoError(t, r.Err)
		require.Equal(t, want.Verdict, r.Verdict, "result %d", i+1)
		require.Equal(t, want.Violations, r.Violations, "result %d", i+1)
		require.Equal(t, want.Reads, r.Reads, "result %d", i+1)
	}
}

func TestReadCheckSpill(t *testing.T) {
	// The spilling read check judges like the one that keeps every
	// record in memory, also when Returns come long after their calls
	// (their records are updated in the spill file), and leaves no file
	// behind.
	const n, producers = 6 * opChunk, 3
	b := &readHist{h: history.History{Header: history.Header{Format: history.FormatV1}}}
	for i := range n {
		pid := int64(i%producers + 1)
		seq := int32(i / producers)
		b.h.Events = append(b.h.Events, history.Event{Kind: history.Replicate, Time: b.tick(), Op: int64(i + 1),
			Client: pid, Partition: "p0", PID: pid, First: seq, Last: seq})
	}
	for i := range n {
		ret := history.Event{Kind: history.Return, Time: b.tick(), Op: int64(i + 1), Result: history.OK, Offset: int64(i)}
		if i == 7 { // an early call, spilled before it returns
			ret.Result, ret.Offset, ret.Error = history.Failed, 0, history.OutOfOrderSequenceNumber
		}
		b.h.Events = append(b.h.Events, ret)
	}
	for i := range int64(n) {
		if i != 5 && i != 7 { // 5: a lost write early in the history
			b.log(i, i%producers+1, 0, int32(i/producers), int32(i/producers))
		}
	}
	dir := t.TempDir()
	mem, sp := newReadCheck(false, ""), newReadCheck(true, dir)
	sp.sp.budget = 1
	for i := range b.h.Events {
		mem.add(&b.h.Events[i])
		sp.add(&b.h.Events[i])
	}
	require.Positive(t, sp.sp.size, "nothing was spilled")
	want, got := mem.finish(), sp.finish()
	require.NoError(t, got.err)
	require.NotEmpty(t, want.viols)
	require.Equal(t, want, got)
	left, err := os.ReadDir(dir)
	require.NoError(t, err)
	require.Empty(t, left, "spill file left behind")
}

func TestReadCheckSpillError(t *testing.T) {
	// A spill file that cannot be made is an error of the check, with
	// the verdict Unknown, never a verdict on part of the records.
	b := &readHist{h: history.History{Header: history.Header{Format: history.FormatV1}}}
	for i := range (residentChunks + 2) * opChunk {
		b.call(1, 0, int32(i), int32(i), int64(i))
	}
	b.log(0, 1, 0, 0, 0)
	var buf bytes.Buffer
	require.NoError(t, history.EncodeJSONL(&buf, b.h))
	rd, err := history.NewReader(bytes.NewReader(buf.Bytes()), "h.jsonl")
	require.NoError(t, err)
	res := CheckReader(rd, Options{TempDir: filepath.Join(t.TempDir(), "missing")})
	require.Equal(t, Unknown, res.Verdict)
	require.ErrorContains(t, res.Err, "read check spill file")
}

func TestReadCheckSpillErrorStopsKeeping(t *testing.T) {
	// Once the spill file has failed, the read check keeps no more
	// records: the check ends with the error anyway, and its memory must
	// not grow with the rest of the input.
	rc := newReadCheck(true, filepath.Join(t.TempDir(), "missing"))
	defer rc.close()
	rc.sp.budget = 1
	b := &readHist{}
	for i := range 3 * opChunk {
		b.call(1, 0, int32(i), int32(i), int64(i))
	}
	b.log(0, 1, 0, 0, 0) // an observation: the error matters
	for i := range b.h.Events {
		rc.add(&b.h.Events[i])
	}
	require.Error(t, rc.sp.err)
	require.Nil(t, rc.parts)
	require.Nil(t, rc.open)
	out := rc.finish()
	require.ErrorContains(t, out.err, "read check spill file")
}

func TestReadCheckSpillErrorWithoutObservations(t *testing.T) {
	// A spill file that cannot be made does not matter to a history
	// without LogBatch events: nothing is read-checked, so its verdict is
	// the write check's, as with a writable temporary directory.
	b := &readHist{h: history.History{Header: history.Header{Format: history.FormatV1}}}
	for i := range (residentChunks + 2) * opChunk {
		b.call(1, 0, int32(i), int32(i), int64(i))
	}
	var buf bytes.Buffer
	require.NoError(t, history.EncodeJSONL(&buf, b.h))
	rd, err := history.NewReader(bytes.NewReader(buf.Bytes()), "h.jsonl")
	require.NoError(t, err)
	res := CheckReader(rd, Options{TempDir: filepath.Join(t.TempDir(), "missing")})
	require.NoError(t, res.Err)
	require.Equal(t, Ok, res.Verdict)
}
