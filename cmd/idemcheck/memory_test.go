package main

import (
	"bytes"
	"flag"
	"io"
	"runtime"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/idemcheck/idemcheck/history"
	"github.com/idemcheck/idemcheck/internal/gen"
)

var bigOps = flag.Int("bigops", 0, "run TestCheckMemory with this many operations per producer and partition (e.g. 20000; 16 producers x 8 partitions)")

// peakHeap runs f while sampling the live heap and returns the largest
// sample.
func peakHeap(f func()) uint64 {
	var peak uint64
	var mu sync.Mutex
	done := make(chan struct{})
	var wg sync.WaitGroup
	wg.Add(1)
	go func() {
		defer wg.Done()
		t := time.NewTicker(50 * time.Millisecond)
		defer t.Stop()
		for {
			var ms runtime.MemStats
			runtime.ReadMemStats(&ms)
			mu.Lock()
			peak = max(peak, ms.HeapInuse)
			mu.Unlock()
			select {
			case <-done:
				return
			case <-t.C:
			}
		}
	}()
	f()
	close(done)
	wg.Wait()
	return peak
}

// TestCheckMemory pipes a generated history through "check -" at two
// sizes, four times apart (gigabytes of JSONL at -bigops 8000), and
// reports the peak live heap of "check --bounded=false -" (full) and of
// "check -" (bounded, the default). Neither holds the input; the full
// check keeps a compact record per operation, so its heap grows with the
// input, while the bounded one's must stay flat: it keeps the open
// operations and a fixed amount per producer. Behind -bigops because it
// generates gigabytes.
func TestCheckMemory(t *testing.T) {
	if *bigOps == 0 {
		t.Skip("run with -bigops N")
	}
	peaks := map[string][]uint64{}
	var sizes []int64
	for _, batches := range []int{*bigOps, 4 * *bigOps} {
		for _, mode := range []string{"full", "bounded"} {
			args := []string{"check", "--no-shrink", "--bounded=false", "-"}
			if mode == "bounded" {
				args = []string{"check", "--no-shrink", "-"}
			}
			peak, written, stdout := checkGenerated(t, batches, args)
			first := strings.SplitN(stdout, "\n", 2)[0]
			t.Logf("%s %s: %d bytes of JSONL, peak heap in use %d MiB (%.1f bytes per input byte)", mode, first, written, peak>>20, float64(peak)/float64(written))
			peaks[mode] = append(peaks[mode], peak)
			if mode == "bounded" {
				sizes = append(sizes, written)
			}
			// The check must not hold the input: the events alone would
			// take more than the JSONL bytes.
			if peak > uint64(written)/2 {
				t.Errorf("%s: peak heap %d bytes for %d bytes of input: the check holds the input", mode, peak, written)
			}
		}
	}
	for _, mode := range []string{"full", "bounded"} {
		t.Logf("%s: input x%.1f, peak heap x%.2f", mode, float64(sizes[1])/float64(sizes[0]), float64(peaks[mode][1])/float64(peaks[mode][0]))
	}
	if g := float64(peaks["bounded"][1]) / float64(peaks["bounded"][0]); g > 1.5 {
		t.Errorf("bounded check: peak heap x%.2f for an input four times larger; it must stay flat", g)
	}
}

// checkGenerated runs the CLI with args on a generated history of the
// given batches per producer and partition (16 producers, 8 partitions)
// piped to its stdin, and returns the peak live heap, the input's size
// and stdout. It fails the test unless the verdict is Ok.
func checkGenerated(t *testing.T, batches int, args []string) (peak uint64, written int64, stdout string) {
	pr, pw := io.Pipe()
	go func() {
		cw := &countWriter{w: pw}
		w, err := history.NewJSONLWriter(cw, history.Header{})
		if err == nil {
			_, err = gen.Generate(gen.Options{Seed: 1, Partitions: 8, Producers: 16, Batches: batches, UnknownRate: 0.02, Retries: 1}, w)
		}
		if err == nil {
			err = w.Flush()
		}
		written = cw.n
		pw.CloseWithError(err)
	}()
	runtime.GC()
	var code int
	var stderr string
	peak = peakHeap(func() {
		var out, errb bytes.Buffer
		env := &cmdEnv{stdin: pr, stdout: &out, stderr: &errb}
		code = run(t.Context(), env, args)
		stdout, stderr = out.String(), errb.String()
	})
	if code != exitOK {
		t.Fatalf("exit %d\n%s\n%s", code, stdout, stderr)
	}
	return peak, written, stdout
}

type countWriter struct {
	w io.Writer
	n int64
}

func (c *countWriter) Write(p []byte) (int, error) {
	n, err := c.w.Write(p)
	c.n += int64(n)
	return n, err
}
