package sim

import (
	"testing"

	"github.com/idemcheck/idemcheck/history"
	"github.com/idemcheck/idemcheck/impl"
)

// opEvents returns, per op, the Return and Decide events of h.
func opEvents(h history.History) (returns, decides map[int64]history.Event) {
	returns, decides = map[int64]history.Event{}, map[int64]history.Event{}
	for _, e := range h.Events {
		switch e.Kind {
		case history.Return:
			returns[e.Op] = e
		case history.Decide:
			decides[e.Op] = e
		}
	}
	return returns, decides
}

func countOOOSN(h history.History) int {
	n := 0
	for _, e := range h.Events {
		if e.Kind == history.Return && e.Result == history.Failed && e.Error == history.OutOfOrderSequenceNumber {
			n++
		}
	}
	return n
}

// TestSeedScenarioUnknownProducer is the regression test of PR #30429:
// the second call's stage_write resolves before the first's, and the
// producer is unknown to the partition. Pre-fix the first batch gets
// OUT_OF_ORDER_SEQUENCE_NUMBER on every attempt and is lost when the
// delivery timeout expires; with the fix both batches are appended in
// call order. (The invariants these histories keep or break are checked
// in internal/agreement.)
func TestSeedScenarioUnknownProducer(t *testing.T) {
	t.Run("after-stage", func(t *testing.T) {
		s, err := SeedScenario(impl.AfterStage, false)
		if err != nil {
			t.Fatal(err)
		}
		out := s.Outcomes()
		if len(out) != 2 {
			t.Fatalf("got %d batches, want 2", len(out))
		}
		a, b := out[0], out[1]
		if a.State != Lost || a.Error != history.OutOfOrderSequenceNumber {
			t.Errorf("batch A: got %s %s, want lost with OUT_OF_ORDER_SEQUENCE_NUMBER", a.State, a.Error)
		}
		if len(a.Attempts) < 3 {
			t.Errorf("batch A: got %d attempts, want retries until the delivery timeout", len(a.Attempts))
		}
		if b.State != Acked || b.Offset != 0 {
			t.Errorf("batch B: got %s offset %d, want acked at offset 0", b.State, b.Offset)
		}
		h := s.History()
		returns, decides := opEvents(h)
		for _, op := range a.Attempts {
			r := returns[op]
			if r.Result != history.Failed || r.Error != history.OutOfOrderSequenceNumber {
				t.Errorf("attempt op %d of A: got %s, want OUT_OF_ORDER_SEQUENCE_NUMBER", op, r)
			}
			if d := decides[op]; d.Decision != history.OutOfOrder {
				t.Errorf("attempt op %d of A: got %s, want Decide out_of_order", op, d)
			}
		}
		if d := decides[b.Attempts[0]]; d.Decision != history.AppendUnknown {
			t.Errorf("B: got %s, want Decide append_unknown (the skip path)", d)
		}
		if got := len(s.Frontend().Log(SeedPartition)); got != 1 {
			t.Errorf("log length: got %d, want 1 (only B)", got)
		}
	})
	t.Run("before-stage", func(t *testing.T) {
		s, err := SeedScenario(impl.BeforeStage, false)
		if err != nil {
			t.Fatal(err)
		}
		for i, o := range s.Outcomes() {
			if o.State != Acked || o.Offset != int64(i) || len(o.Attempts) != 1 {
				t.Errorf("batch %d: got %s offset=%d attempts=%d, want acked at offset %d in one attempt", i, o.State, o.Offset, len(o.Attempts), i)
			}
		}
		h := s.History()
		if n := countOOOSN(h); n != 0 {
			t.Errorf("got %d OUT_OF_ORDER_SEQUENCE_NUMBER returns, want 0", n)
		}
		_, decides := opEvents(h)
		if d := decides[1]; d.Decision != history.Append {
			t.Errorf("A: got %s, want append", d)
		}
		if d := decides[2]; d.Decision != history.Append {
			t.Errorf("B: got %s, want append (not the skip path)", d)
		}
	})
}

// TestSeedScenarioKnownProducer is the same reorder for a producer the
// partition knows: pre-fix B gets one retriable OUT_OF_ORDER_SEQUENCE_NUMBER
// (a gap) and succeeds on retry, nothing is lost; with the fix there is no
// OUT_OF_ORDER_SEQUENCE_NUMBER at all.
func TestSeedScenarioKnownProducer(t *testing.T) {
	tests := []struct {
		order     impl.TicketOrder
		wantOOOSN int
		bAttempts int
	}{
		{impl.AfterStage, 1, 2},
		{impl.BeforeStage, 0, 1},
	}
	for _, tc := range tests {
		t.Run(string(tc.order), func(t *testing.T) {
			s, err := SeedScenario(tc.order, true)
			if err != nil {
				t.Fatal(err)
			}
			out := s.Outcomes()
			if len(out) != 3 {
				t.Fatalf("got %d batches, want 3", len(out))
			}
			for i, o := range out {
				if o.State != Acked || o.Offset != int64(i) {
					t.Errorf("batch %d: got %s offset %d, want acked at offset %d", i, o.State, o.Offset, i)
				}
			}
			if got := len(out[2].Attempts); got != tc.bAttempts {
				t.Errorf("B attempts: got %d, want %d", got, tc.bAttempts)
			}
			h := s.History()
			if n := countOOOSN(h); n != tc.wantOOOSN {
				t.Errorf("OUT_OF_ORDER_SEQUENCE_NUMBER returns: got %d, want %d", n, tc.wantOOOSN)
			}
		})
	}
}
