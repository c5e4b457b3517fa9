package checkertest

import (
	"bytes"
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/idemcheck/idemcheck/checker"
	"github.com/idemcheck/idemcheck/history"
	"github.com/idemcheck/idemcheck/spec"
)

// DefaultTimeout is the budget of a check whose options give none. It is
// far above what a test's history needs (the corpus checks in
// milliseconds) and below go test's own 10-minute timeout, so a history
// that would take minutes fails with the part named, instead of a test
// killed without a word.
const DefaultTimeout = 2 * time.Minute

// Check checks h with the default options and the broker dialect its
// header's rules name (Redpanda's when the header names none) and fails t
// unless the verdict is Ok.
func Check(t testing.TB, h history.History) checker.Result {
	t.Helper()
	return CheckWith(t, h, checker.Options{})
}

// CheckFile reads the history at path and checks it like [Check].
func CheckFile(t testing.TB, path string) checker.Result {
	t.Helper()
	h, err := history.ReadFile(path)
	if err != nil {
		t.Fatalf("checkertest: %v", err)
		return checker.Result{}
	}
	return Check(t, h)
}

// CheckWith checks h with opts and fails t unless the verdict is Ok. When
// opts.Rules is empty the rules are those h's header names (Redpanda's
// when it names none); the witness and the picture use the same rules. On
// Illegal it reports every violation, a minimal witness and the path of
// the picture; on Unknown it says which limit each undecided part hit. A
// zero opts.Timeout is [DefaultTimeout]. It returns the result.
func CheckWith(t testing.TB, h history.History, opts checker.Options) checker.Result {
	t.Helper()
	if opts.Timeout == 0 {
		opts.Timeout = DefaultTimeout
	}
	if opts.Rules == "" {
		rules, ok := spec.ParseRules(h.Header.Rules)
		if !ok {
			err := fmt.Errorf("%w: header rules %q is not %s or %s", checker.ErrInvalidHistory, h.Header.Rules, spec.Redpanda, spec.Kafka)
			t.Errorf("checkertest: %v", err)
			return checker.Result{Verdict: checker.Unknown, Err: err}
		}
		opts.Rules = rules
	}
	res := checker.Check(h, opts)
	if res.Verdict == checker.Ok {
		return res
	}
	var b strings.Builder
	fmt.Fprintf(&b, "idemcheck: history is %s\n%s", res.Verdict, res.Summary())
	if res.Err != nil {
		fmt.Fprintf(&b, "input: %v\n", res.Err)
		t.Error(b.String())
		return res
	}
	fmt.Fprintf(&b, "rules: %s\n", opts.Rules)
	for _, p := range res.Parts {
		if p.Verdict == checker.Unknown {
			fmt.Fprintf(&b, "undecided: partition %q pid %d: %s\n", p.Partition, p.PID, p.Reason)
		}
	}
	for _, v := range res.Violations {
		fmt.Fprintf(&b, "\n%v\n", v)
	}
	if res.Verdict == checker.Illegal {
		fmt.Fprintf(&b, "\nminimal witness:\n%s", checker.FormatWitness(checker.Shrink(h, opts)))
	}
	if path, err := picture(t, h, res, opts); err != nil {
		fmt.Fprintf(&b, "\npicture: %v\n", err)
	} else if keptArtifacts() {
		fmt.Fprintf(&b, "\npicture: %s\n", path)
	} else {
		fmt.Fprintf(&b, "\npicture: %s (removed when the test ends: run go test -artifacts to keep it)\n", path)
	}
	t.Error(b.String())
	return res
}

// keptArtifacts reports whether go test runs with -artifacts, so that
// artifact directories outlive the test.
func keptArtifacts() bool {
	f := flag.Lookup("test.artifacts")
	return f != nil && f.Value.String() == "true"
}

// picture writes the HTML picture to t's artifact directory and returns
// its path.
func picture(t testing.TB, h history.History, res checker.Result, opts checker.Options) (string, error) {
	dir := t.ArtifactDir()
	var buf bytes.Buffer
	if err := checker.Visualize(&buf, h, res, checker.VisualizeOptions{NoCallOrder: opts.NoCallOrder, Rules: opts.Rules}); err != nil {
		return "", err
	}
	path := filepath.Join(dir, "history.html")
	if err := os.WriteFile(path, buf.Bytes(), 0o644); err != nil {
		return "", fmt.Errorf("checkertest: %w", err)
	}
	return path, nil
}
