package sim_test

import (
	"fmt"
	"math/rand/v2"
	"strings"

	"github.com/idemcheck/idemcheck/history"
	"github.com/idemcheck/idemcheck/impl"
	"github.com/idemcheck/idemcheck/impl/sim"
)

// ExampleSeedScenario runs the regression scenario of PR #30429 under both
// ticket orderings and prints what the client saw.
func ExampleSeedScenario() {
	for _, order := range []impl.TicketOrder{impl.AfterStage, impl.BeforeStage} {
		s, err := sim.SeedScenario(order, false)
		if err != nil {
			fmt.Println(err)
			return
		}
		fmt.Println(order)
		for _, o := range s.Outcomes() {
			switch o.State {
			case sim.Acked:
				fmt.Printf("  seq=[%d,%d] acked at offset %d after %d attempt(s)\n", o.First, o.Last, o.Offset, len(o.Attempts))
			default:
				fmt.Printf("  seq=[%d,%d] %s with %s after %d attempts\n", o.First, o.Last, o.State, o.Error, len(o.Attempts))
			}
		}
	}
	// Output:
	// after-stage
	//   seq=[0,0] lost with OUT_OF_ORDER_SEQUENCE_NUMBER after 19 attempts
	//   seq=[1,1] acked at offset 0 after 1 attempt(s)
	// before-stage
	//   seq=[0,0] acked at offset 0 after 1 attempt(s)
	//   seq=[1,1] acked at offset 1 after 1 attempt(s)
}

// ExampleSim drives a Sim by hand: batch B's stage_write and upload
// complete before A's, and with the fix B still waits for A's ticket.
func ExampleSim() {
	s, err := sim.New(sim.Config{TicketOrder: impl.BeforeStage})
	if err != nil {
		fmt.Println(err)
		return
	}
	a, _ := s.Replicate(impl.Request{Partition: "p0", Batch: impl.Batch{PID: 1, First: 0, Last: 0}})
	b, _ := s.Replicate(impl.Request{Partition: "p0", Batch: impl.Batch{PID: 1, First: 1, Last: 1}})
	for _, it := range []sim.Item{
		{Kind: sim.StageItem, Op: b}, {Kind: sim.UploadItem, Op: b},
		{Kind: sim.StageItem, Op: a}, {Kind: sim.UploadItem, Op: a},
	} {
		if err := s.Do(it); err != nil {
			fmt.Println(err)
			return
		}
	}
	fmt.Println("pending:", s.Pending())
	if err := s.Stabilize(0); err != nil {
		fmt.Println(err)
		return
	}
	for _, e := range s.History().Events {
		if e.Kind == history.Decide || e.Kind == history.Return {
			fmt.Println(e)
		}
	}
	// Output:
	// pending: [redeem op=1]
	// Decide op=1 append offset=0 t=12
	// Return op=1 ok offset=0 t=14
	// Decide op=2 append offset=1 t=17
	// Return op=2 ok offset=1 t=19
}

// ExampleRandomWorkload generates a seeded random workload history: the
// same seed gives the same history, byte for byte.
func ExampleRandomWorkload() {
	cfg := sim.WorkloadConfig{TicketOrder: impl.BeforeStage, Faults: sim.DefaultFaults()}
	var runs [2]string
	for i := range runs {
		h, err := sim.RandomWorkload(rand.New(rand.NewPCG(7, 0)), cfg)
		if err != nil {
			fmt.Println(err)
			return
		}
		var b strings.Builder
		_ = history.EncodeJSONL(&b, h)
		runs[i] = b.String()
	}
	fmt.Println("same history:", runs[0] == runs[1])
	// Output:
	// same history: true
}
