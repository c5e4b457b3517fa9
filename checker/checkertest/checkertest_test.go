package checkertest

import (
	"bytes"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/idemcheck/idemcheck/checker"
	"github.com/idemcheck/idemcheck/history"
	"github.com/idemcheck/idemcheck/spec"
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
			path, _, _ := strings.Cut(strings.TrimSpace(msg[i+len("picture: "):]), " ")
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

// kafkaOK is a corpus trace whose header says rules: kafka: Ok under
// Kafka's rules, Illegal under Redpanda's.
const kafkaOK = "../../traces/kafka-first-contact-ooosn-ok.jsonl"

func TestCheckFileHeaderRules(t *testing.T) {
	// CheckFile judges a file by the rules its header names; the same
	// operations without the header's rules are judged by Redpanda's, and
	// fail.
	h, err := history.ReadFile(kafkaOK)
	if err != nil {
		t.Fatal(err)
	}
	if h.Header.Rules != string(spec.Kafka) {
		t.Fatalf("%s: header rules %q, want %q", kafkaOK, h.Header.Rules, spec.Kafka)
	}
	r := &recorder{TB: t}
	if res := CheckFile(r, kafkaOK); r.failed || res.Verdict != checker.Ok {
		t.Errorf("%s (rules kafka): verdict %s, failed %v: %v", kafkaOK, res.Verdict, r.failed, r.msgs)
	}

	h.Header.Rules = ""
	path := filepath.Join(t.TempDir(), "no-rules.jsonl")
	if err := history.WriteFile(path, h); err != nil {
		t.Fatal(err)
	}
	r = &recorder{TB: t}
	if res := CheckFile(r, path); !r.failed || res.Verdict != checker.Illegal {
		t.Errorf("without the header's rules: verdict %s, failed %v; want Illegal and a failure", res.Verdict, r.failed)
	}
	msg := strings.Join(r.msgs, "\n")
	for _, want := range []string{"rules: redpanda", "minimal witness", "picture: "} {
		if !strings.Contains(msg, want) {
			t.Errorf("message lacks %q:\n%s", want, msg)
		}
	}
}

func TestCheckWithRules(t *testing.T) {
	// Rules given in the options win over the header's; a header naming
	// no dialect the checker knows fails the test.
	h, err := history.ReadFile(kafkaOK)
	if err != nil {
		t.Fatal(err)
	}
	r := &recorder{TB: t}
	if res := CheckWith(r, h, checker.Options{Rules: spec.Redpanda}); !r.failed || res.Verdict != checker.Illegal {
		t.Errorf("rules redpanda over the header's kafka: verdict %s, failed %v", res.Verdict, r.failed)
	}
	h.Header.Rules = "kafak"
	r = &recorder{TB: t}
	if res := CheckWith(r, h, checker.Options{}); !r.failed || res.Err == nil || !strings.Contains(strings.Join(r.msgs, "\n"), `"kafak"`) {
		t.Errorf("header rules kafak: result %+v, failed %v: %v", res, r.failed, r.msgs)
	}
}

func TestPictureRules(t *testing.T) {
	// The picture draws the model of the rules in use: for the Kafka
	// trace it is the picture of checker.Visualize with Kafka's rules,
	// which differs from the one with Redpanda's.
	h, err := history.ReadFile(kafkaOK)
	if err != nil {
		t.Fatal(err)
	}
	opts := checker.Options{Rules: spec.Kafka}
	res := checker.Check(h, opts)
	path, err := picture(t, h, res, opts)
	if err != nil {
		t.Fatal(err)
	}
	got, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	var kafka, redpanda bytes.Buffer
	if err := checker.Visualize(&kafka, h, res, checker.VisualizeOptions{Rules: spec.Kafka}); err != nil {
		t.Fatal(err)
	}
	if err := checker.Visualize(&redpanda, h, res, checker.VisualizeOptions{Rules: spec.Redpanda}); err != nil {
		t.Fatal(err)
	}
	if bytes.Equal(kafka.Bytes(), redpanda.Bytes()) {
		t.Fatalf("the pictures under Kafka's and Redpanda's rules are the same; the test shows nothing")
	}
	if !bytes.Equal(got, kafka.Bytes()) {
		t.Errorf("picture %s is not checker.Visualize's with Kafka's rules", path)
	}
}
