package agreement

import (
	"bytes"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/idemcheck/idemcheck/checker/validate"
	"github.com/idemcheck/idemcheck/history"
	"github.com/idemcheck/idemcheck/internal/tlc"
	"github.com/idemcheck/idemcheck/spec"
)

// traceBudget is the time TLC gets to validate one partition of one
// trace (seconds for the corpus's).
const traceBudget = 3 * time.Minute

// TestTraceBrokerAgreesWithValidate runs TLC's trace validation
// (spec/tla/TraceBroker.tla) on every partition of every history of
// traces/ that has internal events, when IDEMCHECK_TLA2TOOLS and
// IDEMCHECK_COMMUNITY_MODULES point to tla2tools.jar and the
// CommunityModules jar (internal/tlc), and checks that it agrees with
// the white-box validator (checker/validate) on the events TraceBroker
// reads for that partition: both accept, or both stop at the same event
// (TLC's trace ends where it could not go on, or at the state after the
// event that breaks an invariant, with the same invariant). Histories
// without internal events (black-box ones) are nothing to validate and
// are not given to TLC. It takes a few minutes: each run starts a JVM.
func TestTraceBrokerAgreesWithValidate(t *testing.T) {
	tools := tlc.Find(t, true)
	var files []string
	for _, pat := range []string{"*.jsonl", "*.yaml"} {
		m, err := filepath.Glob(filepath.Join(moduleRoot, "traces", pat))
		if err != nil {
			t.Fatal(err)
		}
		files = append(files, m...)
	}
	if len(files) == 0 {
		t.Fatal("no traces")
	}
	var mods [][]byte
	for _, f := range []string{"Broker.tla", "TraceBroker.tla", "TraceBroker.cfg"} {
		mods = append(mods, []byte(readTLA(t, f)))
	}
	var agreed, blackBox, runs, traced int
	check := func(t *testing.T, name string, h history.History) {
		dir := t.TempDir()
		var jsonl bytes.Buffer
		if err := history.EncodeJSONL(&jsonl, h); err != nil {
			t.Fatal(err)
		}
		input := filepath.Join(dir, "history.jsonl")
		write(t, input, jsonl.Bytes())
		write(t, filepath.Join(dir, "Broker.tla"), mods[0])
		write(t, filepath.Join(dir, "TraceBroker.tla"), mods[1])
		write(t, filepath.Join(dir, "TraceBroker.cfg"), traceConfig(t, string(mods[2]), h))
		for _, part := range partitions(h) {
			sub := traceEvents(h, part)
			want := verdictOf(validate.History(sub, validate.Options{TicketOrder: validate.FromHeader}))
			runs++
			out, err := tools.Run(t, traceBudget, dir, []string{"JSON=" + input, "PARTITION=" + part},
				"-config", "TraceBroker.cfg", "TraceBroker.tla")
			if err != nil {
				t.Fatal(err)
			}
			got, err := traceVerdict(out)
			if err != nil {
				t.Fatalf("partition %s: %v", part, err)
			}
			if got != want {
				t.Errorf("partition %s (%d events): TraceBroker %s, validate %s%s", part, len(sub.Events), got, want, at(sub, got, want))
				continue
			}
			if mustAccept[name] && got.stop != 0 {
				t.Errorf("partition %s: both %s, want both to accept", part, got)
			}
			agreed++
			t.Logf("partition %s (%d events): both %s", part, len(sub.Events), got)
		}
	}
	for _, path := range files {
		name := filepath.Base(path)
		t.Run(name, func(t *testing.T) {
			h, err := history.ReadFile(path)
			if err != nil {
				t.Fatal(err)
			}
			if err := validate.History(h, validate.Options{TicketOrder: validate.FromHeader}); errors.Is(err, validate.ErrNothingToValidate) {
				blackBox++
				t.Skip("a black-box history: nothing to validate")
			}
			traced++
			check(t, name, h)
		})
	}
	// Offsets a real log skips (control batches, other partitions'
	// records do not, but compaction and transactions do): an append
	// may take a base offset above the log's next one, never below.
	t.Run("skipped-offsets", func(t *testing.T) {
		h, err := history.ReadFile(filepath.Join(moduleRoot, "traces", "term-change-ok.jsonl"))
		if err != nil {
			t.Fatal(err)
		}
		traced++
		check(t, "skipped-offsets", shiftOffsets(h, 1, 10))
	})
	t.Logf("%d traces with internal events: %d partitions validated by TLC and by validate, %d agree; %d black-box traces, nothing to validate", traced, runs, agreed, blackBox)
}

// mustAccept names the histories that both must accept: a leader that
// skips terms (0 to 2) and appends that skip offsets are allowed.
var mustAccept = map[string]bool{"term-change-ok.jsonl": true, "skipped-offsets": true}

// shiftOffsets returns h with every offset at or above from (of a Decide
// with an offset or an ok Return) raised by by, as if the log had
// skipped by offsets before from. h has one partition.
func shiftOffsets(h history.History, from, by int64) history.History {
	out := history.History{Header: h.Header, Events: append([]history.Event(nil), h.Events...)}
	for i := range out.Events {
		e := &out.Events[i]
		withOffset := e.Kind == history.Decide && e.Decision.HasOffset() || e.Kind == history.Return && e.Result == history.OK
		if withOffset && e.Offset >= from {
			e.Offset += by
		}
	}
	return out
}

// verdict is a trace validation's outcome: accepted (stop 0), or
// stopped at the 1-based event stop, the first one the spec does not
// allow or one that breaks invariant.
type verdict struct {
	stop      int
	invariant string
}

func (v verdict) String() string {
	switch {
	case v.stop == 0:
		return "accepts"
	case v.invariant != "":
		return fmt.Sprintf("stops at event %d, which breaks %s", v.stop, v.invariant)
	}
	return fmt.Sprintf("stops at event %d", v.stop)
}

// at shows the events where the verdicts stop.
func at(h history.History, vs ...verdict) string {
	s := ""
	for _, v := range vs {
		if v.stop > 0 && v.stop <= len(h.Events) {
			s += fmt.Sprintf("\nevent %d: %s", v.stop, h.Events[v.stop-1])
		}
	}
	return s
}

// verdictOf reads validate's answer for an in-memory history (whose
// lines are event indexes + 1).
func verdictOf(err error) verdict {
	if err == nil {
		return verdict{}
	}
	var we *validate.Error
	if !errors.As(err, &we) {
		return verdict{stop: -1, invariant: err.Error()}
	}
	return verdict{stop: we.Line, invariant: we.Invariant}
}

// traceVerdict reads TLC's answer: TraceMatched broken means the
// history stops at l (the event TLC could not take), an invariant
// broken means event l-1 broke it.
func traceVerdict(out string) (verdict, error) {
	o, err := tlc.Parse(out)
	if err != nil {
		return verdict{}, err
	}
	if o.Verdict == "" {
		return verdict{}, nil
	}
	l, err := strconv.Atoi(o.LastValue("l"))
	if err != nil {
		return verdict{}, fmt.Errorf("no l in the last state of TLC's trace:\n%s", o.Trace)
	}
	if o.Verdict == tlc.Temporal {
		return verdict{stop: l}, nil
	}
	return verdict{stop: l - 1, invariant: o.Verdict}, nil
}

// partitions returns the partitions of h's calls in order of first call.
func partitions(h history.History) []string {
	var out []string
	seen := map[string]bool{}
	for _, e := range h.Events {
		if e.Kind == history.Replicate && !seen[e.Partition] {
			seen[e.Partition] = true
			out = append(out, e.Partition)
		}
	}
	return out
}

// traceEvents returns the events of h that TraceBroker.tla reads for
// partition part (its Mine): the partition's calls, term changes and
// evictions, every epoch bump, and the steps of the partition's calls.
func traceEvents(h history.History, part string) history.History {
	sub := history.History{Header: h.Header}
	mine := map[int64]bool{}
	for _, e := range h.Events {
		switch e.Kind {
		case history.Replicate:
			if e.Partition == part {
				mine[e.Op] = true
				sub.Events = append(sub.Events, e)
			}
		case history.ChangeTerm, history.EvictProducer:
			if e.Partition == part {
				sub.Events = append(sub.Events, e)
			}
		case history.BumpEpoch:
			sub.Events = append(sub.Events, e)
		default:
			if mine[e.Op] {
				sub.Events = append(sub.Events, e)
			}
		}
	}
	return sub
}

var (
	cfgTicketOrder = regexp.MustCompile(`(?m)^(\s*TicketOrder = )"[^"]*"`)
	cfgProducers   = regexp.MustCompile(`(?m)^(\s*Producers = )\d+`)
)

// traceConfig is TraceBroker.cfg with h's ticket order and at least as
// many producers as h's highest producer id.
func traceConfig(t *testing.T, cfg string, h history.History) []byte {
	t.Helper()
	order := h.Header.TicketOrder
	if order == "" {
		order = string(spec.BeforeStage)
	}
	n := 1
	for _, e := range h.Events {
		n = max(n, int(e.PID))
	}
	m := cfgProducers.FindStringSubmatch(cfg)
	if m == nil || !cfgTicketOrder.MatchString(cfg) {
		t.Fatal("TraceBroker.cfg assigns no TicketOrder or Producers")
	}
	if def, _ := strconv.Atoi(strings.TrimSpace(strings.TrimPrefix(m[0], m[1]))); def > n {
		n = def
	}
	cfg = cfgTicketOrder.ReplaceAllString(cfg, `${1}"`+order+`"`)
	cfg = cfgProducers.ReplaceAllString(cfg, "${1}"+strconv.Itoa(n))
	return []byte(cfg)
}

func write(t *testing.T, path string, b []byte) {
	t.Helper()
	if err := os.WriteFile(path, b, 0o644); err != nil {
		t.Fatal(err)
	}
}
