package history_test

import (
	"bytes"
	"errors"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"

	"github.com/idemcheck/idemcheck/history"
	"github.com/idemcheck/idemcheck/internal/gen"
	"github.com/idemcheck/idemcheck/internal/testflag"
)

// corpusSeeds adds every file of traces/ and history/testdata/ with one
// of the given extensions to f's seed corpus.
func corpusSeeds(f *testing.F, exts ...string) {
	f.Helper()
	for _, dir := range []string{"../traces", "testdata"} {
		ents, err := os.ReadDir(dir)
		if err != nil {
			continue
		}
		for _, e := range ents {
			for _, ext := range exts {
				if !e.IsDir() && strings.HasSuffix(e.Name(), ext) {
					b, err := os.ReadFile(filepath.Join(dir, e.Name()))
					if err != nil {
						f.Fatal(err)
					}
					f.Add(b)
				}
			}
		}
	}
}

// encode writes h in format fm.
func encode(t *testing.T, h history.History, fm history.Format) []byte {
	t.Helper()
	var b bytes.Buffer
	var err error
	if fm == history.YAML {
		err = history.EncodeYAML(&b, h)
	} else {
		err = history.EncodeJSONL(&b, h)
	}
	if err != nil {
		t.Fatalf("encode %s of a decoded history: %v", fm, err)
	}
	return b.Bytes()
}

// normal is h with the header's format filled in, as the encoders write it.
func normal(h history.History) history.History {
	if h.Header.Format == "" {
		h.Header.Format = history.FormatV1
	}
	if len(h.Events) == 0 {
		h.Events = nil
	}
	return h
}

// checkParse is the property both parser fuzz targets check: decoding
// never panics; an error names the file and a line ("name:N: ..."); a
// history that decodes is re-encoded in both formats and decodes back to
// itself.
func checkParse(t *testing.T, data []byte, name string) {
	h, err := history.Decode(bytes.NewReader(data), name)
	if err != nil {
		var se *history.SyntaxError
		if !errors.As(err, &se) || se.Line < 1 || !strings.HasPrefix(err.Error(), name+":") {
			t.Fatalf("error without file:line: %v", err)
		}
		return
	}
	want := normal(h)
	for _, fm := range []history.Format{history.JSONL, history.YAML} {
		enc := encode(t, h, fm)
		got, err := history.Decode(bytes.NewReader(enc), "re."+string(fm))
		if err != nil {
			t.Fatalf("%s re-decode: %v\n%s", fm, err, enc)
		}
		if !reflect.DeepEqual(normal(got), want) {
			t.Fatalf("%s round trip differs:\n got %+v\nwant %+v\n%s", fm, got, want, enc)
		}
	}
}

// FuzzParseJSONL fuzzes the history reader with JSON Lines inputs (the
// reader detects the format from the content, so mutations into YAML are
// read as YAML). Seeded from traces/*.jsonl and testdata.
func FuzzParseJSONL(f *testing.F) {
	corpusSeeds(f, ".jsonl")
	f.Add([]byte(`{"kind":"Replicate","t":0,"op":1,"partition":"p0","pid":1,"epoch":0,"first":0,"last":0}` + "\n" +
		`{"kind":"Return","t":1,"op":1,"result":"ok","offset":0}` + "\n"))
	f.Fuzz(func(t *testing.T, data []byte) { checkParse(t, data, "fuzz.jsonl") })
}

// FuzzParseYAML fuzzes the history reader with YAML inputs. Seeded from
// traces/*.yaml and testdata.
func FuzzParseYAML(f *testing.F) {
	corpusSeeds(f, ".yaml", ".yml")
	f.Add([]byte("header: {format: idemcheck/v1}\nevents:\n" +
		"  - {kind: Replicate, t: 0, op: 1, partition: p0, pid: 1, epoch: 0, first: 0, last: 0}\n" +
		"  - {kind: Return, t: 1, op: 1, result: ok, offset: 0}\n"))
	f.Fuzz(func(t *testing.T, data []byte) { checkParse(t, data, "fuzz.yaml") })
}

// TestRoundTripGenerated checks the property decode(encode(h)) == h for
// generated histories, in JSON Lines and in YAML, with and without
// injected bugs, for seeds 1..3 by default (testflag: -seed, -seeds,
// -seed.first).
func TestRoundTripGenerated(t *testing.T) {
	opts := []gen.Options{
		{Partitions: 2, Producers: 3, Batches: 40, UnknownRate: 0.2, Retries: 2, EpochBumps: 2},
		{Partitions: 1, Producers: 1, Batches: 30, InFlight: 1, StartSeq: 2147483640},
	}
	for _, b := range gen.Bugs() {
		opts = append(opts, gen.Options{Partitions: 1, Producers: 2, Batches: 5, Inject: b})
	}
	testflag.Run(t, 3, func(t *testing.T, seed int64) {
		for i, o := range opts {
			o.Seed = seed
			h, err := gen.History(o)
			if err != nil {
				t.Fatalf("options %d seed %d: %v", i, o.Seed, err)
			}
			for _, fm := range []history.Format{history.JSONL, history.YAML} {
				enc := encode(t, h, fm)
				got, err := history.Decode(bytes.NewReader(enc), "gen")
				if err != nil {
					t.Fatalf("options %d seed %d %s: %v", i, o.Seed, fm, err)
				}
				if !reflect.DeepEqual(got, h) {
					t.Fatalf("options %d seed %d %s: round trip differs", i, o.Seed, fm)
				}
			}
		}
	})
}
