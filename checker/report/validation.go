package report

// Validation is what "validate --json" prints for one input: Verdict is
// "Ok" (the spec allows every event), "Illegal" (it does not; Violation
// is the first event it does not allow) or "Unusable" (Error says why).
type Validation struct {
	File        string       `json:"file"`
	Verdict     string       `json:"verdict"`
	TicketOrder string       `json:"ticket_order,omitempty"`
	Events      int64        `json:"events"`
	Violation   *FailedEvent `json:"violation,omitempty"`
	Error       string       `json:"error,omitempty"`
	// Coverage counts the spec branches the events took (validate
	// --coverage); nil when not asked for.
	Coverage any `json:"coverage,omitempty"`
}

// FailedEvent is the first event the spec does not allow.
type FailedEvent struct {
	// Source names the file the event was read from, when a report
	// covers several (the Beam pipeline's); empty otherwise.
	Source    string `json:"source,omitempty"`
	Line      int    `json:"line"`
	Event     string `json:"event"`
	Expected  string `json:"expected"`
	State     string `json:"state,omitempty"`
	Invariant string `json:"invariant,omitempty"`
}
