package main

import (
	"bytes"
	"context"
	"fmt"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	"github.com/idemcheck/idemcheck/history"
	"github.com/idemcheck/idemcheck/internal/gen"
	"github.com/idemcheck/idemcheck/spec"
)

func TestGenThenCheck(t *testing.T) {
	// gen's output checks Ok without injection and Illegal (exit 1) with
	// every injectable bug; the same flags give the same bytes.
	base := []string{"gen", "--seed", "4", "--partitions", "2", "--producers", "2", "--batches", "25", "--unknown-rate", "0.2", "--retries", "2", "--epoch-bumps", "1"}
	code, a, stderr := runCLI(t, nil, base...)
	if code != exitOK {
		t.Fatalf("gen: exit %d: %s", code, stderr)
	}
	_, b, _ := runCLI(t, nil, base...)
	if a != b {
		t.Errorf("two runs with the same flags differ")
	}
	if code, out, _ := runCLI(t, []byte(a), "check", "-"); code != exitOK {
		t.Errorf("check of gen output: exit %d\n%s", code, out)
	}
	for _, bug := range gen.Bugs() {
		_, h, _ := runCLI(t, nil, append(base, "--inject", string(bug))...)
		if code, out, _ := runCLI(t, []byte(h), "check", "-"); code != exitViolation {
			t.Errorf("--inject %s: check exit %d, want %d\n%s", bug, code, exitViolation, out)
		}
	}
}

func TestGenOutFormats(t *testing.T) {
	// --out FILE.yaml writes YAML, anything else JSON Lines; both decode
	// to the same events.
	dir := t.TempDir()
	var hs []history.History
	for _, name := range []string{"h.jsonl", "h.yaml"} {
		p := filepath.Join(dir, name)
		if code, _, stderr := runCLI(t, nil, "gen", "--seed", "9", "--batches", "12", "--out", p); code != exitOK {
			t.Fatalf("exit %d: %s", code, stderr)
		}
		h, err := history.ReadFile(p)
		if err != nil {
			t.Fatal(err)
		}
		hs = append(hs, h)
	}
	var j, y bytes.Buffer
	if err := history.EncodeJSONL(&j, hs[0]); err != nil {
		t.Fatal(err)
	}
	if err := history.EncodeJSONL(&y, hs[1]); err != nil {
		t.Fatal(err)
	}
	if j.String() != y.String() {
		t.Errorf("the YAML and JSONL outputs differ")
	}
}

func TestGenImpl(t *testing.T) {
	// --impl uses the reference implementation: Ok with the fix; the
	// pre-fix ordering is caught (for this seed).
	_, fixed, _ := runCLI(t, nil, "gen", "--impl", "--seed", "2", "--producers", "3", "--partitions", "2", "--batches", "20")
	if code, out, _ := runCLI(t, []byte(fixed), "check", "-"); code != exitOK {
		t.Errorf("--impl before-stage: check exit %d\n%s", code, out)
	}
	_, pre, _ := runCLI(t, nil, "gen", "--impl", "--seed", "2", "--producers", "3", "--partitions", "2", "--batches", "20", "--ticket-order", "after-stage")
	if code, out, _ := runCLI(t, []byte(pre), "check", "--no-shrink", "-"); code != exitViolation {
		t.Errorf("--impl after-stage: check exit %d\n%s", code, out)
	}
}

func TestGenUsage(t *testing.T) {
	// Bad flags exit 2 with a message naming the problem.
	tests := []struct {
		args []string
		want string
	}{
		{[]string{"gen", "--inject", "nope"}, `unknown bug "nope"`},
		{[]string{"gen", "--inflight", strconv.Itoa(spec.WindowSize + 1)}, fmt.Sprintf("in-flight %d is not between 1 and %d", spec.WindowSize+1, spec.WindowSize)},
		{[]string{"gen", "--unknown-rate", "2"}, "unknown rate 2 is not between 0 and 1"},
		{[]string{"gen", "--partitions", "0"}, "must be at least 1"},
		{[]string{"gen", "--start-seq", "-1"}, "is not a sequence"},
		{[]string{"gen", "extra"}, `unexpected argument "extra"`},
		{[]string{"gen", "--impl", "--inject", "gap-accept"}, "--inject needs the default engine"},
		{[]string{"gen", "--impl", "--ticket-order", "sideways"}, "sideways"},
	}
	for _, tc := range tests {
		code, _, stderr := runCLI(t, nil, tc.args...)
		if code != exitUsage || !strings.Contains(stderr, tc.want) {
			t.Errorf("%v: exit %d, stderr %q; want %d and %q", tc.args, code, stderr, exitUsage, tc.want)
		}
	}
}

func TestGenProgressAndCancel(t *testing.T) {
	// --progress reports on stderr even when it is not a terminal: the
	// final count always (the periodic lines, every 65536 events at most
	// once a second, depend on the machine's speed and are not
	// asserted), and a cancelled context stops the generation with an
	// error instead of writing on.
	code, _, stderr := runCLI(t, nil, "gen", "--producers", "2", "--batches", "20000", "--progress")
	if code != exitOK || !strings.Contains(stderr, "idemcheck gen: 400000 events, 40000 operations in ") {
		t.Errorf("gen --progress: exit %d, stderr %q, want the final count", code, stderr)
	}
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	var out, errb bytes.Buffer
	env := &cmdEnv{stdin: bytes.NewReader(nil), stdout: &out, stderr: &errb}
	if code := run(ctx, env, []string{"gen", "--producers", "2", "--batches", "20000"}); code == exitOK || !strings.Contains(errb.String(), "stopped after") {
		t.Errorf("gen with a cancelled context: exit %d, stderr %q, want a stop", code, errb.String())
	}
}
