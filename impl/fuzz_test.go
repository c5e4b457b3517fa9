package impl

import (
	"bytes"
	"math/rand/v2"
	"testing"

	"github.com/idemcheck/idemcheck/history"
)

// FuzzReplay feeds arbitrary JSONL histories to Replay: a history that
// decodes must replay without panicking, either to a history or to an
// error. The corpus is seeded with the seed scenarios and random
// workloads of both orderings, whole and reduced to client events.
func FuzzReplay(f *testing.F) {
	add := func(h history.History) {
		var buf bytes.Buffer
		if err := history.EncodeJSONL(&buf, h); err != nil {
			f.Fatal(err)
		}
		f.Add(buf.Bytes())
	}
	for _, order := range []TicketOrder{BeforeStage, AfterStage} {
		for _, known := range []bool{false, true} {
			s, err := SeedScenario(order, known)
			if err != nil {
				f.Fatal(err)
			}
			add(s.History())
			add(clientOnly(s.History()))
		}
		faults := DefaultFaults()
		faults.Evict, faults.BumpEpoch = 0.02, 0.02
		h, err := RandomWorkload(rand.New(rand.NewPCG(1, 1)), WorkloadConfig{TicketOrder: order, Faults: faults})
		if err != nil {
			f.Fatal(err)
		}
		add(h)
		add(clientOnly(h))
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		h, err := history.Decode(bytes.NewReader(data), "fuzz")
		if err != nil {
			return
		}
		got, err := Replay(h)
		if err != nil {
			return
		}
		var buf bytes.Buffer
		if err := history.EncodeJSONL(&buf, got); err != nil {
			t.Fatalf("replay recorded an inconsistent history: %v", err)
		}
	})
}
