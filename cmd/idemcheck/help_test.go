package main

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// TestHelp checks first contact: every command's help, asked for in each
// way a user would, goes to stdout with exit 0 and has a description,
// an example and the exit codes; nothing goes to stderr.
func TestHelp(t *testing.T) {
	for name := range commands() {
		for _, args := range [][]string{{name, "-h"}, {name, "--help"}, {"help", name}, {name, "x", "--help"}} {
			code, stdout, stderr := runCLI(t, nil, args...)
			if code != exitOK || stderr != "" {
				t.Errorf("%v: exit %d, stderr %q; want 0 and nothing", args, code, stderr)
			}
			for _, want := range []string{"usage: idemcheck " + name, "Example", "Exit codes:", "flags:"} {
				if !strings.Contains(stdout, want) {
					t.Errorf("%v: help lacks %q:\n%s", args, want, stdout)
				}
			}
			if _, desc, _ := strings.Cut(stdout, "\n\n"); desc == "" || strings.HasPrefix(desc, "Example") || strings.HasPrefix(desc, "flags:") {
				t.Errorf("%v: help does not start with usage, a blank line and a description:\n%s", args, stdout)
			}
		}
	}
	for _, args := range [][]string{{"-h"}, {"--help"}, {"help"}} {
		code, stdout, stderr := runCLI(t, nil, args...)
		if code != exitOK || stderr != "" || !strings.Contains(stdout, "commands:") {
			t.Errorf("%v: exit %d, stderr %q, stdout %q", args, code, stderr, stdout)
		}
	}
	// Mistakes still go to stderr with exit 2.
	for _, args := range [][]string{{}, {"nope"}, {"help", "nope"}, {"check", "--nope"}} {
		code, _, stderr := runCLI(t, nil, args...)
		if code != exitUsage || stderr == "" {
			t.Errorf("%v: exit %d, stderr %q; want 2 and a message", args, code, stderr)
		}
	}
}

// TestVersion checks that --version names the program and the Go
// version it was built with.
func TestVersion(t *testing.T) {
	for _, arg := range []string{"--version", "version"} {
		code, stdout, _ := runCLI(t, nil, arg)
		if code != exitOK || !strings.HasPrefix(stdout, "idemcheck ") || !strings.Contains(stdout, " go1.") {
			t.Errorf("%s: exit %d, %q", arg, code, stdout)
		}
	}
}

// TestOutputsWritten checks that an output the user asked for and did
// not get makes the exit code 2 whatever the verdict, and that a picture
// is readable by others (0644, like the command's other files).
func TestOutputsWritten(t *testing.T) {
	const bad = "../../traces/seed-known-bad.jsonl"
	missing := filepath.Join(t.TempDir(), "no", "such", "dir")
	for _, args := range [][]string{
		{"check", "--html", filepath.Join(missing, "p.html"), bad},
		{"check", "--witness", filepath.Join(missing, "w.jsonl"), bad},
	} {
		if code, _, stderr := runCLI(t, nil, args...); code != exitUsage || !strings.Contains(stderr, "not") {
			t.Errorf("%v: exit %d, stderr %q; want 2 and why", args, code, stderr)
		}
	}
	pic := filepath.Join(t.TempDir(), "p.html")
	if code, _, stderr := runCLI(t, nil, "check", "--html", pic, bad); code != exitViolation {
		t.Fatalf("exit %d, want 1: %s", code, stderr)
	}
	fi, err := os.Stat(pic)
	if err != nil {
		t.Fatal(err)
	}
	if fi.Mode().Perm() != 0o644 {
		t.Errorf("picture mode %v, want 0644", fi.Mode().Perm())
	}
}
