package mc

import (
	"bytes"
	"context"
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/idemcheck/idemcheck/spec"
)

var (
	big         = flag.Bool("mc.big", false, "also check the big bounds (MCBroker_fixed_2x3.cfg, a few seconds)")
	workersFlag = flag.Int("mc.workers", 0, "workers of TestVerdicts (0: GOMAXPROCS)")
)

const tlaDir = "../../spec/tla"

func load(t *testing.T, name string) Config {
	t.Helper()
	cfg, err := LoadConfig(filepath.Join(tlaDir, name))
	if err != nil {
		t.Fatal(err)
	}
	return cfg
}

func run(t *testing.T, name string, opts Options) Result {
	t.Helper()
	res, err := Run(context.Background(), load(t, name), opts)
	if err != nil {
		t.Fatalf("%s: %v", name, err)
	}
	return res
}

// TestVerdicts checks every model config: the fixed ordering without
// failures passes every invariant and EveryCallReturns, and every other
// config breaks exactly the invariant it was written for. Together they
// show that no invariant (nor the liveness property) is vacuous.
func TestVerdicts(t *testing.T) {
	// The counts (distinct states, states generated, diameter; at the
	// stop for a violation) are those of the first checker, which kept
	// whole states and a Go map: a faster search must find the same.
	tests := []struct {
		cfg                 string
		want                string // "" for no violation
		why                 string
		distinct, generated int64
		diameter            int
	}{
		{"MCBroker_fixed_1x3.cfg", "", "the fix, one producer, three batches", 251, 453, 30},
		{"MCBroker_fixed_2x2.cfg", "", "the fix, two producers, two batches", 18167, 44551, 40},
		{"MCBroker_fixed_env_1x2.cfg", "", "the fix with timeouts, a retry and an epoch bump", 5449, 15641, 31},
		{"MCBroker_fixed_env_1x3.cfg", "", "the fix with timeouts, a retry and an epoch bump, three batches", 82174, 304064, 41},
		{"MCBroker_fixed_2x3.cfg", "", "the fix, two producers, three batches (big)", 1261095, 4043069, 60},
		{"MCBroker_prefix_ticket.cfg", spec.TicketOrderIsCallOrder, "pre-fix: the later call reserves while the earlier is in stage_write", 15, 16, 6},
		{"MCBroker_prefix_1x2.cfg", spec.NoSpuriousOutOfOrder, "pre-fix: the seed's interleaving, to its spurious OUT_OF_ORDER_SEQUENCE_NUMBER", 87, 123, 17},
		{"MCBroker_prefix_decide.cfg", spec.DecideInCallOrder, "pre-fix: the later call is decided while the earlier is in stage_write", 49, 60, 10},
		{"MCBroker_bug_release.cfg", spec.DecideInCallOrder, "ticket released before the decision: the later call is decided while the earlier is redeemed", 71, 107, 15},
		{"MCBroker_uploadfail.cfg", spec.NoSpuriousOutOfOrder, "a failed upload frees the ticket (PR #30937)", 438, 715, 24},
		{"MCBroker_stagefail.cfg", spec.NoSpuriousOutOfOrder, "a failed stage_write frees the ticket", 442, 715, 23},
		{"MCBroker_evict_gap.cfg", spec.ContiguousAppends, "eviction after a failed upload", 1187, 2723, 24},
		{"MCBroker_evict_dup.cfg", spec.NoDuplicateAppend, "eviction, then the retry of an appended batch", 108, 200, 19},
		{"MCBroker_bug_dupoffset.cfg", spec.AckedInLog, "a duplicate answered with the wrong offset", 1562, 4037, 29},
		{"MCBroker_bug_leak.cfg", spec.EveryCallReturns, "a failed request keeps its ticket", 69, 102, 12},
		{"MCBroker_fixed_fence_term.cfg", "", "the fix with a known producer, fence failures, aborts in redeem, a term change, timeouts and a retry", 21912, 64900, 31},
		{"MCBroker_tiered.cfg", spec.DecideInCallOrder, "the storage-mode flip: a call on the tiered path (no ticket) is decided while an earlier one uploads", 16, 21, 5},
		{"MCBroker_redeemabort.cfg", spec.NoSpuriousOutOfOrder, "a call aborted in redeem frees the ticket", 427, 703, 25},
		{"MCBroker_fixed_window1.cfg", spec.LoggedBatchNotOutOfOrder, "the fix with Window = 1: a timed-out batch in the log is retried after the window slid past it (KAFKA-17926)", 1526, 3959, 27},
		{"MCBroker_fencefail.cfg", spec.NoSpuriousOutOfOrder, "a failed fence frees the ticket", 287, 440, 26},
		{"MCBroker_termchange.cfg", spec.NoSpuriousOutOfOrder, "a term change after the fence frees the ticket", 303, 472, 27},
		{"MCBroker_prefix_epoch.cfg", spec.AckedInLog, "pre-fix with an epoch bump: an old-epoch batch acked as a duplicate", 360, 583, 20},
		{"MCBroker_prefix_env_1x2.cfg", "", "pre-fix with timeouts, a retry and an epoch bump, checking the log's contiguity, duplicates and the window answer", 26403, 66576, 31},
		{"MCBroker_prefix_await.cfg", "", "pre-fix, but the caller awaits request_enqueued before its next call: no reordering", 56, 79, 20},
		{"MCBroker_prefix_await_2x2.cfg", "", "pre-fix with a caller awaiting request_enqueued, two producers", 18129, 41355, 40},
		{"MCBroker_fixed_window1_wrap.cfg", "", "the fix in a sequence space of 0..2: the fourth batch wraps to 0", 901, 1955, 40},
		{"MCBroker_oldepoch.cfg", spec.AckedInLog, "the fix with an epoch bump and a retry of an old-epoch call: matched as a duplicate of the new epoch's batch", 6055, 17039, 30},
		{"MCBroker_epochstart.cfg", spec.EpochStartsAtFirstCall, "a failed upload frees the ticket and the next batch starts the epoch's log at sequence 1", 100, 155, 14},
	}
	listed := map[string]bool{}
	for _, tt := range tests {
		listed[tt.cfg] = true
	}
	all, _ := filepath.Glob(filepath.Join(tlaDir, "MCBroker_*.cfg"))
	for _, path := range all {
		if !listed[filepath.Base(path)] {
			t.Errorf("%s is not in TestVerdicts' table: add its verdict and counts", filepath.Base(path))
		}
	}
	covered := map[string]bool{}
	for _, tt := range tests {
		t.Run(strings.TrimSuffix(tt.cfg, ".cfg"), func(t *testing.T) {
			if strings.Contains(tt.why, "(big)") && !*big {
				t.Skip("big bound: run with -mc.big")
			}
			res := run(t, tt.cfg, Options{Workers: *workersFlag})
			t.Logf("%s: %d distinct states, %d generated, diameter %d, %s (%.0f states/s)", tt.cfg, res.Distinct, res.Generated, res.Diameter, res.Duration,
				float64(res.Generated)/max(res.Duration.Seconds(), 1e-9))
			if res.Distinct != tt.distinct || res.Generated != tt.generated || res.Diameter != tt.diameter {
				t.Errorf("%s: %d distinct states, %d generated, diameter %d; want %d, %d, %d",
					tt.cfg, res.Distinct, res.Generated, res.Diameter, tt.distinct, tt.generated, tt.diameter)
			}
			got := ""
			if res.Violation != nil {
				got = res.Violation.Invariant
				covered[got] = true
			}
			if got != tt.want {
				var b bytes.Buffer
				res.Report(&b)
				t.Fatalf("%s (%s): violation %q, want %q\n%s", tt.cfg, tt.why, got, tt.want, b.String())
			}
			if v := res.Violation; v != nil && tt.want != spec.EveryCallReturns {
				if len(v.Broken) != 1 {
					t.Errorf("%s breaks %v, want exactly %s", tt.cfg, v.Broken, tt.want)
				}
			}
		})
	}
	if t.Failed() {
		return
	}
	for _, iv := range spec.Invariants() {
		if !covered[iv.Name] {
			t.Errorf("no config breaks invariant %s", iv.Name)
		}
	}
	if !covered[spec.EveryCallReturns] {
		t.Errorf("no config breaks %s", spec.EveryCallReturns)
	}
}

// TestSeedCounterexample checks that the shortest counterexample of the
// pre-fix config is the seed's interleaving: the later batch reserves
// its ticket first, is accepted through the unknown-producer skip path,
// and the earlier batch is then rejected with OUT_OF_ORDER_SEQUENCE_NUMBER
// (NoSpuriousOutOfOrder; the config leaves out DecideInCallOrder, which
// would stop the search at the later batch's decision).
func TestSeedCounterexample(t *testing.T) {
	res := run(t, "MCBroker_prefix_1x2.cfg", Options{})
	v := res.Violation
	if v == nil {
		t.Fatal("no violation in the pre-fix config")
	}
	if v.Invariant != spec.NoSpuriousOutOfOrder || strings.Join(v.Broken, ",") != "NoSpuriousOutOfOrder" {
		t.Fatalf("violation %s (broken %v), want NoSpuriousOutOfOrder alone", v.Invariant, v.Broken)
	}
	var seq []string
	for _, st := range v.Steps {
		switch st.Action.Name {
		case spec.ReserveTicket, spec.Decide:
			seq = append(seq, st.Action.String())
		}
	}
	want := []string{"ReserveTicket op=2", "ReserveTicket op=1", "Decide op=2 append_unknown offset=0", "Decide op=1 out_of_order"}
	if strings.Join(seq, "; ") != strings.Join(want, "; ") {
		t.Errorf("ticket and decide steps %q, want %q", seq, want)
	}
	if len(v.Steps) != 17 {
		t.Errorf("trace has %d steps, want the shortest, 17", len(v.Steps))
	}
	// The trace is deterministic whatever the number of workers.
	one := run(t, "MCBroker_prefix_1x2.cfg", Options{Workers: 1})
	for i := range v.Steps {
		if one.Violation.Steps[i].Action != v.Steps[i].Action {
			t.Fatalf("step %d: %s with 1 worker, %s with %d", i, one.Violation.Steps[i].Action, v.Steps[i].Action, 0)
		}
	}
}

// TestBehavior checks the counterexample run to the end: it starts
// with the trace, the spec allows every step from the initial state, and
// it ends with no call left open (bug_dupoffset's too, where the trace
// stops at the violation with calls open).
func TestBehavior(t *testing.T) {
	for _, name := range []string{"MCBroker_prefix_1x2.cfg", "MCBroker_evict_dup.cfg", "MCBroker_bug_dupoffset.cfg"} {
		v := run(t, name, Options{}).Violation
		acts := v.Behavior()
		if len(acts) < len(v.Steps) {
			t.Fatalf("%s: %d actions, want at least the %d steps", name, len(acts), len(v.Steps))
		}
		s := v.Init
		for i, a := range acts {
			if i < len(v.Steps) && a != v.Steps[i].Action {
				t.Fatalf("%s: action %d is %s, the trace's is %s", name, i, a, v.Steps[i].Action)
			}
			n, err := spec.Step(v.Spec, s, a)
			if err != nil {
				t.Fatalf("%s: action %d (%s) refused: %v", name, i, a, err)
			}
			s = n
		}
		if s.OpenCalls() != 0 {
			t.Errorf("%s: %d calls left open", name, s.OpenCalls())
		}
	}
}

// TestReport checks the TLC-comparable report of a violation: verdict,
// trace with changed variables, counts and depth.
func TestReport(t *testing.T) {
	res := run(t, "MCBroker_prefix_ticket.cfg", Options{})
	var b bytes.Buffer
	res.Report(&b)
	out := b.String()
	for _, want := range []string{
		"Error: Invariant TicketOrderIsCallOrder is violated.",
		"State 1: <Initial predicate>",
		"State 7: <ReserveTicket op=2>",
		"op[1] = pid=1 epoch=0 seq=[0,0] staging",
		"spec: TicketOrderIsCallOrder violated: op 2 (pid 1 epoch 0 seq [1,1]) holds a ticket while an earlier call of its producer can still reserve one",
		"distinct states found",
		"The depth of the complete state graph search is",
	} {
		if !strings.Contains(out, want) {
			t.Errorf("report lacks %q:\n%s", want, out)
		}
	}
}

// TestProgress checks that progress lines are written.
func TestProgress(t *testing.T) {
	var b bytes.Buffer
	run(t, "MCBroker_fixed_1x3.cfg", Options{Progress: &b, ProgressEvery: 1})
	if !strings.Contains(b.String(), "states generated") || !strings.Contains(b.String(), "states/s") {
		t.Errorf("progress output %q", b.String())
	}
}

// TestCancel checks that a cancelled context stops the search.
func TestCancel(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if _, err := Run(ctx, load(t, "MCBroker_fixed_2x2.cfg"), Options{}); err == nil {
		t.Fatal("no error from a cancelled run")
	}
}

// TestParseConfigErrors checks that the .cfg reader refuses what it does
// not understand with file:line.
func TestParseConfigErrors(t *testing.T) {
	good, err := os.ReadFile(filepath.Join(tlaDir, "MCBroker_fixed_1x3.cfg"))
	if err != nil {
		t.Fatal(err)
	}
	// lineOf is the line of good that holds s (the configs grow).
	lineOf := func(s string) int { return strings.Count(string(good[:strings.Index(string(good), s)]), "\n") + 1 }
	tests := []struct {
		name, text, want string
	}{
		{"symmetry", string(good) + "SYMMETRY Perms\n", fmt.Sprintf("x.cfg:%d: SYMMETRY is not supported", strings.Count(string(good), "\n")+1)},
		{"unknown constant", strings.Replace(string(good), "Window = 5", "Windows = 5", 1), fmt.Sprintf("x.cfg:%d: unknown constant \"Windows\"", lineOf("Window = 5"))},
		{"missing constant", strings.Replace(string(good), "    Window = 5\n", "", 1), "constant Window is not assigned"},
		{"bad bool", strings.Replace(string(good), "KnownProducers = FALSE", "KnownProducers = 0", 1), "x.cfg:7: constant KnownProducers: expected TRUE or FALSE"},
		{"bad string", strings.Replace(string(good), `"before-stage"`, `"sideways"`, 1), "ticket order \"sideways\""},
		{"unknown invariant", strings.Replace(string(good), "    AckedInLog\n", "    AckedInLogs\n", 1), fmt.Sprintf("x.cfg:%d: unknown invariant \"AckedInLogs\"", lineOf("    AckedInLog\n"))},
		{"set value", strings.Replace(string(good), "Producers = 1", "Producers = {p1}", 1), "x.cfg:5: unexpected character '{'"},
		{"other spec", strings.Replace(string(good), "SPECIFICATION Spec", "SPECIFICATION Other", 1), "x.cfg:2: SPECIFICATION must name Spec"},
		{"deadlock", string(good) + "CHECK_DEADLOCK TRUE\n", "only CHECK_DEADLOCK FALSE"},
		{"comment", "(* open", "x.cfg:1: unterminated (* comment"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := ParseConfig(tt.text, "x.cfg")
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Errorf("error %v, want it to contain %q", err, tt.want)
			}
		})
	}
	if _, err := ParseConfig(string(good), "x.cfg"); err != nil {
		t.Errorf("good config: %v", err)
	}
}

// TestLivenessNotClaimedWhenStopped checks that a search stopped early
// (a safety violation, a limit) does not report EveryCallReturns as
// checked, and that a violated EveryCallReturns says so.
func TestLivenessNotClaimedWhenStopped(t *testing.T) {
	res := run(t, "MCBroker_prefix_1x2.cfg", Options{})
	if strings.HasPrefix(res.Liveness, "checked") || !strings.Contains(res.Liveness, "stopped at the violation of NoSpuriousOutOfOrder") {
		t.Errorf("safety violation: liveness %q", res.Liveness)
	}
	if res := run(t, "MCBroker_bug_leak.cfg", Options{}); !strings.HasPrefix(res.Liveness, "violated") {
		t.Errorf("EveryCallReturns violated: liveness %q", res.Liveness)
	}
	res, err := Run(context.Background(), load(t, "MCBroker_fixed_2x2.cfg"), Options{MaxDistinct: 10})
	if err == nil || strings.HasPrefix(res.Liveness, "checked") {
		t.Errorf("stopped at a limit: err %v, liveness %q", err, res.Liveness)
	}
	if res := run(t, "MCBroker_fixed_1x3.cfg", Options{}); !strings.HasPrefix(res.Liveness, "checked") {
		t.Errorf("exhausted: liveness %q", res.Liveness)
	}
}

// TestCoverage checks the branch counts of a run: they do not change
// the state counts, do not depend on the number of workers, and sum per
// action to at least the transitions generated (each transition takes
// one primary branch).
func TestCoverage(t *testing.T) {
	plain := run(t, "MCBroker_fixed_env_1x2.cfg", Options{})
	one := run(t, "MCBroker_fixed_env_1x2.cfg", Options{Coverage: true, Workers: 1})
	many := run(t, "MCBroker_fixed_env_1x2.cfg", Options{Coverage: true, Workers: 4})
	if plain.Coverage != nil {
		t.Error("coverage counted without Options.Coverage")
	}
	if one.Distinct != plain.Distinct || one.Generated != plain.Generated {
		t.Errorf("coverage changed the counts: %d/%d, want %d/%d", one.Distinct, one.Generated, plain.Distinct, plain.Generated)
	}
	var primary int64
	for _, b := range spec.AllBranches() {
		if one.Coverage.Count(b) != many.Coverage.Count(b) {
			t.Errorf("%s: %d with 1 worker, %d with 4", b, one.Coverage.Count(b), many.Coverage.Count(b))
		}
		if !b.Side() {
			primary += one.Coverage.Count(b)
		}
	}
	// Generated counts the initial state too.
	if primary != one.Generated-1 {
		t.Errorf("primary branches sum to %d, want %d transitions", primary, one.Generated-1)
	}
	if one.Coverage.Count(spec.BranchDecideNewEpoch) == 0 || one.Coverage.Count(spec.BranchDecideDuplicate) == 0 {
		t.Error("the epoch-bump config never takes Decide/new-epoch or Decide/duplicate")
	}
}

// unreachedByConfigs are the spec branches no model config takes, each
// with the reason (validate takes them on the traces/ corpus, but for
// Decide/invalid, which no history can carry).
var unreachedByConfigs = map[spec.Branch]string{
	spec.BranchDecideInvalid:           "the model's batches are [i,i]; first > last never occurs",
	spec.BranchDecideDuplicateInFlight: "the model's Decide records a duplicate as duplicate (Step accepts duplicate_inflight for the same decision)",
	spec.BranchReturnNotLeader:         "the model's failed calls return the REQUEST_TIMED_OUT they owe (Step also accepts NOT_LEADER_FOR_PARTITION)",
}

// TestConfigCoverage runs every config (but the big ones) with coverage
// and checks that together they take every spec branch but those
// unreachedByConfigs lists, which none may take.
func TestConfigCoverage(t *testing.T) {
	cfgs, err := filepath.Glob(filepath.Join(tlaDir, "MCBroker_*.cfg"))
	if err != nil || len(cfgs) == 0 {
		t.Fatalf("no configs: %v", err)
	}
	var total spec.Coverage
	for _, path := range cfgs {
		name := filepath.Base(path)
		if name == "MCBroker_fixed_2x3.cfg" {
			continue
		}
		res := run(t, name, Options{Coverage: true})
		total.Merge(res.Coverage)
	}
	for _, b := range spec.AllBranches() {
		why, listed := unreachedByConfigs[b]
		switch n := total.Count(b); {
		case n == 0 && !listed:
			t.Errorf("no config takes branch %s: add one, or list it in unreachedByConfigs with the reason", b)
		case n > 0 && listed:
			t.Errorf("branch %s is taken %d times, but unreachedByConfigs says %q", b, n, why)
		}
	}
}
