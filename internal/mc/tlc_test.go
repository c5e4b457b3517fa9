package mc

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"text/tabwriter"
	"time"

	"github.com/idemcheck/idemcheck/internal/tlc"
	"github.com/idemcheck/idemcheck/spec"
)

// bigTLC lists the configs TestTLC checks only with -mc.big, and then
// for safety only: TLC needs minutes for their liveness check (130-350
// s for fixed_env_1x3 with one worker).
var bigTLC = map[string]bool{"MCBroker_fixed_2x3.cfg": true, "MCBroker_fixed_env_1x3.cfg": true}

// tlcBudget is the time TLC gets for one config (each of the default
// ones takes seconds, fixed_2x2 about a minute with one worker on a
// loaded machine); a big one gets bigTLCBudget.
const (
	tlcBudget    = 4 * time.Minute
	bigTLCBudget = 20 * time.Minute
)

// tlcRow is one config's line of TestTLC's table.
type tlcRow struct {
	cfg                 string
	tlcVerdict, verdict string
	tlc                 tlc.Output
	res                 Result
	tlcTime             time.Duration
	note                string
}

// TestTLC runs TLC on every MCBroker_*.cfg when IDEMCHECK_TLA2TOOLS
// points to tla2tools.jar (internal/tlc says how TLC is run and
// stopped), and checks that TLC and the Go model checker agree: the
// same verdict (no violation, the same invariant, or the liveness
// property); without a violation the same distinct and generated
// states and depth; with one, a counterexample of the same length (both
// search breadth-first, but they stop at different points of the last
// level, so their counts at the stop differ). -v prints both counts in
// a table. The big configs (bigTLC) run only with -mc.big, safety only
// (their PROPERTIES dropped), and need go test -timeout 30m.
func TestTLC(t *testing.T) {
	tools := tlc.Find(t, false)
	cfgs, err := filepath.Glob(filepath.Join(tlaDir, "MCBroker_*.cfg"))
	if err != nil || len(cfgs) == 0 {
		t.Fatal("no configs", err)
	}
	var rows []tlcRow
	defer func() { t.Log("TLC (one worker) and the Go model checker:\n" + tlcTable(rows)) }()
	for _, path := range cfgs {
		name := filepath.Base(path)
		t.Run(strings.TrimSuffix(name, ".cfg"), func(t *testing.T) {
			isBig := bigTLC[name]
			if isBig && !*big {
				t.Skip("big bound: run with -mc.big (safety only, minutes; go test -timeout 30m)")
			}
			text, err := os.ReadFile(path)
			if err != nil {
				t.Fatal(err)
			}
			cfgText, note := string(text), ""
			if isBig {
				cfgText, note = withoutProperties(cfgText), "safety only"
			}
			cfg, err := ParseConfig(cfgText, name)
			if err != nil {
				t.Fatal(err)
			}
			res, err := Run(context.Background(), cfg, Options{})
			if err != nil {
				t.Fatal(err)
			}
			dir := t.TempDir()
			for _, f := range []string{"Broker.tla", "MCBroker.tla"} {
				b, err := os.ReadFile(filepath.Join(tlaDir, f))
				if err != nil {
					t.Fatal(err)
				}
				if err := os.WriteFile(filepath.Join(dir, f), b, 0o644); err != nil {
					t.Fatal(err)
				}
			}
			if err := os.WriteFile(filepath.Join(dir, name), []byte(cfgText), 0o644); err != nil {
				t.Fatal(err)
			}
			start := time.Now()
			out, err := tools.Run(t, pick(isBig, bigTLCBudget, tlcBudget), dir, nil, "-config", name, "MCBroker.tla")
			if err != nil {
				t.Fatal(err)
			}
			got, err := tlc.Parse(out)
			if err != nil {
				t.Fatal(err)
			}
			row := tlcRow{cfg: name, tlc: got, res: res, tlcTime: time.Since(start), note: note}
			row.tlcVerdict, row.verdict = got.Verdict, ""
			if got.Verdict == tlc.Temporal {
				row.tlcVerdict = spec.EveryCallReturns // the configs' one temporal property
			}
			if v := res.Violation; v != nil {
				row.verdict = v.Invariant
			}
			rows = append(rows, row)
			if row.tlcVerdict != row.verdict {
				t.Fatalf("TLC verdict %q, Go %q\n%s", row.tlcVerdict, row.verdict, out)
			}
			if row.verdict == "" {
				if got.Distinct != res.Distinct || got.Generated != res.Generated || got.Depth != res.Diameter+1 {
					t.Errorf("TLC: %d distinct states, %d generated, depth %d; Go: %d, %d, diameter %d (depth %d)",
						got.Distinct, got.Generated, got.Depth, res.Distinct, res.Generated, res.Diameter, res.Diameter+1)
				}
				return
			}
			if got.Steps != len(res.Violation.Steps) {
				t.Errorf("TLC's counterexample has %d steps, Go's %d\n%s", got.Steps, len(res.Violation.Steps), got.Trace)
			}
		})
	}
}

// withoutProperties drops a .cfg's PROPERTIES section (TLC then checks
// the invariants only).
func withoutProperties(cfg string) string {
	var b strings.Builder
	skip := false
	for line := range strings.Lines(cfg) {
		word := strings.TrimSpace(line)
		if i := strings.IndexAny(word, " \t"); i >= 0 {
			word = word[:i]
		}
		switch word {
		case "PROPERTIES", "PROPERTY":
			skip = true
			continue
		case "SPECIFICATION", "CONSTANTS", "CONSTANT", "INVARIANTS", "INVARIANT", "CHECK_DEADLOCK", "INIT", "NEXT", "SYMMETRY", "VIEW":
			skip = false
		}
		if !skip {
			b.WriteString(line)
		}
	}
	return b.String()
}

// tlcTable writes TestTLC's rows as a table.
func tlcTable(rows []tlcRow) string {
	var b strings.Builder
	w := tabwriter.NewWriter(&b, 0, 0, 2, ' ', tabwriter.AlignRight)
	fmt.Fprintln(w, "config\tverdict TLC\tverdict Go\tdistinct TLC\tdistinct Go\tgenerated TLC\tgenerated Go\tdepth TLC\tdepth Go\ttrace TLC\ttrace Go\tTLC time\tGo time\t")
	for _, r := range rows {
		trace := "-"
		if v := r.res.Violation; v != nil {
			trace = strconv.Itoa(len(v.Steps))
		}
		tlcTrace := "-"
		if r.tlc.Verdict != "" {
			tlcTrace = strconv.Itoa(r.tlc.Steps)
		}
		name := strings.TrimSuffix(strings.TrimPrefix(r.cfg, "MCBroker_"), ".cfg")
		if r.note != "" {
			name += " (" + r.note + ")"
		}
		fmt.Fprintf(w, "%s\t%s\t%s\t%d\t%d\t%d\t%d\t%d\t%d\t%s\t%s\t%s\t%s\t\n", name,
			orNone(r.tlcVerdict), orNone(r.verdict), r.tlc.Distinct, r.res.Distinct, r.tlc.Generated, r.res.Generated,
			r.tlc.Depth, r.res.Diameter+1, tlcTrace, trace, r.tlcTime.Round(100*time.Millisecond), r.res.Duration.Round(time.Millisecond))
	}
	w.Flush()
	return b.String()
}

func orNone(s string) string {
	if s == "" {
		return "ok"
	}
	return s
}

func pick[T any](c bool, a, b T) T {
	if c {
		return a
	}
	return b
}
