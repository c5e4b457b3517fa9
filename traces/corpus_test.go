package traces_test

import (
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/idemcheck/idemcheck/checker"
	"github.com/idemcheck/idemcheck/history"
	"github.com/idemcheck/idemcheck/spec"
)

// maxWitnessOps is the largest minimal witness the corpus accepts.
const maxWitnessOps = 10

// maxShrinkTime is how long the minimal witness of one bad trace may take.
// Shrinking the corpus's traces takes milliseconds; a trace that takes
// longer fails on its own instead of running the package into go test's
// timeout, which would hide every other result.
const maxShrinkTime = 2 * time.Minute

// readTrace reads a corpus file and the broker dialect its header names
// (none: redpanda).
func readTrace(t testing.TB, f string) (history.History, spec.Rules) {
	t.Helper()
	h, err := history.ReadFile(f)
	if err != nil {
		t.Fatal(err)
	}
	rules, ok := spec.ParseRules(h.Header.Rules)
	if !ok {
		t.Fatalf("header names rules %q; want %q, %q or none", h.Header.Rules, spec.Redpanda, spec.Kafka)
	}
	return h, rules
}

// corpusFiles lists the trace files of the corpus, sorted.
func corpusFiles(t testing.TB) []string {
	t.Helper()
	var files []string
	for _, pat := range []string{"*.jsonl", "*.yaml", "*.yml"} {
		m, err := filepath.Glob(pat)
		if err != nil {
			t.Fatal(err)
		}
		files = append(files, m...)
	}
	sort.Strings(files)
	return files
}

// TestCorpus checks every trace: its header names the expected verdict
// (Ok for NAME-ok.*, Illegal for NAME-bad.*) and, for a bad one, the
// violation; the checker must agree on both, and the minimal witness of a
// bad trace must keep the violation with at most 10 operations and be
// found within maxShrinkTime. A header with "rules" names the broker
// dialect the verdict holds for (checked with it as checker.Options.Rules;
// none means Redpanda's).
func TestCorpus(t *testing.T) {
	files := corpusFiles(t)
	if len(files) < 20 {
		t.Errorf("corpus has %d files, want at least 20", len(files))
	}
	type row struct {
		file, violation string
		ops, witness    int
	}
	var rows []row
	for _, f := range files {
		t.Run(f, func(t *testing.T) {
			h, rules := readTrace(t, f)
			opts := checker.Options{Timeout: 30 * time.Second, Rules: rules}
			base := strings.TrimSuffix(f, filepath.Ext(f))
			want := h.Header.Expect
			switch {
			case strings.HasSuffix(base, "-ok"):
				if want != string(checker.Ok) || h.Header.Violation != "" {
					t.Fatalf("an -ok file must say expect: Ok and no violation; header says %q, %q", want, h.Header.Violation)
				}
			case strings.HasSuffix(base, "-bad"):
				if want != string(checker.Illegal) || h.Header.Violation == "" {
					t.Fatalf("a -bad file must say expect: Illegal and a violation; header says %q, %q", want, h.Header.Violation)
				}
			default:
				t.Fatalf("file name must end in -ok or -bad")
			}
			if h.Header.Description == "" {
				t.Errorf("header has no description")
			}
			res := checker.Check(h, opts)
			if res.Err != nil {
				t.Fatal(res.Err)
			}
			if string(res.Verdict) != want {
				t.Fatalf("verdict %s, want %s\n%s", res.Verdict, want, res.Summary())
			}
			if want == string(checker.Ok) {
				rows = append(rows, row{file: f, ops: len(checker.Operations(h))})
				return
			}
			if !hasViolation(res, h.Header.Violation) {
				t.Fatalf("violation %s not found\n%s", h.Header.Violation, res.Summary())
			}
			shrunk := make(chan history.History, 1)
			start := time.Now()
			go func() { shrunk <- checker.Shrink(h, opts) }()
			var w history.History
			select {
			case w = <-shrunk:
			case <-time.After(maxShrinkTime):
				// The shrink goroutine is left to run until the test
				// binary exits: checker.Shrink cannot be cancelled.
				t.Fatalf("the minimal witness took more than %v (%d operations)", maxShrinkTime, len(checker.Operations(h)))
			}
			if d := time.Since(start); d > maxShrinkTime/10 {
				t.Logf("the minimal witness took %v", d.Round(time.Millisecond))
			}
			wres := checker.Check(w, opts)
			n := len(checker.Operations(w))
			if wres.Verdict != checker.Illegal || !hasViolation(wres, h.Header.Violation) {
				t.Errorf("witness is %s without %s:\n%s", wres.Verdict, h.Header.Violation, checker.FormatWitness(w))
			}
			if n > maxWitnessOps {
				t.Errorf("witness has %d operations, want at most %d:\n%s", n, maxWitnessOps, checker.FormatWitness(w))
			}
			rows = append(rows, row{f, h.Header.Violation, len(checker.Operations(h)), n})
		})
	}
	var b strings.Builder
	fmt.Fprintf(&b, "%-36s %-22s %5s %8s\n", "trace", "violation", "ops", "witness")
	for _, r := range rows {
		w := "-"
		if r.violation != "" {
			w = fmt.Sprint(r.witness)
		}
		fmt.Fprintf(&b, "%-36s %-22s %5d %8s\n", r.file, r.violation, r.ops, w)
	}
	t.Logf("witness sizes (operations):\n%s", b.String())
}

func hasViolation(res checker.Result, name string) bool {
	for _, v := range res.Violations {
		if v.Name == name {
			return true
		}
	}
	return false
}

// FuzzCheck feeds decoded inputs to the checker's entry points: they must
// never panic, must give one of the three verdicts, an Illegal verdict
// must name a shared violation, and the streaming CheckReader (what the
// CLI uses) and the bounded check (the CLI's default) must agree with
// Check on the verdict and the violations (unless one of them ran out of
// time). Seeded from every trace.
func FuzzCheck(f *testing.F) {
	for _, name := range corpusFiles(f) {
		b, err := os.ReadFile(name)
		if err != nil {
			f.Fatal(err)
		}
		f.Add(b)
	}
	names := map[string]bool{checker.DecideInCallOrder: true, checker.NoSpuriousOutOfOrder: true,
		checker.ContiguousAppends: true, checker.NoDuplicateAppend: true, checker.AckedInLog: true,
		checker.LostWrite: true, checker.DuplicateInLog: true, checker.LogInSequence: true, checker.LogOffsetsDisjoint: true}
	f.Fuzz(func(t *testing.T, data []byte) {
		h, err := history.Decode(strings.NewReader(string(data)), "fuzz")
		if err != nil {
			return
		}
		// A header's dialect applies as it does in TestCorpus (an unknown
		// one: the default).
		rules, _ := spec.ParseRules(h.Header.Rules)
		opts := checker.Options{Timeout: time.Second, Workers: 1, Rules: rules}
		res := checker.Check(h, opts)
		switch res.Verdict {
		case checker.Ok, checker.Unknown:
		case checker.Illegal:
			if len(res.Violations) == 0 {
				t.Fatalf("Illegal without a violation:\n%s", res.Summary())
			}
			for _, v := range res.Violations {
				if !names[v.Name] {
					t.Fatalf("unknown violation name %q", v.Name)
				}
			}
		default:
			t.Fatalf("verdict %q", res.Verdict)
		}
		_ = res.Summary()
		rd, err := history.NewReader(strings.NewReader(string(data)), "fuzz")
		if err != nil {
			t.Fatalf("Decode accepted the input but NewReader did not: %v", err)
		}
		sres := checker.CheckReader(rd, opts)
		if res.Err != nil {
			// Both report unusable input in Result.Err: both must refuse it.
			if sres.Err == nil {
				t.Fatalf("Check refused the history (%v) but CheckReader accepted it: %s", res.Err, sres.Verdict)
			}
			return
		}
		if sres.Err != nil {
			t.Fatalf("CheckReader: %v (Check: %s)", sres.Err, res.Verdict)
		}
		if res.Verdict == checker.Unknown || sres.Verdict == checker.Unknown {
			return
		}
		if sres.Verdict != res.Verdict || violationNames(sres) != violationNames(res) {
			t.Fatalf("CheckReader says %s %s, Check says %s %s", sres.Verdict, violationNames(sres), res.Verdict, violationNames(res))
		}
		fopts := opts
		fopts.KeepAll = true
		fres := checker.Check(h, fopts)
		if fres.Verdict != checker.Unknown && (fres.Verdict != res.Verdict || violationNames(fres) != violationNames(res)) {
			t.Fatalf("the check with KeepAll says %s %s, Check says %s %s", fres.Verdict, violationNames(fres), res.Verdict, violationNames(res))
		}
	})
}

func violationNames(r checker.Result) string {
	var names []string
	for _, v := range r.Violations {
		names = append(names, fmt.Sprintf("%s@%s/%d", v.Name, v.Partition, v.PID))
	}
	sort.Strings(names)
	return strings.Join(names, ",")
}
