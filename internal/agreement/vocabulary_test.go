package agreement

import (
	"os"
	"path/filepath"
	"regexp"
	"sort"
	"strings"
	"testing"

	"github.com/idemcheck/idemcheck/history"
	"github.com/idemcheck/idemcheck/spec"
)

// readTLA, definition and sorted are copies of the helpers of spec's
// tests of the TLA+ model against the Go spec.

// readTLA returns the file spec/tla/name.
func readTLA(t *testing.T, name string) string {
	t.Helper()
	b, err := os.ReadFile(filepath.Join(tlaDir, name))
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

// definition returns the body of the TLA+ definition "name ==": the
// lines up to the next line that starts in column 0.
func definition(t *testing.T, src, name string) string {
	t.Helper()
	i := strings.Index(src, "\n"+name+" ==")
	if i < 0 {
		t.Fatalf("no definition %s", name)
	}
	lines := strings.Split(src[i+1:], "\n")
	body := []string{lines[0]}
	for _, l := range lines[1:] {
		if l != "" && l[0] != ' ' {
			break
		}
		body = append(body, l)
	}
	return strings.Join(body, "\n")
}

var disjunct = regexp.MustCompile(`(?m)^\s*\\/\s*(?:\\E\s+\w+\s+\\in\s+\w+\s*:\s*)?([A-Z]\w*)`)

func sorted[T ~string](xs []T) []string {
	out := make([]string, len(xs))
	for i, x := range xs {
		out[i] = string(x)
	}
	sort.Strings(out)
	return out
}

// TestVocabulary checks that the action names of Broker.tla (the
// disjuncts of Next), of TraceBroker.tla (the disjuncts of TraceNext,
// less their "Trace" prefix), of the Go spec and the history event
// kinds are one set.
func TestVocabulary(t *testing.T) {
	var tla []string
	for _, m := range disjunct.FindAllStringSubmatch(definition(t, readTLA(t, "Broker.tla"), "Next"), -1) {
		tla = append(tla, m[1])
	}
	var trace []string
	for _, m := range disjunct.FindAllStringSubmatch(definition(t, readTLA(t, "TraceBroker.tla"), "TraceNext"), -1) {
		trace = append(trace, strings.TrimPrefix(m[1], "Trace"))
	}
	want := strings.Join(sorted(history.Kinds()), " ")
	for _, got := range []struct {
		what  string
		names []string
	}{
		{"Broker.tla Next", sorted(tla)},
		{"TraceBroker.tla TraceNext", sorted(trace)},
		{"spec.Names()", sorted(spec.Names())},
	} {
		if g := strings.Join(got.names, " "); g != want {
			t.Errorf("%s: %s\nhistory.Kinds(): %s", got.what, g, want)
		}
	}
}
