package spec_test

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

func readTLA(t *testing.T, name string) string {
	t.Helper()
	b, err := os.ReadFile(filepath.Join("tla", name))
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

// TestInvariantNames checks that Broker.tla defines exactly the Go
// spec's invariants (each with a one-line comment above it), that the
// model configs name only those, and that together they check all of
// them.
func TestInvariantNames(t *testing.T) {
	src := readTLA(t, "Broker.tla")
	start := strings.Index(src, "(* Invariants.")
	if start < 0 {
		t.Fatal("Broker.tla has no Invariants section")
	}
	sec := src[start:]
	def := regexp.MustCompile(`(?m)^(\\\* .+)\n([A-Z]\w*) ==`)
	var tla []string
	for _, m := range def.FindAllStringSubmatch(sec, -1) {
		if m[2] != spec.EveryCallReturns {
			tla = append(tla, m[2])
		}
	}
	var goNames []string
	for _, iv := range spec.Invariants() {
		goNames = append(goNames, iv.Name)
		if strings.Count(iv.Doc, ". ") > 0 || !strings.HasSuffix(iv.Doc, ".") {
			t.Errorf("%s: doc %q is not one sentence", iv.Name, iv.Doc)
		}
	}
	if g, w := strings.Join(sorted(tla), " "), strings.Join(sorted(goNames), " "); g != w {
		t.Errorf("Broker.tla invariants %s, Go %s", g, w)
	}
	if !strings.Contains(src, "\n"+spec.EveryCallReturns+" ==") {
		t.Errorf("Broker.tla lacks %s", spec.EveryCallReturns)
	}
	cfgs, _ := filepath.Glob("tla/*.cfg")
	inCfg := map[string]bool{}
	word := regexp.MustCompile(`^\s+([A-Z]\w*)\s*$`)
	for _, c := range cfgs {
		b, _ := os.ReadFile(c)
		section := ""
		for _, l := range strings.Split(string(b), "\n") {
			switch strings.TrimSpace(l) {
			case "INVARIANTS", "INVARIANT", "PROPERTIES", "PROPERTY", "CONSTANTS":
				section = strings.TrimSpace(l)
				continue
			}
			if m := word.FindStringSubmatch(l); m != nil && strings.HasPrefix(section, "INVARIANT") {
				inCfg[m[1]] = true
			}
		}
	}
	if g, w := strings.Join(sorted(keys(inCfg)), " "), strings.Join(sorted(goNames), " "); g != w {
		t.Errorf("invariants named in the .cfg files: %s, want %s", g, w)
	}
}

func keys(m map[string]bool) []string {
	var out []string
	for k := range m {
		out = append(out, k)
	}
	return out
}
