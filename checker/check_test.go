package checker

import (
	"errors"
	"math"
	"math/rand"
	"path/filepath"
	"testing"
	"time"

	"github.com/idemcheck/idemcheck/history"
	"github.com/idemcheck/idemcheck/internal/testflag"
	"github.com/stretchr/testify/require"
)

const maxSeq = math.MaxInt32

func TestCheck(t *testing.T) {
	tests := []struct {
		name      string
		b         *hb
		want      Verdict
		violation string // expected violation name when Illegal
	}{
		{
			// DecideInCallOrder: the seed's buggy outputs need op 2 decided
			// before op 1.
			name: "seed bad: unknown producer reorder", b: seedBad(),
			want: Illegal, violation: DecideInCallOrder,
		},
		{name: "seed fixed", b: seedFixed(), want: Ok},
		{
			// DecideInCallOrder with a known producer: op 3 overtook op 2,
			// got a retriable OOOSN and its retry succeeded.
			name: "known producer reorder, spurious retriable OOOSN",
			b: (&hb{}).call(req{op: 1, first: 0, last: 0}).ok(1, 0).
				call(req{op: 2, first: 1, last: 1}).call(req{op: 3, first: 2, last: 2}).
				fail(3, history.OutOfOrderSequenceNumber).ok(2, 1).
				call(req{op: 4, first: 2, last: 2}).ok(4, 2),
			want: Illegal, violation: DecideInCallOrder,
		},
		{
			// NoSpuriousOutOfOrder: sequential calls, the next batch rejected.
			name: "next in sequence rejected",
			b: (&hb{}).call(req{op: 1, first: 0, last: 0}).ok(1, 0).
				call(req{op: 2, first: 1, last: 1}).fail(2, history.OutOfOrderSequenceNumber),
			want: Illegal, violation: NoSpuriousOutOfOrder,
		},
		{
			// A duplicate returns the original offset.
			name: "retry of unknown outcome returns original offset",
			b: (&hb{}).call(req{op: 1, first: 0, last: 0}).ok(1, 0).
				call(req{op: 2, first: 1, last: 1}).unknown(2).
				call(req{op: 3, first: 1, last: 1}).ok(3, 1),
			want: Ok,
		},
		{
			name: "unknown outcome never returned, retry appended",
			b: (&hb{}).call(req{op: 1, first: 0, last: 0}).
				call(req{op: 2, first: 0, last: 0}).ok(2, 4).
				call(req{op: 3, first: 1, last: 1}).ok(3, 5),
			want: Ok,
		},
		{
			// AckedInLog: a duplicate must return the original offset.
			name: "duplicate returns a different offset",
			b: (&hb{}).call(req{op: 1, first: 0, last: 0}).ok(1, 0).
				call(req{op: 2, first: 0, last: 0}).ok(2, 5),
			want: Illegal, violation: AckedInLog,
		},
		{
			// ContiguousAppends: offsets increase.
			name: "non-monotonic offsets",
			b: (&hb{}).call(req{op: 1, first: 0, last: 0}).ok(1, 10).
				call(req{op: 2, first: 1, last: 1}).ok(2, 5),
			want: Illegal, violation: ContiguousAppends,
		},
		{
			// ContiguousAppends: a gap is never accepted for a known producer.
			name: "gap accepted for known producer",
			b: (&hb{}).call(req{op: 1, first: 0, last: 0}).ok(1, 0).
				call(req{op: 2, first: 2, last: 2}).ok(2, 1),
			want: Illegal, violation: ContiguousAppends,
		},
		{
			// NoDuplicateAppend: a batch that fell out of the window acked
			// again at a new offset.
			name: "batch appended twice",
			b: func() *hb {
				b := (&hb{})
				for i := int32(0); i < 7; i++ {
					b.call(req{op: int64(i + 1), first: i, last: i}).ok(int64(i+1), int64(i))
				}
				return b.call(req{op: 8, first: 0, last: 0}).ok(8, 7)
			}(),
			want: Illegal, violation: NoDuplicateAppend,
		},
		{
			name: "sequence wraps at INT32_MAX",
			b: (&hb{}).call(req{op: 1, first: maxSeq - 3, last: maxSeq - 1}).ok(1, 0).
				call(req{op: 2, first: maxSeq, last: maxSeq}).ok(2, 3).
				call(req{op: 3, first: 0, last: 4}).ok(3, 4),
			want: Ok,
		},
		{
			// NoSpuriousOutOfOrder: 0 is next after INT32_MAX.
			name: "OOOSN for 0 after INT32_MAX",
			b: (&hb{}).call(req{op: 1, first: maxSeq, last: maxSeq}).ok(1, 0).
				call(req{op: 2, first: 0, last: 0}).fail(2, history.OutOfOrderSequenceNumber),
			want: Illegal, violation: NoSpuriousOutOfOrder,
		},
		{
			name: "epoch bump restarts sequences at 0",
			b: (&hb{}).call(req{op: 1, first: 0, last: 0}).ok(1, 0).call(req{op: 2, first: 1, last: 1}).ok(2, 1).
				call(req{op: 3, epoch: 1, first: 0, last: 0}).ok(3, 2).call(req{op: 4, epoch: 1, first: 1, last: 1}).ok(4, 3),
			want: Ok,
		},
		{
			// ContiguousAppends: a new epoch must start at 0.
			name: "epoch bump not at 0",
			b: (&hb{}).call(req{op: 1, first: 0, last: 0}).ok(1, 0).
				call(req{op: 2, epoch: 1, first: 2, last: 2}).ok(2, 1),
			want: Illegal, violation: ContiguousAppends,
		},
		{
			// A timed-out request that took effect: its retry gets the
			// offset between its neighbours.
			name: "timed-out request took effect",
			b: (&hb{}).call(req{op: 1, first: 0, last: 0}).ok(1, 0).
				call(req{op: 2, first: 1, last: 1}).fail(2, history.RequestTimedOut).
				call(req{op: 3, first: 2, last: 2}).ok(3, 2).
				call(req{op: 4, first: 1, last: 1}).ok(4, 1),
			want: Ok,
		},
		{
			// ContiguousAppends: the retry's offset cannot come after the
			// next batch's offset.
			name: "timed-out request took effect at an impossible offset",
			b: (&hb{}).call(req{op: 1, first: 0, last: 0}).ok(1, 0).
				call(req{op: 2, first: 1, last: 1}).fail(2, history.RequestTimedOut).
				call(req{op: 3, first: 2, last: 2}).ok(3, 2).
				call(req{op: 4, first: 1, last: 1}).ok(4, 3),
			want: Illegal, violation: ContiguousAppends,
		},
		{
			// AckedInLog across producers.
			name: "two producers acked at the same offset",
			b: (&hb{}).call(req{op: 1, first: 0, last: 0}).ok(1, 0).
				call(req{op: 2, pid: 2, first: 0, last: 0}).ok(2, 0),
			want: Illegal, violation: AckedInLog,
		},
		{
			name: "two producers on two partitions share offsets",
			b: (&hb{}).call(req{op: 1, first: 0, last: 0}).ok(1, 0).
				call(req{op: 2, part: "p1", pid: 2, first: 0, last: 0}).ok(2, 0),
			want: Ok,
		},
		{
			name: "recorded eviction allows the unknown-producer path",
			b: (&hb{}).call(req{op: 1, first: 0, last: 0}).ok(1, 0).evict("p0", 1).
				call(req{op: 2, first: 5, last: 5}).ok(2, 1),
			want: Ok,
		},
		{
			name: "unrecorded eviction: gap accepted",
			b: (&hb{}).call(req{op: 1, first: 0, last: 0}).ok(1, 0).
				call(req{op: 2, first: 5, last: 5}).ok(2, 1),
			want: Illegal, violation: ContiguousAppends,
		},
		{
			// ContiguousAppends: the eviction came after the batch returned,
			// so it cannot explain the unknown-producer path.
			name: "eviction recorded too late",
			b: (&hb{}).call(req{op: 1, first: 0, last: 0}).ok(1, 0).
				call(req{op: 2, first: 5, last: 5}).ok(2, 1).evict("p0", 1),
			want: Illegal, violation: ContiguousAppends,
		},
		{
			name: "eviction while the batch is in flight",
			b: (&hb{}).call(req{op: 1, first: 0, last: 0}).ok(1, 0).
				call(req{op: 2, first: 5, last: 5}).evict("p0", 1).ok(2, 1),
			want: Ok,
		},
		{
			name: "lower epoch rejected with INVALID_PRODUCER_EPOCH",
			b: (&hb{}).call(req{op: 1, epoch: 1, first: 0, last: 0}).ok(1, 0).
				call(req{op: 2, first: 1, last: 1}).fail(2, history.InvalidProducerEpoch),
			want: Ok,
		},
		{
			// ContiguousAppends: a batch of an old epoch appended after a
			// newer epoch began.
			name: "lower epoch appended",
			b: (&hb{}).call(req{op: 1, epoch: 1, first: 0, last: 0}).ok(1, 0).
				call(req{op: 2, first: 1, last: 1}).ok(2, 1),
			want: Illegal, violation: ContiguousAppends,
		},
		{
			// NoSpuriousOutOfOrder: INVALID_REQUEST only for first > last.
			name: "INVALID_REQUEST for a valid batch",
			b:    (&hb{}).call(req{op: 1, first: 0, last: 0}).fail(1, history.InvalidRequestCode),
			want: Illegal, violation: NoSpuriousOutOfOrder,
		},
		{
			name: "POLICY_VIOLATION at first contact, then accepted",
			b: (&hb{}).call(req{op: 1, first: 0, last: 0}).fail(1, history.PolicyViolation).
				call(req{op: 2, first: 0, last: 0}).ok(2, 0),
			want: Ok,
		},
		{
			name: "NOT_LEADER is ambiguous: lost",
			b: (&hb{}).call(req{op: 1, first: 0, last: 0}).ok(1, 0).
				call(req{op: 2, first: 1, last: 1}).fail(2, history.NotLeaderForPartition).
				call(req{op: 3, first: 2, last: 2}).fail(3, history.OutOfOrderSequenceNumber).
				call(req{op: 4, first: 1, last: 1}).ok(4, 1),
			want: Ok,
		},
		{
			// NoSpuriousOutOfOrder: a retry within the window of 5 must get
			// its original offset.
			name: "retry in window rejected",
			b: (&hb{}).call(req{op: 1, first: 0, last: 0}).ok(1, 0).
				call(req{op: 2, first: 1, last: 1}).ok(2, 1).
				call(req{op: 3, first: 0, last: 0}).fail(3, history.OutOfOrderSequenceNumber),
			want: Illegal, violation: NoSpuriousOutOfOrder,
		},
		{
			name: "retry out of window rejected",
			b: func() *hb {
				b := (&hb{})
				for i := int32(0); i < 6; i++ {
					b.call(req{op: int64(i + 1), first: i, last: i}).ok(int64(i+1), int64(i))
				}
				return b.call(req{op: 7, first: 0, last: 0}).fail(7, history.OutOfOrderSequenceNumber)
			}(),
			want: Ok,
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			res := Check(tc.b.h(), Options{})
			require.NoError(t, res.Err)
			require.Equal(t, tc.want, res.Verdict, "%s%v", res.Summary(), res.Violations)
			if tc.want != Illegal {
				require.Empty(t, res.Violations)
				return
			}
			require.NotEmpty(t, res.Violations, "Illegal without a violation")
			require.Equal(t, tc.violation, res.Violations[0].Name)
			golden(t, filepath.Join("violations", goldenName(tc.name)), formatViolations(res.Violations))
		})
	}
}

// TestViolationError: a Violation is an error whose text is one
// paragraph (testdata/violations/seed-error.txt).
func TestViolationError(t *testing.T) {
	res := Check(seedBad().h(), Options{})
	require.Len(t, res.Violations, 1)
	var err error = res.Violations[0]
	var target *Violation
	require.ErrorAs(t, err, &target)
	golden(t, filepath.Join("violations", "seed-error.txt"), err.Error()+"\n")
}

// TestNoCallOrder shows that the call-order obligation does the work:
// plain linearizability accepts the seed's buggy history.
func TestNoCallOrder(t *testing.T) {
	for _, tc := range []struct {
		name        string
		noCallOrder bool
		want        Verdict
	}{
		{"with call order", false, Illegal},
		{"without call order", true, Ok},
	} {
		t.Run(tc.name, func(t *testing.T) {
			res := Check(seedBad().h(), Options{NoCallOrder: tc.noCallOrder})
			if res.Verdict != tc.want {
				t.Errorf("got %s, want %s\n%s", res.Verdict, tc.want, res.Summary())
			}
		})
	}
}

// hardHistory has a known producer, n concurrent calls that never return
// and then a batch acked far beyond any sequence they could reach: no
// behaviour explains it, and without the call-order obligation proving
// that means trying every order of the n calls.
func hardHistory(n int) history.History {
	b := (&hb{}).call(req{op: 1, first: 0, last: 0}).ok(1, 0)
	for i := 0; i < n; i++ {
		b.call(req{op: int64(i + 2), first: int32(i + 1), last: int32(i + 1)})
	}
	op := int64(n + 2)
	return b.call(req{op: op, first: 1000, last: 1000}).ok(op, 999).h()
}

func TestUnknownOnTimeout(t *testing.T) {
	h := hardHistory(40)
	start := time.Now()
	res := Check(h, Options{NoCallOrder: true, Timeout: 50 * time.Millisecond})
	if res.Verdict != Unknown || res.Parts[0].Verdict != Unknown {
		t.Fatalf("order-free check with a 50ms timeout: got %s, want Unknown", res.Verdict)
	}
	if d := time.Since(start); d > 5*time.Second {
		t.Errorf("timeout not honoured: took %v", d)
	}
	// With the obligation the order is fixed and the verdict is quick.
	res = Check(h, Options{Timeout: 500 * time.Millisecond})
	if res.Verdict != Illegal {
		t.Fatalf("call-order check: got %s, want Illegal", res.Verdict)
	}
}

func TestInputErrors(t *testing.T) {
	for _, tc := range []struct {
		name string
		h    history.History
		want error
	}{
		{"empty", history.History{}, ErrNoOperations},
		{"only environment events", (&hb{}).evict("p0", 1).h(), ErrNoOperations},
		{"return without call", (&hb{}).ok(1, 0).h(), ErrInvalidHistory},
	} {
		t.Run(tc.name, func(t *testing.T) {
			res := Check(tc.h, Options{})
			if res.Verdict != Unknown || !errors.Is(res.Err, tc.want) {
				t.Errorf("got %s, %v; want Unknown, %v", res.Verdict, res.Err, tc.want)
			}
		})
	}
}

// TestWorkersDeterministic: the result does not depend on the number of
// workers.
func TestWorkersDeterministic(t *testing.T) {
	testflag.Run(t, 1, func(t *testing.T, seed int64) {
		h := paddedSeed(rand.New(rand.NewSource(seed)), 80)
		one := Check(h, Options{Workers: 1})
		many := Check(h, Options{Workers: 8})
		if one.Summary() != many.Summary() || len(one.Violations) != len(many.Violations) ||
			one.Violations[0].Error() != many.Violations[0].Error() {
			t.Errorf("seed %d: 1 worker:\n%s\n8 workers:\n%s", seed, one.Summary(), many.Summary())
		}
	})
}

// TestFileRoundTrip: a history judged after a JSONL and a YAML round trip
// gets the same verdict and violation.
func TestFileRoundTrip(t *testing.T) {
	want := Check(seedBad().h(), Options{})
	for _, name := range []string{"seed.jsonl", "seed.yaml"} {
		path := filepath.Join(t.TempDir(), name)
		if err := history.WriteFile(path, seedBad().h()); err != nil {
			t.Fatal(err)
		}
		h, err := history.ReadFile(path)
		if err != nil {
			t.Fatal(err)
		}
		got := Check(h, Options{})
		if got.Verdict != want.Verdict || got.Violations[0].Error() != want.Violations[0].Error() {
			t.Errorf("%s: got %s %v, want %s %v", name, got.Verdict, got.Violations, want.Verdict, want.Violations)
		}
	}
}
