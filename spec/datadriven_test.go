package spec

import (
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
)

var rewrite = flag.Bool("rewrite", false, "rewrite the expected output of spec/testdata/*.txt (review the diff before committing)")

// TestData runs the scripts in testdata/*.txt. A script is a sequence
// of cases separated by blank lines:
//
//	command k=v ...
//	input lines (actions, for step)
//	----
//	expected output
//
// Commands:
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
	files, err := filepath.Glob("testdata/*.txt")
	if err != nil || len(files) == 0 {
		t.Fatal("no testdata", err)
	}
	for _, path := range files {
		t.Run(strings.TrimSuffix(filepath.Base(path), ".txt"), func(t *testing.T) {
			runScript(t, path)
		})
	}
}

type ddCase struct {
	line     int
	cmd      string
	args     map[string]string
	input    []string
	expected string
	header   string // command and input lines as written
}

func parseScript(t *testing.T, path string) (cases []ddCase, comments []string) {
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	lines := strings.Split(string(data), "\n")
	for i := 0; i < len(lines); {
		l := lines[i]
		if strings.TrimSpace(l) == "" || strings.HasPrefix(l, "#") {
			if len(cases) == 0 {
				comments = append(comments, l)
			}
			i++
			continue
		}
		c := ddCase{line: i + 1, args: map[string]string{}}
		f := strings.Fields(l)
		c.cmd = f[0]
		for _, kv := range f[1:] {
			k, v, _ := strings.Cut(kv, "=")
			c.args[k] = v
		}
		head := []string{l}
		i++
		for i < len(lines) && lines[i] != "----" {
			c.input = append(c.input, lines[i])
			head = append(head, lines[i])
			i++
		}
		if i >= len(lines) {
			t.Fatalf("%s:%d: case without ----", path, c.line)
		}
		i++
		var exp []string
		for i < len(lines) && strings.TrimSpace(lines[i]) != "" {
			exp = append(exp, lines[i])
			i++
		}
		c.expected = strings.Join(exp, "\n")
		c.header = strings.Join(head, "\n")
		cases = append(cases, c)
	}
	return cases, comments
}

func runScript(t *testing.T, path string) {
	cases, comments := parseScript(t, path)
	var cfg Config
	var s State
	var out strings.Builder
	for _, l := range comments {
		if strings.TrimSpace(l) != "" {
			out.WriteString(l + "\n")
		}
	}
	if len(comments) > 0 {
		out.WriteString("\n")
	}
	for _, c := range cases {
		var got string
		switch c.cmd {
		case "init":
			var err error
			cfg, err = configFromArgs(c.args)
			if err != nil {
				t.Fatalf("%s:%d: %v", path, c.line, err)
			}
			s = Init(cfg)
			got = strings.TrimSpace(s.String())
		case "step":
			var b strings.Builder
			for _, in := range c.input {
				a, err := parseAction(in)
				if err != nil {
					t.Fatalf("%s:%d: %v", path, c.line, err)
				}
				n, err := Step(cfg, s, a)
				if err != nil {
					fmt.Fprintf(&b, "%s\n  error: %v\n", a, err)
					continue
				}
				fmt.Fprintf(&b, "%s\n", a)
				for _, d := range diffVars(s, n) {
					fmt.Fprintf(&b, "  %s\n", d)
				}
				s = n
			}
			got = strings.TrimSpace(b.String())
		case "enabled":
			var b strings.Builder
			for _, a := range Enabled(cfg, s) {
				fmt.Fprintf(&b, "%s\n", a)
			}
			got = strings.TrimSpace(b.String())
			if got == "" {
				got = "(none)"
			}
		case "check-invariants":
			var b strings.Builder
			for _, iv := range Invariants() {
				if err := iv.Check(s); err != nil {
					fmt.Fprintf(&b, "%s: %v\n", iv.Name, err)
				} else {
					fmt.Fprintf(&b, "%s: ok\n", iv.Name)
				}
			}
			got = strings.TrimSpace(b.String())
		case "state":
			got = strings.TrimSpace(s.String())
		case "_breakpoint":
			got = "ok"
		default:
			t.Fatalf("%s:%d: unknown command %q", path, c.line, c.cmd)
		}
		if !*rewrite && got != c.expected {
			t.Errorf("%s:%d: %s\ngot:\n%s\nwant:\n%s", path, c.line, c.header, got, c.expected)
		}
		fmt.Fprintf(&out, "%s\n----\n%s\n\n", c.header, got)
	}
	if *rewrite {
		if err := os.WriteFile(path, []byte(strings.TrimRight(out.String(), "\n")+"\n"), 0o644); err != nil {
			t.Fatal(err)
		}
	}
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
