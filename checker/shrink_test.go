package checker

import (
	"bytes"
	"math/rand"
	"reflect"
	"strings"
	"testing"

	"github.com/idemcheck/idemcheck/history"
	"github.com/idemcheck/idemcheck/internal/testflag"
)

// paddedSeed is the seed's bad history (producer 1 on p0) hidden among
// earlier ok batches of other producers on p0 and p1 and unrelated
// traffic of other producers interleaved with it.
func paddedSeed(r *rand.Rand, others int) history.History {
	b := &hb{}
	op := int64(100)
	seqs := map[int64]int32{}
	offs := map[string]int64{"p0": 0, "p1": 0}
	background := func(n int) {
		for i := 0; i < n; i++ {
			pid := int64(2 + r.Intn(5))
			part := []string{"p0", "p1"}[r.Intn(2)]
			key := pid*10 + int64(len(part))
			if part == "p1" {
				key++
			}
			s := seqs[key]
			seqs[key] = s + 3
			op++
			b.call(req{op: op, part: part, pid: pid, first: s, last: s + 2})
			b.step(history.ReserveTicket, op).step(history.StageWriteStart, op)
			b.ok(op, offs[part])
			offs[part] += 3
		}
	}
	background(others)
	bad := seedBad()
	// Renumber the seed's ops in call order among the background ops and
	// replay its events with background traffic in between.
	ids := map[int64]int64{}
	for _, e := range bad.events {
		if e.Kind == history.Replicate {
			op++
			ids[e.Op] = op
		}
		e.Op = ids[e.Op]
		if e.Kind == history.Decide && e.Decision.Appends() {
			e.Offset = offs["p0"]
		}
		if e.Kind == history.Return && e.Result == history.OK {
			e.Offset = offs["p0"]
			offs["p0"]++
		}
		b.add(e)
		if e.Kind == history.Return && r.Intn(2) == 0 {
			background(1)
		}
	}
	background(others / 2)
	return b.h()
}

func TestShrinkSeedPadded(t *testing.T) {
	testflag.Run(t, 1, func(t *testing.T, seed int64) {
		r := rand.New(rand.NewSource(seed))
		h := paddedSeed(r, 60)
		res := Check(h, Options{})
		if res.Verdict != Illegal || res.Violations[0].Name != DecideInCallOrder {
			t.Fatalf("seed %d: padded seed: got %s %v, want Illegal DecideInCallOrder", seed, res.Verdict, res.Violations)
		}
		w := Shrink(h, Options{})
		ops := Operations(w)
		if len(ops) > 10 || len(ops) >= len(Operations(h)) {
			t.Errorf("seed %d: witness has %d operations (history %d), want <= 10", seed, len(ops), len(Operations(h)))
		}
		wr := Check(w, Options{})
		if wr.Verdict != Illegal || wr.Violations[0].Name != DecideInCallOrder {
			t.Errorf("seed %d: witness: got %s %v, want Illegal DecideInCallOrder", seed, wr.Verdict, wr.Violations)
		}
		// Every kept operation is needed: dropping any one loses the violation.
		for _, o := range ops {
			var ids []int64
			for _, p := range ops {
				if p.Op != o.Op {
					ids = append(ids, p.Op)
				}
			}
			if r := Check(subHistory(w, ids), Options{}); r.Verdict == Illegal && r.Violations[0].Name == DecideInCallOrder {
				t.Errorf("seed %d: witness not minimal: op %d can go", seed, o.Op)
			}
		}
		txt := FormatWitness(w)
		for _, want := range []string{"OUT_OF_ORDER_SEQUENCE_NUMBER", "Decide op=", "Replicate op="} {
			if !strings.Contains(txt, want) {
				t.Errorf("seed %d: witness text lacks %q:\n%s", seed, want, txt)
			}
		}
		if t.Failed() {
			t.Logf("witness:\n%s", txt)
		}
	})
}

func TestShrinkOkUnchanged(t *testing.T) {
	h := seedFixed().h()
	if w := Shrink(h, Options{}); len(w.Events) != len(h.Events) {
		t.Errorf("Shrink of an Ok history: got %d events, want %d", len(w.Events), len(h.Events))
	}
}

func TestDdmin(t *testing.T) {
	// The test holds when both 3 and 7 are present: ddmin must find {3,7}.
	var c []int64
	for i := int64(0); i < 20; i++ {
		c = append(c, i)
	}
	got := ddmin(c, func(s []int64) bool {
		n := 0
		for _, x := range s {
			if x == 3 || x == 7 {
				n++
			}
		}
		return n == 2
	})
	if len(got) != 2 || got[0] != 3 || got[1] != 7 {
		t.Errorf("ddmin: got %v, want [3 7]", got)
	}
}

// TestShrinkReader: shrinking from a second read of the file gives a
// witness with the violation the streamed check found, as small as
// Shrink's, on the padded seed history (DecideInCallOrder) and on a
// cross-producer clash (AckedInLog).
func TestShrinkReader(t *testing.T) {
	testflag.Run(t, 1, func(t *testing.T, seed int64) {
		r := rand.New(rand.NewSource(seed))
		lost := (&hb{}).call(req{op: 1, first: 0, last: 0}).ok(1, 0).call(req{op: 2, pid: 2, first: 0, last: 0}).ok(2, 0).
			call(req{op: 3, pid: 3, first: 0, last: 0}).ok(3, 1).h()
		for _, tc := range []struct {
			name string
			h    history.History
			want string
		}{
			{"padded seed", paddedSeed(r, 30), DecideInCallOrder},
			{"lost ack", lost, AckedInLog},
		} {
			var buf strings.Builder
			if err := history.EncodeJSONL(&buf, tc.h); err != nil {
				t.Fatal(err)
			}
			read := func() history.Reader {
				rd, err := history.NewReader(strings.NewReader(buf.String()), "h.jsonl")
				if err != nil {
					t.Fatal(err)
				}
				return rd
			}
			res := CheckReader(read(), Options{})
			if res.Err != nil || res.Verdict != Illegal {
				t.Fatalf("%s: seed %d: got %s, %v, want Illegal", tc.name, seed, res.Verdict, res.Err)
			}
			w, err := ShrinkReader(read(), res.Violations[0], Options{})
			if err != nil {
				t.Fatal(err)
			}
			wr := Check(w, Options{})
			if wr.Verdict != Illegal || wr.Violations[0].Name != tc.want {
				t.Fatalf("%s: seed %d: witness judged %s %v, want %s", tc.name, seed, wr.Verdict, wr.Violations, tc.want)
			}
			if got, want := len(Operations(w)), len(Operations(Shrink(tc.h, Options{}))); got > want {
				t.Errorf("%s: seed %d: witness of %d operations, Shrink's has %d", tc.name, seed, got, want)
			}
		}
	})
}

// TestFailingHistory: the failing producers read again give the same
// verdict, violations and minimal witness as the whole history, and the
// same picture; an Ok history is kept whole.
func TestFailingHistory(t *testing.T) {
	testflag.Run(t, 1, func(t *testing.T, seed int64) {
		r := rand.New(rand.NewSource(seed))
		lost := (&hb{}).call(req{op: 1, first: 0, last: 0}).ok(1, 0).call(req{op: 2, pid: 2, first: 0, last: 0}).ok(2, 0).
			call(req{op: 3, pid: 3, first: 0, last: 0}).ok(3, 1).h()
		ok := (&hb{}).call(req{op: 1, first: 0, last: 0}).ok(1, 0).call(req{op: 2, part: "p1", pid: 2, first: 0, last: 0}).unknown(2).h()
		for _, tc := range []struct {
			name string
			h    history.History
		}{{"padded seed", paddedSeed(r, 30)}, {"lost ack", lost}, {"ok", ok}} {
			var buf strings.Builder
			if err := history.EncodeJSONL(&buf, tc.h); err != nil {
				t.Fatal(err)
			}
			rd, err := history.NewReader(strings.NewReader(buf.String()), "h.jsonl")
			if err != nil {
				t.Fatal(err)
			}
			res := Check(tc.h, Options{})
			f, err := FailingHistory(rd, res)
			if err != nil {
				t.Fatal(err)
			}
			fres := Check(f, Options{})
			if d := diffResults(fres, res); res.Verdict == Illegal && !reflect.DeepEqual(fres.Violations, res.Violations) {
				t.Errorf("%s: seed %d: violations differ: %s", tc.name, seed, d)
			}
			if res.Verdict == Ok && len(f.Events) != len(tc.h.Events) {
				t.Errorf("%s: seed %d: Ok history kept %d of %d events", tc.name, seed, len(f.Events), len(tc.h.Events))
			}
			if got, want := FormatWitness(Shrink(f, Options{})), FormatWitness(Shrink(tc.h, Options{})); got != want {
				t.Errorf("%s: seed %d: witness\n%s\nwant\n%s", tc.name, seed, got, want)
			}
			var a, b bytes.Buffer
			if err := Visualize(&a, f, res, VisualizeOptions{}); err != nil {
				t.Fatal(err)
			}
			if err := Visualize(&b, tc.h, res, VisualizeOptions{}); err != nil {
				t.Fatal(err)
			}
			if res.Verdict == Illegal && a.String() != b.String() {
				t.Errorf("%s: seed %d: pictures differ (%d and %d bytes)", tc.name, seed, a.Len(), b.Len())
			}
		}
	})
}
