package mc

import (
	"fmt"
	"io"

	"github.com/idemcheck/idemcheck/spec"
)

// Report writes the outcome in a form comparable with TLC's output: the
// verdict, the trace of a violation (action by action, with the
// variables each step changed), then the state counts and the depth.
func (r Result) Report(w io.Writer) {
	name := r.Config.Name
	if name == "" {
		name = "model"
	}
	fmt.Fprintf(w, "Model %s: ticket order %s, %d producer(s) x %d batch(es)\n", name, orderOf(r.Config.Spec), r.Config.Spec.Producers, r.Config.Spec.Batches)
	if v := r.Violation; v != nil {
		if v.Invariant == spec.EveryCallReturns {
			fmt.Fprintf(w, "Error: Temporal property %s is violated.\n", v.Invariant)
		} else {
			fmt.Fprintf(w, "Error: Invariant %s is violated.\n", v.Invariant)
		}
		fmt.Fprintf(w, "%s\n", v.Message)
		v.WriteTrace(w)
	} else {
		fmt.Fprintln(w, "Model checking completed. No error has been found.")
	}
	fmt.Fprintf(w, "Liveness (%s): %s\n", spec.EveryCallReturns, r.Liveness)
	fmt.Fprintf(w, "%d states generated, %d distinct states found, %d states left on queue.\n", r.Generated, r.Distinct, r.Left)
	fmt.Fprintf(w, "The depth of the complete state graph search is %d.\n", r.Diameter+1)
	rate := float64(r.Generated) / max(r.Duration.Seconds(), 1e-9)
	fmt.Fprintf(w, "Finished in %s (%.0f states/s).\n", r.Duration.Round(1e6), rate)
}

// WriteTrace writes the trace: the initial state, then each action with
// the variables it changed.
func (v *Violation) WriteTrace(w io.Writer) {
	fmt.Fprintln(w, "The behavior up to this point is:")
	fmt.Fprintln(w, "State 1: <Initial predicate>")
	for _, x := range v.Init.Vars() {
		fmt.Fprintf(w, "  %s = %s\n", x.Name, x.Value)
	}
	prev := v.Init.Vars()
	for i, st := range v.Steps {
		fmt.Fprintf(w, "State %d: <%s>\n", i+2, st.Action)
		cur := st.State.Vars()
		old := map[string]string{}
		for _, x := range prev {
			old[x.Name] = x.Value
		}
		for _, x := range cur {
			if o, ok := old[x.Name]; !ok || o != x.Value {
				fmt.Fprintf(w, "  %s = %s\n", x.Name, x.Value)
			}
			delete(old, x.Name)
		}
		for _, x := range prev {
			if _, gone := old[x.Name]; gone {
				fmt.Fprintf(w, "  %s = (none)\n", x.Name)
			}
		}
		prev = cur
	}
}

// Behavior returns the trace's actions, then the broker's own steps
// (the first enabled fair action each time) until no call is left open,
// so that the client-visible outcome of every call is in it. The
// violating step is the len(v.Steps)-th action. A history of it is
// history.FromActions, for the callers that need one (the model checker
// itself knows only the spec).
func (v *Violation) Behavior() []spec.Action {
	acts := make([]spec.Action, 0, len(v.Steps))
	s := v.Init
	for _, st := range v.Steps {
		acts = append(acts, st.Action)
		s = st.State
	}
	for n := 0; n < 100000; n++ {
		var next *spec.Action
		for _, a := range spec.Enabled(v.Spec, s) {
			if a.Fair() {
				next = &a
				break
			}
		}
		if next == nil {
			break
		}
		ns, err := spec.Step(v.Spec, s, *next)
		if err != nil {
			break
		}
		s = ns
		acts = append(acts, *next)
	}
	return acts
}
