package checker_test

import (
	"fmt"
	"strings"

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

// ExampleCheckReader checks a JSON Lines history as it is read, then
// makes the minimal witness from a second read.
func ExampleCheckReader() {
	const file = `{"kind":"Replicate","t":1,"op":1,"partition":"p0","pid":1,"epoch":0,"first":0,"last":0}
{"kind":"Replicate","t":2,"op":2,"partition":"p0","pid":1,"epoch":0,"first":1,"last":1}
{"kind":"Replicate","t":3,"op":3,"partition":"p0","pid":2,"epoch":0,"first":0,"last":0}
{"kind":"Return","t":4,"op":2,"result":"ok","offset":0}
{"kind":"Return","t":5,"op":3,"result":"ok","offset":1}
{"kind":"Return","t":6,"op":1,"result":"error","error":45}
`
	read := func() history.Reader {
		rd, err := history.NewReader(strings.NewReader(file), "h.jsonl")
		if err != nil {
			panic(err)
		}
		return rd
	}
	res := checker.CheckReader(read(), checker.Options{})
	if res.Err != nil {
		fmt.Println(res.Err)
		return
	}
	fmt.Print(res.Summary())
	w, err := checker.ShrinkReader(read(), res.Violations[0], checker.Options{})
	if err != nil {
		fmt.Println(err)
		return
	}
	fmt.Print(checker.FormatWitness(w))
	// Output:
	// Illegal: 2 parts, 1 illegal, 0 unknown
	//   partition "p0" pid 1: 2 ops, Illegal (DecideInCallOrder)
	//   partition "p0" pid 2: 1 ops, Ok
	// 2 operations:
	//   op 1: "p0" pid=1 epoch=0 [0,0] -> OUT_OF_ORDER_SEQUENCE_NUMBER (t=1..6)
	//   op 2: "p0" pid=1 epoch=0 [1,1] -> ok at offset 0 (t=2..4)
	// events:
	//   Replicate op=1 partition="p0" pid=1 epoch=0 seq=[0,0] t=1
	//   Replicate op=2 partition="p0" pid=1 epoch=0 seq=[1,1] t=2
	//   Return op=2 ok offset=0 t=4
	//   Return op=1 error=OUT_OF_ORDER_SEQUENCE_NUMBER t=6
}
