package pipeline

import (
	"bytes"
	"context"
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"reflect"
	"strings"
	"testing"

	"github.com/apache/beam/sdks/v2/go/pkg/beam"
	"github.com/apache/beam/sdks/v2/go/pkg/beam/runners/prism"

	"github.com/idemcheck/idemcheck/checker/report"
)

// runPipeline runs the pipeline on input with Prism and returns its
// report.
func runPipeline(t *testing.T, input, rules string) report.Check {
	t.Helper()
	var rep report.Check
	if err := json.Unmarshal(runBeam(t, Config{Input: input, Rules: rules}), &rep); err != nil {
		t.Fatal(err)
	}
	return rep
}

// runBeam runs the pipeline of cfg (its Output set to a temporary file)
// on Prism and returns the report it wrote.
func runBeam(t *testing.T, cfg Config) []byte {
	t.Helper()
	cfg.Output = filepath.Join(t.TempDir(), "report.json")
	p, s := beam.NewPipelineWithRoot()
	if err := Build(s, cfg); err != nil {
		t.Fatal(err)
	}
	if _, err := prism.Execute(context.Background(), p); err != nil {
		t.Fatalf("pipeline on %s: %v", cfg.Input, err)
	}
	b, err := os.ReadFile(cfg.Output)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// buildCLI builds the idemcheck command of the core module.
func buildCLI(t *testing.T) string {
	t.Helper()
	bin := filepath.Join(t.TempDir(), "idemcheck")
	cmd := exec.Command("go", "build", "-o", bin, "github.com/idemcheck/idemcheck/cmd/idemcheck")
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("go build idemcheck: %v\n%s", err, out)
	}
	return bin
}

// runCLI runs "idemcheck check --json" on files (and extra flags) and
// returns its report.
func runCLI(t *testing.T, bin string, args ...string) report.Check {
	t.Helper()
	cmd := exec.Command(bin, append([]string{"check", "--json", "--timeout", "0"}, args...)...)
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	err := cmd.Run()
	if _, ok := err.(*exec.ExitError); err != nil && !ok {
		t.Fatal(err)
	}
	var rep report.Check
	if err := json.Unmarshal(stdout.Bytes(), &rep); err != nil {
		t.Fatalf("idemcheck check %v: %v\n%s", args, err, stderr.String())
	}
	return rep
}

// comparable drops the fields of a report that legitimately differ
// between the command and the pipeline: "file" (the command names the
// file, the pipeline its glob) and "seconds"; of the witness it keeps the
// operations (their count and the lines that list them) and drops the
// event list: the pipeline does not ship internal events (BumpEpoch, the
// broker's steps), which the command's witness lists around the same
// operations.
func comparable(rep report.Check) report.Check {
	rep.Files = append([]report.File(nil), rep.Files...)
	for i := range rep.Files {
		f := &rep.Files[i]
		f.File, f.Seconds = "", 0
		if f.Witness != nil {
			w := *f.Witness
			w.Events = 0
			w.Text, _, _ = strings.Cut(w.Text, "events:")
			f.Witness = &w
		}
	}
	return rep
}

func sameReport(t *testing.T, name string, got, want report.Check) {
	t.Helper()
	g, w := comparable(got), comparable(want)
	if !reflect.DeepEqual(g, w) {
		gj, _ := json.MarshalIndent(g, "", "  ")
		wj, _ := json.MarshalIndent(w, "", "  ")
		t.Errorf("%s: the pipeline's report\n%s\nidemcheck check --json:\n%s", name, gj, wj)
	}
}

// corpusFiles returns the JSON Lines histories of the corpus.
func corpusFiles(t *testing.T) []string {
	t.Helper()
	files, err := filepath.Glob("../../traces/*.jsonl")
	if err != nil || len(files) < 10 {
		t.Fatalf("corpus: %d files, %v", len(files), err)
	}
	return files
}

// TestCorpus checks every JSON Lines history of the corpus with the
// pipeline and with the command: the same report.
func TestCorpus(t *testing.T) {
	bin := buildCLI(t)
	files := corpusFiles(t)
	verdicts := map[string]int{}
	for _, f := range files {
		want := runCLI(t, bin, f)
		got := runPipeline(t, f, "")
		sameReport(t, filepath.Base(f), got, want)
		if want.Verdict == "Illegal" && want.Files[0].Witness != nil {
			verdicts["witnesses compared"]++
		}
		verdicts[got.Verdict]++
	}
	t.Logf("%d files: %v", len(files), verdicts)
	if verdicts["Ok"] == 0 || verdicts["Illegal"] == 0 || verdicts["witnesses compared"] == 0 {
		t.Errorf("the corpus should hold Ok and Illegal histories: %v", verdicts)
	}
}

func TestMain(m *testing.M) {
	beam.Init()
	os.Exit(m.Run())
}
