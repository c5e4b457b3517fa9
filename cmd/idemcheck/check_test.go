package main

import (
	"bytes"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/idemcheck/idemcheck/checker"
	"github.com/idemcheck/idemcheck/history"
	"github.com/idemcheck/idemcheck/internal/gen"
	"github.com/idemcheck/idemcheck/spec"
)

// corpus returns the trace files of traces/ with their expected verdict
// and violation.
func corpus(t *testing.T) []string {
	t.Helper()
	var files []string
	for _, pat := range []string{"../../traces/*.jsonl", "../../traces/*.yaml"} {
		m, _ := filepath.Glob(pat)
		files = append(files, m...)
	}
	if len(files) == 0 {
		t.Skip("no traces in ../../traces")
	}
	return files
}

// bigCorpusOps is the size above which TestCheckCorpusExitCodes checks a
// corpus trace without its minimal witness (TestCorpus in ./traces
// shrinks every trace).
const bigCorpusOps = 100

func TestCheckCorpusExitCodes(t *testing.T) {
	// Exit code 0 for every -ok trace and 1 for every -bad trace, with the
	// header's violation name and a minimal witness in the human summary;
	// the same with --bounded=false (every record kept). A trace of more
	// than bigCorpusOps operations is checked with --no-shrink and the
	// time limit TestCorpus gives it.
	for _, f := range corpus(t) {
		h, err := history.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		var extra []string
		if len(checker.Operations(h)) > bigCorpusOps {
			extra = []string{"--no-shrink", "--timeout", "30s"}
		}
		for _, mode := range [][]string{nil, {"--bounded=false"}} {
			args := append(append(append([]string{"check"}, mode...), extra...), f)
			t.Run(filepath.Base(f)+strings.Join(mode, ""), func(t *testing.T) {
				checkCorpusFile(t, f, args)
			})
		}
	}
}

// checkCorpusFile runs args (a check of the corpus file f) and asserts
// the verdict the file's header expects.
func checkCorpusFile(t *testing.T, f string, args []string) {
	t.Helper()
	h, err := history.ReadFile(f)
	if err != nil {
		t.Fatal(err)
	}
	code, stdout, stderr := runCLI(t, nil, args...)
	want := exitOK
	if h.Header.Expect == "Illegal" {
		want = exitViolation
	}
	if code != want {
		t.Fatalf("exit %d, want %d\nstdout:\n%s\nstderr:\n%s", code, want, stdout, stderr)
	}
	if want == exitViolation {
		wantOut := []string{"Illegal", "violation " + h.Header.Violation, "minimal witness"}
		if slices.Contains(args, "--no-shrink") {
			wantOut = wantOut[:2]
		}
		for _, s := range wantOut {
			if !strings.Contains(stdout, s) {
				t.Errorf("stdout lacks %q:\n%s", s, stdout)
			}
		}
	} else if !strings.Contains(stdout, "Ok:") {
		t.Errorf("stdout lacks the Ok verdict:\n%s", stdout)
	}
}

func TestCheckJSON(t *testing.T) {
	// --json: one report with the verdict, the exit code, per file the
	// parts, the violations and the witness; bad input is reported too.
	dir := t.TempDir()
	bad := filepath.Join(dir, "bad.jsonl")
	if err := os.WriteFile(bad, []byte(`{"kind":"Nope","t":0,"op":1}`+"\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	seedBad, seedOk := "../../traces/seed-unknown-bad.jsonl", "../../traces/seed-unknown-ok.jsonl"
	tests := []struct {
		name      string
		args      []string
		code      int
		verdicts  []string
		violation string
	}{
		{"ok", []string{seedOk}, exitOK, []string{"Ok"}, ""},
		{"bad", []string{seedBad}, exitViolation, []string{"Illegal"}, "DecideInCallOrder"},
		{"bad input", []string{bad}, exitUsage, []string{"Error"}, ""},
		{"violation wins over bad input", []string{seedOk, bad, seedBad}, exitViolation, []string{"Ok", "Error", "Illegal"}, "DecideInCallOrder"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			code, stdout, _ := runCLI(t, nil, append([]string{"check", "--json"}, tc.args...)...)
			if code != tc.code {
				t.Errorf("exit %d, want %d", code, tc.code)
			}
			var rep checkReport
			if err := json.Unmarshal([]byte(stdout), &rep); err != nil {
				t.Fatalf("stdout is not the JSON report: %v\n%s", err, stdout)
			}
			if rep.ExitCode != code {
				t.Errorf("exit_code %d, exit %d", rep.ExitCode, code)
			}
			if len(rep.Files) != len(tc.verdicts) {
				t.Fatalf("%d files in report, want %d", len(rep.Files), len(tc.verdicts))
			}
			for i, f := range rep.Files {
				if f.Verdict != tc.verdicts[i] {
					t.Errorf("file %d verdict %q, want %q", i, f.Verdict, tc.verdicts[i])
				}
				switch f.Verdict {
				case "Illegal":
					if len(f.Violations) == 0 || f.Violations[0].Name != tc.violation || f.Witness == nil || f.Witness.Ops == 0 || f.Witness.Ops > 10 {
						t.Errorf("file %d: violations %+v witness %+v", i, f.Violations, f.Witness)
					}
				case "Error":
					if !strings.Contains(f.Error, "bad.jsonl:1: field \"kind\"") {
						t.Errorf("file %d error %q", i, f.Error)
					}
				}
			}
		})
	}
}

func TestCheckWitnessFile(t *testing.T) {
	// --witness saves the minimal witness as a trace that is itself
	// Illegal with the same violation and at most 10 operations.
	for _, ext := range []string{".jsonl", ".yaml"} {
		w := filepath.Join(t.TempDir(), "witness"+ext)
		code, stdout, _ := runCLI(t, nil, "check", "--witness", w, "../../traces/seed-unknown-bad.jsonl")
		if code != exitViolation || !strings.Contains(stdout, "witness saved to "+w) {
			t.Fatalf("exit %d\n%s", code, stdout)
		}
		h, err := history.ReadFile(w)
		if err != nil {
			t.Fatal(err)
		}
		if h.Header.Expect != "Illegal" || h.Header.Violation != "DecideInCallOrder" {
			t.Errorf("witness header %+v", h.Header)
		}
		code, _, _ = runCLI(t, nil, "check", w)
		if code != exitViolation {
			t.Errorf("re-check of the witness: exit %d, want %d", code, exitViolation)
		}
	}
}

func TestCheckRules(t *testing.T) {
	// --rules picks the dialect: a producer's first batch [5,9] answered
	// OUT_OF_ORDER_SEQUENCE_NUMBER is what Kafka may answer and a spurious
	// rejection for Redpanda. Without the flag the header's rules decide,
	// else Redpanda's; the flag beats the header.
	kafkaOK := "../../traces/kafka-first-contact-ooosn-ok.jsonl"      // rules: kafka
	redpandaBad := "../../traces/kafka-first-contact-ooosn-bad.jsonl" // rules: redpanda
	b, err := os.ReadFile(kafkaOK)
	if err != nil {
		t.Fatal(err)
	}
	_, events, _ := strings.Cut(string(b), "\n")
	plain := filepath.Join(t.TempDir(), "no-rules.jsonl") // no header
	if err := os.WriteFile(plain, []byte(events), 0o644); err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		args  []string
		stdin []byte
		code  int
		rules string
	}{
		{[]string{kafkaOK}, nil, exitOK, "kafka"},
		{[]string{"--rules", "kafka", kafkaOK}, nil, exitOK, "kafka"},
		{[]string{"--rules", "redpanda", kafkaOK}, nil, exitViolation, "redpanda"},
		{[]string{redpandaBad}, nil, exitViolation, "redpanda"},
		{[]string{"--rules", "kafka", redpandaBad}, nil, exitOK, "kafka"},
		{[]string{redpandaBad, "--rules=kafka"}, nil, exitOK, "kafka"},
		{[]string{plain}, nil, exitViolation, "redpanda"},
		{[]string{"--rules", "kafka", plain}, nil, exitOK, "kafka"},
		{[]string{"-"}, b, exitOK, "kafka"},
		{[]string{"--bounded=false", "--rules", "redpanda", "-"}, b, exitViolation, "redpanda"},
	}
	for _, tc := range tests {
		args := append([]string{"check"}, tc.args...)
		code, stdout, stderr := runCLI(t, tc.stdin, args...)
		if code != tc.code {
			t.Errorf("%v: exit %d, want %d\n%s\n%s", args, code, tc.code, stdout, stderr)
			continue
		}
		if !strings.Contains(stdout, tc.rules+" rules\n") {
			t.Errorf("%v: stdout does not name the %s rules:\n%s", args, tc.rules, stdout)
		}
		if code == exitViolation && !strings.Contains(stdout, "violation NoSpuriousOutOfOrder") {
			t.Errorf("%v: no NoSpuriousOutOfOrder:\n%s", args, stdout)
		}
		code, stdout, _ = runCLI(t, tc.stdin, append([]string{"check", "--json"}, tc.args...)...)
		var rep checkReport
		if err := json.Unmarshal([]byte(stdout), &rep); err != nil {
			t.Fatalf("%v --json: %v\n%s", args, err, stdout)
		}
		if code != tc.code || len(rep.Files) != 1 || rep.Files[0].Rules != tc.rules {
			t.Errorf("%v --json: exit %d, report %+v; want %d and rules %q", args, code, rep.Files, tc.code, tc.rules)
		}
	}
	// A witness keeps the dialect it is Illegal under.
	w := filepath.Join(t.TempDir(), "witness.jsonl")
	if code, stdout, _ := runCLI(t, nil, "check", "--rules", "redpanda", "--witness", w, kafkaOK); code != exitViolation {
		t.Fatalf("exit %d\n%s", code, stdout)
	}
	h, err := history.ReadFile(w)
	if err != nil {
		t.Fatal(err)
	}
	if h.Header.Rules != "redpanda" || h.Header.Violation != "NoSpuriousOutOfOrder" {
		t.Errorf("witness header %+v", h.Header)
	}
	if code, stdout, _ := runCLI(t, nil, "check", w); code != exitViolation {
		t.Errorf("re-check of the witness: exit %d, want %d\n%s", code, exitViolation, stdout)
	}
}

func TestCheckRulesWitnessAndPicture(t *testing.T) {
	// The witness is shrunk, and the picture drawn, under the rules the
	// check used. Kafka's stale batch: the witness is Illegal under
	// Kafka's rules (its header says so) and shows nothing under
	// Redpanda's; the picture of a Kafka trace is checker.Visualize's
	// with Kafka's rules.
	dir := t.TempDir()
	w := filepath.Join(dir, "witness.jsonl")
	if code, stdout, stderr := runCLI(t, nil, "check", "--witness", w, "../../traces/diff-kafka-stale-ooosn-bad.jsonl"); code != exitViolation {
		t.Fatalf("exit %d, want %d\n%s\n%s", code, exitViolation, stdout, stderr)
	}
	wh, err := history.ReadFile(w)
	if err != nil {
		t.Fatal(err)
	}
	if wh.Header.Rules != string(spec.Kafka) {
		t.Errorf("witness header rules %q, want %q", wh.Header.Rules, spec.Kafka)
	}
	if res := checker.Check(wh, checker.Options{Rules: spec.Kafka}); res.Verdict != checker.Illegal || res.Violations[0].Name != wh.Header.Violation {
		t.Errorf("witness under Kafka's rules:\n%s", res.Summary())
	}
	if res := checker.Check(wh, checker.Options{Rules: spec.Redpanda}); res.Verdict != checker.Ok {
		t.Errorf("witness under Redpanda's rules is %s: was it shrunk under Kafka's?\n%s", res.Verdict, res.Summary())
	}

	kafkaOK := "../../traces/kafka-first-contact-ooosn-ok.jsonl" // rules: kafka
	pic := filepath.Join(dir, "pic.html")
	if code, stdout, stderr := runCLI(t, nil, "check", "--html", pic, kafkaOK); code != exitOK {
		t.Fatalf("exit %d\n%s\n%s", code, stdout, stderr)
	}
	got, err := os.ReadFile(pic)
	if err != nil {
		t.Fatal(err)
	}
	h, err := history.ReadFile(kafkaOK)
	if err != nil {
		t.Fatal(err)
	}
	res := checker.Check(h, checker.Options{Rules: spec.Kafka})
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
		t.Errorf("--html picture of %s is not checker.Visualize's with Kafka's rules", kafkaOK)
	}
}

// genFile writes a generated history to dir and returns its path.
func genFile(t *testing.T, dir, name string, o gen.Options) string {
	t.Helper()
	h, err := gen.History(o)
	if err != nil {
		t.Fatal(err)
	}
	p := filepath.Join(dir, name)
	if err := history.WriteFile(p, h); err != nil {
		t.Fatal(err)
	}
	return p
}

func TestCheckHTMLSize(t *testing.T) {
	// --html writes at most 1 MiB by default, even for a large history;
	// --html-full draws everything and is larger.
	if testing.Short() {
		t.Skip("large history")
	}
	dir := t.TempDir()
	// --html-full refuses past checker.MaxFullOps operations, before
	// reading the input again.
	tooBig := genFile(t, dir, "too-big.jsonl", gen.Options{Seed: 5, Partitions: 2, Producers: 4, Batches: 1500, UnknownRate: 0.05, Retries: 1, Inject: gen.GapAccept})
	hb, err := history.ReadFile(tooBig)
	if err != nil {
		t.Fatal(err)
	}
	msg := fmt.Sprintf("a full picture of %d operations (at most %d)", len(checker.Operations(hb)), checker.MaxFullOps)
	if code, _, errs := runCLI(t, nil, "check", "--no-shrink", "--html-full", "--html", filepath.Join(dir, "no.html"), tooBig); code != exitUsage || !strings.Contains(errs, msg) {
		t.Errorf("--html-full past the limit: exit %d, stderr %q", code, errs)
	}
	in := genFile(t, dir, "big.jsonl", gen.Options{Seed: 5, Partitions: 2, Producers: 4, Batches: 1000, UnknownRate: 0.05, Retries: 1, Inject: gen.GapAccept})
	small, full := filepath.Join(dir, "small.html"), filepath.Join(dir, "full.html")
	if code, out, errs := runCLI(t, nil, "check", "--no-shrink", "--html", small, in); code != exitViolation {
		t.Fatalf("exit %d\n%s\n%s", code, out, errs)
	}
	if code, out, errs := runCLI(t, nil, "check", "--no-shrink", "--html-full", "--html", full, in); code != exitViolation {
		t.Fatalf("exit %d\n%s\n%s", code, out, errs)
	}
	si, err := os.Stat(small)
	if err != nil {
		t.Fatal(err)
	}
	fi, err := os.Stat(full)
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("default picture %d bytes, full picture %d bytes", si.Size(), fi.Size())
	if si.Size() > 1<<20 {
		t.Errorf("default picture is %d bytes, more than 1 MiB", si.Size())
	}
	if fi.Size() <= si.Size() {
		t.Errorf("full picture (%d bytes) not larger than the default one (%d)", fi.Size(), si.Size())
	}
	b, _ := os.ReadFile(small)
	if !strings.Contains(string(b), "<html") {
		t.Errorf("picture is not HTML")
	}
}

func TestCheckUndecided(t *testing.T) {
	// A part that hits a limit is Unknown, named with the limit it hit
	// (checker.PartResult.Reason, in the human output and as "reason" in
	// --json), and exits 3: never a pass. Without the call-order
	// obligation the part needs porcupine's search, which the 1ns limit
	// stops; with it the streaming replay decides the part, but --timeout
	// bounds the whole check, so a replay of 3000 operations stops too.
	dir := t.TempDir()
	small := genFile(t, dir, "amb.jsonl", gen.Options{Seed: 2, Partitions: 1, Producers: 1, Batches: 400, UnknownRate: 0.6, Retries: 0})
	big := genFile(t, dir, "amb-big.jsonl", gen.Options{Seed: 2, Partitions: 1, Producers: 1, Batches: 3000, UnknownRate: 0.6, Retries: 0})
	for _, tc := range []struct {
		name   string
		args   []string
		reason string
	}{
		{"porcupine's search", []string{"--no-call-order", "--timeout", "1ns", small}, "porcupine's search ran out of time (--timeout 1ns)"},
		{"the streaming replay", []string{"--timeout", "1ns", big}, "the check ran out of time"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			code, stdout, stderr := runCLI(t, nil, append([]string{"check"}, tc.args...)...)
			if code != exitUndecided {
				t.Fatalf("exit %d, want %d\n%s\n%s", code, exitUndecided, stdout, stderr)
			}
			want := `undecided: partition "p0" pid 1: ` + tc.reason
			if !strings.Contains(stdout, want) || !strings.Contains(stdout, "this is not a pass") {
				t.Errorf("the undecided part is not named with its reason %q:\n%s", want, stdout)
			}
			code, stdout, _ = runCLI(t, nil, append([]string{"check", "--json"}, tc.args...)...)
			var rep checkReport
			if err := json.Unmarshal([]byte(stdout), &rep); err != nil {
				t.Fatalf("--json: %v\n%s", err, stdout)
			}
			if code != exitUndecided || rep.Verdict != "Unknown" || len(rep.Files) != 1 || len(rep.Files[0].Parts) != 1 {
				t.Fatalf("--json: exit %d, report %+v", code, rep)
			}
			if p := rep.Files[0].Parts[0]; p.Verdict != "Unknown" || !strings.Contains(p.Reason, tc.reason) {
				t.Errorf("--json part %+v, want verdict Unknown and a reason containing %q", p, tc.reason)
			}
		})
	}
}

func TestCheckStdinAndProgress(t *testing.T) {
	// "-" reads stdin; --progress reports events read and parts decided
	// on stderr.
	b, err := os.ReadFile("../../traces/seed-known-ok.jsonl")
	if err != nil {
		t.Fatal(err)
	}
	code, stdout, stderr := runCLI(t, b, "check", "--progress", "-")
	if code != exitOK || !strings.HasPrefix(stdout, "<stdin>:") {
		t.Fatalf("exit %d\n%s", code, stdout)
	}
	for _, s := range []string{"read ", " events (", "parts decided in"} {
		if !strings.Contains(stderr, s) {
			t.Errorf("stderr lacks %q:\n%s", s, stderr)
		}
	}
	_, _, stderr = runCLI(t, b, "check", "-")
	if stderr != "" {
		t.Errorf("progress without --progress or a terminal: %q", stderr)
	}
}

func TestCheckUsage(t *testing.T) {
	// Usage problems exit 2 with a message.
	tests := []struct {
		args []string
		want string
	}{
		{[]string{"check"}, "no input files"},
		{[]string{"check", "--bogus", "x"}, "flag provided but not defined: -bogus"},
		{[]string{"check", "--html-full", "x"}, "--html-full needs --html FILE"},
		{[]string{"check", "--no-shrink", "--witness", "w.jsonl", "x"}, "--witness needs the shrinking"},
		{[]string{"check", "--timeout", "-1s", "x"}, "must not be negative"},
		{[]string{"check", "--bounded", "--no-call-order", "x"}, "--bounded needs the call-order replay"},
		{[]string{"check", "--rules", "rpk", "x"}, `--rules "rpk" is not redpanda or kafka`},
		{[]string{"check", "--rules=", "x"}, `--rules "" is not redpanda or kafka`},
		{[]string{"check", "does-not-exist.jsonl"}, "idemcheck check: does-not-exist.jsonl: no such file or directory"},
		{[]string{"check", "."}, "idemcheck check: .: is a directory, not a history file"},
	}
	for _, tc := range tests {
		code, _, stderr := runCLI(t, nil, tc.args...)
		if code != exitUsage || !strings.Contains(stderr, tc.want) {
			t.Errorf("%v: exit %d, stderr %q; want %d and %q", tc.args, code, stderr, exitUsage, tc.want)
		}
	}
}
