package agreement

import (
	"github.com/idemcheck/idemcheck/history"
	"github.com/idemcheck/idemcheck/internal/mc"
)

// modelPartition names the spec's single partition in the histories the
// tests make of its behaviours.
const modelPartition = "p0"

// counterexample returns a model checker's violation as a history, as
// `idemcheck mc --trace` writes it: its behaviour run to the end, one
// event per action (the violating step is event number len(v.Steps)),
// under a header naming the ticket order and the violated invariant.
func counterexample(v *mc.Violation) history.History {
	return history.FromActions(history.Header{
		Format:      history.FormatV1,
		Source:      "mc",
		TicketOrder: v.TicketOrder,
		Expect:      "Illegal",
		Violation:   v.Invariant,
	}, modelPartition, v.Behavior())
}
