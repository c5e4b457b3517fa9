package impl

import (
	"errors"
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
			if f.Enqueued(op) {
				t.Fatal("enqueued before stage_write resolved")
			}
			if err := f.CompleteStage(op, true); err != nil {
				t.Fatal(err)
			}
			if !f.Enqueued(op) {
				t.Fatal("not enqueued after stage_write resolved")
			}
			if err := f.CompleteUpload(op, true); err != nil {
				t.Fatal(err)
			}
			if _, done := f.Result(op); done {
				t.Fatal("finished before redeem")
			}
			if err := f.Redeem(op, true); err != nil {
				t.Fatal(err)
			}
			if r, done := f.Result(op); !done || r.Err != Success || r.Offset != 0 {
				t.Fatalf("result: got %v %t, want offset=0 finished", r, done)
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
			if f.Tickets("p0") != 0 {
				t.Fatalf("live tickets after the call: %d", f.Tickets("p0"))
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
