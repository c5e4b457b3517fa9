package checker

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"math/rand"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	"github.com/idemcheck/idemcheck/history"
	"github.com/idemcheck/idemcheck/internal/testflag"
	"github.com/stretchr/testify/require"
)

// TestVisualizeSeed checks that the picture of the seed holds its
// operations and its internal events as annotations, and writes it to a
// temp file for people to look at.
func TestVisualizeSeed(t *testing.T) {
	h := seedBad().h()
	res := Check(h, Options{})
	var buf bytes.Buffer
	if err := Visualize(&buf, h, res, VisualizeOptions{}); err != nil {
		t.Fatalf("Visualize: %v", err)
	}
	html := buf.String()
	for _, want := range []string{
		"op 1 e0 [0,0] → OUT_OF_ORDER_SEQUENCE_NUMBER", // operations
		"op 2 e0 [1,1] → ok at offset 0",
		"Decide op 2 append_unknown", // annotations
		"ReserveTicket op 1",
		"steps p0 pid 1",
		"violation p0 pid 1", // the violation, as an annotation
		"in call order op 1 was next in sequence",
	} {
		if !strings.Contains(html, want) {
			t.Errorf("picture lacks %q", want)
		}
	}
	path := filepath.Join(t.TempDir(), "seed.html")
	if err := os.WriteFile(path, buf.Bytes(), 0o644); err != nil {
		t.Fatal(err)
	}
	t.Logf("picture: %s (%d bytes)", path, buf.Len())
}

// largeFailingHistory is a long ok run of producer 1 with a spurious
// OOOSN in the middle and three other producers. With n = 20000 each
// part has 5000 operations, more than porcupineMaxOps, so it also covers
// the linear replay path of Check.
func largeFailingHistory(n int) history.History {
	b := &hb{}
	off := int64(0)
	op := int64(0)
	for i := 0; i < n; i++ {
		op++
		pid := int64(1 + i%4)
		seq := int32(i / 4)
		b.call(req{op: op, pid: pid, first: seq, last: seq}).step(history.ReserveTicket, op).step(history.StageWriteStart, op)
		if pid == 1 && i == n/2 {
			b.fail(op, history.OutOfOrderSequenceNumber)
			continue
		}
		b.ok(op, off)
		off++
	}
	return b.h()
}

func TestVisualizeSizeLimit(t *testing.T) {
	h := largeFailingHistory(20000)
	res := Check(h, Options{})
	if res.Verdict != Illegal {
		t.Fatalf("got %s, want Illegal", res.Verdict)
	}
	// A full picture of more than MaxFullOps operations is refused.
	if err := Visualize(io.Discard, h, res, VisualizeOptions{Full: true}); !errors.Is(err, ErrTooLarge) {
		t.Fatalf("Visualize full of %d operations: %v, want ErrTooLarge", len(Operations(h)), err)
	}
	small := largeFailingHistory(4000)
	var full bytes.Buffer
	if err := Visualize(&full, small, Check(small, Options{}), VisualizeOptions{Full: true}); err != nil {
		t.Fatalf("Visualize full: %v", err)
	}
	if full.Len() <= 1<<20 {
		t.Fatalf("full picture is %d bytes; the test needs one above 1 MiB", full.Len())
	}
	for _, tc := range []struct {
		name string
		max  int
	}{
		{"default 1 MiB", 0},
		{"64 KiB", 64 << 10},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var buf bytes.Buffer
			if err := Visualize(&buf, h, res, VisualizeOptions{MaxBytes: tc.max}); err != nil {
				t.Fatalf("Visualize: %v", err)
			}
			limit := tc.max
			if limit == 0 {
				limit = 1 << 20
			}
			t.Logf("picture %d bytes (full %d)", buf.Len(), full.Len())
			if buf.Len() > limit {
				t.Errorf("picture is %d bytes, want <= %d", buf.Len(), limit)
			}
			failing := res.Violations[0].Ops[0]
			if want := "op " + strconv.FormatInt(failing.Op, 10) + " e0"; !strings.Contains(buf.String(), want) {
				t.Errorf("picture lacks the failing operation %q", want)
			}
		})
	}
}

// TestVisualizeRandomOk draws an Ok history (all parts shown).
func TestVisualizeRandomOk(t *testing.T) {
	testflag.Run(t, 1, func(t *testing.T, seed int64) {
		h := paddedSeed(rand.New(rand.NewSource(seed)), 20)
		h = subHistory(h, okOps(h))
		res := Check(h, Options{})
		if res.Verdict != Ok {
			t.Fatalf("seed %d: got %s, want Ok", seed, res.Verdict)
		}
		var buf bytes.Buffer
		if err := Visualize(&buf, h, res, VisualizeOptions{}); err != nil {
			t.Fatalf("seed %d: Visualize: %v", seed, err)
		}
		if !strings.Contains(buf.String(), "steps p1 pid") {
			t.Errorf("seed %d: picture of an Ok history lacks its parts", seed)
		}
	})
}

// okOps returns the ops of producers other than 1.
func okOps(h history.History) []int64 {
	var ids []int64
	for _, o := range Operations(h) {
		if o.PID != 1 {
			ids = append(ids, o.Op)
		}
	}
	return ids
}

// TestVisualizeReadViolation: the summary of a read violation lists the
// log around the batches involved: the hole in bold, the batches read
// around it, and "…" for the rows left out of a long log.
func TestVisualizeReadViolation(t *testing.T) {
	b := &readHist{h: history.History{Header: history.Header{Format: history.FormatV1}}}
	b.call(1, 0, 0, 0, 0)
	b.call(1, 0, 1, 1, -2) // unknown outcome, not in the log: the hole
	b.call(1, 0, 2, 2, 2)
	for i := range int32(60) {
		b.call(2, 0, i, i, int64(3+i))
	}
	b.log(0, 1, 0, 0, 0)
	b.log(2, 1, 0, 2, 2)
	for i := range int32(60) {
		b.log(int64(3+i), 2, 0, i, i)
	}
	res := Check(b.h, Options{})
	if res.Verdict != Illegal || res.Violations[0].Name != LogInSequence {
		t.Fatalf("got %s %v; want a LogInSequence violation", res.Verdict, res.Violations)
	}
	var buf bytes.Buffer
	if err := Visualize(&buf, b.h, res, VisualizeOptions{}); err != nil {
		t.Fatal(err)
	}
	page := buf.String()
	for _, want := range []string{
		`class="idemcheck-log"`,
		"offset 0: pid 1 epoch 0 seq [0,0]",
		"<b>hole: sequences [1,1] of pid 1 epoch 0 missing here</b>",
		"<b>offset 2: pid 1 epoch 0 seq [2,2]</b>",
		"offset 4: pid 2 epoch 0 seq [1,1]",
		"…\n</pre>",
	} {
		if !strings.Contains(page, want) {
			t.Errorf("picture lacks %q", want)
		}
	}
	if strings.Contains(page, "offset 40: pid 2") {
		t.Errorf("the log listing is not cut around the batches involved")
	}
}

func TestVisualizeLogAnnotations(t *testing.T) {
	// porcupine's timeline draws what was read of the log: one
	// annotation per batch read of a drawn operation, on a "log" row of
	// its part, the batches of the violation's operations highlighted,
	// and at most maxLogAnnotations per part, the rest counted.
	b := &readHist{h: history.History{Header: history.Header{Format: history.FormatV1}}}
	b.call(1, 0, 0, 0, 0)
	b.call(1, 0, 1, 1, -2) // unknown outcome, not in the log: the hole
	b.call(1, 0, 2, 2, 2)
	const more = maxLogAnnotations + 20
	for i := range int32(more) {
		b.call(1, 0, 3+i, 3+i, int64(3+i))
	}
	b.log(0, 1, 0, 0, 0)
	b.log(2, 1, 0, 2, 2)
	for i := range int32(more) {
		b.log(int64(3+i), 1, 0, 3+i, 3+i)
	}
	res := Check(b.h, Options{})
	require.Equal(t, Illegal, res.Verdict)
	var buf bytes.Buffer
	require.NoError(t, Visualize(&buf, b.h, res, VisualizeOptions{Full: true}))
	page := buf.String()
	for _, want := range []string{"log p0 pid 1", "read @0 [0,0]", "read @2 [2,2]", "involved in " + res.Violations[0].Name,
		fmt.Sprintf("… %d more batches read", more+2-maxLogAnnotations)} {
		require.Contains(t, page, want)
	}
	require.Equal(t, maxLogAnnotations, strings.Count(page, "read @"), "annotations drawn")
}
