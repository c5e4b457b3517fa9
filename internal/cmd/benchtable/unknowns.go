package main

import (
	"encoding/json"
	"fmt"
	"os/exec"
	"path/filepath"
	"strings"
	"time"

	"github.com/idemcheck/idemcheck/history"
)

// The unknown-outcome rows: one producer on one partition calls N
// one-record batches [i,i] one after the other, and none of them has a
// known outcome, then one or two batches are acked. Before issue 11 the
// replay forked "appended" and "lost" at every unknown outcome and gave
// up; now a run of unknown outcomes is one state (checker/runs.go).

// unknownShape is one history shape of the unknown-outcome rows.
type unknownShape struct {
	name   string // file name part and table cell
	known  bool   // [0,0] acked at 0 before the run
	end    string // what follows the run: endNext, endLow, endSwap or endAcked
	expect string // the verdict the shape should get
	doc    string // the table's description of what follows the run
}

const (
	endNext  = "next"  // the next batch, acked at the next offset
	endLow   = "low"   // the next batch, acked one offset too low
	endSwap  = "swap"  // [N+1,N+1] acked, then [N,N] called after that ack and acked
	endAcked = "acked" // no unknown outcome: the run's batches are acked (the control row)
)

var unknownShapes = []unknownShape{
	{"known-next", true, endNext, "Ok", "[N+1,N+1] acked at N+1"},
	{"known-low", true, endLow, "Illegal", "[N+1,N+1] acked at N, one offset too low"},
	{"first-next", false, endNext, "Ok", "[N,N] acked at N"},
	{"first-low", false, endLow, "Ok", "[N,N] acked at N−1 (Ok: see below)"},
	{"first-swap", false, endSwap, "Illegal", "[N+1,N+1] acked at N, then [N,N], called after that ack, acked at N+1"},
}

// controlShape is the same producer with every batch of the run acked.
var controlShape = unknownShape{"known-acked", true, endAcked, "Ok", "[N+1,N+1] acked at N+1"}

// unknownHistory writes the history of shape s with a run of n batches
// (never: the run's batches have no Return event; else Return
// "unknown") to dir and returns its path, reusing an existing file.
func unknownHistory(dir string, s unknownShape, n int, never bool) (string, error) {
	kind := "unknown"
	if never {
		kind = "never"
	}
	if s.end == endAcked {
		kind = "acked"
	}
	path := filepath.Join(dir, fmt.Sprintf("unknowns-%s-%s-%d.jsonl", s.name, kind, n))
	header := history.Header{Format: history.FormatV1, Source: "benchtable", Expect: s.expect}
	return cachedJSONL(path, header, func(w *history.JSONLWriter) error { return writeUnknowns(w, s, n, never) })
}

// writeUnknowns writes the events of unknownHistory's history to w.
func writeUnknowns(w *history.JSONLWriter, s unknownShape, n int, never bool) error {
	var t, op int64
	call := func(seq int32, result history.Result, offset int64, returns bool) error {
		op++
		if err := w.Record(history.Event{Kind: history.Replicate, Time: t, Op: op, Client: 1,
			Partition: "p0", PID: 1, First: seq, Last: seq}); err != nil {
			return err
		}
		t++
		if !returns {
			return nil
		}
		ret := history.Event{Kind: history.Return, Time: t, Op: op, Result: result}
		if result == history.OK {
			ret.Offset = offset
		}
		t++
		return w.Record(ret)
	}
	// first is the run's first sequence number (and offset, when acked).
	first := int32(0)
	if s.known {
		if err := call(0, history.OK, 0, true); err != nil {
			return err
		}
		first = 1
	}
	for i := range int32(n) {
		seq := first + i
		var err error
		if s.end == endAcked {
			err = call(seq, history.OK, int64(seq), true)
		} else {
			err = call(seq, history.Unknown, 0, !never)
		}
		if err != nil {
			return err
		}
	}
	next := first + int32(n) // the next sequence number, and the next free offset
	var err error
	switch s.end {
	case endNext, endAcked:
		err = call(next, history.OK, int64(next), true)
	case endLow:
		err = call(next, history.OK, int64(next)-1, true)
	case endSwap:
		if err = call(next+1, history.OK, int64(next), true); err == nil {
			err = call(next, history.OK, int64(next)+1, true)
		}
	}
	return err
}

// cliRun is one run of idemcheck check --json.
type cliRun struct {
	measurement
	verdict   string // the report's verdict, or why there is none
	violation string // the first violation's name
	witness   int    // the witness's operations, 0 if none
	reason    string // the first undecided part's reason
}

// unexpected notes a verdict other than the expected one.
func (r cliRun) unexpected(expect string) string {
	if r.err != nil || r.killed || r.verdict == "Unknown" || r.verdict == expect {
		return ""
	}
	return " (expected " + expect + ")"
}

// growth is the CPU time of b over a's, or "" when either failed.
func growth(a, b cliRun) string {
	if a.err != nil || b.err != nil || a.killed || b.killed || a.verdict == "" || b.verdict == "" {
		return "not measured"
	}
	return fmt.Sprintf("%.1f× (%s to %s)", b.cpu.Seconds()/max(a.cpu.Seconds(), 1e-3), secs(a.cpu), secs(b.cpu))
}

// witnessSkip: a witness run that took longer is not repeated at a
// larger N.
const witnessSkip = 30 * time.Second

func (r cliRun) cell() string {
	switch {
	case r.killed:
		return fmt.Sprintf("killed at %s, %.0f MB", secs(r.wall), r.rssMB)
	case r.err != nil:
		return "failed: " + r.err.Error()
	}
	v := r.verdict
	if r.violation != "" {
		v += " (" + r.violation + ")"
	}
	return fmt.Sprintf("%s, %s, CPU %s, %.0f MB", v, secs(r.wall), secs(r.cpu), r.rssMB)
}

// checkCLI runs bin check --json with args on path, with an outer time
// limit (0: none), and parses its report.
func checkCLI(outer time.Duration, bin string, path string, args ...string) cliRun {
	m := measure(outer, bin, append(append([]string{"check", "--json"}, args...), path)...)
	r := cliRun{measurement: m}
	if m.killed {
		r.err = nil
		r.verdict = "killed"
		return r
	}
	var rep struct {
		Verdict string
		Files   []struct {
			Verdict    string
			Violations []struct{ Name string }
			Undecided  []string
			Witness    *struct{ Ops int }
		}
	}
	if err := json.Unmarshal([]byte(m.out), &rep); err != nil || len(rep.Files) != 1 {
		if r.err == nil {
			r.err = fmt.Errorf("no JSON report: %q", lastLine(m.out))
		}
		return r
	}
	// Exit 3 (undecided) is a result here, not a failure.
	r.err = nil
	f := rep.Files[0]
	r.verdict = f.Verdict
	if len(f.Violations) > 0 {
		r.violation = f.Violations[0].Name
	}
	if f.Witness != nil {
		r.witness = f.Witness.Ops
	}
	if len(f.Undecided) > 0 {
		r.reason = f.Undecided[0]
	}
	return r
}

// buildBefore builds cmd/idemcheck of revision rev in a temporary git
// worktree, which it removes again, and returns the binary's path.
func buildBefore(dir, rev string) (bin, commit string, err error) {
	out, err := exec.Command("git", "rev-parse", "--short", rev+"^{commit}").Output()
	if err != nil {
		return "", "", fmt.Errorf("git rev-parse %s: %v", rev, err)
	}
	commit = strings.TrimSpace(string(out))
	wt := filepath.Join(dir, "before-"+commit)
	bin = filepath.Join(dir, "idemcheck-"+commit)
	if out, err := exec.Command("git", "worktree", "add", "--detach", wt, commit).CombinedOutput(); err != nil {
		return "", "", fmt.Errorf("git worktree add %s %s: %v: %s", wt, commit, err, lastLine(string(out)))
	}
	defer func() {
		if out, rerr := exec.Command("git", "worktree", "remove", "--force", wt).CombinedOutput(); rerr != nil {
			logf("git worktree remove %s: %v: %s", wt, rerr, lastLine(string(out)))
		}
	}()
	cmd := exec.Command("go", "build", "-o", bin, "./cmd/idemcheck")
	cmd.Dir = wt
	if out, err := cmd.CombinedOutput(); err != nil {
		return "", "", fmt.Errorf("build idemcheck at %s: %v: %s", commit, err, lastLine(string(out)))
	}
	return bin, commit, nil
}

// unknownRows writes the section on runs of unknown outcomes.
func unknownRows(t *table, c config, idem string) error {
	t.p("## Unknown outcomes (issue 11)")
	t.p("")
	var before, commit string
	if c.before != "" {
		var err error
		logf("unknowns: building idemcheck at %s", c.before)
		if before, commit, err = buildBefore(c.dir, c.before); err != nil {
			logf("%v", err)
			t.p("The checker before issue 11 was not measured: %v.", err)
			t.p("")
			before = ""
		}
	}
	t.p("One producer on one partition calls N one-record batches [i,i] one after another, and none of them has a known outcome: either its Return says `unknown` (*unknown*; each call returns before the next one) or it has no Return event at all (*never*; the calls never return, so all N are open at the end). For a *known* producer a batch [0,0] acked at 0 comes first and the run is [1,1]..[N,N]; at *first* contact nothing comes before the run [0,0]..[N−1,N−1]. After the run:")
	t.p("")
	for _, s := range unknownShapes {
		t.p("- **%s**: %s; expected %s.", s.name, s.doc, s.expect)
	}
	t.p("- **%s** (the control row): the same history as known-next with every batch of the run acked at its offset, no unknown outcome.", controlShape.name)
	t.p("")
	t.p("known-low is Illegal (ContiguousAppends): [N+1,N+1] is next in sequence, so every batch of the run must have been appended before it, N records between offset 0 and its offset, and only N−1 offsets lie in between. At first contact one acked batch after the run cannot be too low: the partition has no state for the producer, so it accepts any first sequence (the unknown-producer path), and the appended part of the run may be any suffix of it or nothing; [N,N] at N−1 is the run without its first batch. first-swap is Illegal whatever the offsets: [N+1,N+1] is next after no batch of the run, so none of them was appended before it (it came through the unknown-producer path), and [N,N] after it is neither next nor a duplicate.")
	t.p("")
	cmdText := "`idemcheck check --json --no-shrink H.jsonl` (the CLI's default bounded check)"
	t.p("Each cell is one run of %s in a child process: the verdict (with the first violation's name), wall time, CPU time (user+system) and peak RSS of the process. *with witness* drops `--no-shrink` (the CLI shrinks the Illegal history to a minimal witness, reading the file again). Time limit: `--timeout %v` per part, and the process is killed %v after it starts.", cmdText, c.unknownTimeout, c.unknownTimeout+30*time.Second)
	if before != "" {
		t.p("*before* is the same command with the checker of commit %s (the last one before issue 11, built in a temporary git worktree). It runs at the first N, and at a larger N only if it decided the same history at the N before.", commit)
	}
	t.p("A witness run is left out at a larger N once it took over %v at the N before.", witnessSkip)
	t.p("")
	hdr := "| shape | run | N | after | after, with witness |"
	sep := "|---|---|---|---|---|"
	if before != "" {
		hdr += " before (" + commit + ") |"
		sep += "---|"
	}
	t.p("%s", hdr)
	t.p("%s", sep)
	outer := c.unknownTimeout + 30*time.Second
	timeoutArg := "--timeout=" + c.unknownTimeout.String()
	type key struct {
		shape string
		never bool
		n     int
	}
	after := map[key]cliRun{}
	var befores []cliRun
	var beforeOf = map[key]cliRun{}
	for _, s := range append(append([]unknownShape(nil), unknownShapes...), controlShape) {
		for _, never := range []bool{false, true} {
			if s.end == endAcked && never {
				continue
			}
			var lastW, lastB *cliRun
			for i, n := range c.unknowns {
				path, err := unknownHistory(c.dir, s, n, never)
				if err != nil {
					return err
				}
				kind := "unknown"
				if never {
					kind = "never"
				}
				if s.end == endAcked {
					kind = "acked"
				}
				logf("unknowns: %s %s %d", s.name, kind, n)
				a := checkCLI(outer, idem, path, "--no-shrink", timeoutArg)
				after[key{s.name, never, n}] = a
				wcell := ""
				if a.verdict == "Illegal" {
					switch {
					case lastW != nil && (lastW.killed || lastW.wall > witnessSkip):
						wcell = fmt.Sprintf("not run (%s at N = %s)", secs(lastW.wall), human(c.unknowns[i-1]))
					default:
						w := checkCLI(outer, idem, path, timeoutArg)
						lastW = &w
						wcell = w.cell()
						if w.err == nil && !w.killed {
							wcell += fmt.Sprintf(", witness of %d operations", w.witness)
						}
					}
				}
				row := fmt.Sprintf("| %s | %s | %s | %s | %s |", s.name, kind, human(n), a.cell()+a.unexpected(s.expect), wcell)
				if before != "" {
					bcell := ""
					switch {
					case lastB != nil && (lastB.killed || lastB.err != nil || lastB.verdict == "Unknown"):
						bcell = fmt.Sprintf("not run (undecided at N = %s)", human(c.unknowns[i-1]))
					default:
						logf("unknowns: before, %s %s %d", s.name, kind, n)
						b := checkCLI(outer, before, path, "--no-shrink", timeoutArg)
						lastB = &b
						befores = append(befores, b)
						beforeOf[key{s.name, never, n}] = b
						bcell = b.cell() + b.unexpected(s.expect)
					}
					row += " " + bcell + " |"
				}
				t.p("%s", row)
			}
		}
	}
	t.p("")
	last := c.unknowns[len(c.unknowns)-1]
	done := func(r cliRun, ok bool) bool { return ok && r.err == nil && !r.killed }
	if u, ok := after[key{"known-next", false, last}]; done(u, ok) {
		if a, ok := after[key{controlShape.name, false, last}]; done(a, ok) {
			t.p("- At N = %s, known-next with unknown outcomes takes %.1f× the CPU time of the control row with every batch acked (%s against %s) and %.1f× its peak RSS.", human(last), u.cpu.Seconds()/max(a.cpu.Seconds(), 1e-3), secs(u.cpu), secs(a.cpu), u.rssMB/max(a.rssMB, 1))
		}
		if len(c.unknowns) > 1 {
			prev := c.unknowns[len(c.unknowns)-2]
			if p, ok := after[key{"known-next", false, prev}]; done(p, ok) {
				t.p("- From N = %s to N = %s (%.0f× the batches) the CPU time of known-next grows %.1f× (%s to %s), first-next %s.", human(prev), human(last), float64(last)/float64(prev), u.cpu.Seconds()/max(p.cpu.Seconds(), 1e-3), secs(p.cpu), secs(u.cpu), growth(after[key{"first-next", false, prev}], after[key{"first-next", false, last}]))
			}
		}
	}
	slowest := time.Duration(0)
	for _, r := range after {
		if done(r, true) {
			slowest = max(slowest, r.wall)
		}
	}
	t.p("- The slowest verdict without a witness (`--no-shrink`) took %s. With the witness, the time is the CLI's shrinking (ddmin over the failing producer's operations, every test a check of the run that is left).", secs(slowest))
	if before != "" && len(befores) > 0 {
		undecided, maxRSS := 0, 0.0
		for _, b := range befores {
			if b.killed || b.verdict == "Unknown" {
				undecided++
				maxRSS = max(maxRSS, b.rssMB)
			}
		}
		t.p("- *before* (%s): %d of its %d runs ended undecided at the time limit (peak RSS up to %.0f MB).", commit, undecided, len(befores), maxRSS)
		for _, never := range []bool{false, true} {
			if b, ok := beforeOf[key{"known-low", never, c.unknowns[0]}]; ok && b.verdict == "Ok" {
				t.p("  Its Ok for known-low (N = %s) is wrong: before issue 11 a producer's next append only had to take an offset above its earlier ones, with no room for the batches whose outcome was unknown.", human(c.unknowns[0]))
				break
			}
		}
	}
	t.p("")
	t.p("Why there is no cliff any more. Before issue 11 the set of model states grew with the run: the replay kept a state for each batch of the run that could have been the last one appended (at first contact also for where the appended stretch began) and stepped every one of them at each call, so its time grew with N², and once the set passed 4,096 states the part went to porcupine, which runs out of time on a run this long. Now two things keep the set small. The frontier (checker/frontier.go) drops a state when another of the same shape has offset lower bounds that are all at or below its own, since that one explains everything it does. And a run of consecutive unknown outcomes, each the next batch after the one before, is one state (checker/runs.go): the state before the run, where the run starts and how long it is. Extending the run is one step; only a call that does not extend it (here the acked batch after it) expands the run into the states it stands for, once, so a run costs linear time. An Illegal verdict costs more than an Ok one: the failing producer is replayed once more to find and explain the first operation that no state explains.")
	t.p("")
	return nil
}
