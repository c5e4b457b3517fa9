package main

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"github.com/idemcheck/idemcheck/checker/report"

	"github.com/idemcheck/idemcheck/checker/validate"
	"github.com/idemcheck/idemcheck/history"
	"github.com/idemcheck/idemcheck/spec"
)

// runValidate implements "idemcheck validate": it replays the internal
// events of one history through the Go spec (checker/validate) and
// reports the first event the spec does not allow.
func runValidate(ctx context.Context, env *cmdEnv, args []string) int {
	fs := flag.NewFlagSet("validate", flag.ContinueOnError)
	fs.SetOutput(env.stderr)
	var order string
	var asJSON, coverage bool
	var window int
	fs.IntVar(&window, "window", 0, "finished requests the idempotency rules remember per producer (requests_cached_max; 0: the default, 5)")
	fs.StringVar(&order, "ticket-order", "", "ticket ordering to validate against: before-stage (the fix) or after-stage (pre-fix); default: the file header's, else before-stage")
	fs.BoolVar(&asJSON, "json", false, "print the report as one JSON object on stdout")
	fs.BoolVar(&coverage, "coverage", false, "also report how many times each branch of the spec (spec.Branch: actions and the cases of their rules) was taken, and which never were")
	fs.Usage = func() {
		fmt.Fprintln(fs.Output(), `usage: idemcheck validate [flags] FILE

Replays the internal events of a history (stage_write, upload, ticket
reserve/redeem/release, fence, decision) through the Go spec and reports
the first event the spec does not allow: its file:line, the event, what
the spec expected there and the state that mattered. A pre-fix history
(ticket reserved after stage_write) is rejected at its ticket event even
when its client-visible outcome was fine. "-" reads stdin. A history
without internal events (calls and returns only) has nothing to validate:
idemcheck check judges it. --coverage also prints which branches of the
spec (actions, the classes of the idempotency rule, failures, release
reasons, ...) the events took and how often, up to the first event the
spec does not allow.

Example:
  idemcheck gen --impl --ticket-order after-stage > h.jsonl
  idemcheck validate h.jsonl
  idemcheck validate --coverage traces/seed-unknown-bad.jsonl

Exit codes: 0 the spec allows every event; 1 it does not; 2 unusable
input or usage, and a history that cannot be validated (no internal
events, or a kind of event the spec needs is missing).

flags:`)
		fs.PrintDefaults()
	}
	files, err := parseInterspersed(fs, args)
	if err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return exitOK
		}
		return exitUsage
	}
	if len(files) != 1 {
		fmt.Fprintln(env.stderr, "idemcheck validate: give exactly one FILE (- for stdin)")
		return exitUsage
	}
	switch order {
	case "", "before-stage", "after-stage":
	default:
		fmt.Fprintf(env.stderr, "idemcheck validate: --ticket-order %q is not before-stage or after-stage\n", order)
		return exitUsage
	}
	if window < 0 {
		fmt.Fprintf(env.stderr, "idemcheck validate: --window %d is negative\n", window)
		return exitUsage
	}
	var cov *spec.Coverage
	if coverage {
		cov = &spec.Coverage{}
	}
	rep, code := validateOne(ctx, env, files[0], order, window, cov)
	if asJSON {
		enc := json.NewEncoder(env.stdout)
		enc.SetIndent("", "  ")
		if err := enc.Encode(rep); err != nil {
			fmt.Fprintf(env.stderr, "idemcheck validate: %v\n", err)
			return exitUsage
		}
	}
	switch {
	case rep.Error != "":
		fmt.Fprintf(env.stderr, "idemcheck validate: %s\n", rep.Error)
	case asJSON:
	case rep.Violation == nil:
		fmt.Fprintf(env.stdout, "%s: %d events: every event is allowed by the spec (ticket order %s)\n", rep.File, rep.Events, rep.TicketOrder)
	default:
		v := rep.Violation
		what := "the spec (ticket order " + rep.TicketOrder + ") does not allow this event"
		if v.Invariant != "" {
			what = "this event breaks the spec invariant " + v.Invariant + " (ticket order " + rep.TicketOrder + ")"
		}
		fmt.Fprintf(env.stdout, "%s:%d: %s\n", rep.File, v.Line, what)
		fmt.Fprintf(env.stdout, "  event:    %s\n", v.Event)
		fmt.Fprintf(env.stdout, "  expected: %s\n", v.Expected)
		if v.State != "" {
			fmt.Fprintf(env.stdout, "  state:    %s\n", v.State)
		}
	}
	if c, ok := rep.Coverage.(*coverageReport); ok && !asJSON {
		c.write(env.stdout, fmt.Sprintf("%d events of %s", rep.Events, rep.File))
	}
	return code
}

// validateOne validates one input and returns its report and exit code.
// With cov not nil it counts the spec branches taken and puts them in
// the report (but for unusable input).
func validateOne(ctx context.Context, env *cmdEnv, name, order string, window int, cov *spec.Coverage) (report.Validation, int) {
	rep := report.Validation{File: name, Verdict: "Unusable"}
	unusable := func(err error) (report.Validation, int) {
		rep.Error = err.Error()
		return rep, exitUsage
	}
	r, display, closeFn, err := openInput(env, name)
	if err != nil {
		return unusable(fmt.Errorf("%s: %v", name, unwrapPathError(err)))
	}
	defer closeFn()
	rep.File = display
	rd, err := history.NewReader(r, display)
	if err != nil {
		return unusable(err)
	}
	if order == "" {
		order = rd.Header().TicketOrder
	}
	if order == "" {
		order = "before-stage"
	}
	rep.TicketOrder = order
	cr := &countingReader{Reader: rd}
	err = validate.Reader(cr, validate.Options{TicketOrder: order, Coverage: cov, Window: window})
	rep.Events = cr.n
	if cov != nil {
		rep.Coverage = newCoverageReport(cov)
	}
	if err == nil && ctx.Err() != nil {
		err = ctx.Err()
	}
	var se *history.SyntaxError
	var we *validate.Error
	switch {
	case err == nil:
		rep.Verdict = "Ok"
		return rep, exitOK
	case errors.As(err, &se):
		return unusable(err)
	case errors.Is(err, validate.ErrNothingToValidate):
		return unusable(fmt.Errorf("%s: %w", display, err))
	case errors.As(err, &we) && we.Missing != "":
		return unusable(fmt.Errorf("%s:%d: cannot be validated: %s", display, we.Line, we.Expected))
	case errors.As(err, &we):
		rep.Verdict = "Illegal"
		rep.Violation = &report.FailedEvent{Line: we.Line, Event: we.Event.String(), Expected: we.Expected, State: we.State, Invariant: we.Invariant}
		return rep, exitViolation
	}
	return unusable(fmt.Errorf("%s: %w", display, err))
}

// countingReader counts the events read through it.
type countingReader struct {
	history.Reader
	n int64
}

func (c *countingReader) Next() (history.Event, error) {
	e, err := c.Reader.Next()
	if err == nil {
		c.n++
	}
	return e, err
}
