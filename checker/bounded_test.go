package checker

import (
	"fmt"
	"math"
	"math/rand"
	"path/filepath"
	"sort"
	"strings"
	"testing"

	"github.com/idemcheck/idemcheck/history"
	"github.com/idemcheck/idemcheck/internal/gen"
	"github.com/idemcheck/idemcheck/internal/testflag"
	"github.com/stretchr/testify/require"
)

// longHistory is a generated history whose producers have parts long
// enough for the bounded check to drop records (several chunks each).
func longHistory(t *testing.T, seed int64, bug gen.Bug) history.History {
	t.Helper()
	h, err := gen.History(gen.Options{Seed: seed, Partitions: 2, Producers: 3, Batches: 1200,
		UnknownRate: 0.03, Retries: 1, EpochBumps: 2, Inject: bug})
	require.NoError(t, err)
	return h
}

// checkBounded runs the bounded check on h and returns its result and
// how many records it dropped.
func checkBounded(h history.History) (Result, int) {
	st := newStreamer(Options{})
	for i := range h.Events {
		st.add(&h.Events[i])
	}
	dropped := 0
	for _, p := range st.order {
		dropped += p.base
	}
	return st.finish(Options{}), dropped
}

// diffBounded compares the bounded check's result with the full one
// (Options.KeepAll): the same verdicts for the history and every part,
// and the same violations (name, partition, producer); a producer's own
// violation has the same explanation too. Only a clash of two producers
// may name fewer operations, when the bounded check dropped the earlier
// one.
func diffBounded(got, want Result) string {
	if got.Verdict != want.Verdict {
		return fmt.Sprintf("verdict %s, want %s (%v / %v)", got.Verdict, want.Verdict, got.Violations, want.Violations)
	}
	if len(got.Parts) != len(want.Parts) {
		return fmt.Sprintf("%d parts, want %d", len(got.Parts), len(want.Parts))
	}
	for i, g := range got.Parts {
		w := want.Parts[i]
		if g.Partition != w.Partition || g.PID != w.PID || g.Ops != w.Ops || g.Verdict != w.Verdict {
			return fmt.Sprintf("part %d: %s/%d %d ops %s, want %s/%d %d ops %s", i, g.Partition, g.PID, g.Ops, g.Verdict, w.Partition, w.PID, w.Ops, w.Verdict)
		}
	}
	if len(got.Violations) != len(want.Violations) {
		return fmt.Sprintf("violations %v, want %v", got.Violations, want.Violations)
	}
	for i, g := range got.Violations {
		w := want.Violations[i]
		if g.Name != w.Name || g.Partition != w.Partition || g.PID != w.PID {
			return fmt.Sprintf("violation %d: %s on %s/%d, want %s on %s/%d", i, g.Name, g.Partition, g.PID, w.Name, w.Partition, w.PID)
		}
		if g.Name != AckedInLog && g.Explanation != w.Explanation {
			return fmt.Sprintf("violation %d explained\n  %s\nwant\n  %s", i, g.Explanation, w.Explanation)
		}
	}
	return ""
}

// TestBoundedSameVerdicts: the bounded check (the default), which
// drops decided records and finds clashes as acks arrive, gives the full
// check's verdicts and violations on long generated histories, valid and
// with each injectable bug, and on the traces/ corpus. The test also
// asserts that records were dropped, so it does compare the two.
func TestBoundedSameVerdicts(t *testing.T) {
	testflag.Run(t, 12, func(t *testing.T, seed int64) {
		for _, bug := range append([]gen.Bug{""}, gen.Bugs()...) {
			h := longHistory(t, seed, bug)
			want := Check(h, Options{KeepAll: true})
			got, dropped := checkBounded(h)
			require.Empty(t, diffBounded(got, want), "bug %q", bug)
			require.NotZero(t, dropped, "bug %q: the bounded check dropped no record, so it was not tested", bug)
		}
	})
	for _, f := range corpusFiles(t) {
		h, err := history.ReadFile(f)
		if err != nil {
			continue // the corpus's broken inputs
		}
		if d := diffBounded(Check(h, Options{}), Check(h, Options{KeepAll: true})); d != "" {
			t.Errorf("%s: %s", f, d)
		}
	}
}

// appendOp appends a call and its return after the last event of h.
func appendOp(h *history.History, partition string, pid int64, epoch int16, first, last int32, ret history.Event) {
	end := h.Events[len(h.Events)-1].Time
	var op int64
	for _, e := range h.Events {
		op = max(op, e.Op)
	}
	op++
	h.Events = append(h.Events, history.Event{Kind: history.Replicate, Time: end + 1, Op: op, Client: pid,
		Partition: partition, PID: pid, Epoch: epoch, First: first, Last: last})
	ret.Kind, ret.Time, ret.Op = history.Return, end+2, op
	h.Events = append(h.Events, ret)
}

// lastOp returns the last acked operation of (partition, pid) in h.
func lastOp(h history.History, partition string, pid int64) Operation {
	var last Operation
	for _, o := range Operations(h) {
		if o.Partition == partition && o.PID == pid && o.Result == history.OK && o.Offset >= last.Offset {
			last = o
		}
	}
	return last
}

// TestBoundedLateFailure: a producer that fails after thousands of
// operations, long after its first records were dropped, is explained
// from the records kept and the replay's states before them, with the
// full check's explanation and operations.
func TestBoundedLateFailure(t *testing.T) {
	h := longHistory(t, 7, "")
	last := lastOp(h, "p0", 1)
	// The next batch, acked below the producer's last offset.
	n := last.Last - last.First
	appendOp(&h, "p0", 1, last.Epoch, last.Last+1, last.Last+1+n,
		history.Event{Result: history.OK, Offset: last.Offset - 1})
	want := Check(h, Options{KeepAll: true})
	require.Equal(t, Illegal, want.Verdict)
	got, dropped := checkBounded(h)
	require.NotZero(t, dropped)
	require.Empty(t, diffBounded(got, want))
	require.Equal(t, want.Violations[0].Ops, got.Violations[0].Ops, "the operations involved are among the records kept")
	t.Logf("%s: %s", got.Violations[0].Name, got.Violations[0].Explanation)
}

// TestBoundedLateClash: a producer whose call came first and whose ack
// comes thousands of operations later, at the offset of a batch acked
// long before, is a clash (AckedInLog) for the bounded check too; it no
// longer holds the earlier operation, and says so instead of naming it.
func TestBoundedLateClash(t *testing.T) {
	h := longHistory(t, 3, "")
	var early Operation
	for _, o := range Operations(h) {
		if o.Partition == "p1" && o.Result == history.OK {
			early = o
			break
		}
	}
	early.Op++
	for i := range h.Events {
		if h.Events[i].Op != 0 {
			h.Events[i].Op++
		}
	}
	end := h.Events[len(h.Events)-1].Time
	h.Events = append([]history.Event{{Kind: history.Replicate, Time: h.Events[0].Time, Op: 1, Client: 99,
		Partition: "p1", PID: 99}}, h.Events...)
	h.Events = append(h.Events, history.Event{Kind: history.Return, Time: end + 1, Op: 1, Result: history.OK, Offset: early.Offset})
	want := Check(h, Options{KeepAll: true})
	require.Equal(t, Illegal, want.Verdict)
	require.Len(t, want.Violations, 1)
	require.Len(t, want.Violations[0].Ops, 2)
	got, _ := checkBounded(h)
	require.Empty(t, diffBounded(got, want))
	v := got.Violations[0]
	require.Len(t, v.Ops, 1, "only the later operation is still held")
	require.Equal(t, int64(99), v.Ops[0].PID)
	require.Contains(t, v.Explanation, "no longer holds that earlier operation")
	t.Log(v.Explanation)

	// Read again, the failing history keeps the earlier operation at
	// that offset, so the witness has both.
	var buf strings.Builder
	require.NoError(t, history.EncodeJSONL(&buf, h))
	rd, err := history.NewReader(strings.NewReader(buf.String()), "h.jsonl")
	require.NoError(t, err)
	f, err := FailingHistory(rd, got)
	require.NoError(t, err)
	w := Shrink(f, Options{})
	wr := Check(w, Options{})
	require.Equal(t, Illegal, wr.Verdict)
	require.Equal(t, AckedInLog, wr.Violations[0].Name)
	require.Len(t, Operations(w), 2, FormatWitness(w))
	require.ElementsMatch(t, []int64{early.Op, v.Ops[0].Op}, []int64{Operations(w)[0].Op, Operations(w)[1].Op})
}

// TestLogCheck: the partition-level check on small cases, in full and
// bounded mode: acked record ranges of different producers never
// overlap (a producer's own duplicate answer is no breach), and a batch
// called after another producer's ack returned sits above that batch's
// records unless a retry's original was called earlier. The breach
// reported is the partition's first, named with both batches and
// explained as in testdata/logcheck.
func TestLogCheck(t *testing.T) {
	// op: pid, sequence range, call and return times, acked offset.
	type op struct {
		pid         int64
		first, last int32
		call, ret   int64
		off         int64
	}
	for _, tc := range []struct {
		name string
		ops  []op
		want string // "" for none, else "pidA/opA pidB/opB"
	}{
		{"disjoint ranges", []op{{1, 0, 4, 1, 2, 0}, {2, 0, 0, 3, 4, 5}, {1, 5, 9, 5, 6, 6}}, ""},
		{"own duplicate", []op{{1, 0, 4, 1, 2, 0}, {1, 0, 4, 3, 4, 0}}, ""},
		{"range overlap", []op{{1, 0, 4, 1, 2, 0}, {2, 0, 0, 1, 3, 2}}, "1/1 2/2"},
		{"huge batch", []op{{1, 0, math.MaxInt32, 1, 2, 0}, {2, 0, 0, 1, 3, 1}}, "1/1 2/2"},
		{"acked before called, below", []op{{1, 0, 0, 0, 1, 5}, {2, 0, 0, 2, 3, 1}}, "1/1 2/2"},
		{"concurrent, below", []op{{1, 0, 0, 0, 2, 5}, {2, 0, 0, 1, 3, 1}}, ""},
		{"same time is concurrent", []op{{1, 0, 0, 0, 2, 5}, {2, 0, 0, 2, 3, 1}}, ""},
		{"retry of an earlier call", []op{{2, 0, 0, 0, 9, 1}, {1, 0, 0, 1, 2, 5}, {2, 0, 0, 3, 4, 1}}, ""},
		{"first breach wins", []op{{1, 0, 0, 1, 2, 7}, {2, 0, 0, 1, 3, 7}, {3, 0, 0, 1, 4, 3}, {4, 0, 0, 1, 5, 3}}, "1/1 2/2"},
	} {
		for _, bounded := range []bool{false, true} {
			t.Run(fmt.Sprintf("%s/bounded=%v", tc.name, bounded), func(t *testing.T) {
				h := history.History{Header: history.Header{Format: history.FormatV1}}
				type ev struct {
					t int64
					e history.Event
				}
				var evs []ev
				for i, o := range tc.ops {
					id := int64(i + 1)
					evs = append(evs, ev{o.call, history.Event{Kind: history.Replicate, Op: id, Partition: "p", PID: o.pid, First: o.first, Last: o.last}},
						ev{o.ret, history.Event{Kind: history.Return, Op: id, Result: history.OK, Offset: o.off}})
				}
				sort.SliceStable(evs, func(i, j int) bool { return evs[i].t < evs[j].t })
				for _, e := range evs {
					e.e.Time = e.t
					h.Events = append(h.Events, e.e)
				}
				res := Check(h, Options{KeepAll: !bounded})
				require.NoError(t, res.Err)
				var got []string
				var breaches []*Violation
				for _, v := range res.Violations {
					if v.Name != AckedInLog {
						continue
					}
					var names []string
					for _, o := range v.Ops {
						names = append(names, fmt.Sprintf("%d/%d", o.PID, o.Op))
					}
					got = append(got, strings.Join(names, " "))
					breaches = append(breaches, v)
				}
				if tc.want == "" {
					require.Empty(t, got, "%v", res.Violations)
					return
				}
				require.Equal(t, []string{tc.want}, got)
				// Both modes explain the breach alike.
				golden(t, filepath.Join("logcheck", goldenName(tc.name)), formatViolations(breaches))
			})
		}
	}
}

// TestBoundedEvictionAfterPrune: an eviction recorded after the bounded
// check dropped a producer's records may have come before decisions it
// had replayed assuming none (an operation with an unknown outcome
// returns before its decision is known). The check drops only records a
// known outcome has settled, and keeps a chunk behind the replay, so
// the part is judged again with the eviction as the full check judges
// it. Here the history is Ok only if the eviction came before the
// decision of the last operation with an unknown outcome, which then
// went through the unknown-producer path, so that the next call's
// OUT_OF_ORDER_SEQUENCE_NUMBER is right.
func TestBoundedEvictionAfterPrune(t *testing.T) {
	h := history.History{Header: history.Header{Format: history.FormatV1}}
	now := int64(0)
	op := int64(0)
	call := func(first int32, ret history.Event) {
		op++
		now++
		h.Events = append(h.Events, history.Event{Kind: history.Replicate, Time: now, Op: op, Partition: "p0", PID: 1, First: first, Last: first})
		now++
		ret.Kind, ret.Time, ret.Op = history.Return, now, op
		h.Events = append(h.Events, ret)
	}
	// 767 batches acked in order, then a batch with a gap whose outcome
	// is unknown: it completes the third chunk of records.
	for i := range 3*recChunk - 1 {
		call(int32(i), history.Event{Result: history.OK, Offset: int64(i)})
	}
	call(900, history.Event{Result: history.Unknown})
	now++
	h.Events = append(h.Events, history.Event{Kind: history.EvictProducer, Time: now, Partition: "p0", PID: 1})
	call(905, history.Event{Result: history.Failed, Error: history.OutOfOrderSequenceNumber})

	want := Check(h, Options{KeepAll: true})
	require.Equal(t, Ok, want.Verdict, "%v", want.Violations)
	got, dropped := checkBounded(h)
	require.NotZero(t, dropped)
	require.Empty(t, diffBounded(got, want))
}

// TestBoundedFailedProducerKeepsLittle: a producer that fails early and
// goes on for many operations is explained as the full check explains it,
// while the bounded check keeps only the records the explanation reads
// (a failure without eviction is final); the later calls are counted,
// and their acks still take part in the clash check.
func TestBoundedFailedProducerKeepsLittle(t *testing.T) {
	h := history.History{Header: history.Header{Format: history.FormatV1}}
	now, op := int64(0), int64(0)
	call := func(pid int64, first int32, off int64) {
		op++
		now++
		h.Events = append(h.Events, history.Event{Kind: history.Replicate, Time: now, Op: op, Partition: "p0", PID: pid, First: first, Last: first})
		now++
		h.Events = append(h.Events, history.Event{Kind: history.Return, Time: now, Op: op, Result: history.OK, Offset: off})
	}
	const n = 3 * keepAfterFailure
	call(1, 0, 10)
	call(1, 1, 5) // offsets must increase: producer 1 fails here
	for i := 2; i < n; i++ {
		call(1, int32(i), int64(10+i))
	}
	call(2, 0, int64(10+n-1)) // the offset of producer 1's last batch
	want := Check(h, Options{KeepAll: true})
	require.Equal(t, Illegal, want.Verdict)
	require.Len(t, want.Violations, 2, "%v", want.Violations)

	st := newStreamer(Options{})
	for i := range h.Events {
		st.add(&h.Events[i])
	}
	p1 := st.parts[partKey{"p0", 1}]
	require.Equal(t, failedFinal, p1.state)
	require.Equal(t, 1+1+keepAfterFailure, p1.recs.n, "records kept after the failure")
	require.Equal(t, n, p1.opCount())
	got := st.finish(Options{})
	require.Empty(t, diffBounded(got, want))
	require.Empty(t, st.unkept, "no unkept call left open")
}

// TestRangeSet: the set of acked record ranges answers overlap queries
// as a plain set of offsets does, for ranges that run on, fall back,
// jump far ahead and merge.
func TestRangeSet(t *testing.T) {
	testflag.Run(t, 1, func(t *testing.T, seed int64) {
		r := rand.New(rand.NewSource(seed))
		for round := 0; round < 50; round++ {
			var s rangeSet
			ref := map[int64]bool{}
			next := r.Int63n(1000)
			for i := 0; i < 2000; i++ {
				var lo int64
				switch k := r.Intn(100); {
				case k < 70: // the log runs on, with gaps
					next += r.Int63n(4)
					lo = next
				case k < 90: // a duplicate's answer or a clash nearby
					lo = max(0, next-r.Int63n(50))
				default: // far ahead
					lo = next + r.Int63n(1000)
				}
				hi := lo + 1 + r.Int63n(8)
				want := false
				for o := lo; o < hi; o++ {
					want = want || ref[o]
				}
				if got := s.overlaps(lo, hi); got != want {
					t.Fatalf("round %d, overlaps(%d,%d) = %v, want %v", round, lo, hi, got, want)
				}
				s.add(lo, hi)
				for o := lo; o < hi; o++ {
					ref[o] = true
				}
				next = max(next, hi)
			}
			for k := 1; k < len(s.r); k++ {
				if s.r[k-1].hi >= s.r[k].lo {
					t.Fatalf("seed %d: ranges %v and %v not merged", seed, s.r[k-1], s.r[k])
				}
			}
		}
	})
}
