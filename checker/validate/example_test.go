package validate_test

import (
	"fmt"

	"github.com/idemcheck/idemcheck/checker/validate"
	"github.com/idemcheck/idemcheck/history"
)

// A pre-fix history is rejected at its ticket step even though both
// batches were appended in order.
func ExampleHistory() {
	ev := func(k history.Kind, op int64) history.Event { return history.Event{Kind: k, Op: op} }
	h := history.History{Events: []history.Event{
		{Kind: history.Replicate, Op: 1, Partition: "p0", PID: 1},
		ev(history.StageWriteStart, 1),
		{Kind: history.StageWriteDone, Op: 1, Result: history.OK},
		ev(history.ReserveTicket, 1),
	}}
	err := validate.History(h, validate.Options{})
	if we, ok := err.(*validate.Error); ok {
		fmt.Println("line", we.Line, we.Event.Kind)
		fmt.Println(we.Expected)
	}
	// Output:
	// line 2 StageWriteStart
	// StageWriteStart for op 1 before its ReserveTicket, but ticket order before-stage reserves the ticket first
}
