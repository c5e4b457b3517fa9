package report

import (
	"path/filepath"
	"reflect"
	"testing"

	"github.com/idemcheck/idemcheck/checker"
	"github.com/idemcheck/idemcheck/history"
)

// byPartition splits h into one history per partition: every event of
// an operation goes with its Replicate's partition.
func byPartition(h history.History) map[string]history.History {
	out := map[string]history.History{}
	opPart := map[int64]string{}
	for _, e := range h.Events {
		p := e.Partition
		switch e.Kind {
		case history.Replicate:
			opPart[e.Op] = p
		case history.EvictProducer, history.ChangeTerm, history.LogBatch:
		case history.BumpEpoch:
			continue // no partition; the black-box check ignores it
		default:
			p = opPart[e.Op]
		}
		sub := out[p]
		sub.Header = h.Header
		sub.Events = append(sub.Events, e)
		out[p] = sub
	}
	return out
}

// TestMergeCorpus checks that checking every partition of a corpus
// history alone and merging the reports gives the report of checking
// the whole history: the same parts, verdicts, violations (names,
// explanations, operations) in the same order.
func TestMergeCorpus(t *testing.T) {
	files, err := filepath.Glob("../../traces/*.*")
	if err != nil {
		t.Fatal(err)
	}
	n := 0
	for _, f := range files {
		if ext := filepath.Ext(f); ext != ".jsonl" && ext != ".yaml" {
			continue
		}
		h, err := history.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		n++
		opts := checker.Options{}
		whole := checker.Check(h, opts)
		var ps []Partition
		for p, sub := range byPartition(h) {
			ps = append(ps, FromPartition(p, checker.Check(sub, opts)))
		}
		parts, vs, reads := Merge(ps)
		if !reflect.DeepEqual(reads, Reads(whole)) {
			t.Errorf("%s: reads\n%+v\nwhole:\n%+v", f, reads, Reads(whole))
		}
		if !reflect.DeepEqual(parts, Parts(whole)) {
			t.Errorf("%s: parts\n%+v\nwhole:\n%+v", f, parts, Parts(whole))
		}
		if !reflect.DeepEqual(vs, Violations(whole)) {
			t.Errorf("%s: violations\n%+v\nwhole:\n%+v", f, vs, Violations(whole))
		}
	}
	if n < 10 {
		t.Fatalf("only %d corpus files", n)
	}
}
