package main

import (
	"bytes"
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/idemcheck/idemcheck/history"
	"github.com/idemcheck/idemcheck/internal/mc"
)

// TestMC checks `idemcheck mc`: the fixed config has no violation (exit
// 0), the pre-fix config has one (exit 1) whose counterexample, written
// with --trace, is itself flagged by `idemcheck check` (exit 1), and a bad
// config is a usage error naming the file (exit 2).
func TestMC(t *testing.T) {
	dir := t.TempDir()
	trace := filepath.Join(dir, "cx.jsonl")
	for _, tc := range []struct {
		name     string
		args     []string
		want     int
		contains []string
	}{
		{"fixed", []string{"mc", "--quiet", "../../spec/tla/MCBroker_fixed_1x3.cfg"}, exitOK,
			[]string{"No error has been found", "251 distinct states found"}},
		{"prefix", []string{"mc", "--quiet", "--diagram", "--trace", trace, "../../spec/tla/MCBroker_prefix_1x2.cfg"}, exitViolation,
			[]string{"is violated", "Decide op=1 out_of_order", "sequenceDiagram", "Counterexample written"}},
		{"counterexample is Illegal", []string{"check", "--no-shrink", trace}, exitViolation,
			[]string{"DecideInCallOrder"}},
		{"coverage", []string{"mc", "--quiet", "--coverage", "../../spec/tla/MCBroker_fixed_1x3.cfg"}, exitOK,
			[]string{"Coverage of the spec's branches (453 transitions generated)", "Decide/next ", "branches never taken: "}},
		{"json", []string{"mc", "--quiet", "--json", "--coverage", "../../spec/tla/MCBroker_prefix_1x2.cfg"}, exitViolation,
			[]string{`"verdict": "Illegal"`, `"violation": "NoSpuriousOutOfOrder"`, `"distinct": 87`, `"liveness": "not checked to the end`, `"name": "Decide/skip",`}},
		{"missing config", []string{"mc", filepath.Join(dir, "nope.cfg")}, exitUsage, nil},
		{"no args", []string{"mc"}, exitUsage, nil},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var stdout, stderr bytes.Buffer
			got := run(context.Background(), &cmdEnv{stdout: &stdout, stderr: &stderr}, tc.args)
			if got != tc.want {
				t.Fatalf("exit %d, want %d\nstdout:\n%s\nstderr:\n%s", got, tc.want, stdout.String(), stderr.String())
			}
			for _, w := range tc.contains {
				if !strings.Contains(stdout.String(), w) {
					t.Errorf("stdout lacks %q:\n%s", w, stdout.String())
				}
			}
		})
	}
}

// violation model-checks spec/tla/NAME and returns its violation.
func violation(t *testing.T, name string) *mc.Violation {
	t.Helper()
	cfg, err := mc.LoadConfig(filepath.Join("..", "..", "spec", "tla", name))
	if err != nil {
		t.Fatal(err)
	}
	res, err := mc.Run(context.Background(), cfg, mc.Options{})
	if err != nil {
		t.Fatalf("%s: %v", name, err)
	}
	if res.Violation == nil {
		t.Fatalf("%s: no violation", name)
	}
	return res.Violation
}

// TestCounterexampleHistory checks that a counterexample is written as a
// valid history (every event passes history.Stream) that round-trips
// through JSON Lines, with no call left open and the header naming the
// source, order and violation.
func TestCounterexampleHistory(t *testing.T) {
	for _, name := range []string{"MCBroker_prefix_1x2.cfg", "MCBroker_evict_dup.cfg", "MCBroker_bug_dupoffset.cfg"} {
		v := violation(t, name)
		var buf bytes.Buffer
		if err := history.EncodeJSONL(&buf, counterexample(v)); err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		back, err := history.Decode(&buf, name)
		if err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		if len(back.Events) < len(v.Steps) {
			t.Errorf("%s: %d events, want at least the %d steps", name, len(back.Events), len(v.Steps))
		}
		var st history.Stream
		for _, e := range back.Events {
			if err := st.Check(e); err != nil {
				t.Fatalf("%s: %v", name, err)
			}
		}
		if st.Open() != 0 {
			t.Errorf("%s: %d calls left open", name, st.Open())
		}
		hd := back.Header
		if hd.Source != "mc" || hd.TicketOrder != v.TicketOrder || hd.Violation != v.Invariant {
			t.Errorf("%s: header %+v", name, hd)
		}
	}
}

// TestSequenceDiagram checks that the seed's counterexample renders as a
// Mermaid diagram showing the overtaking and the rejection.
func TestSequenceDiagram(t *testing.T) {
	d := sequenceDiagram(counterexample(violation(t, "MCBroker_prefix_1x2.cfg")))
	for _, want := range []string{
		"sequenceDiagram\n",
		"P1->>F: replicate op1 epoch 0 seq [0,0]",
		"P1->>F: replicate op2 epoch 0 seq [1,1]",
		"L0-->>F: staged op2 ok\n    F->>Q: reserve ticket op2\n    L0-->>F: staged op1 ok\n    F->>Q: reserve ticket op1",
		"RM-->>F: op2 append_unknown offset 0",
		"RM-->>F: op1 out_of_order",
		"Note over F,RM: violates NoSpuriousOutOfOrder",
	} {
		if !strings.Contains(d, want) {
			t.Errorf("diagram lacks %q:\n%s", want, d)
		}
	}
}

// TestReadmeDiagram keeps the seed's diagram in spec/README.md equal to
// what `idemcheck mc --diagram` draws from the model checker's
// counterexample.
func TestReadmeDiagram(t *testing.T) {
	b, err := os.ReadFile(filepath.Join("..", "..", "spec", "README.md"))
	if err != nil {
		t.Fatal(err)
	}
	text := string(b)
	const open = "<!-- seed-diagram -->\n```mermaid\n"
	i := strings.Index(text, open)
	if i < 0 {
		t.Fatal("spec/README.md has no seed-diagram block")
	}
	rest := text[i+len(open):]
	got := rest[:strings.Index(rest, "```")]
	if want := sequenceDiagram(counterexample(violation(t, "MCBroker_prefix_1x2.cfg"))); got != want {
		t.Errorf("spec/README.md diagram is out of date; the tool draws:\n%s", want)
	}
}

// TestSeedHistoryFile keeps spec/testdata/seed-after-stage.jsonl (the
// seed's counterexample as a history, TraceBroker.tla's default input)
// equal to what `idemcheck mc --trace` writes; -rewrite rewrites it.
func TestSeedHistoryFile(t *testing.T) {
	var b bytes.Buffer
	if err := history.EncodeJSONL(&b, counterexample(violation(t, "MCBroker_prefix_1x2.cfg"))); err != nil {
		t.Fatal(err)
	}
	compareGenerated(t, filepath.Join("..", "..", "spec", "testdata", "seed-after-stage.jsonl"), b.Bytes())
}
