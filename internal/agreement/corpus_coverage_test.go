package agreement

import (
	"errors"
	"testing"

	"github.com/idemcheck/idemcheck/checker/validate"
	"github.com/idemcheck/idemcheck/spec"
)

// unreachedBranches are the spec branches no corpus file can take
// through validate, each with the reason. The model checker's configs
// reach them (spec/tla/MCBroker_bug_*.cfg).
var unreachedBranches = map[spec.Branch]string{
	spec.BranchDecideInvalid:         "the history format refuses a batch with first > last when it reads the file, so no history reaches rm_stm's INVALID_REQUEST",
	spec.BranchDecideDupLatestOffset: "an injected bug (dup-latest-offset): validate replays against the spec without bugs, which refuses the wrong offset",
	spec.BranchReleaseBeforeDecide:   "an injected bug (release-before-decide): the spec without bugs refuses a release before the decision",
	spec.BranchReturnLeakedTicket:    "an injected bug (leak-ticket): the spec without bugs refuses a Return before the ReleaseTicket",
	spec.BranchDecideTiered:          "the tiered path as before PR #31106 (Config.TieredPath): validate replays without it, and refuses the ticketless decision of storage-mode-flip-bad",
}

// TestCorpusCoverage replays every traces/ file with internal events
// through validate (ticket order from its header; a bad file up to its
// first event the spec does not allow) and checks that together they
// take every branch of the spec but those in unreachedBranches, which
// none may take (so that the list stays true).
func TestCorpusCoverage(t *testing.T) {
	var total spec.Coverage
	files := 0
	_, hs := corpus(t)
	for _, h := range hs {
		var c spec.Coverage
		err := validate.History(h, validate.Options{TicketOrder: validate.FromHeader, Coverage: &c})
		if errors.Is(err, validate.ErrNothingToValidate) {
			continue
		}
		files++
		total.Merge(&c)
	}
	for _, b := range spec.AllBranches() {
		why, listed := unreachedBranches[b]
		switch n := total.Count(b); {
		case n == 0 && !listed:
			t.Errorf("no corpus file takes branch %s: add one, or list it in unreachedBranches with the reason", b)
		case n > 0 && listed:
			t.Errorf("branch %s is taken %d times, but unreachedBranches says %q", b, n, why)
		}
	}
	t.Logf("%d files with internal events; %d of %d branches taken", files, len(spec.AllBranches())-len(total.Missed()), len(spec.AllBranches()))
}
