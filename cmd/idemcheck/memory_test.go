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

// TestCheckMemory pipes a generated history through "check -" and
// reports the peak live heap for two sizes, to show how memory grows
// with the input: the check streams (checker.CheckReader), so the heap
// stays well below the input's size; it still grows with the number of
// operations, by the checker's compact record per operation. Behind
// -bigops because it generates gigabytes.
func TestCheckMemory(t *testing.T) {
	if *bigOps == 0 {
		t.Skip("run with -bigops N")
	}
	var peaks []uint64
	var sizes []int64
	for _, batches := range []int{*bigOps, 4 * *bigOps} {
		pr, pw := io.Pipe()
		var written int64
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
		var stdout, stderr string
		peak := peakHeap(func() {
			var out, errb bytes.Buffer
			env := &cmdEnv{stdin: pr, stdout: &out, stderr: &errb}
			code = run(t.Context(), env, []string{"check", "--no-shrink", "-"})
			stdout, stderr = out.String(), errb.String()
		})
		if code != exitOK {
			t.Fatalf("exit %d\n%s\n%s", code, stdout, stderr)
		}
		first := strings.SplitN(stdout, "\n", 2)[0]
		t.Logf("%s: %d bytes of JSONL, peak heap in use %d MiB (%.1f bytes per input byte)", first, written, peak>>20, float64(peak)/float64(written))
		peaks = append(peaks, peak)
		sizes = append(sizes, written)
	}
	growth := float64(peaks[1]) / float64(peaks[0])
	t.Logf("input x%.1f, peak heap x%.2f", float64(sizes[1])/float64(sizes[0]), growth)
	for i := range peaks {
		// The check must not hold the input: the events alone would
		// take more than the JSONL bytes.
		if peaks[i] > uint64(sizes[i])/2 {
			t.Errorf("peak heap %d bytes for %d bytes of input: the check holds the input", peaks[i], sizes[i])
		}
	}
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
