package main

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/idemcheck/idemcheck/checker"
	"github.com/idemcheck/idemcheck/checker/report"
	"github.com/idemcheck/idemcheck/history"
	"github.com/idemcheck/idemcheck/spec"
)

// checkFlags are the flags of "idemcheck check".
type checkFlags struct {
	json        bool
	html        string
	htmlFull    bool
	timeout     time.Duration
	witness     string
	progress    bool
	noShrink    bool
	noCallOrder bool
	bounded     bool
	workers     int
	// rules is the --rules dialect, or "" when the flag was not given
	// (then each input's header says, else Redpanda's).
	rules spec.Rules
}

// The report types of "check --json" live in package report, which
// the beam module's pipeline shares.
type (
	fileReport    = report.File
	witnessReport = report.Witness
	checkReport   = report.Check
)

func checkUsage(fs *flag.FlagSet) func() {
	return func() {
		w := fs.Output()
		fmt.Fprintln(w, `usage: idemcheck check [flags] FILE...

Checks each history file (JSON Lines or YAML, detected from the content;
"-" reads stdin) as a black box: every producer on every partition is
judged against the idempotent-producer model with the call-order
obligation. For a violation it prints the explanation and a minimal
witness (a sub-history that still shows it).

--rules picks the broker dialect whose answers are allowed: redpanda
(rm_stm) or kafka (Apache Kafka's producer state, across versions). Without
the flag each input's header field "rules" decides, else redpanda.

Examples:
  idemcheck check h.jsonl
  idemcheck check --json --html pic.html traces/*.jsonl
  zcat big.jsonl.gz | idemcheck check -

Exit codes: 0 every file Ok; 1 a violation; 2 unusable input or usage,
or an output (--html, --witness) that cannot be written (the verdict is
still printed); 3 undecided (a part hit a limit, such as --timeout, which the output
names as the part's reason; never a pass). With several files the first
of 1, 2, 3 that applies wins.

flags:`)
		fs.PrintDefaults()
	}
}

// parseInterspersed parses flags that may come after positional arguments.
func parseInterspersed(fs *flag.FlagSet, args []string) ([]string, error) {
	var pos []string
	for {
		if err := fs.Parse(args); err != nil {
			return nil, err
		}
		rest := fs.Args()
		if len(rest) == 0 {
			return pos, nil
		}
		pos = append(pos, rest[0])
		args = rest[1:]
	}
}

// runCheck implements "idemcheck check".
func runCheck(ctx context.Context, env *cmdEnv, args []string) int {
	var f checkFlags
	fs := flag.NewFlagSet("check", flag.ContinueOnError)
	fs.SetOutput(env.stderr)
	fs.Usage = checkUsage(fs)
	fs.BoolVar(&f.json, "json", false, "print a JSON report on stdout instead of the human summary")
	fs.StringVar(&f.html, "html", "", "write the HTML picture to `FILE` (failing parts and the witness window, at most 1 MiB)")
	fs.BoolVar(&f.htmlFull, "html-full", false, fmt.Sprintf("draw every part and operation in the HTML picture (at most %d operations, some 20 MB; default: a window around each violation)", checker.MaxFullOps))
	fs.DurationVar(&f.timeout, "timeout", time.Minute, "time limit of the whole check: the streaming replay of every part (reading included) and then each part's search; a part it stops is undecided; 0 means none")
	fs.StringVar(&f.witness, "witness", "", "save the minimal witness of the first violation as a trace `FILE` (.jsonl or .yaml)")
	fs.BoolVar(&f.progress, "progress", false, "report progress on stderr even when it is not a terminal")
	fs.BoolVar(&f.noShrink, "no-shrink", false, "do not compute minimal witnesses")
	fs.BoolVar(&f.noCallOrder, "no-call-order", false, "drop the call-order obligation (plain linearizability)")
	fs.IntVar(&f.workers, "workers", 0, "parts checked at once (0: one per CPU)")
	var rules string
	fs.StringVar(&rules, "rules", "", "broker dialect whose answers are allowed: redpanda or kafka (default: the input header's rules, else redpanda)")
	fs.BoolVar(&f.bounded, "bounded", true, "keep memory bounded by the open operations and a fixed amount per producer, whatever the input's size (same verdicts); --bounded=false keeps every operation's record (about 80 bytes each), so that every explanation names all its operations")
	files, err := parseInterspersed(fs, args)
	if err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return exitOK
		}
		return exitUsage
	}
	if len(files) == 0 {
		fmt.Fprintln(env.stderr, "idemcheck check: no input files (use - for stdin)")
		fs.Usage()
		return exitUsage
	}
	rulesGiven := false
	fs.Visit(func(fl *flag.Flag) { rulesGiven = rulesGiven || fl.Name == "rules" })
	if rulesGiven {
		r, ok := spec.ParseRules(rules)
		if !ok || rules == "" {
			fmt.Fprintf(env.stderr, "idemcheck check: --rules %q is not %s or %s\n", rules, spec.Redpanda, spec.Kafka)
			return exitUsage
		}
		f.rules = r
	}
	if f.timeout < 0 || f.workers < 0 {
		fmt.Fprintln(env.stderr, "idemcheck check: --timeout and --workers must not be negative")
		return exitUsage
	}
	if f.witness != "" && f.noShrink {
		fmt.Fprintln(env.stderr, "idemcheck check: --witness needs the shrinking that --no-shrink turns off")
		return exitUsage
	}
	if f.noCallOrder {
		explicit := false
		fs.Visit(func(fl *flag.Flag) { explicit = explicit || fl.Name == "bounded" })
		if explicit && f.bounded {
			fmt.Fprintln(env.stderr, "idemcheck check: --bounded needs the call-order replay that --no-call-order turns off")
			return exitUsage
		}
		f.bounded = false // the search without the obligation needs every operation
	}
	if f.htmlFull && f.html == "" {
		fmt.Fprintln(env.stderr, "idemcheck check: --html-full needs --html FILE")
		return exitUsage
	}
	progress := f.progress || env.stderrIsTTY
	var reports []fileReport
	codes := make([]int, 0, len(files))
	witnessSaved := false
	for i, name := range files {
		if ctx.Err() != nil {
			fmt.Fprintln(env.stderr, "idemcheck check: interrupted")
			codes = append(codes, exitUndecided)
			break
		}
		htmlPath := f.html
		if htmlPath != "" && len(files) > 1 {
			ext := filepath.Ext(htmlPath)
			htmlPath = fmt.Sprintf("%s-%d%s", strings.TrimSuffix(htmlPath, ext), i+1, ext)
		}
		rep, code := checkOne(ctx, env, name, f, htmlPath, progress, !witnessSaved)
		if rep.Witness != nil && rep.Witness.File != "" {
			witnessSaved = true
		}
		reports = append(reports, rep)
		codes = append(codes, code)
	}
	code := combineCodes(codes)
	if f.json {
		out := checkReport{Verdict: overallVerdict(code), ExitCode: code, Files: reports}
		enc := json.NewEncoder(env.stdout)
		enc.SetIndent("", "  ")
		enc.SetEscapeHTML(false)
		if err := enc.Encode(out); err != nil {
			fmt.Fprintf(env.stderr, "idemcheck check: write report: %v\n", err)
			return exitUsage
		}
	}
	return code
}

// combineCodes picks the exit code of several files: a violation first,
// then unusable input, then undecided.
func combineCodes(codes []int) int { return report.Combine(codes) }

func overallVerdict(code int) string { return report.Overall(code) }

// openInput opens a named input, "-" being stdin.
func openInput(env *cmdEnv, name string) (io.Reader, string, func(), error) {
	if name == "-" {
		return env.stdin, "<stdin>", func() {}, nil
	}
	f, err := os.Open(name)
	if err != nil {
		return nil, name, nil, err
	}
	if fi, err := f.Stat(); err == nil && fi.IsDir() {
		f.Close()
		return nil, name, nil, errors.New("is a directory, not a history file")
	}
	return f, name, func() { f.Close() }, nil
}

// progressReporter prints the rate at which a command reads (check) or
// writes (gen) events on stderr, every second at most.
type progressReporter struct {
	w     io.Writer
	on    bool
	cmd   string // "check" or "gen"
	verbs [2]string
	name  string
	start time.Time
	last  time.Time
}

func newProgress(w io.Writer, on bool, cmd, name string, verbs [2]string) *progressReporter {
	now := time.Now()
	return &progressReporter{w: w, on: on, cmd: cmd, verbs: verbs, name: name, start: now, last: now}
}

func (p *progressReporter) read(n int64, done bool) {
	if !p.on {
		return
	}
	now := time.Now()
	if !done && now.Sub(p.last) < time.Second {
		return
	}
	p.last = now
	el := now.Sub(p.start).Seconds()
	rate := 0.0
	if el > 0 {
		rate = float64(n) / el
	}
	state := p.verbs[0]
	if done {
		state = p.verbs[1]
	}
	fmt.Fprintf(p.w, "idemcheck %s: %s: %s %d events (%.0f events/s)\n", p.cmd, p.name, state, n, rate)
}

// progressReader counts the events read through it, reports progress
// and stops the reading (with the context's error) once ctx is done: a
// signal ends a check of endless input.
type progressReader struct {
	history.Reader
	ctx context.Context
	p   *progressReporter
	n   int64
}

func (pr *progressReader) Next() (history.Event, error) {
	e, err := pr.Reader.Next()
	if err == nil {
		pr.n++
		if pr.n&0xfff == 0 {
			if err := pr.ctx.Err(); err != nil {
				return history.Event{}, fmt.Errorf("stopped after %d events: %w", pr.n, err)
			}
		}
		if pr.n&0xffff == 0 {
			pr.p.read(pr.n, false)
		}
	}
	return e, err
}

// reread reads a checked input again, from the named file or from the
// spool of stdin: all of it when full or when res is Ok, else what
// explains res ([checker.FailingHistory]).
func reread(name, display string, spool *os.File, res checker.Result, full bool) (history.History, error) {
	var r io.Reader
	if spool != nil {
		if _, err := spool.Seek(0, io.SeekStart); err != nil {
			return history.History{}, fmt.Errorf("%s: spool: %w", display, err)
		}
		r = spool
	} else {
		f, err := os.Open(name)
		if err != nil {
			return history.History{}, fmt.Errorf("%s: %w", display, unwrapPathError(err))
		}
		defer f.Close()
		r = f
	}
	if full || res.Verdict == checker.Ok {
		return history.Decode(r, display)
	}
	// Only the producers that are not Ok, and the operations the
	// violations name: the witness and the picture are the same, in the
	// memory of the failing producers.
	rd, err := history.NewReader(r, display)
	if err != nil {
		return history.History{}, err
	}
	return checker.FailingHistory(rd, res)
}

// checkOne checks one input and prints its human report unless f.json.
func checkOne(ctx context.Context, env *cmdEnv, name string, f checkFlags, htmlPath string, progress, saveWitness bool) (fileReport, int) {
	start := time.Now()
	rep := fileReport{File: name}
	fail := func(err error) (fileReport, int) {
		rep.Verdict = "Error"
		rep.Error = err.Error()
		rep.Seconds = time.Since(start).Seconds()
		fmt.Fprintf(env.stderr, "idemcheck check: %v\n", err)
		return rep, exitUsage
	}
	r, display, closeFn, err := openInput(env, name)
	if err != nil {
		return fail(fmt.Errorf("%s: %w", name, unwrapPathError(err)))
	}
	defer closeFn()
	rep.File = display
	// The check streams; the whole history is read into memory only
	// when a witness or a picture needs it, from the file again or, for
	// stdin, from a spool file on disk.
	needHistory := !f.noShrink || f.html != "" || f.witness != ""
	var spool *os.File
	if name == "-" && needHistory {
		spool, err = os.CreateTemp("", "idemcheck-stdin-*.history")
		if err != nil {
			return fail(fmt.Errorf("%s: spool: %w", display, err))
		}
		// Unlinked at once where the system allows it (the open file
		// stays readable), so that nothing is left behind whatever ends
		// the process.
		unlinked := os.Remove(spool.Name()) == nil
		defer func() {
			spool.Close()
			if !unlinked {
				os.Remove(spool.Name())
			}
		}()
		r = io.TeeReader(r, spool)
	}
	p := newProgress(env.stderr, progress, "check", display, [2]string{"reading", "read"})
	rd, err := history.NewReader(r, display)
	if err != nil {
		return fail(err)
	}
	pr := &progressReader{Reader: rd, ctx: ctx, p: p}
	// --rules wins over the header's; the reader has refused a header
	// whose rules spec.ParseRules does not take.
	rules := f.rules
	if rules == "" {
		rules, _ = spec.ParseRules(rd.Header().Rules)
	}
	rep.Rules = string(rules)
	opts := checker.Options{Timeout: f.timeout, NoCallOrder: f.noCallOrder, Workers: f.workers, KeepAll: !f.bounded, Rules: rules}
	res := checker.CheckReader(pr, opts)
	rep.Events = pr.n
	if res.Err != nil {
		if !errors.Is(res.Err, checker.ErrNoOperations) {
			return fail(res.Err) // the reader's error
		}
		// The reader has checked every event; what is left (no
		// operations at all) concerns the file as a whole, up to its end.
		return fail(fmt.Errorf("%s:%d: %w", display, max(rd.Line(), 1), res.Err))
	}
	p.read(pr.n, true)
	n := pr.n
	// A full picture has a size limit: past it, refuse before reading
	// the whole input again.
	var fullErr error
	if total := totalOps(res); f.htmlFull && total > checker.MaxFullOps {
		fullErr = fmt.Errorf("%w: a full picture of %d operations (at most %d); drop --html-full for a window around each violation", checker.ErrTooLarge, total, checker.MaxFullOps)
	}
	var h history.History
	if needHistory && (res.Verdict == checker.Illegal || f.html != "") {
		h, err = reread(name, display, spool, res, f.htmlFull && fullErr == nil)
		if err != nil {
			return fail(err)
		}
	}
	if progress {
		el := time.Since(start).Seconds()
		fmt.Fprintf(env.stderr, "idemcheck check: %s: %d parts decided in %.1fs (%.0f events/s)\n",
			display, len(res.Parts), el, float64(n)/max(el, 1e-9))
	}
	rep.Fill(report.Parts(res), report.Violations(res), report.Reads(res))
	rep.Verdict = string(res.Verdict)
	var wh history.History
	if res.Verdict == checker.Illegal && !f.noShrink {
		wh = checker.Shrink(h, opts)
		rep.Witness = &witnessReport{Ops: len(checker.Operations(wh)), Events: len(wh.Events), Text: checker.FormatWitness(wh)}
	}
	code := exitOK
	switch res.Verdict {
	case checker.Illegal:
		code = exitViolation
	case checker.Unknown:
		code = exitUndecided
	}
	var notes []string
	if rep.Witness != nil && f.witness != "" && saveWitness {
		wh.Header = history.Header{Format: history.FormatV1, Source: "idemcheck check", TicketOrder: h.Header.TicketOrder,
			Rules: string(rules), Expect: string(checker.Illegal), Violation: res.Violations[0].Name,
			Description: fmt.Sprintf("minimal witness of %s found by idemcheck check", display)}
		if err := history.WriteFile(f.witness, wh); err != nil {
			notes = append(notes, fmt.Sprintf("witness not saved: %v", err))
			code = exitUsage
		} else {
			rep.Witness.File = f.witness
		}
	}
	if htmlPath != "" {
		vopts := checker.VisualizeOptions{Full: f.htmlFull, NoCallOrder: f.noCallOrder, Rules: rules}
		err := fullErr
		if err == nil {
			err = writeHTML(htmlPath, h, res, vopts)
		}
		if err != nil {
			// The verdict is still printed, but the command did not do
			// what it was asked: exit 2, whatever the verdict.
			notes = append(notes, fmt.Sprintf("picture not written: %v", err))
			code = exitUsage
		} else {
			rep.HTML = htmlPath
		}
	}
	rep.Seconds = time.Since(start).Seconds()
	if !f.json {
		printHuman(env.stdout, rep, res)
	}
	for _, n := range notes {
		fmt.Fprintf(env.stderr, "idemcheck check: %s: %s\n", display, n)
	}
	return rep, code
}

func unwrapPathError(err error) error {
	var pe *os.PathError
	if errors.As(err, &pe) {
		return pe.Err
	}
	return err
}

// writeHTML writes the picture atomically enough: to a temporary file
// renamed into place, so a failed picture leaves no half page.
func writeHTML(path string, h history.History, res checker.Result, opts checker.VisualizeOptions) error {
	tmp, err := os.CreateTemp(filepath.Dir(path), ".idemcheck-*.html")
	if err != nil {
		return err
	}
	defer os.Remove(tmp.Name())
	if err := checker.Visualize(tmp, h, res, opts); err != nil {
		tmp.Close()
		return err
	}
	// CreateTemp makes the file private (0600); a picture is for sharing,
	// like every other file the command writes.
	if err := tmp.Chmod(0o644); err != nil {
		tmp.Close()
		return err
	}
	if err := tmp.Close(); err != nil {
		return err
	}
	return os.Rename(tmp.Name(), path)
}

// printHuman prints the short human summary of one file.
func printHuman(w io.Writer, rep fileReport, res checker.Result) {
	fmt.Fprintf(w, "%s: %d events, %d operations, %s rules\n", rep.File, rep.Events, rep.Ops, rep.Rules)
	for _, line := range strings.Split(strings.TrimRight(res.Summary(), "\n"), "\n") {
		fmt.Fprintf(w, "  %s\n", line)
	}
	for _, p := range rep.Parts {
		if p.Verdict != string(checker.Unknown) {
			continue
		}
		reason := p.Reason
		if reason == "" {
			reason = "no reason given"
		}
		fmt.Fprintf(w, "  undecided: partition %q pid %d: %s; this is not a pass\n", p.Partition, p.PID, reason)
	}
	for _, c := range rep.Reads {
		fmt.Fprintf(w, "  read back: partition %q pid %d: %d acked, %d in log, %d lost, %d duplicated, %d unread\n",
			c.Partition, c.PID, c.Acked, c.InLog, c.Lost, c.Duplicated, c.Unread)
	}
	for _, v := range res.Violations {
		fmt.Fprintf(w, "  violation %s on partition %q, producer %d:\n", v.Name, v.Partition, v.PID)
		fmt.Fprintf(w, "    %s\n", v.Explanation)
		for _, o := range v.Ops {
			fmt.Fprintf(w, "    %s\n", o)
		}
	}
	if rep.Witness != nil {
		fmt.Fprintf(w, "  minimal witness (%d operations):\n", rep.Witness.Ops)
		for _, line := range strings.Split(strings.TrimRight(rep.Witness.Text, "\n"), "\n") {
			fmt.Fprintf(w, "    %s\n", line)
		}
		if rep.Witness.File != "" {
			fmt.Fprintf(w, "  witness saved to %s\n", rep.Witness.File)
		}
	}
	if rep.HTML != "" {
		fmt.Fprintf(w, "  picture: %s\n", rep.HTML)
	}
}

// totalOps is the number of operations res judged.
func totalOps(res checker.Result) int {
	n := 0
	for _, p := range res.Parts {
		n += p.Ops
	}
	return n
}
