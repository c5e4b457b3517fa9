package agreement

import (
	"context"
	"fmt"
	"path/filepath"
	"sort"
	"strings"
	"testing"

	"github.com/idemcheck/idemcheck/checker"
	"github.com/idemcheck/idemcheck/checker/validate"
	"github.com/idemcheck/idemcheck/history"
	"github.com/idemcheck/idemcheck/impl/replay"
	"github.com/idemcheck/idemcheck/internal/mc"
	"github.com/idemcheck/idemcheck/spec"
)

// tlaDir holds the model configs (MCBroker_*.cfg) the model checker
// runs.
const tlaDir = "../../spec/tla"

// runModel model-checks the config spec/tla/name.
func runModel(t *testing.T, name string, opts mc.Options) mc.Result {
	t.Helper()
	cfg, err := mc.LoadConfig(filepath.Join(tlaDir, name))
	if err != nil {
		t.Fatal(err)
	}
	res, err := mc.Run(context.Background(), cfg, opts)
	if err != nil {
		t.Fatalf("%s: %v", name, err)
	}
	return res
}

// outcomes renders the client-visible end of every call and the
// decision rm_stm took for it, by op id.
func outcomes(h history.History) map[int64]string {
	out := map[int64]string{}
	for _, e := range h.Events {
		switch e.Kind {
		case history.Decide:
			out[e.Op] = " " + strings.TrimSuffix(e.String(), fmt.Sprintf(" t=%d", e.Time)) + out[e.Op]
		case history.Return:
			out[e.Op] += " " + strings.TrimSuffix(e.String(), fmt.Sprintf(" t=%d", e.Time))
		}
	}
	return out
}

func describeOutcomes(m map[int64]string) string {
	var ids []int64
	for id := range m {
		ids = append(ids, id)
	}
	sort.Slice(ids, func(i, j int) bool { return ids[i] < ids[j] })
	var b strings.Builder
	for _, id := range ids {
		fmt.Fprintf(&b, "op %d:%s\n", id, m[id])
	}
	return b.String()
}

// TestClosedLoop is the project's proof that the spec, the checkers and
// the implementation agree, for every config whose counterexample the
// implementation can play (all but the injected bugs): the model
// checker's counterexample is exported as a history; the black-box
// checker (package checker) finds it Illegal where the client-visible
// events can show the violation, and otherwise validate (the white box)
// stops it at a broken invariant; and the reference implementation
// (package impl), replaying the same interleaving with its
// deterministic scheduler (with the config's window), reproduces the
// same decisions and the same client-visible outcomes, in a recording
// that the spec allows step by step.
func TestClosedLoop(t *testing.T) {
	tests := []struct {
		cfg string
		// checker is the violation the black-box checker must name; ""
		// where the client-visible events alone need not show it (the
		// verdict is then only logged).
		checker string
	}{
		{cfg: "MCBroker_prefix_1x2.cfg", checker: spec.DecideInCallOrder},
		{cfg: "MCBroker_prefix_ticket.cfg"},
		{cfg: "MCBroker_prefix_decide.cfg"},
		{cfg: "MCBroker_prefix_epoch.cfg"},
		{cfg: "MCBroker_uploadfail.cfg"},
		{cfg: "MCBroker_stagefail.cfg"},
		{cfg: "MCBroker_fencefail.cfg"},
		{cfg: "MCBroker_termchange.cfg"},
		{cfg: "MCBroker_redeemabort.cfg"},
		{cfg: "MCBroker_epochstart.cfg"},
		{cfg: "MCBroker_oldepoch.cfg"},
		{cfg: "MCBroker_fixed_window1.cfg"},
		{cfg: "MCBroker_evict_gap.cfg"},
		{cfg: "MCBroker_evict_dup.cfg"},
	}
	for _, tt := range tests {
		t.Run(strings.TrimSuffix(tt.cfg, ".cfg"), func(t *testing.T) {
			res := runModel(t, tt.cfg, mc.Options{})
			if res.Violation == nil {
				t.Fatal("no counterexample")
			}
			h := counterexample(res.Violation)

			cr := checker.Check(h, checker.Options{})
			var names []string
			for _, v := range cr.Violations {
				names = append(names, v.Name)
			}
			t.Logf("%s (model checker: %s): black-box verdict %s %v", tt.cfg, res.Violation.Invariant, cr.Verdict, names)
			if tt.checker == "" {
				// The white box must flag what the black box need not.
				verr := validate.History(h, validate.Options{TicketOrder: res.Violation.TicketOrder, Window: res.Violation.Spec.Window})
				var ve *validate.Error
				if !asWhitebox(verr, &ve) || ve.Invariant == "" {
					t.Errorf("neither check (%s) nor validate (%v) flags the counterexample", cr.Verdict, verr)
				} else {
					t.Logf("validate: line %d breaks %s", ve.Line, ve.Invariant)
				}
			}
			if tt.checker != "" {
				if cr.Verdict != checker.Illegal {
					t.Fatalf("checker verdict %s (err %v), want Illegal", cr.Verdict, cr.Err)
				}
				if !contains(names, tt.checker) {
					t.Errorf("checker violations %v, want %s", names, tt.checker)
				}
			}

			got, err := replay.Replay(h, replay.WithWindow(res.Violation.Spec.Window))
			if err != nil {
				t.Fatalf("impl replay: %v", err)
			}
			want, have := outcomes(h), outcomes(got)
			if describeOutcomes(want) != describeOutcomes(have) {
				t.Errorf("outcomes differ\nmodel checker:\n%s\nimpl replay:\n%s", describeOutcomes(want), describeOutcomes(have))
			}
			// The implementation's own recording of the run is allowed
			// step by step by the spec under the same ticket order.
			werr := validate.History(got, validate.Options{TicketOrder: res.Violation.TicketOrder, Window: res.Violation.Spec.Window})
			var we *validate.Error
			if werr != nil && !(asWhitebox(werr, &we) && we.Invariant != "") {
				t.Errorf("impl's recording of the replay is not a behaviour of the spec: %v", werr)
			}
		})
	}
}

func contains(xs []string, x string) bool {
	for _, y := range xs {
		if y == x {
			return true
		}
	}
	return false
}

func asWhitebox(err error, we **validate.Error) bool {
	e, ok := err.(*validate.Error)
	if ok {
		*we = e
	}
	return ok
}
