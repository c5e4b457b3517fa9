package agreement

import (
	"os"
	"path/filepath"
	"regexp"
	"sort"
	"strconv"
	"strings"
	"testing"

	"github.com/idemcheck/idemcheck/history"
	"github.com/idemcheck/idemcheck/spec"
)

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
	cfgs, _ := filepath.Glob(filepath.Join(tlaDir, "*.cfg"))
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

// numberDefs returns the definitions "Name == <integer>" of a TLA+
// module.
func numberDefs(src string) map[string]int64 {
	out := map[string]int64{}
	for _, m := range regexp.MustCompile(`(?m)^([A-Z]\w*) == (-?\d+)\s*$`).FindAllStringSubmatch(src, -1) {
		n, _ := strconv.ParseInt(m[2], 10, 64)
		out[m[1]] = n
	}
	return out
}

// TestTLAConstants checks that the numbers Broker.tla names are spec's:
// the window size (and the Window every model config gives it, but
// for the configs named for a smaller window), and
// each Kafka error code, defined under the Go constant's name; and that
// no error code is written as a bare number where a call's outcome is
// stated.
func TestTLAConstants(t *testing.T) {
	src := readTLA(t, "Broker.tla")
	defs := numberDefs(src)
	if got, ok := defs["WindowSize"]; !ok || got != spec.WindowSize {
		t.Errorf("Broker.tla WindowSize = %d (defined: %v), spec.WindowSize = %d", got, ok, spec.WindowSize)
	}
	codes := map[string]spec.ErrorCode{
		"None": spec.None, "NotLeaderForPartition": spec.NotLeaderForPartition,
		"RequestTimedOut": spec.RequestTimedOut, "InvalidRequestCode": spec.InvalidRequestCode,
		"PolicyViolation": spec.PolicyViolation, "OutOfOrderSequenceNumber": spec.OutOfOrderSequenceNumber,
		"DuplicateSequenceNumber": spec.DuplicateSequenceNumber, "InvalidProducerEpoch": spec.InvalidProducerEpoch,
		"UnknownProducerID": spec.UnknownProducerID,
	}
	// The codes Outcome and TraceReturn use must be defined.
	for _, name := range []string{"NotLeaderForPartition", "RequestTimedOut", "InvalidRequestCode", "OutOfOrderSequenceNumber"} {
		if _, ok := defs[name]; !ok {
			t.Errorf("Broker.tla does not define %s", name)
		}
	}
	for name, n := range defs {
		if c, ok := codes[name]; ok && int64(c) != n {
			t.Errorf("Broker.tla %s == %d, spec.%s = %d (%s)", name, n, name, c, c)
		}
	}
	bare := regexp.MustCompile(`code \|-> [1-9]|error = [0-9]`)
	for _, f := range []string{"Broker.tla", "TraceBroker.tla"} {
		if m := bare.FindString(readTLA(t, f)); m != "" {
			t.Errorf("%s writes an error code as a number (%q): use the named constant", f, m)
		}
	}
	cfgs, _ := filepath.Glob(filepath.Join(tlaDir, "*.cfg"))
	if len(cfgs) == 0 {
		t.Fatalf("no .cfg files in %s", tlaDir)
	}
	window := regexp.MustCompile(`(?m)^\s+Window = (\d+)\s*$`)
	for _, c := range cfgs {
		b, _ := os.ReadFile(c)
		m := window.FindStringSubmatch(string(b))
		if m == nil {
			t.Errorf("%s does not assign Window", c)
			continue
		}
		// A config written to exercise the window's truncation (its name
		// says window) may give it a smaller size.
		if n, _ := strconv.Atoi(m[1]); n != spec.WindowSize && !(strings.Contains(filepath.Base(c), "window") && n < spec.WindowSize) {
			t.Errorf("%s: Window = %d, spec.WindowSize = %d", c, n, spec.WindowSize)
		}
	}
}

// TestTLAFlagNames checks that the invariant names Broker.tla's actions
// record in a call's flags, and that its invariants read with Broke, are
// spec's invariant names, and the decisions it writes are spec's.
func TestTLAFlagNames(t *testing.T) {
	src := readTLA(t, "Broker.tla")
	goNames := map[string]bool{}
	for _, iv := range spec.Invariants() {
		goNames[iv.Name] = true
	}
	flagged := map[string]bool{}
	for _, m := range regexp.MustCompile(`\{"([A-Z]\w*)"\}|Broke\("([A-Z]\w*)"\)`).FindAllStringSubmatch(src, -1) {
		flagged[m[1]+m[2]] = true
	}
	for n := range flagged {
		if !goNames[n] {
			t.Errorf("Broker.tla flags %q, which is not a spec invariant", n)
		}
	}
	// An invariant the Go twin states over the state is one in Broker.tla
	// too. Broker.tla states the append invariants over the log (and the
	// calls), where the Go twin flags them from the summaries a long
	// replay keeps: two formulations of one property, which TLC and the
	// Go checker agreeing on checks.
	twoFormulations := map[string]bool{spec.EpochStartsAtFirstCall: true, spec.ContiguousAppends: true, spec.NoDuplicateAppend: true}
	for _, iv := range spec.Invariants() {
		switch {
		case iv.OverState() && flagged[iv.Name]:
			t.Errorf("%s is a predicate over the state in Go, but Broker.tla flags it", iv.Name)
		case !iv.OverState() && !flagged[iv.Name] && !twoFormulations[iv.Name]:
			t.Errorf("%s is a flag in Go, but Broker.tla never flags it (a predicate there? then list it in twoFormulations)", iv.Name)
		}
	}
	decisions := map[string]bool{}
	for _, d := range []spec.Decision{spec.Append, spec.AppendUnknown, spec.Duplicate, spec.DuplicateInFlight, spec.OutOfOrder, spec.InvalidRequest} {
		decisions[string(d)] = true
	}
	seen := map[string]bool{}
	for _, name := range []string{"Appends", "WithOffset", "Decision(o)"} {
		for _, m := range regexp.MustCompile(`"([a-z_]+)"`).FindAllStringSubmatch(definition(t, src, name), -1) {
			seen[m[1]] = true
			if !decisions[m[1]] {
				t.Errorf("Broker.tla %s writes the decision %q, which is not a spec.Decision", name, m[1])
			}
		}
	}
	if len(seen) != len(decisions) {
		t.Errorf("Broker.tla writes the decisions %v, spec has %v", sorted(keys(seen)), sorted(keys(decisions)))
	}
}
