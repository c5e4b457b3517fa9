package main

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"time"

	"github.com/idemcheck/idemcheck/history"
	"github.com/idemcheck/idemcheck/internal/mc"
)

// mcPartition names the model's single partition in the histories of
// its counterexamples.
const mcPartition = "p0"

// counterexample returns a model checker's violation as a history: its
// behaviour run to the end ([mc.Violation.Behavior]), one event per
// action at times 1, 2, … in partition [mcPartition], the client of a
// call being its producer id (the violating step is event number
// len(v.Steps)). The header says source "mc", the ticket order and the
// violated invariant.
func counterexample(v *mc.Violation) history.History {
	return history.FromActions(history.Header{
		Format:      history.FormatV1,
		Source:      "mc",
		TicketOrder: v.TicketOrder,
		Expect:      "Illegal",
		Violation:   v.Invariant,
		Description: fmt.Sprintf("model-checker counterexample (%d steps, then the broker's own steps to the end): %s", len(v.Steps), v.Message),
	}, mcPartition, v.Behavior())
}

// runMC model-checks the Go spec breadth-first with the constants,
// invariants and properties of a TLC .cfg file (spec/tla/*.cfg). On a
// violation it prints the shortest trace and can save it as a history
// (--trace) and as a Mermaid sequence diagram (--diagram). Exit codes: 0 no
// violation, 1 a violation, 2 bad usage or config, 3 stopped before the
// state space was exhausted (--max-states, --timeout or Ctrl-C).
func runMC(ctx context.Context, env *cmdEnv, args []string) int {
	fs := flag.NewFlagSet("mc", flag.ContinueOnError)
	fs.SetOutput(env.stderr)
	workers := fs.Int("workers", 0, "goroutines computing successors (0: all cores)")
	traceOut := fs.String("trace", "", "write the counterexample as a history `FILE` (.jsonl or .yaml)")
	diagram := fs.Bool("diagram", false, "print the counterexample as a Mermaid sequence diagram")
	every := fs.Duration("progress-every", 10*time.Second, "interval between progress lines on stderr")
	quiet := fs.Bool("quiet", false, "no progress lines")
	maxStates := fs.Int64("max-states", 0, "stop after this many distinct states (0: no limit)")
	timeout := fs.Duration("timeout", 0, "stop after this long (0: no limit)")
	coverage := fs.Bool("coverage", false, "also report how many generated transitions took each branch of the spec (spec.Branch), as TLC's -coverage")
	asJSON := fs.Bool("json", false, "print the outcome (verdict, counts, violation, liveness, coverage) as one JSON object on stdout instead of the report")
	fs.Usage = func() {
		fmt.Fprintln(fs.Output(), `usage: idemcheck mc [flags] CONFIG.cfg

Model-checks the Go spec (the twin of spec/tla/Broker.tla) on the bounds
and switches of a TLC .cfg file: breadth-first over every reachable state,
checking the invariants and properties the file names. On a violation it
prints the shortest trace and can save it as a history (--trace) and as a
Mermaid sequence diagram (--diagram). The counts of states equal TLC's on
the same file. --coverage also counts the spec branches (actions, the
classes of the idempotency rule, failures, release reasons, ...) of every
transition generated and names those never taken; --json prints the
outcome as one JSON object.

Example:
  idemcheck mc --trace cex.jsonl spec/tla/MCBroker_prefix_1x2.cfg

Exit codes: 0 no violation; 1 a violation; 2 bad usage or config; 3
stopped before the state space was exhausted (--max-states, --timeout or
Ctrl-C).

flags:`)
		fs.PrintDefaults()
	}
	if err := fs.Parse(args); err != nil {
		return exitUsage
	}
	if fs.NArg() != 1 {
		fs.Usage()
		return exitUsage
	}
	cfg, err := mc.LoadConfig(fs.Arg(0))
	if err != nil {
		fmt.Fprintf(env.stderr, "idemcheck mc: %v\n", err)
		return exitUsage
	}
	if *timeout > 0 {
		var cancel context.CancelFunc
		ctx, cancel = context.WithTimeout(ctx, *timeout)
		defer cancel()
	}
	opts := mc.Options{Workers: *workers, ProgressEvery: *every, MaxDistinct: *maxStates, Coverage: *coverage}
	if !*quiet {
		opts.Progress = env.stderr
	}
	res, err := mc.Run(ctx, cfg, opts)
	if *asJSON {
		if jerr := writeMCJSON(env.stdout, res, err); jerr != nil {
			fmt.Fprintf(env.stderr, "idemcheck mc: %v\n", jerr)
			return exitUsage
		}
	} else {
		res.Report(env.stdout)
		if res.Coverage != nil {
			newCoverageReport(res.Coverage).write(env.stdout, fmt.Sprintf("%d transitions generated", res.Generated))
		}
	}
	if err != nil {
		fmt.Fprintf(env.stderr, "idemcheck mc: search stopped before the state space was exhausted: %v\n", err)
		if errors.Is(err, context.Canceled) || errors.Is(err, context.DeadlineExceeded) || res.Violation == nil {
			return exitUndecided
		}
	}
	v := res.Violation
	if v == nil {
		return exitOK
	}
	h := counterexample(v)
	if *traceOut != "" {
		if err := history.WriteFile(*traceOut, h); err != nil {
			fmt.Fprintf(env.stderr, "idemcheck mc: %v\n", err)
			return exitUsage
		}
		fmt.Fprintf(env.stdout, "Counterexample written as a history to %s (check it: idemcheck check %s)\n", *traceOut, *traceOut)
	}
	if *diagram && !*asJSON {
		fmt.Fprintln(env.stdout)
		fmt.Fprintln(env.stdout, sequenceDiagram(h))
	}
	return exitViolation
}

// mcReport is what "mc --json" prints.
type mcReport struct {
	Model string `json:"model"`
	// Verdict is "Ok" (no violation in the whole state space),
	// "Illegal" (a violation) or "Undecided" (stopped before the end:
	// Stopped says why).
	Verdict   string `json:"verdict"`
	Violation string `json:"violation,omitempty"`
	Message   string `json:"message,omitempty"`
	Steps     int    `json:"steps,omitempty"`
	Distinct  int64  `json:"distinct"`
	Generated int64  `json:"generated"`
	// Depth is TLC's "depth of the complete state graph search".
	Depth    int             `json:"depth"`
	Left     int64           `json:"left"`
	Liveness string          `json:"liveness"`
	Stopped  string          `json:"stopped,omitempty"`
	Coverage *coverageReport `json:"coverage,omitempty"`
}

// writeMCJSON writes the outcome of a run as one JSON object.
func writeMCJSON(w io.Writer, res mc.Result, runErr error) error {
	r := mcReport{Model: res.Config.Name, Verdict: "Ok", Distinct: res.Distinct, Generated: res.Generated,
		Depth: res.Diameter + 1, Left: res.Left, Liveness: res.Liveness}
	if v := res.Violation; v != nil {
		r.Verdict, r.Violation, r.Message, r.Steps = "Illegal", v.Invariant, v.Message, len(v.Steps)
	}
	if runErr != nil && res.Violation == nil {
		r.Verdict, r.Stopped = "Undecided", runErr.Error()
	}
	if res.Coverage != nil {
		r.Coverage = newCoverageReport(res.Coverage)
	}
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	return enc.Encode(r)
}
