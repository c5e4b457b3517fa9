package traces_test

import (
	"fmt"
	"path/filepath"
	"runtime"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/idemcheck/idemcheck/checker"
	"github.com/idemcheck/idemcheck/history"
)

// TestNamesDeterministic checks that a violation's name depends only on
// the history and the broker dialect, never on how the check was run.
// For every bad trace of the corpus (the files TestCorpus reads, with the
// dialect its header names), checker.Check must give the same verdict
// and the same violations, in the same order and each with the same name,
// partition, producer and explanation, with:
//
//   - Options.Workers 1 and 8 (and the default, one per CPU);
//   - runtime.GOMAXPROCS(1) and the default;
//   - Options.Timeout of one hour and none: a time limit that is not
//     reached changes nothing;
//   - three checks of the same history running at once;
//
// and Options.KeepAll true and false must give the same verdict and the
// same violation names, partitions and producers (the default, bounded
// check drops decided records, so its explanations may name fewer
// operations).
//
// This is the regression test of issue 11's finding 3: the test that
// names DecideInCallOrder used to be a search with a wall-clock budget,
// so its name changed with the machine's load (explain-budget-bad.jsonl
// is a history that was named either way). It is now bounded by a count
// of model steps, and only Options.Timeout may stop a check, turning a
// part Unknown with a reason rather than renaming its violation.
func TestNamesDeterministic(t *testing.T) {
	n := 0
	for _, f := range corpusFiles(t) {
		if !strings.HasSuffix(strings.TrimSuffix(f, filepath.Ext(f)), "-bad") {
			continue
		}
		n++
		t.Run(f, func(t *testing.T) {
			h, rules := readTrace(t, f)
			base := checker.Options{Rules: rules}
			want := checkOnce(t, h, base)
			if want.Verdict != checker.Illegal {
				t.Fatalf("verdict %s, want Illegal\n%s", want.Verdict, want.Summary())
			}
			full := func(label string, got checker.Result) {
				t.Helper()
				if a, b := violationText(want, true), violationText(got, true); a != b {
					t.Errorf("%s: violations differ from the default run's:\ndefault:\n%s%s:\n%s", label, a, label, b)
				}
			}
			with := func(change func(*checker.Options)) checker.Options {
				o := base
				change(&o)
				return o
			}
			full("Workers 1", checkOnce(t, h, with(func(o *checker.Options) { o.Workers = 1 })))
			full("Workers 8", checkOnce(t, h, with(func(o *checker.Options) { o.Workers = 8 })))
			full("Timeout 1h", checkOnce(t, h, with(func(o *checker.Options) { o.Timeout = time.Hour })))
			full("GOMAXPROCS 1", func() checker.Result {
				defer runtime.GOMAXPROCS(runtime.GOMAXPROCS(1))
				return checkOnce(t, h, base)
			}())

			var wg sync.WaitGroup
			parallel := make([]checker.Result, 3)
			for i := range parallel {
				wg.Add(1)
				go func() {
					defer wg.Done()
					parallel[i] = checker.Check(h, base)
				}()
			}
			wg.Wait()
			for i, r := range parallel {
				if r.Err != nil {
					t.Fatalf("parallel check %d: %v", i+1, r.Err)
				}
				full(fmt.Sprintf("parallel check %d of 3", i+1), r)
			}

			for _, keepAll := range []bool{false, true} {
				got := checkOnce(t, h, with(func(o *checker.Options) { o.KeepAll = keepAll }))
				if a, b := violationText(want, false), violationText(got, false); a != b {
					t.Errorf("KeepAll %v: violation names differ from the default run's:\ndefault:\n%sKeepAll %v:\n%s", keepAll, a, keepAll, b)
				}
			}
		})
	}
	if n == 0 {
		t.Fatal("no bad trace in the corpus")
	}
}

// checkOnce runs checker.Check and fails t on unusable input.
func checkOnce(t *testing.T, h history.History, opts checker.Options) checker.Result {
	t.Helper()
	res := checker.Check(h, opts)
	if res.Err != nil {
		t.Fatal(res.Err)
	}
	return res
}

// violationText renders the verdict and the violations in their order,
// one a line: name, partition and producer, and with explain the
// explanation.
func violationText(r checker.Result, explain bool) string {
	var b strings.Builder
	fmt.Fprintf(&b, "  verdict %s\n", r.Verdict)
	for _, v := range r.Violations {
		fmt.Fprintf(&b, "  %s on %q producer %d", v.Name, v.Partition, v.PID)
		if explain {
			fmt.Fprintf(&b, ": %s", v.Explanation)
		}
		b.WriteString("\n")
	}
	return b.String()
}
