package mc

import (
	"bytes"
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/idemcheck/idemcheck/spec"
)

// TLA2ToolsEnv names the environment variable that points to TLC's
// tla2tools.jar.
const TLA2ToolsEnv = "IDEMCHECK_TLA2TOOLS"

var (
	// TLC's final summary line; its progress lines, printed on long runs,
	// write the counts with thousands separators.
	tlcDistinct  = regexp.MustCompile(`(?m)^\d+ states generated, (\d+) distinct states found`)
	tlcInvariant = regexp.MustCompile(`Invariant (\w+) is violated`)
)

// TestTLC runs TLC on every MCBroker_*.cfg when IDEMCHECK_TLA2TOOLS
// points to tla2tools.jar, and checks that TLC and the Go model checker
// agree: the same verdict (the same invariant, or the liveness
// property) and, where there is no violation, the same number of
// distinct states.
func TestTLC(t *testing.T) {
	jar := os.Getenv(TLA2ToolsEnv)
	if jar == "" {
		t.Skipf("%s is not set: set it to the path of tla2tools.jar (and have java on PATH) to compare TLC with the Go model checker", TLA2ToolsEnv)
	}
	java, err := exec.LookPath("java")
	if err != nil {
		t.Skip("java is not on PATH")
	}
	cfgs, err := filepath.Glob(filepath.Join(tlaDir, "MCBroker_*.cfg"))
	if err != nil || len(cfgs) == 0 {
		t.Fatal("no configs", err)
	}
	for _, path := range cfgs {
		name := filepath.Base(path)
		t.Run(strings.TrimSuffix(name, ".cfg"), func(t *testing.T) {
			if strings.Contains(name, "2x3") && !*big {
				t.Skip("big bound: run with -mc.big")
			}
			cfg, err := LoadConfig(path)
			if err != nil {
				t.Fatal(err)
			}
			res, err := Run(context.Background(), cfg, Options{})
			if err != nil {
				t.Fatal(err)
			}
			dir := t.TempDir()
			for _, f := range []string{"Broker.tla", "MCBroker.tla", name} {
				b, err := os.ReadFile(filepath.Join(tlaDir, f))
				if err != nil {
					t.Fatal(err)
				}
				if err := os.WriteFile(filepath.Join(dir, f), b, 0o644); err != nil {
					t.Fatal(err)
				}
			}
			ctx, cancel := context.WithTimeout(context.Background(), 10*time.Minute)
			defer cancel()
			cmd := exec.CommandContext(ctx, java, "-XX:+UseParallelGC", "-cp", jar, "tlc2.TLC",
				"-workers", "1", "-cleanup", "-config", name, "MCBroker.tla")
			cmd.Dir = dir
			var out bytes.Buffer
			cmd.Stdout, cmd.Stderr = &out, &out
			_ = cmd.Run() // TLC exits non-zero on a violation
			text := out.String()
			tlcVerdict := ""
			if m := tlcInvariant.FindStringSubmatch(text); m != nil {
				tlcVerdict = m[1]
			} else if strings.Contains(text, "Temporal properties were violated") {
				tlcVerdict = spec.EveryCallReturns
			} else if !strings.Contains(text, "No error has been found") {
				t.Fatalf("TLC failed:\n%s", text)
			}
			goVerdict := ""
			if res.Violation != nil {
				goVerdict = res.Violation.Invariant
			}
			if tlcVerdict != goVerdict {
				t.Errorf("TLC verdict %q, Go %q\n%s", tlcVerdict, goVerdict, text)
			}
			if goVerdict == "" {
				m := tlcDistinct.FindStringSubmatch(text)
				if m == nil {
					t.Fatalf("no distinct-state count in TLC's output:\n%s", text)
				}
				n, _ := strconv.ParseInt(m[1], 10, 64)
				if n != res.Distinct {
					t.Errorf("TLC found %d distinct states, Go %d", n, res.Distinct)
				}
			}
		})
	}
}
