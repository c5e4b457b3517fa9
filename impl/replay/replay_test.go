package replay

import (
	"bytes"
	"errors"
	"fmt"
	"math/rand/v2"
	"testing"

	"github.com/idemcheck/idemcheck/history"
	"github.com/idemcheck/idemcheck/impl"
	"github.com/idemcheck/idemcheck/impl/sim"
	"github.com/idemcheck/idemcheck/internal/testflag"
)

func encodeJSONL(t *testing.T, h history.History) []byte {
	t.Helper()
	var buf bytes.Buffer
	if err := history.EncodeJSONL(&buf, h); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

// clientOnly keeps the events a model checker counterexample may be
// reduced to: Replicate, StageWriteDone, UploadDone and Return.
func clientOnly(h history.History) history.History {
	out := history.History{Header: h.Header}
	for _, e := range h.Events {
		switch e.Kind {
		case history.Replicate, history.StageWriteDone, history.UploadDone, history.Return:
			out.Events = append(out.Events, e)
		}
	}
	return out
}

// compareReturns reports the first op whose Return differs between want
// and got.
func compareReturns(want, got history.History) error {
	w, _ := opEvents(want)
	g, _ := opEvents(got)
	if len(w) != len(g) {
		return fmt.Errorf("got %d returns, want %d", len(g), len(w))
	}
	for op, we := range w {
		ge, ok := g[op]
		if !ok {
			return fmt.Errorf("op %d: no Return, want %s", op, we)
		}
		if we.Result != ge.Result || we.Error != ge.Error || we.Offset != ge.Offset {
			return fmt.Errorf("op %d: got %s, want %s", op, ge, we)
		}
	}
	return nil
}

// seedConfig derives a small random workload shape from seed and returns
// it with the rng that then drives the run.
func seedConfig(seed int64, order impl.TicketOrder, faults sim.Faults) (*rand.Rand, sim.WorkloadConfig) {
	rng := rand.New(rand.NewPCG(uint64(seed), 0x1de3))
	cfg := sim.WorkloadConfig{
		TicketOrder:  order,
		Producers:    1 + rng.IntN(3),
		Partitions:   1 + rng.IntN(3),
		Batches:      2 + rng.IntN(5),
		WaitEnqueued: rng.IntN(3) == 0,
		Faults:       faults,
		Header:       history.Header{Seed: seed},
	}
	return rng, cfg
}

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

// countOOOSN counts the Returns with OUT_OF_ORDER_SEQUENCE_NUMBER.
func countOOOSN(h history.History) int {
	n := 0
	for _, e := range h.Events {
		if e.Kind == history.Return && e.Result == history.Failed && e.Error == history.OutOfOrderSequenceNumber {
			n++
		}
	}
	return n
}

// seedHistories returns the four seed scenario histories.
func seedHistories(t *testing.T) map[string]history.History {
	t.Helper()
	hs := map[string]history.History{}
	for _, order := range []impl.TicketOrder{impl.AfterStage, impl.BeforeStage} {
		for _, known := range []bool{false, true} {
			s, err := sim.SeedScenario(order, known)
			if err != nil {
				t.Fatal(err)
			}
			hs[fmt.Sprintf("%s/known=%t", order, known)] = s.History()
		}
	}
	return hs
}

// TestReplayFullHistory replays complete recorded histories (seed
// scenarios and random workloads with every kind of fault, both
// orderings) and checks that the implementation records the same history
// again, byte for byte.
func TestReplayFullHistory(t *testing.T) {
	check := func(t *testing.T, name string, h history.History) {
		t.Helper()
		got, err := Replay(h)
		if err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		if a, b := encodeJSONL(t, h), encodeJSONL(t, got); !bytes.Equal(a, b) {
			t.Fatalf("%s: replay recorded a different history:\n%s\nwant:\n%s", name, b, a)
		}
	}
	for name, h := range seedHistories(t) {
		check(t, name, h)
	}
	faults := sim.DefaultFaults()
	faults.Evict = 0.02
	faults.BumpEpoch = 0.02
	faults.Abort = 0.02
	for _, order := range []impl.TicketOrder{impl.BeforeStage, impl.AfterStage} {
		t.Run(string(order), func(t *testing.T) {
			testflag.Run(t, 100, func(t *testing.T, seed int64) {
				h, err := sim.RandomWorkload(seedConfig(seed, order, faults))
				if err != nil {
					t.Fatal(err)
				}
				check(t, "workload", h)
			})
		})
	}
}

// TestReplayClientOnly replays histories reduced to Replicate,
// StageWriteDone, UploadDone and Return events, as a model checker
// counterexample may be: the implementation deduces tickets, redeems and
// decisions and must give every op the same Return.
func TestReplayClientOnly(t *testing.T) {
	for name, h := range seedHistories(t) {
		got, err := Replay(clientOnly(h))
		if err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		if err := compareReturns(h, got); err != nil {
			t.Errorf("%s: %v", name, err)
		}
	}
	// No client timeouts or fence failures: those outcomes need the
	// internal events to be placed.
	faults := sim.Faults{StageFail: 0.05, UploadFail: 0.1}
	for _, order := range []impl.TicketOrder{impl.BeforeStage, impl.AfterStage} {
		t.Run(string(order), func(t *testing.T) {
			testflag.Run(t, 100, func(t *testing.T, seed int64) {
				h, err := sim.RandomWorkload(seedConfig(seed, order, faults))
				if err != nil {
					t.Fatal(err)
				}
				got, err := Replay(clientOnly(h))
				if err != nil {
					t.Fatal(err)
				}
				if err := compareReturns(h, got); err != nil {
					t.Fatal(err)
				}
			})
		})
	}
}

// TestReplayCounterexampleThroughFix replays the pre-fix seed scenario's
// client-visible events through the fixed ordering: the same calls and
// the same completion order give no OUT_OF_ORDER_SEQUENCE_NUMBER.
func TestReplayCounterexampleThroughFix(t *testing.T) {
	s, err := sim.SeedScenario(impl.AfterStage, false)
	if err != nil {
		t.Fatal(err)
	}
	h := clientOnly(s.History())
	if countOOOSN(h) == 0 {
		t.Fatal("the pre-fix history has no OUT_OF_ORDER_SEQUENCE_NUMBER")
	}
	got, err := Replay(h, WithTicketOrder(impl.BeforeStage))
	if err != nil {
		t.Fatal(err)
	}
	if got.Header.TicketOrder != string(impl.BeforeStage) {
		t.Errorf("header ticket order: got %q, want %q", got.Header.TicketOrder, impl.BeforeStage)
	}
	if n := countOOOSN(got); n != 0 {
		t.Errorf("fixed replay: got %d OUT_OF_ORDER_SEQUENCE_NUMBER returns, want 0", n)
	}
}

// TestReplayErrors checks that inputs the implementation cannot follow
// are reported with the index of the offending event.
func TestReplayErrors(t *testing.T) {
	call := history.Event{Kind: history.Replicate, Op: 1, Partition: "p0", PID: 1}
	tests := []struct {
		name   string
		events []history.Event
		index  int
		want   error
	}{
		{"stage of an unknown op", []history.Event{call, {Kind: history.StageWriteDone, Op: 2, Result: history.OK}}, 1, impl.ErrWrongStep},
		{"upload before stage", []history.Event{call, {Kind: history.UploadDone, Op: 1, Result: history.OK}}, 1, impl.ErrWrongStep},
		{"decide before upload", []history.Event{call, {Kind: history.Decide, Op: 1, Decision: history.Append}}, 1, impl.ErrWrongStep},
		{"op ids do not increase", []history.Event{call, call}, 1, impl.ErrOpOrder},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			_, err := Replay(history.History{Events: tc.events})
			var re *Error
			if !errors.As(err, &re) || re.Index != tc.index || !errors.Is(err, tc.want) {
				t.Fatalf("got %v, want an *Error at event %d wrapping %v", err, tc.index, tc.want)
			}
		})
	}
	if _, err := Replay(history.History{Events: []history.Event{call}}, WithTicketOrder("sideways")); err == nil {
		t.Error("unknown ticket order: got no error")
	}
}

// TestReplayUnknownAfterDecide checks that a client timeout the input
// places after the broker decided (the answer never reached the client)
// stays an unknown Return, and that the request still takes effect.
func TestReplayUnknownAfterDecide(t *testing.T) {
	ev := func(k history.Kind, op int64) history.Event { return history.Event{Kind: k, Op: op} }
	res := func(k history.Kind, op int64, r history.Result) history.Event {
		return history.Event{Kind: k, Op: op, Result: r}
	}
	full := []history.Event{
		{Kind: history.Replicate, Op: 1, Partition: "p0", PID: 1},
		ev(history.ReserveTicket, 1), ev(history.StageWriteStart, 1),
		res(history.StageWriteDone, 1, history.OK), res(history.UploadDone, 1, history.OK),
		ev(history.RedeemTicket, 1), res(history.FenceEpoch, 1, history.OK),
		{Kind: history.Decide, Op: 1, Decision: history.Append},
		ev(history.ReleaseTicket, 1), res(history.Return, 1, history.Unknown),
	}
	for i := range full {
		full[i].Time = int64(i)
	}
	for name, h := range map[string]history.History{
		"full":        {Events: full},
		"client-only": clientOnly(history.History{Events: full}),
	} {
		got, err := Replay(h)
		if err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		if err := compareReturns(h, got); err != nil {
			t.Errorf("%s: %v", name, err)
		}
		_, decides := opEvents(got)
		if d := decides[1]; d.Decision != history.Append {
			t.Errorf("%s: got %s, want the request appended", name, d)
		}
	}
}
