package refcheck_test

import (
	"errors"
	"fmt"
	"strings"
	"testing"

	"github.com/idemcheck/idemcheck/internal/refcheck"
	"github.com/idemcheck/idemcheck/spec"
)

// refCase is a hand-written history and its verdict under each dialect.
type refCase struct {
	name            string
	lines           []string
	redpanda, kafka refcheck.Verdict
	reasonContains  string // for Illegal under Redpanda, if not ""
}

const (
	ok      = refcheck.Ok
	illegal = refcheck.Illegal
)

var cases = []refCase{
	// The examples that motivated per-record offsets, room for unknown
	// appends, cross-producer ranges and real-time order.
	{"unknown-append-takes-room", []string{
		"pid=1 [0,0] t=0..1 ok@0",
		"pid=1 [1,3] t=2..3 unknown",
		"pid=1 [4,6] t=4..5 ok@1",
	}, illegal, illegal, "op 3"},
	{"unknown-append-room-ok", []string{
		"pid=1 [0,0] t=0..1 ok@0",
		"pid=1 [1,3] t=2..3 unknown",
		"pid=1 [4,6] t=4..5 ok@4",
	}, ok, ok, ""},
	{"unknown-lost-then-gap", []string{
		"pid=1 [0,0] t=0..1 ok@0",
		"pid=1 [1,3] t=2..3 unknown",
		"pid=1 [4,6] t=4..5 err=45",
	}, ok, ok, ""},
	{"cross-producer-overlap", []string{
		"pid=1 [0,4] t=0..1 ok@0",
		"pid=2 [0,0] t=2..3 ok@2",
	}, illegal, illegal, "overlapping"},
	{"cross-producer-disjoint", []string{
		"pid=1 [0,4] t=0..1 ok@0",
		"pid=2 [0,0] t=2..3 ok@5",
	}, ok, ok, ""},
	{"per-record-offsets", []string{
		"pid=1 [0,4] t=0..1 ok@0",
		"pid=1 [5,9] t=2..3 ok@1",
	}, illegal, illegal, "overlapping"},
	{"real-time-order", []string{
		"pid=1 [0,0] t=0..1 ok@5",
		"pid=2 [0,0] t=2..3 ok@1",
	}, illegal, illegal, "returned at t=1"},
	{"concurrent-any-order", []string{
		"pid=1 [0,0] t=0..3 ok@5",
		"pid=2 [0,0] t=2..4 ok@1",
	}, ok, ok, ""},
	{"real-time-retry-exempt", []string{
		"pid=2 [0,0] t=0..1 unknown",
		"pid=1 [0,0] t=2..3 ok@5",
		"pid=2 [0,0] t=4..5 ok@1",
	}, ok, ok, ""},
	{"skip-answered-45", []string{
		"pid=1 [5,9] t=0..1 err=45",
	}, illegal, ok, "must be appended"},
	{"skip-answered-59", []string{
		"pid=1 [5,9] t=0..1 err=59",
	}, illegal, ok, ""},
	{"first-answered-45", []string{
		"pid=1 [0,9] t=0..1 err=45",
	}, illegal, illegal, ""},
	{"first-policy-violation", []string{
		"pid=1 [0,9] t=0..1 err=44",
		"pid=1 [0,9] t=2..3 ok@0",
	}, ok, ok, ""},
	{"next-policy-violation", []string{
		"pid=1 [0,0] t=0..1 ok@0",
		"pid=1 [1,1] t=2..3 err=44",
	}, illegal, illegal, ""},
	{"spurious-out-of-order", []string{
		"pid=1 [0,0] t=0..1 ok@0",
		"pid=1 [1,1] t=2..3 err=45",
	}, illegal, illegal, "must be appended"},
	{"gap-out-of-order", []string{
		"pid=1 [0,0] t=0..1 ok@0",
		"pid=1 [2,2] t=2..3 err=45",
		"pid=1 [1,1] t=4..5 ok@1",
	}, ok, ok, ""},
	{"gap-acked", []string{
		"pid=1 [0,0] t=0..1 ok@0",
		"pid=1 [2,2] t=2..3 ok@1",
	}, illegal, illegal, "gap"},
	{"gap-timeout", []string{
		"pid=1 [0,0] t=0..1 ok@0",
		"pid=1 [2,2] t=2..3 err=7",
	}, ok, ok, ""},
	{"gap-duplicate-code", []string{
		"pid=1 [0,0] t=0..1 ok@0",
		"pid=1 [2,2] t=2..3 err=46",
	}, ok, ok, ""},
	{"gap-invalid-epoch", []string{
		"pid=1 [0,0] t=0..1 ok@0",
		"pid=1 [2,2] t=2..3 err=47",
	}, illegal, illegal, ""},
	// Call order: the later call was decided first (the seed race).
	{"decide-in-call-order", []string{
		"pid=1 [0,0] t=0..19 err=45",
		"pid=1 [1,1] t=2..14 ok@0",
	}, illegal, illegal, ""},
	{"duplicate-same-offset", []string{
		"pid=1 [0,2] t=0..1 ok@7",
		"pid=1 [0,2] t=2..3 ok@7",
	}, ok, ok, ""},
	{"duplicate-other-offset", []string{
		"pid=1 [0,2] t=0..1 ok@7",
		"pid=1 [0,2] t=2..3 ok@8",
	}, illegal, illegal, ""},
	{"duplicate-reveals-offset", []string{
		"pid=1 [0,2] t=0..1 unknown",
		"pid=1 [0,2] t=2..3 ok@4",
		"pid=1 [3,3] t=4..5 ok@6",
	}, illegal, illegal, "overlapping"},
	// (b) alone: op 2's append, if it took effect, is revealed at 5 by
	// its duplicate; (c2) does not apply as op 2 was called before op 1
	// returned.
	{"revealed-offset-below", []string{
		"pid=1 [0,0] t=0..3 ok@10",
		"pid=1 [1,2] t=1..2 unknown",
		"pid=1 [1,2] t=4..5 ok@5",
	}, illegal, illegal, "below 11"},
	{"duplicate-reveals-offset-ok", []string{
		"pid=1 [0,2] t=0..1 unknown",
		"pid=1 [0,2] t=2..3 ok@4",
		"pid=1 [3,3] t=4..5 ok@7",
	}, ok, ok, ""},
	{"duplicate-answered-46", []string{
		"pid=1 [0,0] t=0..1 ok@0",
		"pid=1 [0,0] t=2..3 err=46",
	}, ok, ok, ""},
	{"duplicate-answered-45", []string{
		"pid=1 [0,0] t=0..1 ok@0",
		"pid=1 [0,0] t=2..3 err=45",
	}, illegal, illegal, ""},
	{"duplicate-out-of-window", []string{
		"pid=1 [0,0] t=0..1 ok@0",
		"pid=1 [1,1] t=2..3 ok@1",
		"pid=1 [2,2] t=4..5 ok@2",
		"pid=1 [3,3] t=6..7 ok@3",
		"pid=1 [4,4] t=8..9 ok@4",
		"pid=1 [5,5] t=10..11 ok@5",
		"pid=1 [0,0] t=12..13 err=45",
	}, ok, ok, ""},
	{"duplicate-out-of-window-acked", []string{
		"pid=1 [0,0] t=0..1 ok@0",
		"pid=1 [1,1] t=2..3 ok@1",
		"pid=1 [2,2] t=4..5 ok@2",
		"pid=1 [3,3] t=6..7 ok@3",
		"pid=1 [4,4] t=8..9 ok@4",
		"pid=1 [5,5] t=10..11 ok@5",
		"pid=1 [0,0] t=12..13 ok@0",
	}, illegal, illegal, ""},
	{"duplicate-append", []string{
		"pid=1 [0,0] t=0..1 ok@0",
		"pid=1 [0,0] t=2..3 ok@1",
	}, illegal, illegal, ""},
	{"new-epoch", []string{
		"pid=1 [0,0] t=0..1 ok@0",
		"pid=1 e=1 [0,0] t=2..3 ok@1",
		"pid=1 e=1 [1,1] t=4..5 ok@2",
	}, ok, ok, ""},
	{"new-epoch-not-at-zero", []string{
		"pid=1 [0,0] t=0..1 ok@0",
		"pid=1 e=1 [1,1] t=2..3 ok@1",
	}, illegal, illegal, ""},
	{"stale-acked", []string{
		"pid=1 e=1 [0,0] t=0..1 ok@0",
		"pid=1 [1,1] t=2..3 ok@1",
	}, illegal, illegal, "below the producer's"},
	{"stale-answered-47", []string{
		"pid=1 e=1 [0,0] t=0..1 ok@0",
		"pid=1 [1,1] t=2..3 err=47",
	}, ok, ok, ""},
	{"stale-answered-45", []string{
		"pid=1 e=1 [0,0] t=0..1 ok@0",
		"pid=1 [1,1] t=2..3 err=45",
	}, ok, illegal, ""},
	// A stale duplicate: Redpanda matches ignoring the epoch, Kafka
	// answers INVALID_PRODUCER_EPOCH.
	{"stale-duplicate-acked", []string{
		"pid=1 [0,0] t=0..1 unknown",
		"pid=1 e=1 [0,0] t=2..3 ok@0",
		"pid=1 [0,0] t=4..5 ok@0",
	}, ok, illegal, ""},
	{"stale-duplicate-47", []string{
		"pid=1 e=1 [0,0] t=0..1 ok@0",
		"pid=1 [0,0] t=2..3 err=47",
	}, ok, ok, ""},
	// An unknown append of the first batch makes room before the next.
	{"ambiguous-took-effect", []string{
		"pid=1 [0,0] t=0..1 ok@0",
		"pid=1 [1,2] t=2..3 err=7",
		"pid=1 [3,3] t=4..5 ok@3",
	}, ok, ok, ""},
	{"ambiguous-no-room", []string{
		"pid=1 [0,0] t=0..1 ok@0",
		"pid=1 [1,2] t=2..3 err=7",
		"pid=1 [3,3] t=4..5 ok@2",
	}, illegal, illegal, "below 3"},
	// The producer is unknown: a lost first batch lets the second take
	// the skip path at any offset.
	{"ambiguous-first-skip", []string{
		"pid=1 [0,1] t=0..1 err=7",
		"pid=1 [2,2] t=2..3 ok@0",
	}, ok, ok, ""},
	// Evictions: a producer forgotten may start afresh (skip path).
	{"eviction-between", []string{
		"pid=1 [0,0] t=0..1 ok@0",
		"evict pid=1 t=2",
		"pid=1 [0,0] t=3..4 ok@1",
	}, ok, ok, ""},
	{"no-eviction", []string{
		"pid=1 [0,0] t=0..1 ok@0",
		"pid=1 [0,0] t=3..4 ok@1",
	}, illegal, illegal, ""},
	{"eviction-before-all", []string{
		"evict pid=1 t=0",
		"pid=1 [0,0] t=1..2 ok@0",
		"pid=1 [0,0] t=3..4 ok@1",
	}, illegal, illegal, ""},
	{"eviction-during-concurrent", []string{
		"pid=1 [0,0] t=0..1 ok@0",
		"pid=1 [1,1] t=2..6 unknown",
		"pid=1 [5,5] t=3..7 ok@3",
		"evict pid=1 t=4",
	}, ok, ok, ""},
	{"eviction-after-return-must-follow", []string{
		"pid=1 [0,0] t=0..1 ok@0",
		"pid=1 [5,5] t=2..3 ok@1",
		"evict pid=1 t=4",
	}, illegal, illegal, ""},
	{"other-partition-independent", []string{
		"pid=1 [0,0] t=0..1 ok@0",
		"p=p1 pid=1 [0,0] t=2..3 ok@0",
	}, ok, ok, ""},
	{"open-call", []string{
		"pid=1 [0,0] t=0..1 ok@0",
		"pid=1 [1,1] t=2 open",
		"pid=1 [2,2] t=3..4 ok@2",
	}, ok, ok, ""},
	{"open-call-no-room", []string{
		"pid=1 [0,0] t=0..1 ok@0",
		"pid=1 [1,1] t=2 open",
		"pid=1 [2,2] t=3..4 ok@1",
	}, illegal, illegal, ""},
}

func TestCases(t *testing.T) {
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			h, err := refcheck.Sketch(c.lines...)
			if err != nil {
				t.Fatal(err)
			}
			for _, r := range []struct {
				rules spec.Rules
				want  refcheck.Verdict
			}{{spec.Redpanda, c.redpanda}, {spec.Kafka, c.kafka}} {
				got, err := refcheck.Check(h, r.rules)
				if err != nil {
					t.Fatalf("%s: %v", r.rules, err)
				}
				t.Logf("%s: %s %s", r.rules, got.Verdict, got.Reason)
				if got.Verdict != r.want {
					t.Errorf("%s: %s (%s), want %s", r.rules, got.Verdict, got.Reason, r.want)
				}
				if got.Verdict == refcheck.Ok && got.Reason != "" {
					t.Errorf("%s: Ok with a reason %q", r.rules, got.Reason)
				}
				if r.rules == spec.Redpanda && got.Verdict == refcheck.Illegal && !strings.Contains(got.Reason, c.reasonContains) {
					t.Errorf("%s: reason %q does not say %q", r.rules, got.Reason, c.reasonContains)
				}
			}
		})
	}
}

// TestLimits checks that histories beyond the enumeration's limits are
// refused, not judged.
func TestLimits(t *testing.T) {
	var lines []string
	for i := 0; i <= refcheck.MaxAmbiguous; i++ {
		lines = append(lines, fmt.Sprintf("pid=1 [%d,%d] t=%d..%d unknown", i, i, 2*i, 2*i+1))
	}
	if _, err := refcheck.Check(refcheck.MustSketch(lines...), spec.Redpanda); !errors.Is(err, refcheck.ErrUnsupported) {
		t.Errorf("%d ambiguous ops: err %v, want ErrUnsupported", len(lines), err)
	}
	lines = lines[:0]
	for i := 0; i <= refcheck.MaxOps; i++ {
		lines = append(lines, fmt.Sprintf("pid=1 [%d,%d] t=%d..%d ok@%d", i, i, 2*i, 2*i+1, i))
	}
	if _, err := refcheck.Check(refcheck.MustSketch(lines...), spec.Redpanda); !errors.Is(err, refcheck.ErrUnsupported) {
		t.Errorf("%d ops: err %v, want ErrUnsupported", len(lines), err)
	}
	if _, err := refcheck.Check(refcheck.MustSketch("pid=1 [0,0] t=0..1 ok@0"), "zookeeper"); !errors.Is(err, refcheck.ErrUnsupported) {
		t.Errorf("unknown rules: err %v, want ErrUnsupported", err)
	}
	// Just under the limits: judged.
	lines = []string{"pid=1 [0,0] t=0..1 ok@0"}
	for i := 1; i <= refcheck.MaxAmbiguous; i++ {
		lines = append(lines, fmt.Sprintf("pid=1 [%d,%d] t=%d..%d unknown", i, i, 2*i, 2*i+1))
	}
	n := refcheck.MaxAmbiguous + 1
	for off, want := range map[int]refcheck.Verdict{n - 1: refcheck.Illegal, n: refcheck.Ok} {
		h := refcheck.MustSketch(append(lines, fmt.Sprintf("pid=1 [%d,%d] t=100..101 ok@%d", n, n, off))...)
		res, err := refcheck.Check(h, spec.Redpanda)
		if err != nil || res.Verdict != want {
			t.Errorf("%d unknowns then an ack at %d: %v %v, want %s", n-1, off, res, err, want)
		}
	}
}

// TestBrokenClassify checks that Options.Classify replaces the rule.
func TestBrokenClassify(t *testing.T) {
	h := refcheck.MustSketch("pid=1 [0,0] t=0..1 ok@0", "pid=1 [2,2] t=2..3 ok@1")
	gapAsNext := func(v spec.ProducerView, b spec.Batch) (spec.Class, int, bool) {
		c, m, s := spec.Classify(v, b)
		if c == spec.ClassGap {
			c = spec.ClassNext
		}
		return c, m, s
	}
	res, err := refcheck.Options{Rules: spec.Redpanda, Classify: gapAsNext}.Check(h)
	if err != nil || res.Verdict != refcheck.Ok {
		t.Errorf("gap as next: %v %v, want Ok", res, err)
	}
}
