package main

import (
	"context"
	"flag"
	"fmt"
	"io"
	"os"
	"path/filepath"

	"github.com/idemcheck/idemcheck/checker"
	"github.com/idemcheck/idemcheck/history"
	"github.com/idemcheck/idemcheck/impl"
	"github.com/idemcheck/idemcheck/impl/sim"
	"github.com/idemcheck/idemcheck/spec"
)

// runDemo reproduces the seed bug of Redpanda PR #30429 in the reference
// implementation, once with the pre-fix ticket ordering and once with the
// fix, checks both histories from their client-visible operations alone
// and prints both verdicts. It writes the failing history and its HTML
// picture to --out.
func runDemo(ctx context.Context, env *cmdEnv, args []string) int {
	fs := flag.NewFlagSet("demo", flag.ContinueOnError)
	fs.SetOutput(env.stderr)
	out := fs.String("out", "", "directory for the histories and the HTML picture (default: a new private directory under the system's temporary directory)")
	known := fs.Bool("known", false, "run the variant where the partition already knows the producer (a spurious, retriable OOOSN instead of a lost batch)")
	readBack := fs.Bool("read-back", false, "end each run with a consumer's read of the log (LogBatch events), so the check also judges the log: lost, duplicated or missing batches")
	fs.Usage = func() {
		fmt.Fprintln(fs.Output(), `usage: idemcheck demo [--out DIR] [--known] [--read-back]

Reproduces the seed bug of Redpanda PR #30429 in the reference
implementation: one producer calls replicate(A) then replicate(B) on one
partition and B's stage_write resolves first. With the pre-fix ordering
(ticket reserved after stage_write) B overtakes A and A is refused with
OUT_OF_ORDER_SEQUENCE_NUMBER for ever; with the fix both are written in
order. Both histories are checked from their client-visible operations
alone and both verdicts printed; the histories and the failing one's HTML
picture are written to --out (default: a new private directory under the
system's temporary directory, printed at the end).

Example:
  idemcheck demo --out demo-out

Exit codes: 0 the pre-fix history is Illegal and the fixed one Ok (the bug
is shown); 1 the demo did not reproduce the bug; 2 bad usage or an output
it cannot write.

flags:`)
		fs.PrintDefaults()
	}
	if err := fs.Parse(args); err != nil {
		return exitUsage
	}
	if fs.NArg() != 0 {
		fs.Usage()
		return exitUsage
	}
	dir, err := demoDir(*out)
	if err != nil {
		fmt.Fprintf(env.stderr, "idemcheck demo: %v\n", err)
		return exitUsage
	}
	w := env.stdout
	fmt.Fprintln(w, "The seed scenario (Redpanda PR #30429): one idempotent producer calls replicate(A)")
	fmt.Fprintln(w, "then replicate(B) on one partition; B's stage_write resolves before A's.")
	if *known {
		fmt.Fprintln(w, "The partition already knows the producer (it wrote one batch before).")
	} else {
		fmt.Fprintln(w, "The partition does not know the producer yet (first contact).")
	}
	failed := false
	for _, order := range []impl.TicketOrder{impl.AfterStage, impl.BeforeStage} {
		fmt.Fprintln(w)
		bad, err := demoOne(w, order, *known, *readBack, dir)
		if err != nil {
			fmt.Fprintf(env.stderr, "idemcheck demo: %v\n", err)
			return exitUsage
		}
		failed = failed || bad
	}
	fmt.Fprintln(w)
	if !failed {
		fmt.Fprintln(w, "Neither history was flagged: the demo did not reproduce the bug.")
		return exitViolation
	}
	fmt.Fprintln(w, "The pre-fix history is Illegal and the fixed one is Ok: the checker sees the bug")
	fmt.Fprintln(w, "from the client-visible operations alone. Check your own history with:")
	fmt.Fprintln(w, "  go run ./cmd/idemcheck check FILE.jsonl")
	fmt.Fprintf(w, "\nThe histories and the picture are in %s\n", dir)
	return exitOK
}

// demoDir returns the directory the demo writes to: out, created if
// need be, or a new private directory under the system's temporary
// directory, so that two users' runs never share one.
func demoDir(out string) (string, error) {
	if out == "" {
		return os.MkdirTemp("", "idemcheck-demo-")
	}
	return out, os.MkdirAll(out, 0o755)
}

// demoOne runs the scenario under one ordering and reports whether the
// checker found a violation.
func demoOne(w io.Writer, order impl.TicketOrder, known, readBack bool, dir string) (bool, error) {
	title := "with the fix (ticket reserved before stage_write)"
	if order == impl.AfterStage {
		title = "pre-fix (ticket reserved after stage_write resolves)"
	}
	fmt.Fprintf(w, "== %s: --ticket-order %s\n", title, order)
	s, err := sim.SeedScenario(order, known)
	if err != nil {
		return false, fmt.Errorf("run scenario: %w", err)
	}
	if readBack {
		if err := s.ReadBack(); err != nil {
			return false, err
		}
	}
	h := s.History()
	fmt.Fprintln(w, "What the producer saw:")
	for _, o := range s.Outcomes() {
		switch o.State {
		case sim.Acked:
			fmt.Fprintf(w, "  batch seq [%d,%d]: acked at offset %d after %d attempt(s)\n", o.First, o.Last, o.Offset, len(o.Attempts))
		default:
			fmt.Fprintf(w, "  batch seq [%d,%d]: %s after %d attempt(s), last error %s\n", o.First, o.Last, o.State, len(o.Attempts), o.Error)
		}
	}
	base := filepath.Join(dir, "seed-"+string(order))
	if err := history.WriteFile(base+".jsonl", h); err != nil {
		return false, err
	}
	// Judge the client-visible operations only: the checker must not need
	// the implementation's internal events to see the bug. The reference
	// implementation follows rm_stm, so the rules are Redpanda's.
	opts := checker.Options{Rules: spec.Redpanda}
	res := checker.Check(clientVisible(h), opts)
	if res.Err != nil {
		return false, fmt.Errorf("check: %w", res.Err)
	}
	fmt.Fprintf(w, "Verdict: %s (%d events, history in %s)\n", res.Verdict, len(h.Events), base+".jsonl")
	if res.Verdict != checker.Illegal {
		return false, nil
	}
	for _, v := range res.Violations {
		fmt.Fprintf(w, "Violation %s on partition %q, producer %d:\n  %s\n", v.Name, v.Partition, v.PID, v.Explanation)
	}
	witness := checker.Shrink(clientVisible(h), opts)
	fmt.Fprintf(w, "Minimal witness (%d events):\n", len(witness.Events))
	fmt.Fprint(w, indent(checker.FormatWitness(witness)))
	html := base + ".html"
	f, err := os.Create(html)
	if err != nil {
		return true, err
	}
	err = checker.Visualize(f, h, res, checker.VisualizeOptions{Rules: opts.Rules})
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		return true, fmt.Errorf("write picture: %w", err)
	}
	fmt.Fprintf(w, "Picture (open in a browser): %s\n", html)
	return true, nil
}

// clientVisible keeps only the Replicate and Return events of h.
func clientVisible(h history.History) history.History {
	out := history.History{Header: h.Header}
	for _, e := range h.Events {
		// (A consumer's read of the log, with --read-back, is client
		// visible too.)
		if e.Kind == history.Replicate || e.Kind == history.Return || e.Kind == history.LogBatch {
			out.Events = append(out.Events, e)
		}
	}
	return out
}

func indent(s string) string {
	var b []byte
	start := true
	for i := 0; i < len(s); i++ {
		if start {
			b = append(b, "  "...)
		}
		b = append(b, s[i])
		start = s[i] == '\n'
	}
	if len(b) > 0 && b[len(b)-1] != '\n' {
		b = append(b, '\n')
	}
	return string(b)
}
