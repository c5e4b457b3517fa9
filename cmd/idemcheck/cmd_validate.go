package main

import (
	"context"
	"errors"
	"flag"
	"fmt"

	"github.com/idemcheck/idemcheck/checker/validate"
	"github.com/idemcheck/idemcheck/history"
)

// runValidate implements "idemcheck validate": it replays the internal
// events of one history through the Go spec (checker/validate) and
// reports the first event the spec does not allow.
func runValidate(ctx context.Context, env *cmdEnv, args []string) int {
	fs := flag.NewFlagSet("validate", flag.ContinueOnError)
	fs.SetOutput(env.stderr)
	var order string
	fs.StringVar(&order, "ticket-order", "", "ticket ordering to validate against: before-stage (the fix) or after-stage (pre-fix); default: the file header's, else before-stage")
	fs.Usage = func() {
		fmt.Fprintln(fs.Output(), `usage: idemcheck validate [flags] FILE

Replays the internal events of a history (stage_write, upload, ticket
reserve/redeem/release, fence, decision) through the Go spec and reports
the first event the spec does not allow: its file:line, the event, what
the spec expected there and the state that mattered. A pre-fix history
(ticket reserved after stage_write) is rejected at its ticket event even
when its client-visible outcome was fine. "-" reads stdin.

Exit codes: 0 the spec allows every event; 1 it does not; 2 unusable
input or usage.

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
	r, display, closeFn, err := openInput(env, files[0])
	if err != nil {
		fmt.Fprintf(env.stderr, "idemcheck validate: %s: %v\n", files[0], unwrapPathError(err))
		return exitUsage
	}
	defer closeFn()
	rd, err := history.NewReader(r, display)
	if err != nil {
		fmt.Fprintf(env.stderr, "idemcheck validate: %v\n", err)
		return exitUsage
	}
	if order == "" {
		order = rd.Header().TicketOrder
	}
	if order == "" {
		order = "before-stage"
	}
	cr := &countingReader{Reader: rd}
	err = validate.Reader(cr, validate.Options{TicketOrder: order})
	if err == nil && ctx.Err() != nil {
		err = ctx.Err()
	}
	if err == nil {
		fmt.Fprintf(env.stdout, "%s: %d events: every event is allowed by the spec (ticket order %s)\n", display, cr.n, order)
		return exitOK
	}
	var se *history.SyntaxError
	if errors.As(err, &se) {
		fmt.Fprintf(env.stderr, "idemcheck validate: %v\n", err)
		return exitUsage
	}
	var we *validate.Error
	if errors.As(err, &we) {
		if we.Missing != "" {
			fmt.Fprintf(env.stdout, "%s: cannot be validated: %s\n", display, we.Expected)
			return exitUsage
		}
		what := "the spec (ticket order " + order + ") does not allow this event"
		if we.Invariant != "" {
			what = "this event breaks the spec invariant " + we.Invariant + " (ticket order " + order + ")"
		}
		fmt.Fprintf(env.stdout, "%s:%d: %s\n", display, we.Line, what)
		fmt.Fprintf(env.stdout, "  event:    %s\n", we.Event)
		fmt.Fprintf(env.stdout, "  expected: %s\n", we.Expected)
		if we.State != "" {
			fmt.Fprintf(env.stdout, "  state:    %s\n", we.State)
		}
		return exitViolation
	}
	fmt.Fprintf(env.stderr, "idemcheck validate: %s: %v\n", display, err)
	return exitUsage
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
