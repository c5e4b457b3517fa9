package impl

import (
	"errors"
	"strings"
	"testing"

	"github.com/idemcheck/idemcheck/history"
)

type nopDataPlane struct{}

func (nopDataPlane) StageWrite(int64, string, Batch)   {}
func (nopDataPlane) ExecuteWrite(int64, string, Batch) {}

// TestFrontendStages checks the two stages of a replicate call under both
// orderings: enqueued fires when stage_write resolves (not before), and
// finished carries the offset; the events of one call follow the shared
// ordering of each ticket order.
func TestFrontendStages(t *testing.T) {
	tests := []struct {
		order TicketOrder
		kinds []history.Kind
	}{
		{BeforeStage, []history.Kind{history.Replicate, history.ReserveTicket, history.StageWriteStart,
			history.StageWriteDone, history.UploadDone, history.RedeemTicket, history.FenceEpoch,
			history.Decide, history.ReleaseTicket, history.Return}},
		{AfterStage, []history.Kind{history.Replicate, history.StageWriteStart, history.StageWriteDone,
			history.ReserveTicket, history.UploadDone, history.RedeemTicket, history.FenceEpoch,
			history.Decide, history.ReleaseTicket, history.Return}},
	}
	for _, tc := range tests {
		t.Run(string(tc.order), func(t *testing.T) {
			log := history.NewLog(history.Header{})
			f, err := NewFrontend(Config{TicketOrder: tc.order, Recorder: log}, nopDataPlane{})
			if err != nil {
				t.Fatal(err)
			}
			op, err := f.Replicate(Request{Partition: "p0", Batch: Batch{PID: 3, First: 0, Last: 4}})
			if err != nil {
				t.Fatal(err)
			}
			if st, _ := f.Status(op); st.Enqueued {
				t.Fatal("enqueued before stage_write resolved")
			}
			if err := f.CompleteStage(op, true); err != nil {
				t.Fatal(err)
			}
			if st, _ := f.Status(op); !st.Enqueued {
				t.Fatal("not enqueued after stage_write resolved")
			}
			if err := f.CompleteUpload(op, true); err != nil {
				t.Fatal(err)
			}
			if st, _ := f.Status(op); st.Phase != PhaseRedeem || !st.Redeemable {
				t.Fatalf("after the upload: got phase %s redeemable=%t, want redeem and redeemable", st.Phase, st.Redeemable)
			}
			if err := f.Redeem(op, true); err != nil {
				t.Fatal(err)
			}
			if st, _ := f.Status(op); st.Phase != PhaseDone || st.Result.Err != Success || st.Result.Offset != 0 || !st.Returned {
				t.Fatalf("status: got %+v, want done with offset=0 and returned", st)
			}
			rd := f.Ready()
			if len(rd.Enqueued) != 1 || len(rd.Finished) != 1 || rd.Finished[0].Op != op {
				t.Fatalf("ready: got %+v, want one enqueued and one finished op %d", rd, op)
			}
			if rd := f.Ready(); len(rd.Enqueued)+len(rd.Finished) != 0 {
				t.Fatalf("second ready: got %+v, want empty", rd)
			}
			var kinds []history.Kind
			for _, e := range log.History().Events {
				kinds = append(kinds, e.Kind)
			}
			if len(kinds) != len(tc.kinds) {
				t.Fatalf("events: got %v, want %v", kinds, tc.kinds)
			}
			for i := range kinds {
				if kinds[i] != tc.kinds[i] {
					t.Fatalf("events: got %v, want %v", kinds, tc.kinds)
				}
			}
			if ps := f.Partitions(); len(ps) != 1 || ps[0].Tickets != 0 || ps[0].LogEnd != 5 {
				t.Fatalf("partitions after the call: got %+v, want p0 with no live ticket and 5 records", ps)
			}
		})
	}
}

// TestFrontendRefuses checks input validation and step preconditions.
func TestFrontendRefuses(t *testing.T) {
	f, err := NewFrontend(Config{}, nopDataPlane{})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := f.Replicate(Request{Op: 5, Partition: "p0", Batch: Batch{PID: 1}}); err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name string
		run  func() error
		want error
	}{
		{"empty partition", func() error { _, err := f.Replicate(Request{Batch: Batch{PID: 1}}); return err }, ErrBadBatch},
		{"negative pid (no-pid batches are not modelled)", func() error {
			_, err := f.Replicate(Request{Partition: "p0", Batch: Batch{PID: NoPID}})
			return err
		}, ErrBadBatch},
		{"negative sequence", func() error {
			_, err := f.Replicate(Request{Partition: "p0", Batch: Batch{PID: 1, First: -1}})
			return err
		}, ErrBadBatch},
		{"op id not increasing", func() error {
			_, err := f.Replicate(Request{Op: 5, Partition: "p0", Batch: Batch{PID: 1}})
			return err
		}, ErrOpOrder},
		{"upload before stage", func() error { return f.CompleteUpload(5, true) }, ErrWrongStep},
		{"redeem before upload", func() error { return f.Redeem(5, true) }, ErrWrongStep},
		{"unknown op", func() error { return f.CompleteStage(77, true) }, ErrUnknownOp},
		{"timeout of unknown op", func() error { return f.Timeout(77) }, ErrUnknownOp},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if err := tc.run(); !errors.Is(err, tc.want) {
				t.Fatalf("got %v, want %v", err, tc.want)
			}
		})
	}
	if _, err := NewFrontend(Config{TicketOrder: "later"}, nopDataPlane{}); err == nil {
		t.Error("unknown ticket order: got no error")
	}
	if _, err := NewFrontend(Config{}, nil); err == nil {
		t.Error("nil data plane: got no error")
	}
}

// failingRecorder fails from its n-th event on.
type failingRecorder struct {
	n      int
	events []history.Event
}

var errDiskFull = errors.New("disk full")

func (r *failingRecorder) Record(e history.Event) error {
	if len(r.events) >= r.n {
		return errDiskFull
	}
	r.events = append(r.events, e)
	return nil
}

// TestRecorderErrorStops checks that the first recorder error stops the
// frontend: the step that hit it returns it, naming the event that was
// not recorded; every later step returns the same error and changes and
// records nothing, so the history is never silently incomplete.
func TestRecorderErrorStops(t *testing.T) {
	rec := &failingRecorder{n: 4} // Replicate, ReserveTicket, StageWriteStart, StageWriteDone
	f, err := NewFrontend(Config{Recorder: rec}, nopDataPlane{})
	if err != nil {
		t.Fatal(err)
	}
	op, err := f.Replicate(Request{Partition: "p0", Batch: Batch{PID: 1}})
	if err != nil {
		t.Fatal(err)
	}
	if err := f.CompleteStage(op, true); err != nil {
		t.Fatal(err)
	}
	err = f.CompleteUpload(op, true) // UploadDone cannot be recorded
	if !errors.Is(err, errDiskFull) || !strings.Contains(err.Error(), "UploadDone op=1") {
		t.Fatalf("upload: got %v, want the recorder's error naming UploadDone op=1", err)
	}
	if f.Err() != err {
		t.Fatalf("Err: got %v, want %v", f.Err(), err)
	}
	steps := []struct {
		name string
		run  func() error
	}{
		{"replicate", func() error {
			_, err := f.Replicate(Request{Partition: "p0", Batch: Batch{PID: 1, First: 1, Last: 1}})
			return err
		}},
		{"complete-stage", func() error { return f.CompleteStage(op, true) }},
		{"complete-upload", func() error { return f.CompleteUpload(op, true) }},
		{"redeem", func() error { return f.Redeem(op, true) }},
		{"abort", func() error { return f.Abort(op) }},
		{"timeout", func() error { return f.Timeout(op) }},
		{"evict", func() error { _, err := f.Evict("p0", 1); return err }},
		{"change-term", func() error { return f.ChangeTerm("p0", 0) }},
		{"bump-epoch", func() error { return f.BumpEpoch(1, 1) }},
	}
	for _, s := range steps {
		if got := s.run(); got != err {
			t.Errorf("%s after the error: got %v, want %v", s.name, got, err)
		}
	}
	if len(rec.events) != 4 {
		t.Errorf("recorded %d events, want the 4 before the error", len(rec.events))
	}
	if st, _ := f.Status(op); st.Phase != PhaseRedeem || st.Returned {
		t.Errorf("op after the refused steps: got %+v, want it still waiting for its ticket", st)
	}
	if ps := f.Partitions(); len(ps) != 1 || ps[0].Term != 0 || len(ps[0].Producers) != 0 {
		t.Errorf("partitions after the refused steps: got %+v, want p0 unchanged", ps)
	}
}
