package pipeline

import (
	"bytes"
	"encoding/json"
	"github.com/idemcheck/idemcheck/checker/report"
	"os/exec"
	"path/filepath"
	"testing"
)

// TestValidateCorpus runs the validate mode on every JSON Lines history
// of the corpus and "idemcheck validate --json" on the same file: the
// same verdict and ticket order, and for an Illegal one the same first
// failing event (line, event, expectation, state, invariant). What
// legitimately differs: the event count of an Illegal input (the command
// stops reading at the failing event and counts those it read; the
// pipeline reads every partition to its end and counts the input's
// events), the wording of an Unusable input's error (the pipeline names
// the glob), and the failing event's source (the pipeline's addition).
func TestValidateCorpus(t *testing.T) {
	bin := buildCLI(t)
	files := corpusFiles(t)
	verdicts := map[string]int{}
	for _, f := range files {
		cmd := exec.Command(bin, "validate", "--json", f)
		var stdout bytes.Buffer
		cmd.Stdout = &stdout
		_ = cmd.Run() // the exit code is in the report's verdict
		var want report.Validation
		if err := json.Unmarshal(stdout.Bytes(), &want); err != nil {
			t.Fatalf("%s: idemcheck validate --json: %v\n%s", f, err, stdout.String())
		}
		got := runValidation(t, f)
		name := filepath.Base(f)
		if got.Verdict != want.Verdict || got.TicketOrder != want.TicketOrder || want.Verdict != "Illegal" && got.Events != want.Events {
			t.Errorf("%s: pipeline %s/%s/%d events (%s), command %s/%s/%d events (%s)", name, got.Verdict, got.TicketOrder, got.Events, got.Error,
				want.Verdict, want.TicketOrder, want.Events, want.Error)
		}
		if want.Violation != nil && got.Violation != nil {
			g := *got.Violation
			g.Source = ""
			if g != *want.Violation {
				t.Errorf("%s: pipeline's first failing event %+v, command's %+v", name, g, *want.Violation)
			}
		}
		verdicts[got.Verdict]++
	}
	t.Logf("%d files: %v", len(files), verdicts)
	if verdicts["Ok"] == 0 || verdicts["Illegal"] == 0 {
		t.Errorf("the corpus should hold Ok and Illegal validations: %v", verdicts)
	}
}

// runValidation runs the validate mode on input on Prism.
func runValidation(t *testing.T, input string) Validation {
	t.Helper()
	var rep Validation
	if err := json.Unmarshal(runBeam(t, Config{Input: input, Validate: true}), &rep); err != nil {
		t.Fatal(err)
	}
	return rep
}
