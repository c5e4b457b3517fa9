package main

import (
	"fmt"
	"strings"

	"github.com/idemcheck/idemcheck/history"
)

// sequenceDiagram renders a history as a Mermaid sequence diagram: one
// lane per producer, the frontend, the staging and upload path (L0),
// the producer queue and rm_stm. The header's violation, if any, ends
// the diagram as a note.
func sequenceDiagram(h history.History) string {
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
