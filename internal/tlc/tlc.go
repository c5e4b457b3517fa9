package tlc

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"runtime"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"
)

// The environment variables that point to TLC's jars.
const (
	// JarEnv names the variable holding the path of tla2tools.jar.
	JarEnv = "IDEMCHECK_TLA2TOOLS"
	// CommunityModulesEnv names the variable holding the path of the
	// TLA+ CommunityModules jar (Json and IOUtils), which trace
	// validation needs besides tla2tools.jar.
	CommunityModulesEnv = "IDEMCHECK_COMMUNITY_MODULES"
)

// Tools is where TLC is: java, tla2tools.jar and, for trace validation,
// the CommunityModules jar.
type Tools struct {
	Java, Jar, CommunityModules string
}

// Find returns the tools the environment names, or skips t, saying
// why, when one is missing (CommunityModules only when community is
// true).
func Find(t testing.TB, community bool) Tools {
	t.Helper()
	jar := os.Getenv(JarEnv)
	if jar == "" {
		t.Skipf("%s is not set: set it to the path of tla2tools.jar (and have java on PATH) to compare TLC with the Go code", JarEnv)
	}
	var tl Tools
	tl.Jar = jar
	if community {
		tl.CommunityModules = os.Getenv(CommunityModulesEnv)
		if tl.CommunityModules == "" {
			t.Skipf("%s is not set: trace validation needs the TLA+ CommunityModules jar (Json, IOUtils) besides %s", CommunityModulesEnv, JarEnv)
		}
	}
	for _, f := range []string{tl.Jar, tl.CommunityModules} {
		if f == "" {
			continue
		}
		if _, err := os.Stat(f); err != nil {
			t.Fatalf("TLC's jar: %v", err)
		}
	}
	java, err := exec.LookPath("java")
	if err != nil {
		t.Skip("java is not on PATH: TLC needs it")
	}
	tl.Java = java
	return tl
}

// ErrBudget is returned by [Tools.Run] when TLC did not finish within
// its budget (it has then been killed).
var ErrBudget = errors.New("tlc: TLC did not finish within its time budget")

// margin is the time Run leaves before the test binary's deadline, for
// killing TLC and reporting.
const margin = 20 * time.Second

// Run runs TLC (tlc2.TLC with one worker) in dir with the given
// arguments and extra environment, and returns its combined output. TLC
// gets at most budget, and less if the test binary's deadline (-timeout)
// comes sooner; it runs in its own process group, which is killed when
// the budget ends and, should TLC still run, in t's cleanup; Run returns
// once TLC has exited. The error is
// [ErrBudget] when the budget ran out, or the error starting TLC; TLC's
// own exit status is not an error (it exits non-zero on a violation),
// [Parse] the output.
func (tl Tools) Run(t *testing.T, budget time.Duration, dir string, env []string, args ...string) (string, error) {
	t.Helper()
	if d, ok := t.Deadline(); ok {
		if left := time.Until(d) - margin; left < budget {
			budget = left
		}
	}
	if budget <= 0 {
		return "", fmt.Errorf("%w: no time left before the test deadline (raise go test's -timeout)", ErrBudget)
	}
	ctx, cancel := context.WithTimeout(context.Background(), budget)
	defer cancel()
	cp := tl.Jar
	if tl.CommunityModules != "" {
		cp += string(os.PathListSeparator) + tl.CommunityModules
	}
	argv := append([]string{"-XX:+UseParallelGC", "-Djava.io.tmpdir=" + dir, "-cp", cp, "tlc2.TLC", "-workers", "1", "-cleanup",
		"-metadir", filepath.Join(dir, "states")}, args...)
	cmd := exec.CommandContext(ctx, tl.Java, argv...)
	cmd.Dir = dir
	cmd.Env = append(os.Environ(), env...)
	cmd.SysProcAttr = sysProcAttr()
	var out bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &out
	// The group is killed only while TLC has not been waited for: once
	// it has, its process id may belong to someone else.
	var (
		mu     sync.Mutex
		reaped bool
	)
	kill := func() {
		mu.Lock()
		defer mu.Unlock()
		if !reaped {
			killGroup(cmd.Process.Pid)
		}
	}
	cmd.Cancel = func() error {
		kill()
		return nil
	}
	cmd.WaitDelay = 5 * time.Second
	// The kernel's kill-on-parent-death (Linux) follows the thread that
	// started TLC: keep this goroutine on it until TLC is gone.
	runtime.LockOSThread()
	defer runtime.UnlockOSThread()
	if err := cmd.Start(); err != nil {
		return "", fmt.Errorf("tlc: starting java: %w", err)
	}
	t.Cleanup(kill)
	_ = cmd.Wait() // non-zero on a violation: the output says which
	mu.Lock()
	reaped = true
	mu.Unlock()
	if ctx.Err() != nil {
		return out.String(), fmt.Errorf("%w (%s); its output ends:\n%s", ErrBudget, budget.Round(time.Second), tail(out.String(), 2000))
	}
	return out.String(), nil
}

// Output is what the tests compare in TLC's output.
type Output struct {
	// Verdict is "" when TLC found no error, the invariant's name when
	// an invariant is violated, and [Temporal] when a temporal property
	// is.
	Verdict string
	// Distinct, Generated and Left are TLC's final counts (at the stop
	// on a violation); Depth is "the depth of the complete state graph
	// search" (the Go model checker's diameter + 1).
	Distinct, Generated, Left int64
	Depth                     int
	// Steps is the number of actions of the (first) error trace: its
	// states but the initial one, without a final "Stuttering" or
	// "Back to state"; 0 without a violation.
	Steps int
	// Trace is the text of the first error trace, from its first state.
	Trace string
}

// Temporal is [Output.Verdict] when TLC reports "Temporal properties
// were violated".
const Temporal = "temporal properties"

var (
	// The final summary: progress lines start with "Progress(" and
	// write their counts with thousands separators.
	finalCounts = regexp.MustCompile(`(?m)^(\d+) states generated, (\d+) distinct states found, (\d+) states left on queue\.$`)
	depthLine   = regexp.MustCompile(`(?m)^The depth of the complete state graph search is (\d+)\.$`)
	invariant   = regexp.MustCompile(`(?m)^Error: Invariant (\w+) is violated`)
	stateLine   = regexp.MustCompile(`(?m)^State (\d+): (.*)$`)
)

// Parse reads TLC's output. It fails when TLC neither completed nor
// reported a violation (a parse error, a Java exception, a kill), with
// the output's tail.
func Parse(text string) (Output, error) {
	var o Output
	switch m := invariant.FindStringSubmatch(text); {
	case m != nil:
		o.Verdict = m[1]
	case strings.Contains(text, "Error: Temporal properties were violated."):
		o.Verdict = Temporal
	case strings.Contains(text, "Model checking completed. No error has been found."):
	default:
		return o, fmt.Errorf("tlc: TLC neither completed nor reported a violation:\n%s", tail(text, 3000))
	}
	all := finalCounts.FindAllStringSubmatch(text, -1)
	if all == nil {
		return o, fmt.Errorf("tlc: no final state counts in TLC's output:\n%s", tail(text, 3000))
	}
	m := all[len(all)-1]
	o.Generated, _ = strconv.ParseInt(m[1], 10, 64)
	o.Distinct, _ = strconv.ParseInt(m[2], 10, 64)
	o.Left, _ = strconv.ParseInt(m[3], 10, 64)
	if d := depthLine.FindStringSubmatch(text); d != nil {
		o.Depth, _ = strconv.Atoi(d[1])
	}
	if o.Verdict != "" {
		// The first error's trace: TLC may report a second error (a
		// temporal property after an invariant) with its own trace.
		if i := strings.Index(text, "\nState 1: "); i >= 0 {
			tr := text[i+1:]
			if j := strings.Index(tr, "\nError: "); j >= 0 {
				tr = tr[:j+1]
			}
			if j := finalCounts.FindStringIndex(tr); j != nil {
				tr = tr[:j[0]]
			}
			o.Trace = tr
		}
		for _, m := range stateLine.FindAllStringSubmatch(o.Trace, -1) {
			n, _ := strconv.Atoi(m[1])
			if m[2] != "Stuttering" && n-1 > o.Steps {
				o.Steps = n - 1
			}
		}
	}
	return o, nil
}

// LastValue returns the value of variable name in the last state of the
// error trace ("/\ name = value", on one line), or "" if none.
func (o Output) LastValue(name string) string {
	prefix := `/\ ` + name + " = "
	v := ""
	for line := range strings.Lines(o.Trace) {
		if s, ok := strings.CutPrefix(strings.TrimSpace(line), prefix); ok {
			v = s
		}
	}
	return v
}

func tail(s string, n int) string {
	if len(s) <= n {
		return s
	}
	return "…" + s[len(s)-n:]
}
