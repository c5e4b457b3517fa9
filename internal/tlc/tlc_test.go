package tlc

import "testing"

// TestParse reads TLC outputs of the three kinds: a completed run whose
// progress lines (printed while TLC checks liveness) come before the
// final counts, an invariant violation followed by a temporal one (as
// trace validation reports), and a run that did neither.
func TestParse(t *testing.T) {
	done := `Progress(31) at 2026-11-28 04:06:44: 1,453 states generated, 1,251 distinct states found, 0 states left on queue.
Checking 3 branches of temporal properties for the complete state space with 753 total distinct states at (2026-11-28 04:06:44)
Progress(31) at 2026-11-28 04:06:45: 9 states generated, 7 distinct states found, 0 states left on queue.
Model checking completed. No error has been found.
1453 states generated, 1251 distinct states found, 0 states left on queue.
The depth of the complete state graph search is 31.
`
	o, err := Parse(done)
	if err != nil {
		t.Fatal(err)
	}
	if o != (Output{Distinct: 1251, Generated: 1453, Depth: 31}) {
		t.Errorf("completed run: %+v", o)
	}

	viol := `Error: Invariant TicketOrderIsCallOrder is violated.
Error: The behavior up to this point is:
State 1: <Initial predicate>
/\ l = 1

State 2: <TraceReplicate line 58, col 5 to line 60, col 14 of module TraceBroker>
/\ l = 2

State 3: <TraceReserveTicket line 62, col 23 to line 62, col 92 of module TraceBroker>
/\ l = 3

Error: Temporal properties were violated.

Error: The following behavior constitutes a counter-example:

State 1: <Initial predicate>
/\ l = 1

State 2: <TraceReplicate line 58, col 5 to line 60, col 14 of module TraceBroker>
/\ l = 2

State 3: <TraceReserveTicket line 62, col 23 to line 62, col 92 of module TraceBroker>
/\ l = 3

State 4: <TraceStageWriteStart line 63, col 25 to line 63, col 98 of module TraceBroker>
/\ l = 4

State 5: Stuttering
4 states generated, 4 distinct states found, 0 states left on queue.
The depth of the complete state graph search is 4.
`
	o, err = Parse(viol)
	if err != nil {
		t.Fatal(err)
	}
	if o.Verdict != "TicketOrderIsCallOrder" || o.Steps != 2 || o.LastValue("l") != "3" || o.Distinct != 4 || o.Depth != 4 {
		t.Errorf("invariant then temporal: verdict %q, %d steps, l = %q, %d distinct, depth %d; want TicketOrderIsCallOrder, 2, 3, 4, 4",
			o.Verdict, o.Steps, o.LastValue("l"), o.Distinct, o.Depth)
	}
	o, err = Parse(viol[len("Error: Invariant TicketOrderIsCallOrder is violated.\n"):][len("Error: The behavior up to this point is:\n"):])
	if err != nil {
		t.Fatal(err)
	}
	if o.Verdict != Temporal {
		t.Errorf("verdict %q, want %q", o.Verdict, Temporal)
	}

	if _, err := Parse("Exception in thread \"main\" java.lang.OutOfMemoryError\n"); err == nil {
		t.Error("a crashed run parsed")
	}
}
