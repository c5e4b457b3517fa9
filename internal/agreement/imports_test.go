package agreement

import (
	"bufio"
	"fmt"
	"go/parser"
	"go/token"
	"io/fs"
	"os"
	"path"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"testing"
)

// moduleRoot is the directory of go.mod, seen from this package.
const moduleRoot = "../.."

// importRule forbids the packages under from (a path relative to the
// module: "checker" is checker and checker/...) to import any package
// under one of forbid ("" is every package of the module).
type importRule struct {
	from   string
	forbid []string
	reason string
}

// importRules is the layout of the module (README.md, "Layout"), checked
// on every .go file of the module, tests and files behind build
// constraints included. internal/agreement, where the tests that tie
// packages together live, and cmd/idemcheck, which wires the packages
// into the CLI, are under no rule. Not rules: checker's tests may draw
// inputs from internal/gen (a seeded history generator built on spec and
// history only, like a testdata file at scale), and internal/kafkabroker
// (a Kafka-protocol shell around impl) imports impl.
var importRules = []importRule{
	{"spec", []string{""},
		"spec is the pure leaf (standard library only): the model every other package is checked against depends on none of them"},
	{"checker", []string{"impl", "internal/kafkabroker", "internal/mc"},
		"the checker judges histories from any broker: it is not tied to the reference implementation, the broker built on it or the model checker (they meet in internal/agreement)"},
	{"impl", []string{"checker"},
		"the reference implementation is not written against its judge: the checker's verdicts on impl's histories are tests of internal/agreement"},
	{"internal/mc", []string{"checker", "impl"},
		"the model checker explores the spec alone: its counterexamples meet the checkers and impl in the closed loop of internal/agreement"},
}

// under reports whether the module-relative path p is dir or below it
// ("" is every path).
func under(p, dir string) bool {
	return dir == "" || p == dir || strings.HasPrefix(p, dir+"/")
}

// modulePath reads the module path from go.mod in root.
func modulePath(t *testing.T, root string) string {
	t.Helper()
	f, err := os.Open(filepath.Join(root, "go.mod"))
	if err != nil {
		t.Fatalf("the module's go.mod: %v", err)
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		if m, ok := strings.CutPrefix(strings.TrimSpace(sc.Text()), "module "); ok {
			return strings.Trim(strings.TrimSpace(m), `"`)
		}
	}
	t.Fatalf("%s has no module line", filepath.Join(root, "go.mod"))
	return ""
}

// fileImport is one import of one file: the file relative to the
// module root, its package relative to the module and the imported
// package relative to the module ("" when outside the module).
type fileImport struct {
	file, pkg, imp string
	line           int
}

// moduleImports returns every import of a module package by a .go file
// under root, and the packages (module-relative directories) that hold a
// .go file, skipping testdata and the directories the go command ignores
// (names starting with "." or "_").
func moduleImports(t *testing.T, root string) ([]fileImport, map[string]bool) {
	t.Helper()
	mod := modulePath(t, root)
	var out []fileImport
	pkgs := map[string]bool{}
	fset := token.NewFileSet()
	err := filepath.WalkDir(root, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		name := d.Name()
		if d.IsDir() {
			if p != root && (name == "testdata" || name == "vendor" || strings.HasPrefix(name, ".") || strings.HasPrefix(name, "_")) {
				return filepath.SkipDir
			}
			return nil
		}
		if !strings.HasSuffix(name, ".go") {
			return nil
		}
		rel, err := filepath.Rel(root, p)
		if err != nil {
			return err
		}
		rel = filepath.ToSlash(rel)
		pkgs[path.Dir(rel)] = true
		f, err := parser.ParseFile(fset, p, nil, parser.ImportsOnly)
		if err != nil {
			return err
		}
		for _, is := range f.Imports {
			ip, err := strconv.Unquote(is.Path.Value)
			if err != nil {
				return fmt.Errorf("%s: %v", rel, err)
			}
			if ip != mod && !strings.HasPrefix(ip, mod+"/") {
				continue
			}
			out = append(out, fileImport{
				file: rel,
				pkg:  path.Dir(rel),
				imp:  strings.TrimPrefix(strings.TrimPrefix(ip, mod), "/"),
				line: fset.Position(is.Pos()).Line,
			})
		}
		return nil
	})
	if err != nil {
		t.Fatalf("reading the module's files: %v", err)
	}
	return out, pkgs
}

// breaches returns one line per import that breaks a rule of rules:
// the file and line, the import and the rule's reason.
func breaches(imports []fileImport, rules []importRule) []string {
	imports = append([]fileImport(nil), imports...)
	sort.SliceStable(imports, func(i, j int) bool {
		if imports[i].file != imports[j].file {
			return imports[i].file < imports[j].file
		}
		return imports[i].line < imports[j].line
	})
	var out []string
	for _, fi := range imports {
		for _, r := range rules {
			if !under(fi.pkg, r.from) {
				continue
			}
			for _, f := range r.forbid {
				// A package may import itself (external tests do).
				if under(fi.imp, f) && !under(fi.imp, r.from) {
					what := f
					if what == "" {
						what = "any package of the module"
					}
					out = append(out, fmt.Sprintf("%s:%d imports %q: %s must not import %s: %s",
						fi.file, fi.line, fi.imp, r.from, what, r.reason))
				}
			}
		}
	}
	return out
}

// TestImportRules checks importRules on every .go file of the module,
// production and test files alike, and prints each offending file and
// import with the reason of the rule it breaks.
func TestImportRules(t *testing.T) {
	imports, pkgs := moduleImports(t, moduleRoot)
	if len(imports) == 0 {
		t.Fatal("no imports of module packages found: the walk does not see the module")
	}
	// Each rule's package exists, so a renamed package cannot leave its
	// rule checking nothing.
	for _, r := range importRules {
		if !pkgs[r.from] {
			t.Errorf("rule for %s: no file of the module is in that package", r.from)
		}
	}
	for _, b := range breaches(imports, importRules) {
		t.Error(b)
	}
}

// TestImportRulesCatchBreach shows that the check can fail: an import of
// checker by an impl test file, the kind of edge the rules are there to
// stop, is reported with its file and line.
func TestImportRulesCatchBreach(t *testing.T) {
	got := breaches([]fileImport{
		{file: "impl/x_test.go", pkg: "impl", imp: "checker", line: 7},
		{file: "impl/y_test.go", pkg: "impl", imp: "history", line: 3},
		{file: "spec/z_test.go", pkg: "spec", imp: "spec", line: 5},
	}, importRules)
	if len(got) != 1 || !strings.HasPrefix(got[0], `impl/x_test.go:7 imports "checker"`) {
		t.Errorf("breaches = %q, want one, of impl/x_test.go:7", got)
	}
}
