package spec_test

import (
	"fmt"

	"github.com/idemcheck/idemcheck/spec"
)

// Replaying the start of the seed's pre-fix interleaving against the
// fixed spec: stage_write may not start before the ticket is reserved.
func ExampleStep() {
	cfg := spec.Config{TicketOrder: spec.BeforeStage}
	s := spec.Init(cfg)
	s, err := spec.Step(cfg, s, spec.Action{Name: spec.Replicate, Op: 1, PID: 1, First: 0, Last: 0})
	fmt.Println(err)
	_, err = spec.Step(cfg, s, spec.Action{Name: spec.StageWriteStart, Op: 1})
	fmt.Println(err)
	// Output:
	// <nil>
	// spec: StageWriteStart op=1: StageWriteStart for op 1 before its ReserveTicket, but ticket order before-stage reserves the ticket first (state: op[1] = pid=1 epoch=0 seq=[0,0] called)
}
