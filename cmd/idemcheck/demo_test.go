package main

import (
	"bytes"
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/idemcheck/idemcheck/history"
)

// TestDemo checks the README's main job: the pre-fix seed scenario is
// Illegal (DecideInCallOrder) from client-visible operations alone, the
// fixed one is Ok, and the picture of the failing one is written.
func TestDemo(t *testing.T) {
	for _, known := range []bool{false, true} {
		dir := t.TempDir()
		var stdout, stderr bytes.Buffer
		env := &cmdEnv{stdout: &stdout, stderr: &stderr}
		args := []string{"demo", "--out", dir}
		if known {
			args = append(args, "--known")
		}
		if code := run(context.Background(), env, args); code != exitOK {
			t.Fatalf("demo known=%v: exit %d, want %d\nstdout:\n%s\nstderr:\n%s", known, code, exitOK, stdout.String(), stderr.String())
		}
		out := stdout.String()
		for _, want := range []string{
			"--ticket-order after-stage",
			"Verdict: Illegal",
			"Violation DecideInCallOrder",
			"--ticket-order before-stage",
			"Verdict: Ok",
			filepath.Join(dir, "seed-after-stage.html"),
		} {
			if !strings.Contains(out, want) {
				t.Errorf("demo known=%v: output lacks %q:\n%s", known, want, out)
			}
		}
		if !known && !strings.Contains(out, "OUT_OF_ORDER_SEQUENCE_NUMBER") {
			t.Errorf("demo: the lost batch's OUT_OF_ORDER_SEQUENCE_NUMBER is not shown:\n%s", out)
		}
		html, err := os.ReadFile(filepath.Join(dir, "seed-after-stage.html"))
		if err != nil {
			t.Fatal(err)
		}
		if len(html) == 0 || len(html) > 1<<20 {
			t.Errorf("picture is %d bytes, want 1..1MiB", len(html))
		}
		if _, err := os.Stat(filepath.Join(dir, "seed-before-stage.html")); err == nil {
			t.Errorf("a picture was written for the Ok history")
		}
		for _, name := range []string{"seed-after-stage.jsonl", "seed-before-stage.jsonl"} {
			if _, err := history.ReadFile(filepath.Join(dir, name)); err != nil {
				t.Errorf("written history does not read back: %v", err)
			}
		}
	}
}
