package replay_test

import (
	"fmt"
	"math/rand/v2"
	"strings"

	"github.com/idemcheck/idemcheck/history"
	"github.com/idemcheck/idemcheck/impl"
	"github.com/idemcheck/idemcheck/impl/replay"
	"github.com/idemcheck/idemcheck/impl/sim"
)

// ExampleReplay replays a seeded random workload's history through the
// implementation: the frontend records the same history again.
func ExampleReplay() {
	cfg := sim.WorkloadConfig{TicketOrder: impl.BeforeStage, Faults: sim.DefaultFaults()}
	h, err := sim.RandomWorkload(rand.New(rand.NewPCG(7, 0)), cfg)
	if err != nil {
		fmt.Println(err)
		return
	}
	again, err := replay.Replay(h)
	if err != nil {
		fmt.Println(err)
		return
	}
	var a, b strings.Builder
	_ = history.EncodeJSONL(&a, h)
	_ = history.EncodeJSONL(&b, again)
	fmt.Println("replay identical:", a.String() == b.String())
	// Output:
	// replay identical: true
}

// ExampleWithTicketOrder replays the client-visible events of the pre-fix
// regression scenario (PR #30429) through the fixed ordering: the batch
// the pre-fix broker answered OUT_OF_ORDER_SEQUENCE_NUMBER is appended.
func ExampleWithTicketOrder() {
	s, err := sim.SeedScenario(impl.AfterStage, false)
	if err != nil {
		fmt.Println(err)
		return
	}
	var client history.History
	for _, e := range s.History().Events {
		switch e.Kind {
		case history.Replicate, history.StageWriteDone, history.UploadDone, history.Return:
			client.Events = append(client.Events, e)
		}
	}
	got, err := replay.Replay(client, replay.WithTicketOrder(impl.BeforeStage))
	if err != nil {
		fmt.Println(err)
		return
	}
	for _, e := range got.Events {
		if e.Kind == history.Decide && e.Op <= 2 {
			fmt.Println(e.Op, e.Decision, e.Offset)
		}
	}
	// Output:
	// 1 append 0
	// 2 append 1
}
