package checkertest

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/idemcheck/idemcheck/history"
)

// recorder is a testing.TB that records failures instead of failing.
type recorder struct {
	testing.TB
	failed bool
	msgs   []string
}

func (r *recorder) Helper() {}

func (r *recorder) Error(args ...any) { r.failed = true; r.msgs = append(r.msgs, fmt.Sprint(args...)) }

func (r *recorder) Errorf(format string, args ...any) {
	r.failed = true
	r.msgs = append(r.msgs, fmt.Sprintf(format, args...))
}

func (r *recorder) Fatalf(format string, args ...any) { r.Errorf(format, args...) }

func ev(k history.Kind, t, op int64) history.Event { return history.Event{Kind: k, Time: t, Op: op} }

func seed(bad bool) history.History {
	call := func(t, op int64, first int32) history.Event {
		return history.Event{Kind: history.Replicate, Time: t, Op: op, Partition: "p0", PID: 1, First: first, Last: first}
	}
	ret1 := history.Event{Kind: history.Return, Time: 5, Op: 1, Result: history.OK, Offset: 0}
	ret2 := history.Event{Kind: history.Return, Time: 6, Op: 2, Result: history.OK, Offset: 1}
	if bad {
		ret1 = history.Event{Kind: history.Return, Time: 5, Op: 1, Result: history.Failed, Error: history.OutOfOrderSequenceNumber}
		ret2.Offset = 0
	}
	return history.History{Events: []history.Event{
		call(1, 1, 0), ev(history.StageWriteStart, 2, 1), call(3, 2, 1),
		{Kind: history.Decide, Time: 4, Op: 2, Decision: history.AppendUnknown},
		ret1, ret2,
	}}
}

func TestCheck(t *testing.T) {
	for _, tc := range []struct {
		name     string
		h        history.History
		wantFail bool
	}{
		{"ok history passes silently", seed(false), false},
		{"seed bug fails with explanation, witness and picture", seed(true), true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			r := &recorder{TB: t}
			Check(r, tc.h)
			if r.failed != tc.wantFail {
				t.Fatalf("failed: got %v, want %v: %v", r.failed, tc.wantFail, r.msgs)
			}
			if !tc.wantFail {
				if len(r.msgs) != 0 {
					t.Errorf("Ok history printed %v", r.msgs)
				}
				return
			}
			msg := strings.Join(r.msgs, "\n")
			for _, want := range []string{"DecideInCallOrder", "minimal witness", "picture: "} {
				if !strings.Contains(msg, want) {
					t.Errorf("message lacks %q:\n%s", want, msg)
				}
			}
			i := strings.Index(msg, "picture: ")
			path := strings.TrimSpace(msg[i+len("picture: "):])
			b, err := os.ReadFile(path)
			if err != nil || !strings.Contains(string(b), "op 1 e0 [0,0]") {
				t.Errorf("picture %s: %v (%d bytes)", path, err, len(b))
			}
		})
	}
}

func TestCheckFile(t *testing.T) {
	path := filepath.Join(t.TempDir(), "ok.jsonl")
	if err := history.WriteFile(path, seed(false)); err != nil {
		t.Fatal(err)
	}
	r := &recorder{TB: t}
	CheckFile(r, path)
	if r.failed {
		t.Errorf("ok file failed: %v", r.msgs)
	}
	r = &recorder{TB: t}
	CheckFile(r, filepath.Join(t.TempDir(), "missing.jsonl"))
	if !r.failed {
		t.Errorf("missing file passed")
	}
}
