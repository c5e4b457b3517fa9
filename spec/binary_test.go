package spec

import (
	"errors"
	"math/rand/v2"
	"testing"

	"github.com/idemcheck/idemcheck/internal/testflag"
)

// TestUnmarshalBinaryRoundTrip checks that UnmarshalBinary inverts
// AppendBinary on random walks with every environment action on (the
// model checker stores its states encoded and expands the decoded
// ones): the decoded state has the same variables (but for the marks
// the encoding leaves out, stateMarks), re-encodes to the
// same bytes and enables the same actions, and a truncated or extended
// encoding is refused with ErrEncoding.
func TestUnmarshalBinaryRoundTrip(t *testing.T) {
	testflag.Run(t, walkSeeds, testUnmarshalBinaryRoundTrip)
}

func testUnmarshalBinaryRoundTrip(t *testing.T, seed int64) {
	rng := rand.New(rand.NewPCG(uint64(seed), 2))
	cfg := Config{Producers: 2, Batches: 3, StageFailure: true, UploadFailure: true, FenceFailure: true,
		ClientTimeout: true, MaxRetries: 2, MaxEvictions: 1, MaxEpochBumps: 1, MaxTermChanges: 1}
	var scratch State // reused, as the model checker does
	var acts []Action
	checked := 0
	for walk := 0; walk < 200; walk++ {
		s := Init(cfg)
		for {
			enc := s.AppendBinary(nil)
			if err := scratch.UnmarshalBinary(enc); err != nil {
				t.Fatalf("seed %d: decoding\n%s: %v", seed, s, err)
			}
			if got, want := scratch.String(), withoutPathMarks(s).String(); got != want {
				t.Fatalf("seed %d: decoded state\n%s\nwant\n%s", seed, got, want)
			}
			if again := scratch.AppendBinary(nil); string(again) != string(enc) {
				t.Fatalf("seed %d: re-encoding differs for\n%s", seed, s)
			}
			want := Enabled(cfg, s)
			acts = AppendEnabled(acts[:0], cfg, &scratch)
			if len(acts) != len(want) {
				t.Fatalf("seed %d: decoded state enables %v, want %v", seed, acts, want)
			}
			for i := range want {
				if acts[i] != want[i] {
					t.Fatalf("seed %d: decoded state enables %v, want %v", seed, acts, want)
				}
			}
			for _, bad := range [][]byte{enc[:len(enc)-1], append(enc[:len(enc):len(enc)], 0)} {
				var x State
				if err := x.UnmarshalBinary(bad); !errors.Is(err, ErrEncoding) {
					t.Fatalf("seed %d: UnmarshalBinary of a bad encoding (%d of %d bytes) = %v, want ErrEncoding", seed, len(bad), len(enc), err)
				}
			}
			checked++
			if len(want) == 0 {
				break
			}
			n, err := Step(cfg, s, want[rng.IntN(len(want))])
			if err != nil {
				t.Fatalf("seed %d: %v", seed, err)
			}
			s = n
		}
	}
	if checked < 1000 {
		t.Fatalf("seed %d: only %d states checked", seed, checked)
	}
}

// FuzzUnmarshalBinary checks that UnmarshalBinary never panics, and
// that whatever it accepts encodes to bytes that decode to the same
// state (the input itself need not be canonical: varints may be longer
// than needed).
func FuzzUnmarshalBinary(f *testing.F) {
	s := Init(Config{Producers: 2})
	_ = s.Apply(Config{}, Action{Name: Replicate, Op: 1, PID: 1})
	f.Add(s.AppendBinary(nil))
	f.Add([]byte{})
	f.Fuzz(func(t *testing.T, data []byte) {
		var x State
		if err := x.UnmarshalBinary(data); err != nil {
			return
		}
		enc := x.AppendBinary(nil)
		var y State
		if err := y.UnmarshalBinary(enc); err != nil {
			t.Fatalf("accepted %x, but not its encoding %x: %v", data, enc, err)
		}
		if again := y.AppendBinary(nil); string(again) != string(enc) {
			t.Fatalf("accepted %x: encoding %x decodes to a state encoded as %x", data, enc, again)
		}
	})
}

// withoutPathMarks returns a copy of s without the invariant marks that
// are not state variables (stateMarks).
func withoutPathMarks(s State) State {
	c := s.Clone()
	c.Viol &= stateMarks
	for i := range c.Ops {
		c.Ops[i].Flags &= stateMarks
	}
	return c
}
