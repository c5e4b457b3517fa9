package gen_test

import (
	"errors"
	"fmt"
	"testing"

	"github.com/idemcheck/idemcheck/checker"
	"github.com/idemcheck/idemcheck/checker/validate"
	"github.com/idemcheck/idemcheck/history"
	"github.com/idemcheck/idemcheck/internal/gen"
	"github.com/idemcheck/idemcheck/internal/testflag"
)

// violations is the black-box checker's violation of each bug's
// mutation: the one violation of the mutated history, on p0 and the
// episode's producer (the second one for LostAck's clash).
var violations = map[gen.Bug]string{
	gen.ReorderUnknown:     "DecideInCallOrder",
	gen.ReorderKnown:       "DecideInCallOrder",
	gen.DuplicateAppend:    "AckedInLog",
	gen.LostAck:            "AckedInLog",
	gen.NonmonotonicOffset: "ContiguousAppends",
	gen.GapAccept:          "ContiguousAppends",
}

// TestMutators: the generated history is Ok for the checker and allowed
// by the spec (checker/validate); each bug's Mutator turns it into a
// history the checker judges Illegal with the bug's violation, the one
// violation there, on the episode's producer; the validator rejects the
// mutated history inside the episode; the events after the episode are
// the correct history's, moved; and Generate with Options.Inject gives
// the same history as the Mutator over the correct one (testflag: -seed,
// -seeds, -seed.first; 4 seeds by default).
func TestMutators(t *testing.T) {
	testflag.Run(t, 4, func(t *testing.T, seed int64) {
		o := gen.Options{Seed: seed, Partitions: 2, Producers: 3, Batches: 30, UnknownRate: 0.2, Retries: 2, EpochBumps: 1}
		h, err := gen.History(o)
		if err != nil {
			t.Fatal(err)
		}
		if res := checker.Check(h, checker.Options{}); res.Verdict != checker.Ok {
			t.Fatalf("generated history: checker says\n%s", res.Summary())
		}
		if err := validate.History(h, validate.Options{}); err != nil {
			t.Fatalf("generated history: validate: %v", err)
		}
		pid := int64(o.Producers + 1)
		for _, bug := range gen.Bugs() {
			t.Run(string(bug), func(t *testing.T) {
				l := history.NewLog(o.Header())
				m, err := gen.NewMutator(bug, pid, l)
				if err != nil {
					t.Fatal(err)
				}
				for _, e := range h.Events {
					if err := m.Record(e); err != nil {
						t.Fatal(err)
					}
				}
				if err := m.Close(); err != nil {
					t.Fatal(err)
				}
				mh := l.History()
				res := checker.Check(mh, checker.Options{})
				if res.Verdict != checker.Illegal || len(res.Violations) != 1 {
					t.Fatalf("checker says\n%s\nwant Illegal with one violation", res.Summary())
				}
				want := pid
				if bug == gen.LostAck {
					want = pid + 1
				}
				if v := res.Violations[0]; v.Name != violations[bug] || v.Partition != "p0" || v.PID != want {
					t.Errorf("violation %s on %s/%d, want %s on p0/%d", v.Name, v.Partition, v.PID, violations[bug], want)
				}
				n := len(mh.Events) - len(h.Events) // the episode's events
				var ve *validate.Error
				if err := validate.History(mh, validate.Options{}); !errors.As(err, &ve) || ve.Line > n {
					t.Errorf("validate = %v, want an error in the episode's %d events", err, n)
				}
				if err := sameMoved(h, mh, n); err != nil {
					t.Error(err)
				}
				io := o
				io.Inject = bug
				ih, err := gen.History(io)
				if err != nil {
					t.Fatal(err)
				}
				if fmt.Sprint(ih.Events) != fmt.Sprint(mh.Events) {
					t.Error("Generate with Inject differs from the Mutator over the generated history")
				}
			})
		}
	})
}

// sameMoved checks that the events of mh after its first n (the
// episode's) are h's, moved by the episode: times by n, op ids by the
// episode's ops, and p0's offsets by one shift (whatever the episode
// left in p0's log).
func sameMoved(h, mh history.History, n int) error {
	var ops int64
	for _, e := range mh.Events[:n] {
		ops = max(ops, e.Op)
	}
	part := map[int64]string{}
	shift := int64(-1)
	for i, want := range h.Events {
		got := mh.Events[n+i]
		if want.Kind == history.Replicate {
			part[want.Op] = want.Partition
		}
		if got.Time != want.Time+int64(n) || (want.Op != 0 && got.Op != want.Op+ops) {
			return fmt.Errorf("event %d: %s, want %s moved by %d events and %d ops", i, got, want, n, ops)
		}
		if part[want.Op] == "p0" && want.Offset != got.Offset {
			if shift == -1 {
				shift = got.Offset - want.Offset
			}
			if got.Offset != want.Offset+shift {
				return fmt.Errorf("event %d: %s, want %s moved by %d offsets", i, got, want, shift)
			}
			continue
		}
		got.Time, got.Op, want.Time, want.Op = 0, 0, 0, 0
		if got != want {
			return fmt.Errorf("event %d: %s, want %s", i, got, want)
		}
	}
	return nil
}

func TestNewMutatorErrors(t *testing.T) {
	// No bug, an unknown one, or a producer id that is not positive are
	// refused with a gen: error.
	for _, tc := range []struct {
		bug gen.Bug
		pid int64
	}{{"", 1}, {"nope", 1}, {gen.GapAccept, 0}} {
		if _, err := gen.NewMutator(tc.bug, tc.pid, history.NewLog(history.Header{})); err == nil || err.Error()[:5] != "gen: " {
			t.Errorf("NewMutator(%q, %d) = %v, want a gen: error", tc.bug, tc.pid, err)
		}
	}
}

func ExampleMutator() {
	// The correct history of one producer, then the same through the
	// gap-accept Mutator, whose episode's producer is 2.
	o := gen.Options{Seed: 1, Batches: 2, InFlight: 1}
	h, _ := gen.History(o)
	l := history.NewLog(o.Header())
	m, _ := gen.NewMutator(gen.GapAccept, 2, l)
	for _, e := range h.Events {
		_ = m.Record(e)
	}
	_ = m.Close()
	for _, e := range l.History().Events {
		switch e.Kind {
		case history.Replicate:
			fmt.Printf("op %d: pid %d [%d,%d]", e.Op, e.PID, e.First, e.Last)
		case history.Return:
			fmt.Printf(" -> %s at offset %d\n", e.Result, e.Offset)
		}
	}
	fmt.Println(checker.Check(l.History(), checker.Options{}).Violations[0].Name)
	// Output:
	// op 1: pid 2 [0,0] -> ok at offset 0
	// op 2: pid 2 [2,2] -> ok at offset 1
	// op 3: pid 1 [0,0] -> ok at offset 2
	// op 4: pid 1 [1,1] -> ok at offset 3
	// ContiguousAppends
}
