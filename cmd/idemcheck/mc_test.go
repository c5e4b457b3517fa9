package main

import (
	"bytes"
	"context"
	"path/filepath"
	"strings"
	"testing"
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
