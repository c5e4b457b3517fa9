package checker_test

import (
	"fmt"

	"github.com/idemcheck/idemcheck/checker"
	"github.com/idemcheck/idemcheck/history"
)

// Example checks the client-visible part of the seed bug: producer 1 is
// unknown to partition p0, op 1 [0,0] is called before op 2 [1,1], op 2
// is acked at offset 0 and op 1 gets OUT_OF_ORDER_SEQUENCE_NUMBER.
func Example() {
	h := history.History{Events: []history.Event{
		{Kind: history.Replicate, Time: 1, Op: 1, Partition: "p0", PID: 1, First: 0, Last: 0},
		{Kind: history.Replicate, Time: 2, Op: 2, Partition: "p0", PID: 1, First: 1, Last: 1},
		{Kind: history.Return, Time: 3, Op: 2, Result: history.OK, Offset: 0},
		{Kind: history.Return, Time: 4, Op: 1, Result: history.Failed, Error: history.OutOfOrderSequenceNumber},
	}}
	res := checker.Check(h, checker.Options{})
	fmt.Print(res.Summary())
	v := res.Violations[0]
	fmt.Println(v.Name)
	fmt.Println(v.Explanation)

	// Plain linearizability (no call-order obligation) accepts it.
	fmt.Println(checker.Check(h, checker.Options{NoCallOrder: true}).Verdict)
	// Output:
	// Illegal: 1 parts, 1 illegal, 0 unknown
	//   partition "p0" pid 1: 2 ops, Illegal (DecideInCallOrder)
	// DecideInCallOrder
	// batch [0,0] (op 1) was called before batch [1,1] (op 2) but the partition decided op 2 first: op 2 was accepted through the unknown-producer path at offset 0 and op 1 then got OUT_OF_ORDER_SEQUENCE_NUMBER; in call order op 1 was next in sequence
	// Ok
}
