package agreement

import (
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
)

// TestDocReferences checks that the project's documentation stands on
// its own: every relative Markdown link and every backquoted path into
// the repository (a path under one of its top-level folders) in the
// Markdown files and the Go comments names a file or folder that exists,
// and no file points at notes outside the repository.
func TestDocReferences(t *testing.T) {
	root := filepath.Join("..", "..")
	tops := map[string]bool{}
	entries, err := os.ReadDir(root)
	if err != nil {
		t.Fatal(err)
	}
	for _, e := range entries {
		if e.IsDir() && !strings.HasPrefix(e.Name(), ".") {
			tops[e.Name()] = true
		}
	}
	link := regexp.MustCompile(`\]\(([^)#\s]+)(#[^)]*)?\)`)
	quoted := regexp.MustCompile("`(\\.?/?[A-Za-z0-9_.-]+(?:/[A-Za-z0-9_.*-]+)+/?)`")
	outside := regexp.MustCompile(`\.\./shared|\b(DOMAIN|HISTORY|STYLE)\.md\b`)
	checked := 0
	err = filepath.WalkDir(root, func(path string, d os.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if d.IsDir() {
			if name := d.Name(); path != root && (strings.HasPrefix(name, ".") || name == "testdata") {
				return filepath.SkipDir
			}
			return nil
		}
		ext := filepath.Ext(path)
		if ext != ".md" && ext != ".go" && ext != ".tla" && ext != ".cfg" {
			return nil
		}
		if filepath.Base(path) == "docrefs_test.go" {
			return nil
		}
		b, err := os.ReadFile(path)
		if err != nil {
			return err
		}
		rel, _ := filepath.Rel(root, path)
		for i, line := range strings.Split(string(b), "\n") {
			if m := outside.FindString(line); m != "" {
				t.Errorf("%s:%d: points outside the repository (%s): say what the reader needs here instead", rel, i+1, m)
			}
			var refs []string
			if ext == ".md" {
				for _, m := range link.FindAllStringSubmatch(line, -1) {
					if !strings.Contains(m[1], "://") && !strings.HasPrefix(m[1], "mailto:") {
						refs = append(refs, m[1])
					}
				}
			}
			for _, m := range quoted.FindAllStringSubmatch(line, -1) {
				first := strings.SplitN(strings.TrimPrefix(strings.TrimPrefix(m[1], "./"), "/"), "/", 2)[0]
				// Globs and Go package patterns (./beam/...) name no one file.
				if tops[first] && !strings.ContainsAny(m[1], "*") && !strings.HasSuffix(m[1], "/...") {
					refs = append(refs, strings.TrimPrefix(m[1], "./"))
				}
			}
			for _, ref := range refs {
				checked++
				if !exists(root, filepath.Dir(path), ref) {
					t.Errorf("%s:%d: %q names no file or folder of the repository", rel, i+1, ref)
				}
			}
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	if checked < 20 {
		t.Fatalf("only %d references checked: the patterns found too little to mean anything", checked)
	}
	t.Logf("%d references checked", checked)
}

// exists reports whether ref names a path relative to the file's folder
// or to the repository's root.
func exists(root, dir, ref string) bool {
	for _, base := range []string{dir, root} {
		if _, err := os.Stat(filepath.Join(base, ref)); err == nil {
			return true
		}
	}
	return false
}
