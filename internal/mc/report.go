package mc

import (
	"fmt"
	"io"
	"strings"

	"github.com/idemcheck/idemcheck/history"
	"github.com/idemcheck/idemcheck/spec"
)

// Partition is the partition name given to the model's single partition
// in exported histories.
const Partition = "p0"

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

// History returns the trace as a history: one event per action, time
// equal to the step number, one partition ([Partition]), client equal to
// the producer id. After the violating step the history goes on with the
// broker's own steps (the first enabled fair action each time) until no
// call is left open, so that the client-visible outcome of every call is
// in it (the violating step is event number len(v.Steps)). The header
// says source "mc", the ticket order and the violated invariant.
func (v *Violation) History() history.History {
	h := history.History{Header: history.Header{
		Format:      history.FormatV1,
		Source:      "mc",
		TicketOrder: v.TicketOrder,
		Expect:      "Illegal",
		Violation:   v.Invariant,
		Description: fmt.Sprintf("model-checker counterexample (%d steps, then the broker's own steps to the end): %s", len(v.Steps), v.Message),
	}}
	s := v.Init
	for i, st := range v.Steps {
		h.Events = append(h.Events, Event(st.Action, int64(i+1)))
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
		h.Events = append(h.Events, Event(*next, int64(len(h.Events)+1)))
	}
	return h
}

// Event maps a spec action to the history event of the same kind at
// time t, in the model's single partition.
func Event(a spec.Action, t int64) history.Event {
	e := history.Event{Kind: a.Name, Time: t, Op: a.Op}
	switch a.Name {
	case spec.Replicate:
		e.Client, e.Partition, e.PID, e.Epoch, e.First, e.Last = a.PID, Partition, a.PID, a.Epoch, a.First, a.Last
	case spec.Return:
		e.Result = a.Result
		switch a.Result {
		case spec.OK:
			e.Offset = a.Offset
		case spec.Failed:
			e.Error = a.Error
		}
	case spec.StageWriteDone, spec.UploadDone, spec.FenceEpoch:
		e.Result = a.Result
	case spec.Decide:
		e.Decision = a.Decision
		if a.Decision.HasOffset() {
			e.Offset = a.Offset
		}
	case spec.EvictProducer:
		e.Op, e.Partition, e.PID = 0, Partition, a.PID
	case spec.BumpEpoch:
		e.Op, e.PID, e.Epoch = 0, a.PID, a.Epoch
	case spec.ChangeTerm:
		e.Op, e.Partition, e.Term = 0, Partition, a.Term
	}
	return e
}

// SequenceDiagram renders a history as a Mermaid sequence diagram: one
// lane per producer, the frontend, the staging and upload path (L0),
// the producer queue and rm_stm. The header's violation, if any, ends
// the diagram as a note.
func SequenceDiagram(h history.History) string {
	var b strings.Builder
	b.WriteString("sequenceDiagram\n")
	pids := map[int64]int64{} // op -> pid
	var lanes []int64
	seen := map[int64]bool{}
	for _, e := range h.Events {
		if e.Kind == history.Replicate || e.Kind == history.BumpEpoch {
			if !seen[e.PID] {
				seen[e.PID] = true
				lanes = append(lanes, e.PID)
			}
		}
	}
	for _, p := range lanes {
		fmt.Fprintf(&b, "    participant P%d as producer %d\n", p, p)
	}
	b.WriteString("    participant F as frontend\n    participant L0 as stage_write / upload\n    participant Q as producer_queue\n    participant RM as rm_stm\n")
	for _, e := range h.Events {
		op := e.Op
		switch e.Kind {
		case history.Replicate:
			pids[op] = e.PID
			fmt.Fprintf(&b, "    P%d->>F: replicate op%d epoch %d seq [%d,%d]\n", e.PID, op, e.Epoch, e.First, e.Last)
		case history.ReserveTicket:
			fmt.Fprintf(&b, "    F->>Q: reserve ticket op%d\n", op)
		case history.StageWriteStart:
			fmt.Fprintf(&b, "    F->>L0: stage_write op%d\n", op)
		case history.StageWriteDone:
			fmt.Fprintf(&b, "    L0-->>F: staged op%d %s\n", op, e.Result)
		case history.UploadDone:
			fmt.Fprintf(&b, "    L0-->>F: uploaded op%d %s\n", op, e.Result)
		case history.RedeemTicket:
			fmt.Fprintf(&b, "    Q-->>F: redeem op%d (head of queue)\n", op)
		case history.FenceEpoch:
			fmt.Fprintf(&b, "    F->>RM: fence_epoch op%d %s\n", op, e.Result)
		case history.Decide:
			if e.Decision.HasOffset() {
				fmt.Fprintf(&b, "    RM-->>F: op%d %s offset %d\n", op, e.Decision, e.Offset)
			} else {
				fmt.Fprintf(&b, "    RM-->>F: op%d %s\n", op, e.Decision)
			}
		case history.ReleaseTicket:
			fmt.Fprintf(&b, "    F->>Q: release ticket op%d\n", op)
		case history.Return:
			p := pids[op]
			switch e.Result {
			case history.OK:
				fmt.Fprintf(&b, "    F-->>P%d: op%d ok offset %d\n", p, op, e.Offset)
			case history.Failed:
				fmt.Fprintf(&b, "    F-->>P%d: op%d error %s\n", p, op, e.Error)
			default:
				fmt.Fprintf(&b, "    F--xP%d: op%d timed out (unknown)\n", p, op)
			}
		case history.EvictProducer:
			fmt.Fprintf(&b, "    Note over RM: evict producer %d\n", e.PID)
		case history.BumpEpoch:
			fmt.Fprintf(&b, "    Note over P%d: epoch bumped to %d\n", e.PID, e.Epoch)
		case history.ChangeTerm:
			fmt.Fprintf(&b, "    Note over RM: term %d\n", e.Term)
		}
	}
	if h.Header.Violation != "" {
		fmt.Fprintf(&b, "    Note over F,RM: violates %s\n", h.Header.Violation)
	}
	return b.String()
}
