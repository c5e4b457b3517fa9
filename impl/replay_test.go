package impl

import (
	"bytes"
	"errors"
	"fmt"
	"testing"

	"github.com/idemcheck/idemcheck/history"
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

// seedHistories returns the four seed scenario histories.
func seedHistories(t *testing.T) map[string]history.History {
	t.Helper()
	hs := map[string]history.History{}
	for _, order := range []TicketOrder{AfterStage, BeforeStage} {
		for _, known := range []bool{false, true} {
			s, err := SeedScenario(order, known)
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
	faults := DefaultFaults()
	faults.Evict = 0.02
	faults.BumpEpoch = 0.02
	faults.Abort = 0.02
	for _, order := range []TicketOrder{BeforeStage, AfterStage} {
		for _, seed := range seedList(t, 100) {
			rng, cfg := seedConfig(seed, order, faults)
			h, err := RandomWorkload(rng, cfg)
			if err != nil {
				t.Fatalf("seed %d: %v", seed, err)
			}
			check(t, fmt.Sprintf("%s seed %d (rerun with -seed %d)", order, seed, seed), h)
		}
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
	faults := Faults{StageFail: 0.05, UploadFail: 0.1}
	for _, order := range []TicketOrder{BeforeStage, AfterStage} {
		for _, seed := range seedList(t, 100) {
			rng, cfg := seedConfig(seed, order, faults)
			h, err := RandomWorkload(rng, cfg)
			if err != nil {
				t.Fatalf("seed %d: %v", seed, err)
			}
			got, err := Replay(clientOnly(h))
			if err != nil {
				t.Fatalf("%s seed %d: %v", order, seed, err)
			}
			if err := compareReturns(h, got); err != nil {
				t.Fatalf("%s seed %d (rerun with -seed %d): %v", order, seed, seed, err)
			}
		}
	}
}

// TestReplayCounterexampleThroughFix replays the pre-fix seed scenario's
// client-visible events through the fixed ordering: the same calls and
// the same completion order give no OUT_OF_ORDER_SEQUENCE_NUMBER.
func TestReplayCounterexampleThroughFix(t *testing.T) {
	s, err := SeedScenario(AfterStage, false)
	if err != nil {
		t.Fatal(err)
	}
	h := clientOnly(s.History())
	if countOOOSN(h) == 0 {
		t.Fatal("the pre-fix history has no OUT_OF_ORDER_SEQUENCE_NUMBER")
	}
	got, err := Replay(h, WithTicketOrder(BeforeStage))
	if err != nil {
		t.Fatal(err)
	}
	if got.Header.TicketOrder != string(BeforeStage) {
		t.Errorf("header ticket order: got %q, want %q", got.Header.TicketOrder, BeforeStage)
	}
	if n := countOOOSN(got); n != 0 {
		t.Errorf("fixed replay: got %d OUT_OF_ORDER_SEQUENCE_NUMBER returns, want 0", n)
	}
	if err := CheckSanity(got); err != nil {
		t.Errorf("fixed replay: %v", err)
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
		{"stage of an unknown op", []history.Event{call, {Kind: history.StageWriteDone, Op: 2, Result: history.OK}}, 1, ErrWrongStep},
		{"upload before stage", []history.Event{call, {Kind: history.UploadDone, Op: 1, Result: history.OK}}, 1, ErrWrongStep},
		{"decide before upload", []history.Event{call, {Kind: history.Decide, Op: 1, Decision: history.Append}}, 1, ErrWrongStep},
		{"op ids do not increase", []history.Event{call, call}, 1, ErrOpOrder},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			_, err := Replay(history.History{Events: tc.events})
			var re *ReplayError
			if !errors.As(err, &re) || re.Index != tc.index || !errors.Is(err, tc.want) {
				t.Fatalf("got %v, want a ReplayError at event %d wrapping %v", err, tc.index, tc.want)
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
