package history

import (
	"bytes"
	"errors"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
)

// TestFastDecodeAgrees checks the JSONL fast path against encoding/json:
// on every event line of the traces/ corpus, and on variants of them that
// the fast path must refuse or decode identically (white space, escapes,
// repeated and unknown fields, floats, leading zeros, out-of-range
// numbers), a line the fast path accepts decodes to the same event as
// with encoding/json, and lines written by AppendJSON always take the
// fast path.
func TestFastDecodeAgrees(t *testing.T) {
	files, _ := filepath.Glob("../traces/*.jsonl")
	var lines [][]byte
	for _, f := range files {
		data, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		for _, l := range bytes.Split(data, []byte("\n")) {
			if len(l) > 0 && !bytes.HasPrefix(l, []byte(`{"header"`)) {
				lines = append(lines, l)
			}
		}
	}
	lines = append(lines,
		[]byte(`{"kind":"Replicate","t":1,"op":1,"client":2,"partition":"p0","pid":3,"epoch":0,"first":0,"last":4}`),
		[]byte(`{"kind":"Return","t":2,"op":1,"result":"ok","offset":7}`),
		[]byte(`{"kind":"Return","t":2,"op":1,"result":"error","error":45}`),
		[]byte(`{"kind":"Decide","t":2,"op":1,"decision":"append_unknown","offset":7}`),
		[]byte(`{"kind":"ChangeTerm","t":2,"partition":"p1","term":3}`),
	)
	fs := &fastScanner{}
	variants := func(l []byte) [][]byte {
		s := string(l)
		return [][]byte{
			l,
			[]byte(strings.Replace(s, ":", ": ", 1)),
			[]byte(strings.Replace(s, `"t":`, `"t":0`, 1)),
			[]byte(strings.Replace(s, `"t":`, `"t":-`, 1)),
			[]byte(strings.Replace(s, `,"t":`, `,"t":1,"t":`, 1)),
			[]byte(strings.Replace(s, `}`, `,"x":1}`, 1)),
			[]byte(strings.Replace(s, `}`, `.5}`, 1)),
			[]byte(strings.Replace(s, `}`, `e3}`, 1)),
			[]byte(strings.Replace(s, `"p0"`, `"p\u0030"`, 1)),
			[]byte(strings.Replace(s, `"op":`, `"op":99999999999999999999`, 1)),
			[]byte(strings.Replace(s, `"epoch":0`, `"epoch":40000`, 1)),
			[]byte(strings.Replace(s, `"first":0`, `"first":3000000000`, 1)),
			[]byte(strings.Replace(s, `,"client":`, `,"clientx":`, 1)),
			[]byte(strings.Replace(s, `,"client":2`, ``, 1)),
			[]byte(strings.Replace(s, `"result":"ok"`, `"result":"OK"`, 1)),
			[]byte(strings.Replace(s, `"kind":"`, `"kind":"x`, 1)),
			[]byte(strings.Replace(s, `}`, `}}`, 1)),
			[]byte(strings.Replace(s, `"t":`, `"t":null,"u":`, 1)),
			[]byte(s[:len(s)-1]),
		}
	}
	fastHits := 0
	for _, l := range lines {
		for _, v := range variants(l) {
			got, ok := fs.decode(v)
			want, err := decodeJSONEvent(v)
			if !ok {
				continue
			}
			fastHits++
			if err != nil {
				t.Errorf("fast path accepted %s, encoding/json: %v", v, err)
				continue
			}
			if !reflect.DeepEqual(got, want) {
				t.Errorf("line %s: fast path got %+v, want %+v", v, got, want)
			}
		}
		e, err := decodeJSONEvent(l)
		if err != nil {
			continue
		}
		if _, ok := fs.decode(AppendJSON(nil, e)); !ok {
			t.Errorf("fast path refused the writer's line %s", AppendJSON(nil, e))
		}
	}
	if fastHits < len(lines) {
		t.Errorf("fast path took %d of %d corpus lines", fastHits, len(lines))
	}
}

// TestFastDecodeErrorsUnchanged checks that a line the fast path refuses
// still gets encoding/json's error class through the reader.
func TestFastDecodeErrorsUnchanged(t *testing.T) {
	for _, tc := range []struct {
		line string
		want error
	}{
		{`{"kind":"Replicate","t":1,"op":1,"partition":"p0","pid":3,"epoch":0,"first":0,"last":4,"x":1}`, ErrBadValue},
		{`{"kind":"Replicate","t":1,"op":1,"partition":"p0","pid":3,"epoch":0,"first":0}`, ErrMissingField},
		{`{"kind":"Nope","t":1,"op":1}`, ErrUnknownKind},
		{`{"kind":"Return","t":1.5,"op":1,"result":"ok","offset":1}`, ErrBadValue},
		{`{"kind":"Return","t":1,"op":1,"result":"ok","offset":1}{}`, ErrSyntax},
	} {
		_, err := Decode(strings.NewReader(tc.line+"\n"), "x.jsonl")
		if !errors.Is(err, tc.want) {
			t.Errorf("%s: got %v, want %v", tc.line, err, tc.want)
		}
	}
}
