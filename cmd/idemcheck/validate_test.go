package main

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestValidate(t *testing.T) {
	// validate replays internal events through the spec: fixed histories
	// pass; pre-fix ones are rejected at the ticket event (also when the
	// clients saw nothing wrong); a wrong decision is named with its
	// file:line, the event, what the spec expected and the state; a
	// history without internal events is reported as such (exit 2).
	tests := []struct {
		args    []string
		code    int
		want    []string // substrings of stdout
		wantErr string   // substring of stderr
	}{
		{[]string{"../../traces/seed-unknown-ok.jsonl"}, exitOK, []string{"every event is allowed by the spec (ticket order before-stage)"}, ""},
		{[]string{"../../traces/gen-traffic-ok.jsonl"}, exitOK, []string{"every event is allowed"}, ""},
		{[]string{"../../traces/seed-unknown-bad.jsonl"}, exitViolation, []string{
			"seed-unknown-bad.jsonl:7: this event breaks the spec invariant TicketOrderIsCallOrder (ticket order after-stage)",
			"event:    ReserveTicket op=2 t=5", "op 2 (pid 1 epoch 0 seq [1,1]) holds a ticket while an earlier call of its producer can still reserve one"}, ""},
		{[]string{"../../traces/prefix-retry-overtakes-ok.jsonl"}, exitViolation, []string{
			"prefix-retry-overtakes-ok.jsonl:7: this event breaks the spec invariant TicketOrderIsCallOrder", "event:    ReserveTicket op=2"}, ""},
		{[]string{"--ticket-order", "before-stage", "../../traces/seed-unknown-bad.jsonl"}, exitViolation, []string{
			"seed-unknown-bad.jsonl:3: the spec (ticket order before-stage) does not allow this event",
			"event:    StageWriteStart op=1 t=1", "expected: StageWriteStart for op 1 before its ReserveTicket"}, ""},
		{[]string{"../../traces/gen-gap-accept-bad.jsonl"}, exitViolation, []string{
			"gen-gap-accept-bad.jsonl:19: the spec (ticket order before-stage) does not allow this event",
			"event:    Decide op=2 append offset=1", "but the idempotency rules give out_of_order", "state:    producer[3]"}, ""},
		{[]string{"../../traces/upload-fail-unknown-ok.jsonl"}, exitViolation, []string{"upload-fail-unknown-ok.jsonl:16: this event breaks the spec invariant EpochStartsAtFirstCall"}, ""},
		{[]string{"../../traces/seq-wrap-ok.yaml"}, exitUsage, nil, "seq-wrap-ok.yaml: nothing to validate: the history has no internal events"},
		{[]string{"../../traces/eviction-after-lost-timeout-ok.jsonl"}, exitUsage, nil, "eviction-after-lost-timeout-ok.jsonl: nothing to validate: the history has no internal events"},
		{[]string{"--json", "../../traces/seed-unknown-bad.jsonl"}, exitViolation, []string{`"verdict": "Illegal"`, `"line": 7`, `"invariant": "TicketOrderIsCallOrder"`}, ""},
		{[]string{"--window", "-1", "../../traces/seed-unknown-ok.jsonl"}, exitUsage, nil, "--window -1 is negative"},
		{[]string{"../../traces/timeout-took-effect-ok.jsonl"}, exitOK, []string{"every event is allowed"}, ""},
		// With a window of one request its retry is no longer a duplicate.
		{[]string{"--window", "1", "../../traces/timeout-took-effect-ok.jsonl"}, exitViolation, []string{"timeout-took-effect-ok.jsonl:29: the spec (ticket order before-stage) does not allow this event"}, ""},
		{[]string{"--json", "../../traces/seed-unknown-ok.jsonl"}, exitOK, []string{`"verdict": "Ok"`, `"ticket_order": "before-stage"`}, ""},
		{[]string{"--coverage", "../../traces/seed-unknown-ok.jsonl"}, exitOK, []string{"every event is allowed", "Coverage of the spec's branches",
			"Decide/first                   1", "branches never taken: "}, ""},
		{[]string{"--coverage", "--json", "../../traces/seed-unknown-ok.jsonl"}, exitOK, []string{`"coverage": {`, `"name": "Decide/first",`, `"missed": [`}, ""},
	}
	for _, tc := range tests {
		t.Run(strings.Join(tc.args, " "), func(t *testing.T) {
			code, stdout, stderr := runCLI(t, nil, append([]string{"validate"}, tc.args...)...)
			if code != tc.code {
				t.Errorf("exit %d, want %d\nstdout:\n%s\nstderr:\n%s", code, tc.code, stdout, stderr)
			}
			for _, w := range tc.want {
				if !strings.Contains(stdout, w) {
					t.Errorf("stdout lacks %q:\n%s", w, stdout)
				}
			}
			if !strings.Contains(stderr, tc.wantErr) {
				t.Errorf("stderr lacks %q:\n%s", tc.wantErr, stderr)
			}
		})
	}
}

func TestValidateBadInput(t *testing.T) {
	// validate reads input like check: the same message for every
	// malformed-input class (docs/INPUT-ERRORS.md), prefixed
	// "idemcheck validate:", and exit 2.
	dir := t.TempDir()
	for _, tc := range badInputs() {
		if strings.Contains(tc.want, "checker:") || tc.class == "second return of an operation" {
			// A checker condition, not a reading one; and a history with
			// no internal events whose defect comes after its first
			// operation, which validate refuses first, as having nothing
			// to validate.
			continue
		}
		path := filepath.Join(dir, tc.file)
		if err := os.WriteFile(path, tc.input, 0o644); err != nil {
			t.Fatal(err)
		}
		code, _, stderr := runCLI(t, nil, "validate", path)
		got := strings.TrimRight(strings.ReplaceAll(stderr, dir+string(filepath.Separator), ""), "\n")
		want := strings.Replace(tc.want, "idemcheck check:", "idemcheck validate:", 1)
		if code != exitUsage || got != want {
			t.Errorf("%s: exit %d, stderr\n got %s\nwant %s", tc.class, code, got, want)
		}
	}
}

func TestValidateUsage(t *testing.T) {
	tests := []struct {
		args []string
		want string
	}{
		{[]string{"validate"}, "give exactly one FILE"},
		{[]string{"validate", "a", "b"}, "give exactly one FILE"},
		{[]string{"validate", "--ticket-order", "sideways", "x"}, `--ticket-order "sideways" is not before-stage or after-stage`},
		{[]string{"validate", "nope.jsonl"}, "idemcheck validate: nope.jsonl: no such file or directory"},
	}
	for _, tc := range tests {
		code, _, stderr := runCLI(t, nil, tc.args...)
		if code != exitUsage || !strings.Contains(stderr, tc.want) {
			t.Errorf("%v: exit %d, stderr %q; want %d and %q", tc.args, code, stderr, exitUsage, tc.want)
		}
	}
}
