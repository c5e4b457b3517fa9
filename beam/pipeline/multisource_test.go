package pipeline

import (
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"testing"

	"github.com/idemcheck/idemcheck/history"
)

// gen writes "idemcheck gen" output with args to a file of dir.
func gen(t *testing.T, bin, dir string, args ...string) string {
	t.Helper()
	path := filepath.Join(dir, "whole.jsonl")
	cmd := exec.Command(bin, append([]string{"gen", "--out", path}, args...)...)
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("idemcheck gen %v: %v\n%s", args, err, out)
	}
	return path
}

// byPID sends a producer's events to source pid mod n.
func byPID(e history.Event, n int) int { return int(e.PID % int64(n)) }

// split writes the history at path as n source files in dir, as n
// proxies would record it: the operations of a Replicate or eviction e
// go to source by(e, n), each keeping its op id, its events' order and
// times. It returns the glob of the sources and the number of
// operations.
func split(t *testing.T, path, dir string, n int, by func(history.Event, int) int) (string, int) {
	t.Helper()
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	rd, err := history.NewReader(f, path)
	if err != nil {
		t.Fatal(err)
	}
	ws := make([]*history.JSONLWriter, n)
	for i := range ws {
		out, err := os.Create(filepath.Join(dir, fmt.Sprintf("source-%02d.jsonl", i)))
		if err != nil {
			t.Fatal(err)
		}
		defer out.Close()
		if ws[i], err = history.NewJSONLWriter(out, rd.Header()); err != nil {
			t.Fatal(err)
		}
	}
	opSource := map[int64]int{}
	ops := 0
	for {
		e, err := rd.Next()
		if err == io.EOF {
			break
		}
		if err != nil {
			t.Fatal(err)
		}
		var src int
		switch e.Kind {
		case history.Replicate:
			src = by(e, n)
			opSource[e.Op] = src
			ops++
		case history.EvictProducer:
			src = by(e, n)
		case history.BumpEpoch:
			src = byPID(e, n)
		case history.ChangeTerm:
			src = 0
		default:
			src = opSource[e.Op] // (internal events may follow the Return)
		}
		if err := ws[src].Record(e); err != nil {
			t.Fatal(err)
		}
	}
	for _, w := range ws {
		if err := w.Flush(); err != nil {
			t.Fatal(err)
		}
	}
	return filepath.Join(dir, "source-*.jsonl"), ops
}

// TestMultiSource checks generated histories of 100k operations, Ok and
// with an injected bug, split into ten sources: the pipeline's report on
// the sources equals the command's on the whole history (the same
// parts, verdicts, violations, their explanations and operations).
func TestMultiSource(t *testing.T) {
	if testing.Short() {
		t.Skip("100k operations")
	}
	bin := buildCLI(t)
	for _, c := range []struct {
		name, verdict string
		args          []string
	}{
		{"ok", "Ok", []string{"--producers", "100", "--partitions", "4", "--batches", "250", "--unknown-rate", "0.01", "--seed", "1"}},
		{"reorder-unknown", "Illegal", []string{"--producers", "100", "--partitions", "4", "--batches", "250", "--unknown-rate", "0.01", "--inject", "reorder-unknown", "--seed", "2"}},
	} {
		t.Run(c.name, func(t *testing.T) {
			dir := t.TempDir()
			whole := gen(t, bin, dir, c.args...)
			srcDir := filepath.Join(dir, "sources")
			if err := os.Mkdir(srcDir, 0o755); err != nil {
				t.Fatal(err)
			}
			glob, ops := split(t, whole, srcDir, 10, byPID)
			if ops < 100000 {
				t.Fatalf("%d operations, want at least 100000", ops)
			}
			want := runCLI(t, bin, whole)
			got := runPipeline(t, glob, "")
			sameReport(t, c.name, got, want)
			if c.verdict == "Illegal" && (got.Files[0].Witness == nil || got.Files[0].Witness.Ops == 0) {
				t.Errorf("an Illegal report without a witness: %+v", got.Files[0].Witness)
			}
			if got.Verdict != c.verdict {
				t.Errorf("verdict %s, want %s", got.Verdict, c.verdict)
			}
			t.Logf("%d operations in 10 sources: %s, %d parts, %d violations", ops, got.Verdict, len(got.Files[0].Parts), len(got.Files[0].Violations))
		})
	}
}
