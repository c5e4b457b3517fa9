package impl_test

import (
	"fmt"

	"github.com/idemcheck/idemcheck/history"
	"github.com/idemcheck/idemcheck/impl"
)

// pending is a data plane that only remembers what was started; the
// owner of the frontend completes the work itself.
type pending struct{ stages, uploads []int64 }

func (p *pending) StageWrite(op int64, _ string, _ impl.Batch)   { p.stages = append(p.stages, op) }
func (p *pending) ExecuteWrite(op int64, _ string, _ impl.Batch) { p.uploads = append(p.uploads, op) }

// ExampleFrontend owns a frontend the way a raft application owns a
// RawNode: it calls a step, reads what became enabled (Redeemable) and
// what happened (Ready), and acts on it. Batch B's stage_write and upload
// complete before A's; with the fix B still waits for A's ticket.
func ExampleFrontend() {
	dp := &pending{}
	log := history.NewLog(history.Header{})
	f, err := impl.NewFrontend(impl.Config{TicketOrder: impl.BeforeStage, Recorder: log}, dp)
	if err != nil {
		fmt.Println(err)
		return
	}
	a, _ := f.Replicate(impl.Request{Partition: "p0", Batch: impl.Batch{PID: 1, First: 0, Last: 0}})
	b, _ := f.Replicate(impl.Request{Partition: "p0", Batch: impl.Batch{PID: 1, First: 1, Last: 1}})
	for _, op := range []int64{b, a} {
		_ = f.CompleteStage(op, true)
		_ = f.CompleteUpload(op, true)
	}
	fmt.Println("redeemable:", f.Redeemable())
	for len(f.Redeemable()) > 0 {
		_ = f.Redeem(f.Redeemable()[0], true)
	}
	rd := f.Ready()
	fmt.Println("enqueued:", rd.Enqueued)
	for _, fin := range rd.Finished {
		fmt.Printf("op %d: %s\n", fin.Op, fin.Result)
	}
	st, _ := f.Status(b)
	fmt.Println("op", st.Op, "phase", st.Phase, "returned", st.Returned)
	fmt.Println("events:", len(log.History().Events), "error:", f.Err())
	// Output:
	// redeemable: [1]
	// enqueued: [2 1]
	// op 1: offset=0
	// op 2: offset=1
	// op 2 phase done returned true
	// events: 20 error: <nil>
}
