package pipeline

import (
	"bytes"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	"github.com/idemcheck/idemcheck/history"
)

// byPartition sends partition pN's events to source N mod n.
func byPartition(e history.Event, n int) int {
	k, _ := strconv.Atoi(strings.TrimPrefix(e.Partition, "p"))
	return k % n
}

// corrupt replaces the line of file that holds the k-th Replicate with
// edit's result, and returns that line's number and the Replicate's
// partition.
func corrupt(t *testing.T, file string, k int, edit func([]byte) []byte) (int, string) {
	t.Helper()
	b, err := os.ReadFile(file)
	if err != nil {
		t.Fatal(err)
	}
	lines := bytes.Split(b, []byte("\n"))
	seen := 0
	for i, l := range lines {
		if !bytes.Contains(l, []byte(`"kind":"Replicate"`)) {
			continue
		}
		if seen++; seen < k {
			continue
		}
		e, err := history.DecodeEventLine(l)
		if err != nil {
			t.Fatal(err)
		}
		lines[i] = edit(l)
		if err := os.WriteFile(file, bytes.Join(lines, []byte("\n")), 0o644); err != nil {
			t.Fatal(err)
		}
		return i + 1, e.Partition
	}
	t.Fatalf("%s has fewer than %d Replicates", file, k)
	return 0, ""
}

// TestBadLine checks that a malformed line in one file of ten is
// reported with its file and line, that the partitions it may concern
// are undecided (never judged on what is left), and that every other
// partition is still decided.
func TestBadLine(t *testing.T) {
	bin := buildCLI(t)
	dir := t.TempDir()
	whole := gen(t, bin, dir, "--producers", "5", "--partitions", "10", "--batches", "20", "--unknown-rate", "0.05")
	for _, c := range []struct {
		name string
		// by sends the events to the sources.
		by func(history.Event, int) int
		// edit spoils the line; known says whether its partition can
		// still be read.
		edit  func([]byte) []byte
		known bool
	}{
		// The partition of a line cut short is unknown: every partition
		// of its file is undecided, here one partition per file.
		{"truncated", byPartition, func(l []byte) []byte { return l[:len(l)/2] }, false},
		// A bad value leaves the partition readable: only it is
		// undecided, though every file holds every partition.
		{"bad-field", byPID, func(l []byte) []byte { return bytes.Replace(l, []byte(`"epoch":0`), []byte(`"epoch":"zero"`), 1) }, true},
	} {
		t.Run(c.name, func(t *testing.T) {
			srcDir := filepath.Join(dir, c.name)
			if err := os.Mkdir(srcDir, 0o755); err != nil {
				t.Fatal(err)
			}
			glob, _ := split(t, whole, srcDir, 10, c.by)
			file := filepath.Join(srcDir, "source-03.jsonl")
			line, partition := corrupt(t, file, 7, c.edit)
			rep := runPipeline(t, glob, "")
			f := rep.Files[0]
			where := fmt.Sprintf("%s:%d: ", file, line)
			if len(f.BadLines) == 0 || !strings.HasPrefix(f.BadLines[0], where) {
				t.Fatalf("bad lines %q, want the first at %s", f.BadLines, where)
			}
			if rep.ExitCode != 2 || rep.Verdict != "Error" {
				t.Errorf("verdict %s, exit code %d; want Error, 2 (unusable input)", rep.Verdict, rep.ExitCode)
			}
			decided := map[string]bool{}
			for _, p := range f.Parts {
				undecided := p.Verdict == "Unknown"
				if undecided != (p.Partition == partition) {
					t.Errorf("partition %q pid %d: %s (%s); the bad line is on %q", p.Partition, p.PID, p.Verdict, p.Reason, partition)
				}
				if undecided && !strings.Contains(p.Reason, where) {
					t.Errorf("partition %q pid %d: reason %q does not name %s", p.Partition, p.PID, p.Reason, where)
				}
				if p.Verdict == "Ok" {
					decided[p.Partition] = true
				}
			}
			if len(decided) != 9 {
				t.Errorf("%d partitions decided Ok, want the 9 the bad line cannot affect", len(decided))
			}
			t.Logf("bad lines: %q", f.BadLines)
		})
	}
}
