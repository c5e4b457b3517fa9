package checker

import (
	"bytes"
	"flag"
	"io"
	"math/rand"
	"runtime"
	"testing"
	"time"

	"github.com/idemcheck/idemcheck/history"
	"github.com/idemcheck/idemcheck/internal/gen"
	"github.com/idemcheck/idemcheck/internal/testflag"
)

var bigFlag = flag.Int("big", 0, "run TestBig on histories of this many operations (e.g. 1000000)")

// TestBig measures Check on large histories of a correct broker (with
// evictions), with many short parts and with a few long ones. It runs
// only with -big=N; BENCHMARKS.md has the measured figures
// (go run ./internal/cmd/benchtable).
func TestBig(t *testing.T) {
	if *bigFlag == 0 {
		t.Skip("set -big=N to run")
	}
	seed := testflag.Seeds(1)[0]
	for _, producers := range []int{*bigFlag / 1000, 10} {
		r := rand.New(rand.NewSource(seed))
		s := &simBroker{r: r, b: &hb{}}
		start := time.Now()
		h := s.run(*bigFlag, producers, 0)
		gen := time.Since(start)
		var ms runtime.MemStats
		runtime.GC()
		runtime.ReadMemStats(&ms)
		before := ms.TotalAlloc
		start = time.Now()
		res := Check(h, Options{})
		took := time.Since(start)
		runtime.ReadMemStats(&ms)
		if res.Verdict != Ok {
			t.Fatalf("seed %d: %d producers: got %s: %v", seed, producers, res.Verdict, res.Violations)
		}
		t.Logf("%d ops (%d events), %d parts: generated in %v, checked in %v, %d MB allocated",
			len(Operations(h)), len(h.Events), len(res.Parts), gen, took, (ms.TotalAlloc-before)>>20)
	}
}

func BenchmarkCheck(b *testing.B) {
	for _, tc := range []struct {
		name      string
		producers int
	}{{"10k ops 10 parts", 10}, {"10k ops 100 parts", 100}} {
		s := &simBroker{r: rand.New(rand.NewSource(1)), b: &hb{}}
		h := s.run(10000, tc.producers, 0)
		b.Run(tc.name, func(b *testing.B) {
			for i := 0; i < b.N; i++ {
				if res := Check(h, Options{}); res.Verdict != Ok {
					b.Fatalf("got %s", res.Verdict)
				}
			}
		})
	}
}

// genJSONL is a gen history of ops operations (100 producers, 2% unknown
// outcomes) as JSON Lines.
func genJSONL(b *testing.B, ops int) []byte {
	b.Helper()
	var buf bytes.Buffer
	o := gen.Options{Seed: 1, Producers: 100, Batches: ops / 100, UnknownRate: 0.02, Retries: 1}
	w, err := history.NewJSONLWriter(&buf, o.Header())
	if err != nil {
		b.Fatal(err)
	}
	if _, err := gen.Generate(o, w); err != nil {
		b.Fatal(err)
	}
	if err := w.Flush(); err != nil {
		b.Fatal(err)
	}
	return buf.Bytes()
}

// BenchmarkDecodeVsCheckReader decodes a 100k-operation JSONL history and
// checks it streamed, reporting events/s of each: the check's goal is to
// run at about the speed of decoding (BENCHMARKS.md, row 1).
func BenchmarkDecodeVsCheckReader(b *testing.B) {
	data := genJSONL(b, 100000)
	b.Run("decode", func(b *testing.B) {
		b.SetBytes(int64(len(data)))
		events := 0
		for b.Loop() {
			rd, err := history.NewReader(bytes.NewReader(data), "h.jsonl")
			if err != nil {
				b.Fatal(err)
			}
			events = 0
			for {
				if _, err := rd.Next(); err == io.EOF {
					break
				} else if err != nil {
					b.Fatal(err)
				}
				events++
			}
		}
		b.ReportMetric(float64(events)*float64(b.N)/b.Elapsed().Seconds(), "events/s")
	})
	b.Run("CheckReader", func(b *testing.B) {
		b.SetBytes(int64(len(data)))
		for b.Loop() {
			rd, err := history.NewReader(bytes.NewReader(data), "h.jsonl")
			if err != nil {
				b.Fatal(err)
			}
			if res := CheckReader(rd, Options{}); res.Err != nil || res.Verdict != Ok {
				b.Fatalf("got %s, %v", res.Verdict, res.Err)
			}
		}
	})
}
