package checkertest

import (
	"bytes"
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/idemcheck/idemcheck/checker"
	"github.com/idemcheck/idemcheck/history"
)

// htmlDir is the -idemcheck.htmldir flag: where pictures of failing
// histories are kept.
var htmlDir = flag.String("idemcheck.htmldir", "", "directory to keep HTML pictures of failing histories in (default: the test's temp dir)")

// Check checks h with the default options and fails t unless the verdict
// is Ok.
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

// CheckWith checks h with opts and fails t unless the verdict is Ok. On
// Illegal it reports every violation, a minimal witness and the path of
// the picture; on Unknown it says why. It returns the result.
func CheckWith(t testing.TB, h history.History, opts checker.Options) checker.Result {
	t.Helper()
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
	for _, v := range res.Violations {
		fmt.Fprintf(&b, "\n%v\n", v)
	}
	if res.Verdict == checker.Illegal {
		fmt.Fprintf(&b, "\nminimal witness:\n%s", checker.FormatWitness(checker.Shrink(h, opts)))
	}
	if path, err := picture(t, h, res, opts); err != nil {
		fmt.Fprintf(&b, "\npicture: %v\n", err)
	} else {
		fmt.Fprintf(&b, "\npicture: %s\n", path)
	}
	t.Error(b.String())
	return res
}

// picture writes the HTML picture and returns its path.
func picture(t testing.TB, h history.History, res checker.Result, opts checker.Options) (string, error) {
	dir := *htmlDir
	if dir == "" {
		dir = t.TempDir()
	} else if err := os.MkdirAll(dir, 0o755); err != nil {
		return "", fmt.Errorf("checkertest: %w", err)
	}
	var buf bytes.Buffer
	if err := checker.Visualize(&buf, h, res, checker.VisualizeOptions{NoCallOrder: opts.NoCallOrder}); err != nil {
		return "", err
	}
	name := strings.NewReplacer("/", "_", " ", "_", ":", "_").Replace(t.Name()) + ".html"
	path := filepath.Join(dir, name)
	if err := os.WriteFile(path, buf.Bytes(), 0o644); err != nil {
		return "", fmt.Errorf("checkertest: %w", err)
	}
	return path, nil
}
