package mc_test

import (
	"context"
	"fmt"

	"github.com/idemcheck/idemcheck/internal/mc"
)

// Check the pre-fix ordering and print the violated invariant and the
// ticket steps of its shortest counterexample.
func ExampleRun() {
	cfg, err := mc.LoadConfig("../../spec/tla/MCBroker_prefix_1x2.cfg")
	if err != nil {
		fmt.Println(err)
		return
	}
	res, err := mc.Run(context.Background(), cfg, mc.Options{})
	if err != nil {
		fmt.Println(err)
		return
	}
	v := res.Violation
	fmt.Println(v.Invariant, "in", len(v.Steps), "steps")
	for _, st := range v.Steps[len(v.Steps)-5:] {
		fmt.Println(st.Action)
	}
	// Output:
	// NoSpuriousOutOfOrder in 17 steps
	// Decide op=2 append_unknown offset=0
	// ReleaseTicket op=2
	// RedeemTicket op=1
	// FenceEpoch op=1 ok
	// Decide op=1 out_of_order
}
