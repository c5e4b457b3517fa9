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
	"slices"
	"sort"
	"strconv"
	"strings"
	"testing"
)

// moduleRoot is the directory of go.mod, seen from this package.
const moduleRoot = "../.."

// importRule is one of the rules of README.md's "Layout": the packages
// under from (a path relative to the module: "checker" is checker and
// checker/...) may import only packages under one of allow (when only is
// set: none at all when allow is empty), and depend on no package under
// one of forbid, neither by an import nor through other packages (the
// production imports of what they import, as go list -deps -test
// counts them: [dependsBreaches]). A rule with production set holds for
// production files only; the others hold for test files too. A package may always import
// itself (external tests do), and a test file internal/testflag.
type importRule struct {
	from       string
	only       bool
	allow      []string
	forbid     []string
	production bool
	reason     string
}

// testflagPkg is the package of the shared test flags: every test file
// may import it and no production file does.
const testflagPkg = "internal/testflag"

// importRules are the rules of the layout (README.md, "Layout"), checked
// on every .go file of the module, tests and files behind build
// constraints included, and on README.md's table of who may import
// whom. internal/agreement, where the tests that tie packages together
// live, and cmd/idemcheck, which wires the packages into the CLI, are
// under no rule but the table.
var importRules = []importRule{
	{from: "spec", only: true,
		reason: "spec is the pure leaf (standard library only): the model every other package is checked against depends on none of them"},
	{from: "checker", forbid: []string{"impl", "internal/kafkabroker", "internal/mc"},
		reason: "the checker judges histories from any broker: it is not tied to the reference implementation, the broker built on it or the model checker (they meet in internal/agreement)"},
	{from: "impl", forbid: []string{"checker"},
		reason: "the reference implementation is not written against its judge: the checker's verdicts on impl's histories are tests of internal/agreement"},
	{from: "internal/mc", only: true, allow: []string{"spec"}, production: true,
		reason: "the model checker explores the spec alone: its callers (cmd/idemcheck, internal/agreement) make histories and diagrams of its counterexamples"},
	{from: "internal/mc", forbid: []string{"checker", "impl"},
		reason: "the model checker's counterexamples meet the checkers and impl in the closed loop of internal/agreement, not in its own tests"},
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
	test           bool
}

// moduleImports returns every import of a module package by a .go file
// under root, and the packages (module-relative directories) that hold a
// .go file, skipping testdata, the directories the go command ignores
// (names starting with "." or "_") and nested modules (a directory with
// its own go.mod, such as beam/, is not part of this module).
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
			if _, err := os.Stat(filepath.Join(p, "go.mod")); p != root && err == nil {
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
				test: strings.HasSuffix(name, "_test.go"),
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
	imports = sortedImports(imports)
	var out []string
	for _, fi := range imports {
		if fi.imp == testflagPkg {
			if !fi.test {
				out = append(out, fmt.Sprintf("%s:%d imports %q: only test files import %s (the shared test flags)",
					fi.file, fi.line, fi.imp, testflagPkg))
			}
			continue
		}
		for _, r := range rules {
			if !under(fi.pkg, r.from) || under(fi.imp, r.from) || r.production && fi.test {
				continue
			}
			if r.only && !underAny(fi.imp, r.allow) {
				what := "no package of the module"
				if len(r.allow) > 0 {
					what = "only " + strings.Join(r.allow, ", ")
				}
				out = append(out, fmt.Sprintf("%s:%d imports %q: %s may import %s%s: %s",
					fi.file, fi.line, fi.imp, r.from, what, scope(r), r.reason))
			}
			for _, f := range r.forbid {
				if under(fi.imp, f) {
					out = append(out, fmt.Sprintf("%s:%d imports %q: %s must not import %s%s: %s",
						fi.file, fi.line, fi.imp, r.from, f, scope(r), r.reason))
				}
			}
		}
	}
	return out
}

// dependsBreaches returns one line per package that depends on a
// package a rule forbids through another package: the rules' forbid
// lists hold for the package's dependencies, not only its imports, the
// way go list -deps -test sees them (a package's own imports, its test
// files' too unless the rule is for production files, and from there
// the production imports of each package reached). Direct imports are
// [breaches]' to report; each line here gives the chain, file and line
// of every link, and the rule's reason. Packages under the rule's from
// are not walked through: each is checked for itself.
func dependsBreaches(imports []fileImport, rules []importRule) []string {
	imports = sortedImports(imports)
	prod := map[string][]fileImport{} // production imports by package
	var pkgs []string
	seenPkg := map[string]bool{}
	for _, fi := range imports {
		if !fi.test && fi.imp != fi.pkg {
			prod[fi.pkg] = append(prod[fi.pkg], fi)
		}
		if !seenPkg[fi.pkg] {
			seenPkg[fi.pkg] = true
			pkgs = append(pkgs, fi.pkg)
		}
	}
	sort.Strings(pkgs)
	var out []string
	for _, r := range rules {
		if len(r.forbid) == 0 {
			continue
		}
		for _, p := range pkgs {
			if !under(p, r.from) {
				continue
			}
			// Breadth first from p's imports, so the chain reported is
			// a shortest one; via[q] is the import that first reached q.
			via := map[string]fileImport{}
			var queue []string
			for _, fi := range imports {
				if fi.pkg != p || fi.imp == p || fi.imp == testflagPkg || r.production && fi.test || under(fi.imp, r.from) {
					continue
				}
				if _, ok := via[fi.imp]; !ok {
					via[fi.imp] = fi
					queue = append(queue, fi.imp)
				}
			}
			reported := map[string]bool{}
			for len(queue) > 0 {
				q := queue[0]
				queue = queue[1:]
				if underAny(q, r.forbid) {
					continue // reported where it was reached, or a direct import
				}
				for _, fi := range prod[q] {
					if _, ok := via[fi.imp]; ok || under(fi.imp, r.from) {
						continue
					}
					via[fi.imp] = fi
					queue = append(queue, fi.imp)
					for _, f := range r.forbid {
						if !under(fi.imp, f) || reported[f] {
							continue
						}
						reported[f] = true
						var chain []string
						for x := fi.imp; x != p; x = via[x].pkg {
							l := via[x]
							chain = append(chain, fmt.Sprintf("%s (%s:%d)", l.imp, l.file, l.line))
						}
						slices.Reverse(chain)
						out = append(out, fmt.Sprintf("%s depends on %q through %s: %s must not depend on %s%s: %s",
							p, fi.imp, strings.Join(chain, " -> "), r.from, f, scope(r), r.reason))
					}
				}
			}
		}
	}
	return out
}

// scope says which files a rule holds for.
func scope(r importRule) string {
	if r.production {
		return " (production files)"
	}
	return " (tests included)"
}

// underAny reports whether p is under one of dirs.
func underAny(p string, dirs []string) bool {
	for _, d := range dirs {
		if under(p, d) {
			return true
		}
	}
	return false
}

// sortedImports returns a copy of imports sorted by file and line.
func sortedImports(imports []fileImport) []fileImport {
	imports = append([]fileImport(nil), imports...)
	sort.SliceStable(imports, func(i, j int) bool {
		if imports[i].file != imports[j].file {
			return imports[i].file < imports[j].file
		}
		return imports[i].line < imports[j].line
	})
	return imports
}

// tableHeading is the heading of README.md's table of who may import
// whom.
const tableHeading = "### Who may import whom"

// layoutRow is one row of the table: what a package's production files
// import, and what its test files import besides (itself, those and
// internal/testflag aside).
type layoutRow struct {
	line        int
	imports     map[string]bool
	testImports map[string]bool
}

// readLayout parses the table under tableHeading in the README at path:
// rows of "| `pkg` | `a`, `b` | `c` |".
func readLayout(path string) (map[string]layoutRow, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	lines := strings.Split(string(b), "\n")
	start := -1
	for i, l := range lines {
		if strings.TrimSpace(l) == tableHeading {
			start = i
			break
		}
	}
	if start < 0 {
		return nil, fmt.Errorf("%s has no %q section", path, tableHeading)
	}
	rows := map[string]layoutRow{}
	inTable := false
	for i := start + 1; i < len(lines); i++ {
		l := strings.TrimSpace(lines[i])
		if !strings.HasPrefix(l, "|") {
			if inTable || strings.HasPrefix(l, "#") {
				break
			}
			continue
		}
		inTable = true
		cells := strings.Split(strings.Trim(l, "|"), "|")
		if len(cells) != 3 {
			return nil, fmt.Errorf("%s:%d: want 3 cells (package, imports, its tests also import), got %d", path, i+1, len(cells))
		}
		if strings.HasPrefix(strings.TrimSpace(cells[0]), "---") || strings.TrimSpace(cells[0]) == "package" {
			continue // the heading and its rule
		}
		pkgs, err := tableCell(cells[0])
		if err != nil || len(pkgs) != 1 {
			return nil, fmt.Errorf("%s:%d: the first cell must name one package in backquotes", path, i+1)
		}
		row := layoutRow{line: i + 1, imports: map[string]bool{}, testImports: map[string]bool{}}
		for c, set := range []map[string]bool{row.imports, row.testImports} {
			ps, err := tableCell(cells[c+1])
			if err != nil {
				return nil, fmt.Errorf("%s:%d: %v", path, i+1, err)
			}
			for _, p := range ps {
				set[p] = true
			}
		}
		if _, dup := rows[pkgs[0]]; dup {
			return nil, fmt.Errorf("%s:%d: a second row for %s", path, i+1, pkgs[0])
		}
		rows[pkgs[0]] = row
	}
	if len(rows) == 0 {
		return nil, fmt.Errorf("%s: no table under %q", path, tableHeading)
	}
	return rows, nil
}

// tableCell returns the packages of a cell: backquoted paths separated
// by commas, or none.
func tableCell(cell string) ([]string, error) {
	var out []string
	for _, f := range strings.Split(cell, ",") {
		f = strings.TrimSpace(f)
		if f == "" {
			continue
		}
		p, opened := strings.CutPrefix(f, "`")
		p, closed := strings.CutSuffix(p, "`")
		if !opened || !closed || p == "" || strings.Contains(p, "`") {
			return nil, fmt.Errorf("%q is not a backquoted package path", f)
		}
		out = append(out, p)
	}
	return out, nil
}

// layoutDrift returns one line per difference between the table and the
// imports: a package without a row, a row for no package, an import
// its row does not list, a listed import no file makes, and a row that
// breaks one of rules.
func layoutDrift(rows map[string]layoutRow, imports []fileImport, pkgs map[string]bool, rules []importRule) []string {
	var out []string
	for _, p := range sortedKeys(pkgs) {
		if _, ok := rows[p]; !ok {
			out = append(out, fmt.Sprintf("README.md: package %s has no row in %q", p, tableHeading))
		}
	}
	used := map[[2]string]bool{}     // {pkg, imp} by a production file
	usedTest := map[[2]string]bool{} // {pkg, imp} by a test file
	for _, fi := range sortedImports(imports) {
		if fi.imp == fi.pkg || fi.imp == testflagPkg && fi.test {
			continue
		}
		if fi.test {
			usedTest[[2]string{fi.pkg, fi.imp}] = true
		} else {
			used[[2]string{fi.pkg, fi.imp}] = true
		}
		row, ok := rows[fi.pkg]
		if !ok || row.imports[fi.imp] || fi.test && row.testImports[fi.imp] {
			continue
		}
		col := "imports"
		if fi.test {
			col = "its tests also import"
		}
		out = append(out, fmt.Sprintf("%s:%d imports %q, which the row of %s in README.md (line %d) does not list: add it to the column %q, or drop the import",
			fi.file, fi.line, fi.imp, fi.pkg, row.line, col))
	}
	var fromTable []fileImport
	for _, p := range sortedKeys(rows) {
		row := rows[p]
		if !pkgs[p] {
			out = append(out, fmt.Sprintf("README.md:%d: a row for %s, which is not a package of the module", row.line, p))
		}
		for _, imp := range sortedKeys(row.imports) {
			if !used[[2]string{p, imp}] {
				out = append(out, fmt.Sprintf("README.md:%d: %s lists %s among its imports, but no production file of %s imports it", row.line, p, imp, p))
			}
			fromTable = append(fromTable, fileImport{file: "README.md", line: row.line, pkg: p, imp: imp})
		}
		for _, imp := range sortedKeys(row.testImports) {
			switch {
			case row.imports[imp]:
				out = append(out, fmt.Sprintf("README.md:%d: %s lists %s in both columns", row.line, p, imp))
			case used[[2]string{p, imp}]:
				out = append(out, fmt.Sprintf("README.md:%d: %s's tests are said to import %s besides, but its production files import it: move it to the column \"imports\"", row.line, p, imp))
			case !usedTest[[2]string{p, imp}]:
				out = append(out, fmt.Sprintf("README.md:%d: %s's tests are said to import %s, but no test file of %s imports it", row.line, p, imp, p))
			}
			fromTable = append(fromTable, fileImport{file: "README.md", line: row.line, pkg: p, imp: imp, test: true})
		}
	}
	for _, b := range breaches(fromTable, rules) {
		out = append(out, "the table breaks a rule: "+b)
	}
	for _, b := range dependsBreaches(fromTable, rules) {
		out = append(out, "the table breaks a rule: "+b)
	}
	return out
}

// sortedKeys returns the keys of m in order.
func sortedKeys[V any](m map[string]V) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	return keys
}

// TestImportRules checks importRules and README.md's table of who may
// import whom on every .go file of the module, production and test files
// alike, and prints each offending file and import with the reason of
// the rule it breaks or the row it is missing from.
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
	for _, b := range dependsBreaches(imports, importRules) {
		t.Error(b)
	}
	rows, err := readLayout(filepath.Join(moduleRoot, "README.md"))
	if err != nil {
		t.Fatal(err)
	}
	for _, d := range layoutDrift(rows, imports, pkgs, importRules) {
		t.Error(d)
	}
}

// TestImportRulesCatchBreach shows that the checks can fail: an import of
// checker by an impl test file, the kind of edge the rules are there to
// stop, a production import of history by internal/mc and of
// internal/testflag by spec are reported with their file and line, so
// are a dependency of checker's tests on impl and of impl on checker
// through other packages, with the chain, and
// so are an import the table does not list, a listed import no file
// makes and a row that allows a forbidden edge.
func TestImportRulesCatchBreach(t *testing.T) {
	imports := []fileImport{
		{file: "impl/x_test.go", pkg: "impl", imp: "checker", line: 7, test: true},
		{file: "impl/y_test.go", pkg: "impl", imp: "history", line: 3, test: true},
		{file: "spec/z_test.go", pkg: "spec", imp: "spec", line: 5, test: true},
		{file: "spec/w_test.go", pkg: "spec", imp: testflagPkg, line: 6, test: true},
		{file: "internal/mc/report.go", pkg: "internal/mc", imp: "history", line: 9},
		{file: "spec/v.go", pkg: "spec", imp: testflagPkg, line: 4},
	}
	got := breaches(imports, importRules)
	want := []string{`impl/x_test.go:7 imports "checker"`, `internal/mc/report.go:9 imports "history"`, `spec/v.go:4 imports "internal/testflag"`}
	if len(got) != len(want) {
		t.Fatalf("breaches = %q, want %d, of %q", got, len(want), want)
	}
	for i := range want {
		if !strings.HasPrefix(got[i], want[i]) {
			t.Errorf("breach %d = %q, want it to start with %q", i, got[i], want[i])
		}
	}

	// Through other packages: a checker test imports internal/gen, which
	// imports impl; impl imports internal/x, which imports checker. A
	// test-only import of impl by internal/gen is no dependency of
	// checker's (go list -deps -test does not follow it either).
	deps := []fileImport{
		{file: "checker/a_test.go", pkg: "checker", imp: "internal/gen", line: 4, test: true},
		{file: "internal/gen/drive.go", pkg: "internal/gen", imp: "impl", line: 8},
		{file: "impl/b.go", pkg: "impl", imp: "internal/x", line: 5},
		{file: "internal/x/c.go", pkg: "internal/x", imp: "checker", line: 6},
		{file: "checker/validate/d_test.go", pkg: "checker/validate", imp: "internal/y", line: 3, test: true},
		{file: "internal/y/e_test.go", pkg: "internal/y", imp: "impl", line: 2, test: true},
	}
	got = dependsBreaches(deps, importRules)
	want = []string{
		`checker depends on "impl" through internal/gen (checker/a_test.go:4) -> impl (internal/gen/drive.go:8): checker must not depend on impl (tests included)`,
		`impl depends on "checker" through internal/x (impl/b.go:5) -> checker (internal/x/c.go:6): impl must not depend on checker (tests included)`,
	}
	if len(got) != len(want) {
		t.Fatalf("dependsBreaches = %q, want %d, of %q", got, len(want), want)
	}
	for i := range want {
		if !strings.HasPrefix(got[i], want[i]) {
			t.Errorf("dependsBreaches %d = %q, want it to start with %q", i, got[i], want[i])
		}
	}

	rows := map[string]layoutRow{
		"impl":        {line: 1, imports: map[string]bool{"spec": true}, testImports: map[string]bool{"checker": true}},
		"spec":        {line: 2, imports: map[string]bool{}, testImports: map[string]bool{}},
		"internal/mc": {line: 3, imports: map[string]bool{"spec": true}, testImports: map[string]bool{}},
	}
	pkgs := map[string]bool{"impl": true, "spec": true, "internal/mc": true}
	drift := strings.Join(layoutDrift(rows, imports[:4], pkgs, importRules), "\n")
	for _, want := range []string{
		`impl/y_test.go:3 imports "history", which the row of impl in README.md (line 1) does not list`,
		"README.md:1: impl lists spec among its imports, but no production file of impl imports it",
		`the table breaks a rule: README.md:1 imports "checker": impl must not import checker`,
	} {
		if !strings.Contains(drift, want) {
			t.Errorf("layoutDrift lacks %q:\n%s", want, drift)
		}
	}
}
