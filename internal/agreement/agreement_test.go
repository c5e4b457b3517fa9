package agreement

import (
	"bytes"
	"errors"
	"flag"
	"fmt"
	"math/rand/v2"
	"os"
	"path/filepath"
	"runtime"
	"sort"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/idemcheck/idemcheck/checker"
	"github.com/idemcheck/idemcheck/history"
	"github.com/idemcheck/idemcheck/internal/refcheck"
	"github.com/idemcheck/idemcheck/internal/testflag"
	"github.com/idemcheck/idemcheck/spec"
)

var (
	flagN    = flag.Int("agreement.n", 10000, "number of generated histories TestReferenceAgrees judges")
	flagOut  = flag.String("agreement.out", "", "directory to write each kind of disagreement to, shrunk, as diff-NNN-ok.jsonl / diff-NNN-bad.jsonl")
	flagShow = flag.Int("agreement.show", 3, "how many kinds of disagreement TestReferenceAgrees prints in full")
)

// runGenerated judges n histories drawn from seed (history i from
// PCG(seed, i)) with hs, in batches judged on GOMAXPROCS goroutines; the
// verdicts are recorded in index order, so a run does not depend on the
// scheduling.
func runGenerated(t *testing.T, hs *harness, seed uint64, n int) {
	t.Helper()
	type result struct {
		src string
		h   history.History
		err error
		vs  []verdicts
	}
	const batch = 512
	results := make([]result, batch)
	for lo := 0; lo < n; lo += batch {
		hi := min(n, lo+batch)
		var wg sync.WaitGroup
		next := make(chan int, hi-lo)
		for i := lo; i < hi; i++ {
			next <- i
		}
		close(next)
		for range runtime.GOMAXPROCS(0) {
			wg.Add(1)
			go func() {
				defer wg.Done()
				for i := range next {
					rng := rand.New(rand.NewPCG(seed, uint64(i)))
					src, h, err := draw(rng)
					var vs []verdicts
					if err == nil {
						vs = hs.judge(h)
					}
					results[i-lo] = result{src, h, err, vs}
				}
			}()
		}
		wg.Wait()
		for i := lo; i < hi; i++ {
			r := results[i-lo]
			if r.err != nil {
				t.Fatalf("seed %d history #%d (%s): %v", seed, i, r.src, r.err)
			}
			if err := hs.record(r.src, fmt.Sprintf("history #%d of seed %d", i, seed), r.h, r.vs); err != nil {
				t.Fatalf("seed %d: %v", seed, err)
			}
		}
	}
}

// runHand judges the hand-written cases with hs and checks the
// reference's verdicts against theirs.
func runHand(t *testing.T, hs *harness) {
	t.Helper()
	for _, c := range handCases {
		h, err := refcheck.Sketch(c.lines...)
		if err != nil {
			t.Fatalf("%s: %v", c.name, err)
		}
		h.Header.Description = c.name
		for r, want := range map[spec.Rules]refcheck.Verdict{spec.Redpanda: c.redpanda, spec.Kafka: c.kafka} {
			if got := hs.ref.fn(h, r); got.verdict != string(want) {
				t.Errorf("hand case %s (%s): reference %s (%s), want %s", c.name, r, got.verdict, got.detail, want)
			}
		}
		if err := hs.run(srcHand, "hand case "+c.name, h); err != nil {
			t.Fatal(err)
		}
	}
}

// corpus reads the trace files of traces/ with their dialect.
func corpus(t *testing.T) (names []string, hs []history.History) {
	t.Helper()
	var files []string
	for _, pat := range []string{"*.jsonl", "*.yaml"} {
		m, err := filepath.Glob(filepath.Join("..", "..", "traces", pat))
		if err != nil {
			t.Fatal(err)
		}
		files = append(files, m...)
	}
	sort.Strings(files)
	for _, f := range files {
		h, err := history.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		names = append(names, filepath.Base(f))
		hs = append(hs, h)
	}
	return names, hs
}

// TestReferenceAgrees is the differential test: the checker, bounded
// (its default) and with Options.KeepAll, must give the reference's verdict on every
// history (hand-written ones, the traces/ corpus within the reference's
// limits, and -agreement.n generated ones) under both dialects. It
// prints the seed, counts per source and, for each kind of disagreement,
// the first one shrunk, as JSON Lines.
func TestReferenceAgrees(t *testing.T) {
	// The seeds come from the project's convention (internal/testflag):
	// seed 1 by default; -seed N reruns seed N, -seed.first F -seeds K
	// explores K others. History i of a seed is drawn from PCG(seed, i).
	seeds := testflag.Seeds(1)
	n := *flagN
	t.Logf("seeds %v, %d generated histories each (rerun one with -seed S -agreement.n %d)", seeds, n, n)
	hs := newHarness(referenceJudge("reference", refcheck.Options{}), checkerJudge(false), checkerJudge(true))
	start := time.Now()
	runHand(t, hs)
	names, corp := corpus(t)
	for i, h := range corp {
		if err := hs.run(srcCorpus, "traces/"+names[i], h); err != nil {
			t.Fatalf("%s: %v", names[i], err)
		}
	}
	for _, seed := range seeds {
		runGenerated(t, hs, uint64(seed), n)
	}
	logTally(t, hs)
	t.Logf("%s", time.Since(start).Round(time.Millisecond))

	// Not vacuous: both verdicts in meaningful numbers, overall and from
	// the generating sources that should give each.
	if n >= 1000 {
		var ok, illegal int
		for _, x := range hs.tally {
			ok += x.ok
			illegal += x.illegal
		}
		judged := ok + illegal
		if judged < n {
			t.Errorf("only %d (history, dialect) cases judged of %d histories", judged, n)
		}
		if ok < judged/5 || illegal < judged/5 {
			t.Errorf("reference verdicts: %d Ok, %d Illegal; want each at least a fifth", ok, illegal)
		}
		for _, src := range []string{srcImplFixed, srcGen, srcRandom, srcBroker} {
			if x := hs.tally[src]; x == nil || x.ok < x.histories/4 {
				t.Errorf("%s: too few Ok verdicts (%+v)", src, x)
			}
		}
		for _, src := range []string{srcImplPre, srcGenBug, srcRandom, srcMutated} {
			if x := hs.tally[src]; x == nil || x.illegal < x.histories/10 {
				t.Errorf("%s: too few Illegal verdicts (%+v)", src, x)
			}
		}
	}

	ds := hs.disagreements()
	if len(ds) == 0 {
		return
	}
	if *flagOut != "" {
		if err := os.MkdirAll(*flagOut, 0o755); err != nil {
			t.Fatal(err)
		}
		written := map[string]bool{} // the same history found by both checkers or under both dialects
		for i, d := range ds {
			var buf bytes.Buffer
			if err := history.EncodeJSONL(&buf, history.History{Events: d.h.Events}); err != nil {
				t.Fatal(err)
			}
			if key := d.ref.verdict + buf.String(); written[key] {
				continue
			} else {
				written[key] = true
			}
			path, err := d.write(*flagOut, i+1)
			if err != nil {
				t.Fatal(err)
			}
			t.Logf("wrote %s: %s", path, d.kind)
		}
	}
	var b strings.Builder
	fmt.Fprintf(&b, "seeds %v: %d kinds of disagreement with the reference:\n", seeds, len(ds))
	for _, d := range ds {
		fmt.Fprintf(&b, "  %5d× %s\n", d.count, d.kind)
	}
	for i, d := range ds {
		if i == *flagShow {
			fmt.Fprintf(&b, "(%d more kinds; -agreement.show N prints more, -agreement.out DIR writes them all)\n", len(ds)-i)
			break
		}
		b.WriteString("\n" + d.report())
	}
	t.Error(b.String())
}

// logTally logs the counts per source.
func logTally(t *testing.T, hs *harness) {
	t.Helper()
	var srcs []string
	for s := range hs.tally {
		srcs = append(srcs, s)
	}
	sort.Strings(srcs)
	t.Logf("%-18s %9s %7s %7s %11s %6s %9s", "source", "histories", "Ok", "Illegal", "unsupported", "limits", "disagree")
	var sum tally
	for _, s := range srcs {
		x := hs.tally[s]
		t.Logf("%-18s %9d %7d %7d %11d %6d %9d", s, x.histories, x.ok, x.illegal, x.unsupported, x.limits, x.disagree)
		sum.histories += x.histories
		sum.ok += x.ok
		sum.illegal += x.illegal
		sum.unsupported += x.unsupported
		sum.limits += x.limits
		sum.disagree += x.disagree
	}
	t.Logf("%-18s %9d %7d %7d %11d %6d %9d", "total", sum.histories, sum.ok, sum.illegal, sum.unsupported, sum.limits, sum.disagree)
	t.Logf("(Ok and Illegal count (history, dialect) pairs; disagree counts (history, dialect, checker) triples)")
}

// gapAsNext is spec.Classify broken on purpose: a batch out of sequence
// is taken for the next one.
func gapAsNext(v spec.ProducerView, b spec.Batch) (spec.Class, int, bool) {
	c, m, s := spec.Classify(v, b)
	if c == spec.ClassGap {
		c = spec.ClassNext
	}
	return c, m, s
}

// TestHarnessCatchesBrokenRule shows that the differential test can fail:
// the same harness, sources and shrinker, with the checker replaced by a
// reference whose decision rule takes a gap for the next batch, report
// disagreements, shrunk to a couple of operations, whose printed history
// reproduces them; and with an unbroken copy of the reference as the
// candidate they report none.
func TestHarnessCatchesBrokenRule(t *testing.T) {
	const seed, n = 1, 1500
	ref := referenceJudge("reference", refcheck.Options{})
	broken := referenceJudge("broken", refcheck.Options{Classify: gapAsNext})
	hs := newHarness(ref, broken)
	runHand(t, hs)
	runGenerated(t, hs, seed, n)
	ds := hs.disagreements()
	if len(ds) == 0 {
		t.Fatal("no disagreement with a reference that takes gaps for next batches")
	}
	total := 0
	for _, d := range ds {
		total += d.count
		t.Logf("%5d× %s", d.count, d.kind)
	}
	d := ds[0]
	t.Logf("first, as the test prints it:\n%s", d.report())
	if ops := len(checker.Operations(d.h)); ops > 3 {
		t.Errorf("shrunk disagreement has %d operations, want at most 3", ops)
	}
	// The printed history reproduces the disagreement.
	rep := d.report()
	var js []string
	for _, l := range strings.Split(rep, "\n") {
		if l = strings.TrimSpace(l); strings.HasPrefix(l, "{") {
			js = append(js, l)
		}
	}
	h, err := history.Decode(bytes.NewReader([]byte(strings.Join(js, "\n"))), "report.jsonl")
	if err != nil {
		t.Fatalf("the printed history does not decode: %v", err)
	}
	if r, b := ref.fn(h, d.rules), broken.fn(h, d.rules); r.verdict == b.verdict {
		t.Errorf("the printed history does not reproduce the disagreement: both %s", r.verdict)
	}
	if total < 20 {
		t.Errorf("only %d disagreements with a broken rule", total)
	}

	// Control: an unbroken copy of the reference agrees everywhere.
	same := newHarness(ref, referenceJudge("copy", refcheck.Options{Classify: spec.Classify}))
	runHand(t, same)
	runGenerated(t, same, seed, n/3)
	if ds := same.disagreements(); len(ds) > 0 {
		t.Errorf("an unbroken copy of the reference disagrees:\n%s", ds[0].report())
	}
}

// TestReferenceOnCorpus checks the reference against the expected
// verdicts of the traces/ corpus (each file judged by its header's
// dialect), for the files within its limits.
func TestReferenceOnCorpus(t *testing.T) {
	names, hs := corpus(t)
	judged := 0
	for i, h := range hs {
		rules, ok := spec.ParseRules(h.Header.Rules)
		if !ok {
			t.Errorf("%s: rules %q", names[i], h.Header.Rules)
			continue
		}
		res, err := refcheck.Check(h, rules)
		if err != nil {
			t.Logf("%s: %v", names[i], err)
			continue
		}
		judged++
		if string(res.Verdict) != h.Header.Expect {
			t.Errorf("%s: reference %s (%s), the file expects %s", names[i], res.Verdict, res.Reason, h.Header.Expect)
		}
	}
	t.Logf("%d of %d corpus files within the reference's limits", judged, len(hs))
}

// TestReferenceExplainsBroker checks that the reference judges Ok every
// history of a correct broker of its model (brokerHistory) under the
// broker's dialect: the reference is not stricter than its own model.
func TestReferenceExplainsBroker(t *testing.T) {
	const seed, n = 1, 3000
	judged, other := 0, 0
	for i := range n {
		rng := rand.New(rand.NewPCG(seed, uint64(i)))
		h, rules := brokerHistory(rng)
		res, err := refcheck.Check(h, rules)
		if errors.Is(err, refcheck.ErrUnsupported) {
			continue
		}
		if err != nil {
			t.Fatalf("history #%d: %v", i, err)
		}
		judged++
		if res.Verdict != refcheck.Ok {
			var b bytes.Buffer
			_ = history.EncodeJSONL(&b, h)
			t.Fatalf("history #%d (%s): %s: %s\n%s", i, rules, res.Verdict, res.Reason, b.String())
		}
		otherRules := spec.Kafka
		if rules == spec.Kafka {
			otherRules = spec.Redpanda
		}
		if res, err := refcheck.Check(h, otherRules); err == nil && res.Verdict == refcheck.Illegal {
			other++
		}
	}
	t.Logf("%d of %d broker histories judged Ok under their dialect; %d Illegal under the other", judged, n, other)
	if judged < n/2 {
		t.Errorf("only %d of %d judged", judged, n)
	}
}
