package checker

import (
	"flag"
	"fmt"
	"math/rand"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"

	"github.com/idemcheck/idemcheck/history"
	"github.com/idemcheck/idemcheck/internal/gen"
	"github.com/idemcheck/idemcheck/internal/testflag"
	"github.com/idemcheck/idemcheck/spec"
)

var equivFlag = flag.Int("equiv", 10000, "number of generated histories TestEquivalenceGenerated compares")

// equivalent reports how the replay check (Check, and CheckReader on the
// JSONL encoding) and the porcupine search (checkSearch) differ on h:
// the same verdict, part verdicts and violations (names, producers,
// explanations and operations), or a description of the difference.
// Check and CheckReader share the streaming core, so stream may be
// false for most histories, to save the reader's buffers.
func equivalent(t *testing.T, h history.History, stream bool) (Result, string) {
	t.Helper()
	opts := Options{Rules: spec.Rules(h.Header.Rules)}
	want := checkSearch(h, opts)
	got := Check(h, opts)
	if d := diffResults(got, want); d != "" {
		return want, "Check vs porcupine: " + d
	}
	if !stream {
		return want, ""
	}
	var buf strings.Builder
	if err := history.EncodeJSONL(&buf, h); err != nil {
		t.Fatal(err)
	}
	rd, err := history.NewReader(strings.NewReader(buf.String()), "h.jsonl")
	if err != nil {
		t.Fatal(err)
	}
	streamed := CheckReader(rd, opts)
	if streamed.Err != nil {
		return want, fmt.Sprintf("CheckReader: %v", streamed.Err)
	}
	if d := diffResults(streamed, want); d != "" {
		return want, "CheckReader vs porcupine: " + d
	}
	return want, ""
}

func diffResults(got, want Result) string {
	if got.Verdict != want.Verdict {
		return fmt.Sprintf("verdict %s, want %s (%v / %v)", got.Verdict, want.Verdict, got.Violations, want.Violations)
	}
	if !reflect.DeepEqual(got.Parts, want.Parts) {
		return fmt.Sprintf("parts differ:\n got %+v\nwant %+v", got.Parts, want.Parts)
	}
	if !reflect.DeepEqual(got.Violations, want.Violations) {
		return fmt.Sprintf("violations differ:\n got %v\nwant %v", got.Violations, want.Violations)
	}
	return ""
}

// corpusFiles lists the histories of traces/; the test skips without
// them.
func corpusFiles(t *testing.T) []string {
	t.Helper()
	var files []string
	for _, pat := range []string{"*.jsonl", "*.yaml", "*.yml"} {
		m, _ := filepath.Glob(filepath.Join("..", "traces", pat))
		files = append(files, m...)
	}
	if len(files) == 0 {
		t.Skip("no traces yet")
	}
	return files
}

// TestEquivalenceCorpus: on every history of traces/ the replay
// decision gives the porcupine search's verdict and violation (name,
// producer, explanation, operations), in memory and streamed.
func TestEquivalenceCorpus(t *testing.T) {
	for _, f := range corpusFiles(t) {
		h, err := history.ReadFile(f)
		if err != nil {
			if _, statErr := os.Stat(f); statErr != nil {
				continue // removed while we ran
			}
			t.Errorf("%s: %v", f, err)
			continue
		}
		res, d := equivalent(t, h, true)
		if d != "" {
			t.Errorf("%s: %s", f, d)
		}
		if h.Header.Expect != "" && string(res.Verdict) != h.Header.Expect {
			t.Logf("%s: verdict %s, header expects %s (TestCorpus judges that)", f, res.Verdict, h.Header.Expect)
		}
	}
}

// randomHistory makes one small history of one of four families, chosen
// by i: the generator (internal/gen) with a random catalogue bug or none;
// the reference broker of random_test.go deciding in call order, or
// reordering like the pre-fix write path; and a correct history with one
// Return mutated (offset, error code or outcome changed), which breaks
// AckedInLog, ContiguousAppends, NoDuplicateAppend or
// NoSpuriousOutOfOrder at random places.
func randomHistory(r *rand.Rand, i int) (history.History, string) {
	switch i % 4 {
	case 0:
		o := gen.Options{Seed: r.Int63(), Partitions: 1 + r.Intn(2), Producers: 1 + r.Intn(3),
			Batches: 2 + r.Intn(8), InFlight: 1 + r.Intn(5), UnknownRate: []float64{0, 0.1, 0.3}[r.Intn(3)],
			Retries: r.Intn(3), EpochBumps: r.Intn(2)}
		if r.Intn(2) == 0 {
			o.Inject = gen.Bugs()[r.Intn(len(gen.Bugs()))]
		}
		if r.Intn(5) == 0 {
			o.StartSeq = 1<<31 - 1 - int32(r.Intn(8))
		}
		h, err := gen.History(o)
		if err != nil {
			panic(err)
		}
		return h, fmt.Sprintf("gen %+v", o)
	case 1, 2:
		s := &simBroker{r: r, b: &hb{}, reorder: i%4 == 2}
		return s.run(10+r.Intn(40), 1+r.Intn(3), 0), fmt.Sprintf("simBroker reorder=%v", s.reorder)
	}
	s := &simBroker{r: r, b: &hb{}}
	h := s.run(10+r.Intn(30), 1+r.Intn(3), 0)
	var rets []int
	for j, e := range h.Events {
		if e.Kind == history.Return {
			rets = append(rets, j)
		}
	}
	if len(rets) == 0 {
		return h, "simBroker mutated (no return)"
	}
	j := rets[r.Intn(len(rets))]
	e := &h.Events[j]
	switch r.Intn(4) {
	case 0:
		e.Result, e.Error, e.Offset = history.OK, 0, int64(r.Intn(20))
	case 1:
		e.Result, e.Offset = history.Failed, 0
		e.Error = []history.ErrorCode{history.OutOfOrderSequenceNumber, history.DuplicateSequenceNumber,
			history.InvalidProducerEpoch, history.UnknownProducerID, history.RequestTimedOut}[r.Intn(5)]
	case 2:
		e.Result, e.Error, e.Offset = history.Unknown, 0, 0
	case 3:
		// An eviction just before this Return.
		ev := history.Event{Kind: history.EvictProducer, Time: e.Time}
		for _, c := range h.Events {
			if c.Kind == history.Replicate && c.Op == e.Op {
				ev.Partition, ev.PID = c.Partition, c.PID
			}
		}
		h.Events = append(h.Events[:j], append([]history.Event{ev}, h.Events[j:]...)...)
	}
	return h, "simBroker mutated"
}

// TestEquivalenceGenerated: on -equiv (default 10,000) seeded histories,
// valid and buggy, the replay decision agrees with the porcupine search
// on the verdict and every violation, in memory (and streamed for one
// history in eight).
func TestEquivalenceGenerated(t *testing.T) {
	testflag.Run(t, 1, func(t *testing.T, seed int64) {
		r := rand.New(rand.NewSource(seed))
		verdicts := map[Verdict]int{}
		names := map[string]int{}
		for i := 0; i < *equivFlag; i++ {
			h, what := randomHistory(r, i)
			res, d := equivalent(t, h, i%8 == 0)
			if d != "" {
				t.Fatalf("seed %d, history %d (%s): %s\n%s", seed, i, what, d, FormatWitness(h))
			}
			verdicts[res.Verdict]++
			for _, v := range res.Violations {
				names[v.Name]++
			}
		}
		t.Logf("seed %d: %d histories: %v, violations %v", seed, *equivFlag, verdicts, names)
		if *equivFlag >= 1000 && (verdicts[Ok] < *equivFlag/10 || verdicts[Illegal] < *equivFlag/10) {
			t.Errorf("seed %d: too few of one verdict: %v", seed, verdicts)
		}
	})
}

// TestEquivalenceLongParts: parts longer than a chunk of records (256)
// and the first chunk's growth, valid and reordered, agree with the
// porcupine search, in memory and streamed.
func TestEquivalenceLongParts(t *testing.T) {
	testflag.Run(t, 1, func(t *testing.T, seed int64) {
		r := rand.New(rand.NewSource(seed))
		for i, tc := range []struct {
			ops, producers int
			reorder        bool
		}{{700, 1, false}, {900, 2, false}, {600, 1, true}, {1200, 3, true}} {
			s := &simBroker{r: r, b: &hb{}, reorder: tc.reorder}
			h := s.run(tc.ops, tc.producers, 0)
			if _, d := equivalent(t, h, true); d != "" {
				t.Fatalf("seed %d, case %d (%d ops, %d producers, reorder %v): %s", seed, i, tc.ops, tc.producers, tc.reorder, d)
			}
		}
	})
}

// TestEquivalenceCoversEvictionModes: the generated histories of
// TestEquivalenceGenerated reach both ways the streaming check handles a
// recorded eviction: replaying on with eviction bounds, and deciding the
// part again at the end because the eviction came after the replay had
// assumed none (redo).
func TestEquivalenceCoversEvictionModes(t *testing.T) {
	testflag.Run(t, 1, func(t *testing.T, seed int64) {
		r := rand.New(rand.NewSource(seed))
		replayed, redone := 0, 0
		for i := 0; i < 2000; i++ {
			h, _ := randomHistory(r, i)
			st := newStreamer(Options{})
			for j := range h.Events {
				st.add(&h.Events[j])
			}
			for _, p := range st.order {
				switch {
				case p.state == redo:
					redone++
				case p.state.evicted() && p.done > 0:
					replayed++
				}
			}
		}
		if replayed == 0 || redone == 0 {
			t.Errorf("seed %d: %d parts replayed with evictions, %d decided again: want both > 0", seed, replayed, redone)
		}
		t.Logf("seed %d: %d parts replayed with evictions, %d decided again", seed, replayed, redone)
	})
}
