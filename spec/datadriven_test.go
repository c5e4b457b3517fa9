package spec

import (
	"fmt"
	"strconv"
	"strings"
	"testing"

	"github.com/cockroachdb/datadriven"
)

// TestData runs the datadriven scripts in testdata/*.txt
// (cockroachdb/datadriven; -rewrite rewrites their expected output,
// review the diff before committing). A case is
//
//	command k=v ...
//	input lines (actions, for step)
//	----
//	expected output
//
// Commands (scriptCommands):
//
//	init k=v ...     new state; keys: order, producers, batches, known,
//	                 stage-failure, upload-failure, fence-failure, timeout,
//	                 retries, evictions, bumps, terms, window, bug
//	step             apply each input action (Name k=v ...); prints the
//	                 variables each one changed, or the spec's error
//	enabled          the enabled actions
//	check-invariants every invariant's verdict
//	state            every variable
//	_breakpoint      does nothing (set a debugger breakpoint on it)
func TestData(t *testing.T) {
	datadriven.Walk(t, "testdata", func(t *testing.T, path string) {
		if !strings.HasSuffix(path, ".txt") {
			t.Skip("a history next to the scripts, not a script")
		}
		sc := &script{}
		datadriven.RunTest(t, path, func(t *testing.T, d *datadriven.TestData) string {
			cmd, ok := scriptCommands[d.Cmd]
			if !ok {
				d.Fatalf(t, "unknown command %q", d.Cmd)
			}
			out, err := cmd(sc, d)
			if err != nil {
				d.Fatalf(t, "%s: %v", d.Cmd, err)
			}
			return out
		})
	})
}

// script is the state a script's commands share: the config of the last
// init and the current state.
type script struct {
	cfg Config
	s   State
}

// scriptCommands maps a script command to its handler, which returns
// the case's output or an error that fails the test (a malformed case,
// not a refused step: a step the spec refuses is output).
var scriptCommands = map[string]func(sc *script, d *datadriven.TestData) (string, error){
	"init":             (*script).init,
	"step":             (*script).step,
	"enabled":          (*script).enabled,
	"check-invariants": (*script).checkInvariants,
	"state":            func(sc *script, _ *datadriven.TestData) (string, error) { return sc.s.String(), nil },
	"_breakpoint":      func(*script, *datadriven.TestData) (string, error) { return "ok", nil },
}

func (sc *script) init(d *datadriven.TestData) (string, error) {
	args := map[string]string{}
	for _, a := range d.CmdArgs {
		if len(a.Vals) != 1 {
			return "", fmt.Errorf("%s: want key=value", a.Key)
		}
		args[a.Key] = a.Vals[0]
	}
	cfg, err := configFromArgs(args)
	if err != nil {
		return "", err
	}
	sc.cfg, sc.s = cfg, Init(cfg)
	return sc.s.String(), nil
}

func (sc *script) step(d *datadriven.TestData) (string, error) {
	var b strings.Builder
	for _, in := range strings.Split(d.Input, "\n") {
		if strings.TrimSpace(in) == "" {
			continue
		}
		a, err := parseAction(in)
		if err != nil {
			return "", err
		}
		n, err := Step(sc.cfg, sc.s, a)
		if err != nil {
			fmt.Fprintf(&b, "%s\n  error: %v\n", a, err)
			continue
		}
		fmt.Fprintf(&b, "%s\n", a)
		for _, dv := range diffVars(sc.s, n) {
			fmt.Fprintf(&b, "  %s\n", dv)
		}
		sc.s = n
	}
	return b.String(), nil
}

func (sc *script) enabled(*datadriven.TestData) (string, error) {
	var b strings.Builder
	for _, a := range Enabled(sc.cfg, sc.s) {
		fmt.Fprintf(&b, "%s\n", a)
	}
	if b.Len() == 0 {
		return "(none)", nil
	}
	return b.String(), nil
}

func (sc *script) checkInvariants(*datadriven.TestData) (string, error) {
	var b strings.Builder
	for _, iv := range Invariants() {
		if err := iv.Check(sc.s); err != nil {
			fmt.Fprintf(&b, "%s: %v\n", iv.Name, err)
		} else {
			fmt.Fprintf(&b, "%s: ok\n", iv.Name)
		}
	}
	return b.String(), nil
}

func diffVars(a, b State) []string {
	old := map[string]string{}
	for _, v := range a.Vars() {
		old[v.Name] = v.Value
	}
	var out []string
	for _, v := range b.Vars() {
		if o, ok := old[v.Name]; !ok || o != v.Value {
			out = append(out, v.Name+" = "+v.Value)
		}
		delete(old, v.Name)
	}
	for _, v := range a.Vars() {
		if _, gone := old[v.Name]; gone {
			out = append(out, v.Name+" = (none)")
		}
	}
	return out
}

func configFromArgs(args map[string]string) (Config, error) {
	var c Config
	for k, v := range args {
		n, _ := strconv.Atoi(v)
		b := v == "true"
		switch k {
		case "order":
			c.TicketOrder = TicketOrder(v)
		case "producers":
			c.Producers = n
		case "batches":
			c.Batches = n
		case "known":
			c.KnownProducers = b
		case "stage-failure":
			c.StageFailure = b
		case "upload-failure":
			c.UploadFailure = b
		case "fence-failure":
			c.FenceFailure = b
		case "timeout":
			c.ClientTimeout = b
		case "retries":
			c.MaxRetries = n
		case "evictions":
			c.MaxEvictions = n
		case "bumps":
			c.MaxEpochBumps = n
		case "terms":
			c.MaxTermChanges = n
		case "window":
			c.Window = n
		case "bug":
			c.Bug = v
		default:
			return c, fmt.Errorf("unknown init key %q", k)
		}
	}
	return c, c.Validate()
}

// parseAction reads "Name k=v ...", the keys being the lower-case
// Action fields.
func parseAction(line string) (Action, error) {
	f := strings.Fields(line)
	if len(f) == 0 {
		return Action{}, fmt.Errorf("empty action")
	}
	a := Action{Name: Name(f[0])}
	for _, kv := range f[1:] {
		k, v, ok := strings.Cut(kv, "=")
		if !ok {
			return a, fmt.Errorf("%q: want key=value", kv)
		}
		n, err := strconv.ParseInt(v, 10, 64)
		num := func() error {
			if err != nil {
				return fmt.Errorf("%s: %q is not a number", k, v)
			}
			return nil
		}
		switch k {
		case "op":
			a.Op, err = n, num()
		case "pid":
			a.PID, err = n, num()
		case "epoch":
			a.Epoch, err = int16(n), num()
		case "first":
			a.First, err = int32(n), num()
		case "last":
			a.Last, err = int32(n), num()
		case "error":
			a.Error, err = ErrorCode(n), num()
		case "offset":
			a.Offset, err = n, num()
		case "term":
			a.Term, err = n, num()
		case "result":
			a.Result, err = Result(v), nil
		case "decision":
			a.Decision, err = Decision(v), nil
		default:
			return a, fmt.Errorf("unknown key %q", k)
		}
		if err != nil {
			return a, err
		}
	}
	return a, nil
}
