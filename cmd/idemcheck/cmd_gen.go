package main

import (
	"bufio"
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"math/rand/v2"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/idemcheck/idemcheck/history"
	"github.com/idemcheck/idemcheck/impl"
	"github.com/idemcheck/idemcheck/impl/sim"
	"github.com/idemcheck/idemcheck/internal/gen"
	"github.com/idemcheck/idemcheck/spec"
)

func genUsage(fs *flag.FlagSet) func() {
	return func() {
		fmt.Fprintf(fs.Output(), `usage: idemcheck gen [flags]

Generates a seeded synthetic history (JSON Lines, or YAML when --out ends
in .yaml) on stdout or in --out. The default engine (internal/gen) is fast
and streams, so it makes histories of millions of operations: its own
workload drives the spec's step function (the fixed write path). It can
inject one catalogue bug (--inject %s): the bug's
episode, on producer ids the traffic does not use, is put in front of
the correct history.
--impl runs the reference implementation's random workload instead
(slower, more realistic: failed stages and uploads, client timeouts and
retries; no --inject, but --ticket-order after-stage gives the pre-fix
ordering).

Example:
  idemcheck gen --producers 4 --batches 1000 --unknown-rate 0.02 --inject reorder-unknown | idemcheck check -

Exit codes: 0 written; 2 bad usage or an output it cannot write.

flags:
`, strings.Join(bugNames(), "|"))
		fs.PrintDefaults()
	}
}

func bugNames() []string {
	var names []string
	for _, b := range gen.Bugs() {
		names = append(names, string(b))
	}
	return names
}

// runGen implements "idemcheck gen".
func runGen(ctx context.Context, env *cmdEnv, args []string) int {
	var (
		o           gen.Options
		inject      string
		out         string
		useImpl     bool
		ticketOrder string
		startSeq    int64
	)
	fs := flag.NewFlagSet("gen", flag.ContinueOnError)
	fs.SetOutput(env.stderr)
	fs.Usage = genUsage(fs)
	fs.Int64Var(&o.Seed, "seed", 1, "seed; the same flags give the same history")
	fs.IntVar(&o.Partitions, "partitions", 1, "number of partitions")
	fs.IntVar(&o.Producers, "producers", 1, "number of producers")
	fs.IntVar(&o.Batches, "batches", 10, "batches per producer and partition (--impl: per producer)")
	fs.IntVar(&o.InFlight, "inflight", spec.WindowSize, fmt.Sprintf("most requests a producer has outstanding per partition (1..%d: the batches a partition remembers per producer for duplicate detection)", spec.WindowSize))
	fs.Float64Var(&o.UnknownRate, "unknown-rate", 0, "probability that the client times out on an attempt (Return unknown)")
	fs.IntVar(&o.Retries, "retries", 1, "retries of a timed-out batch")
	fs.IntVar(&o.EpochBumps, "epoch-bumps", 0, "epoch bumps per producer")
	fs.Int64Var(&startSeq, "start-seq", 0, "first sequence of every producer (near 2147483647 to exercise the wrap)")
	fs.StringVar(&inject, "inject", "", "inject one bug: "+strings.Join(bugNames(), ", "))
	fs.StringVar(&out, "out", "", "write to `FILE` instead of stdout (.yaml/.yml: YAML)")
	fs.BoolVar(&useImpl, "impl", false, "use the reference implementation's random workload")
	fs.StringVar(&ticketOrder, "ticket-order", "before-stage", "with --impl: before-stage (the fix) or after-stage (pre-fix)")
	progress := fs.Bool("progress", false, "report progress and the final count on stderr even when it is not a terminal")
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return exitOK
		}
		return exitUsage
	}
	if fs.NArg() > 0 {
		fmt.Fprintf(env.stderr, "idemcheck gen: unexpected argument %q\n", fs.Arg(0))
		return exitUsage
	}
	bug, err := gen.ParseBug(inject)
	if err != nil {
		fmt.Fprintf(env.stderr, "idemcheck gen: %v\n", err)
		return exitUsage
	}
	o.Inject = bug
	if startSeq < 0 || startSeq > 1<<31-1 {
		fmt.Fprintf(env.stderr, "idemcheck gen: --start-seq %d is not a sequence (0..2147483647)\n", startSeq)
		return exitUsage
	}
	o.StartSeq = int32(startSeq)
	if o.Partitions < 1 || o.Producers < 1 || o.Batches < 1 {
		fmt.Fprintln(env.stderr, "idemcheck gen: --partitions, --producers and --batches must be at least 1")
		return exitUsage
	}
	yaml := false
	switch strings.ToLower(filepath.Ext(out)) {
	case ".yaml", ".yml":
		yaml = true
	}
	var w io.Writer = env.stdout
	var file *os.File
	if out != "" {
		file, err = os.Create(out)
		if err != nil {
			fmt.Fprintf(env.stderr, "idemcheck gen: %v\n", err)
			return exitUsage
		}
		w = file
	}
	start := time.Now()
	var st gen.Stats
	if useImpl {
		st, err = genImpl(w, o, ticketOrder, yaml)
	} else {
		name := out
		if name == "" {
			name = "stdout"
		}
		p := newProgress(env.stderr, *progress || env.stderrIsTTY, "gen", name, [2]string{"writing", "wrote"})
		st, err = genFast(ctx, w, o, yaml, p)
	}
	if file != nil {
		if cerr := file.Close(); err == nil && cerr != nil {
			err = cerr
		}
	}
	if err != nil {
		fmt.Fprintf(env.stderr, "idemcheck gen: %v\n", err)
		return exitUsage
	}
	if out != "" || env.stderrIsTTY || *progress {
		el := time.Since(start).Seconds()
		fmt.Fprintf(env.stderr, "idemcheck gen: %d events, %d operations in %.1fs (%.0f ops/s)\n", st.Events, st.Ops, el, float64(st.Ops)/max(el, 1e-9))
	}
	return exitOK
}

// genFast streams internal/gen's history to w, reporting progress to p
// and stopping, with ctx's error, once ctx is done.
func genFast(ctx context.Context, w io.Writer, o gen.Options, yaml bool, p *progressReporter) (gen.Stats, error) {
	if yaml {
		h, err := gen.History(o)
		if err != nil {
			return gen.Stats{}, err
		}
		return statsOf(h), history.EncodeYAML(w, h)
	}
	bw := bufio.NewWriterSize(w, 1<<20)
	jw, err := history.NewJSONLWriter(bw, o.Header())
	if err != nil {
		return gen.Stats{}, err
	}
	st, err := gen.Generate(o, &progressRecorder{Recorder: jw, ctx: ctx, p: p})
	if err != nil {
		return st, err
	}
	if err := jw.Flush(); err != nil {
		return st, err
	}
	return st, bw.Flush()
}

// progressRecorder counts the events written through it, reports
// progress and stops the generation (with the context's error) once ctx
// is done: a signal ends a long generation cleanly.
type progressRecorder struct {
	gen.Recorder
	ctx context.Context
	p   *progressReporter
	n   int64
}

func (pr *progressRecorder) Record(e history.Event) error {
	pr.n++
	if pr.n&0xfff == 0 {
		if err := pr.ctx.Err(); err != nil {
			return fmt.Errorf("stopped after %d events: %w", pr.n, err)
		}
	}
	if pr.n&0xffff == 0 {
		pr.p.read(pr.n, false)
	}
	return pr.Recorder.Record(e)
}

// genImpl runs the reference implementation's random workload.
func genImpl(w io.Writer, o gen.Options, order string, yaml bool) (gen.Stats, error) {
	if o.Inject != "" {
		return gen.Stats{}, errors.New("--inject needs the default engine; with --impl use --ticket-order after-stage")
	}
	to, err := impl.ParseTicketOrder(order)
	if err != nil {
		return gen.Stats{}, err
	}
	faults := sim.DefaultFaults()
	faults.Timeout = o.UnknownRate
	cfg := sim.WorkloadConfig{TicketOrder: to, Producers: o.Producers, Partitions: o.Partitions,
		Batches: o.Batches, Faults: faults,
		Header: history.Header{Source: "impl", Seed: o.Seed,
			Description: fmt.Sprintf("impl random workload: %d producers, %d partitions, %d batches each", o.Producers, o.Partitions, o.Batches)}}
	h, err := sim.RandomWorkload(rand.New(rand.NewPCG(uint64(o.Seed), 0)), cfg)
	if err != nil {
		return gen.Stats{}, err
	}
	if yaml {
		err = history.EncodeYAML(w, h)
	} else {
		err = history.EncodeJSONL(w, h)
	}
	return statsOf(h), err
}

func statsOf(h history.History) gen.Stats {
	st := gen.Stats{Events: int64(len(h.Events))}
	for _, e := range h.Events {
		if e.Kind == history.Replicate {
			st.Ops++
		}
	}
	return st
}
