package checker

import (
	"flag"
	"fmt"
	"math/rand"
	"os"
	"runtime"
	"testing"
	"time"

	"github.com/anishathalye/porcupine"
	"github.com/idemcheck/idemcheck/history"
	"github.com/idemcheck/idemcheck/internal/testflag"
)

// The plain search is porcupine alone: one search over all operations
// with the same model, no call-order replay and no split into
// producers. It is no mode of the checker; it lives here to show what
// the replay and the split save, in TestPlainSearchAgrees and in the
// plain-porcupine row of BENCHMARKS.md, which internal/cmd/benchtable
// measures by running this package's test binary with -plain.history
// (TestPlainSearchFile).

var (
	plainHistory = flag.String("plain.history", "", "TestPlainSearchFile: check this history file with the plain search and print the verdict and the seconds it took (internal/cmd/benchtable)")
	plainTimeout = flag.Duration("plain.timeout", 0, "TestPlainSearchFile: time limit of the plain search (0: none)")
)

// plainMemLimit is the heap at which TestPlainSearchFile gives up.
const plainMemLimit = 4 << 30

// plainState is the state of every part at once, for the plain search.
// It is immutable; a step copies it.
type plainState struct {
	parts []state
}

// checkPlain checks h with porcupine alone, bounded by timeout. h must
// be valid.
func checkPlain(h history.History, opts Options, timeout time.Duration) Result {
	parts, breaches := split(h, opts)
	m := newModel(opts, true)
	var pops []porcupine.Operation
	init := plainState{parts: make([]state, len(parts))}
	for i, p := range parts {
		init.parts[i] = initState(int32(i))
		for j := range p.recs {
			p.recs[j].part = int32(i)
		}
		pops = append(pops, porcupineOps(p, p.recs, nil)...)
	}
	nm := porcupine.NondeterministicModel{
		Init: func() []any { return []any{init} },
		Step: func(st, in, _ any) []any {
			s := st.(plainState)
			r := in.(*opRec)
			br, _ := m.step(s.parts[r.part], r, nil, false)
			if len(br) == 0 {
				return nil
			}
			out := make([]any, len(br))
			for k := range br {
				n := plainState{parts: append([]state(nil), s.parts...)}
				n.parts[r.part] = br[k].s
				out[k] = n
			}
			return out
		},
		Equal: func(a, b any) bool {
			x, y := a.(plainState), b.(plainState)
			for k := range x.parts {
				if x.parts[k] != y.parts[k] {
					return false
				}
			}
			return true
		},
		Hash: func(a any) uint64 {
			var h uint64
			for k, s := range a.(plainState).parts {
				h = h*31 + s.hash() + uint64(k)
			}
			return h
		},
	}
	r := porcupine.CheckOperationsTimeout(nm.ToModel(), pops, timeout)
	res := Result{Verdict: Verdict(r), Parts: make([]PartResult, len(parts))}
	for i, p := range parts {
		res.Parts[i] = PartResult{Partition: p.key.partition, PID: p.key.pid, Ops: len(p.recs), Verdict: Verdict(r)}
	}
	// The partition-level check across producers is not a search.
	if res.Violations = breaches; len(res.Violations) > 0 {
		res.Verdict = Illegal
	}
	return res
}

// TestPlainSearchAgrees: the plain search gives the verdict of the
// replay on small generated histories, valid and buggy.
func TestPlainSearchAgrees(t *testing.T) {
	testflag.Run(t, 1, func(t *testing.T, seed int64) {
		r := rand.New(rand.NewSource(seed))
		for i := 0; i < 200; i++ {
			h, what := randomHistory(r, i)
			want := Check(h, Options{})
			got := checkPlain(h, Options{}, 0)
			if got.Verdict != want.Verdict {
				t.Fatalf("history %d (%s): plain search %s, replay %s", i, what, got.Verdict, want.Verdict)
			}
		}
	})
}

// TestPlainSearchFile is the plain-porcupine row of BENCHMARKS.md: with
// -plain.history H it loads H, checks it with the plain search alone
// (bounded by -plain.timeout) and prints the verdict and the seconds the
// search took, or "OutOfMemory" and the seconds when the heap passes
// 4 GiB (exit status 3), rather than take the shared machine's memory.
// Without the flag it is skipped.
func TestPlainSearchFile(t *testing.T) {
	if *plainHistory == "" {
		t.Skip("set -plain.history FILE to run")
	}
	h, err := history.ReadFile(*plainHistory)
	if err != nil {
		t.Fatal(err)
	}
	if err := validate(h); err != nil {
		t.Fatal(err)
	}
	start := time.Now()
	go func() {
		var ms runtime.MemStats
		for range time.Tick(100 * time.Millisecond) {
			runtime.ReadMemStats(&ms)
			if ms.HeapAlloc > plainMemLimit {
				fmt.Println("OutOfMemory", time.Since(start).Seconds())
				os.Exit(3)
			}
		}
	}()
	res := checkPlain(h, Options{}, *plainTimeout)
	fmt.Println(res.Verdict, time.Since(start).Seconds())
}
