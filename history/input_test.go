package history_test

import (
	"bytes"
	"compress/gzip"
	"errors"
	"io"
	"math/rand/v2"
	"strings"
	"testing"

	"github.com/idemcheck/idemcheck/history"
)

const smallHistory = `{"header":{"format":"idemcheck/v1"}}
{"kind":"Replicate","t":0,"op":1,"partition":"p0","pid":1,"epoch":0,"first":0,"last":0}
{"kind":"Return","t":1,"op":1,"result":"ok","offset":0}
`

func gzipped(t *testing.T, b []byte) []byte {
	t.Helper()
	var buf bytes.Buffer
	zw := gzip.NewWriter(&buf)
	if _, err := zw.Write(b); err != nil {
		t.Fatal(err)
	}
	if err := zw.Close(); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

// TestTransparentInput checks that gzip'd input and a leading UTF-8
// byte-order mark decode to the same history as the plain text.
func TestTransparentInput(t *testing.T) {
	want, err := history.Decode(strings.NewReader(smallHistory), "plain")
	if err != nil {
		t.Fatal(err)
	}
	bom := append([]byte("\xef\xbb\xbf"), smallHistory...)
	for name, in := range map[string][]byte{
		"gzip":     gzipped(t, []byte(smallHistory)),
		"bom":      bom,
		"gzip+bom": gzipped(t, bom),
	} {
		got, err := history.Decode(bytes.NewReader(in), name)
		if err != nil {
			t.Errorf("%s: %v", name, err)
			continue
		}
		if len(got.Events) != len(want.Events) || got.Header != want.Header {
			t.Errorf("%s: decoded %d events, header %+v; want %d, %+v", name, len(got.Events), got.Header, len(want.Events), want.Header)
		}
	}
}

// countingReader counts the bytes read from r.
type countingReader struct {
	r io.Reader
	n int64
}

func (c *countingReader) Read(p []byte) (int, error) {
	n, err := c.r.Read(p)
	c.n += int64(n)
	return n, err
}

// endless repeats chunk for ever.
type endless struct {
	chunk []byte
	off   int
}

func (e *endless) Read(p []byte) (int, error) {
	n := 0
	for n < len(p) {
		c := copy(p[n:], e.chunk[e.off:])
		n += c
		e.off = (e.off + c) % len(e.chunk)
	}
	return n, nil
}

// randomBytes is an endless stream of seeded random bytes.
type randomBytes struct{ r *rand.ChaCha8 }

func (rb randomBytes) Read(p []byte) (int, error) { return rb.r.Read(p) }

// TestEndlessInputRefusedEarly checks the readers' memory bound: input
// that never ends (/dev/zero, /dev/urandom, one endless line, endless
// lines with over-long names, endless text that is not JSON) is refused
// after a bounded number of bytes, so reading it neither hangs nor grows.
// The bound is what a reader may hold: its 1 MiB line buffer plus a whole
// YAML document.
func TestEndlessInputRefusedEarly(t *testing.T) {
	const bound = history.MaxYAMLBytes + 2*history.MaxLineBytes
	longName := `{"kind":"Replicate","t":0,"op":1,"partition":"` + strings.Repeat("x", 512<<10) + `","pid":1,"epoch":0,"first":0,"last":0}` + "\n"
	cases := []struct {
		name string
		in   io.Reader
		want error
	}{
		{"zeros", &endless{chunk: []byte{0}}, history.ErrBinary},
		{"random bytes", randomBytes{rand.NewChaCha8([32]byte{1})}, history.ErrBinary},
		{"one endless JSON line", io.MultiReader(strings.NewReader(`{"kind":"`), &endless{chunk: []byte("a")}), history.ErrLineTooLong},
		{"endless lines with long names", &endless{chunk: []byte(longName)}, history.ErrBadValue},
		{"endless text that is not JSON", &endless{chunk: []byte("events: lots of text\n")}, history.ErrTooBig},
		{"gzip of zeros", bytes.NewReader(gzipped(t, make([]byte, 8<<20))), history.ErrBinary},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			cr := &countingReader{r: tc.in}
			_, err := history.Decode(cr, tc.name)
			if !errors.Is(err, tc.want) {
				t.Fatalf("error %v, want %v", err, tc.want)
			}
			if cr.n > bound {
				t.Errorf("read %d bytes before refusing, more than the bound %d", cr.n, bound)
			}
			t.Logf("refused after %d bytes: %v", cr.n, err)
		})
	}
}
