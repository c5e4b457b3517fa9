package validate

import (
	"bytes"
	"os"
	"path/filepath"
	"testing"

	"github.com/idemcheck/idemcheck/history"
)

// FuzzValidate feeds arbitrary (well-formed) histories to the validator:
// it must return nil or an error, never panic. Seeds: the spec's seed
// history and the traces/ corpus.
func FuzzValidate(f *testing.F) {
	seeds, _ := filepath.Glob("../../traces/*.jsonl")
	seeds = append(seeds, "../../spec/testdata/seed-after-stage.jsonl")
	for _, p := range seeds {
		if b, err := os.ReadFile(p); err == nil {
			f.Add(b)
		}
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		h, err := history.Decode(bytes.NewReader(data), "fuzz")
		if err != nil {
			return
		}
		for _, order := range []string{"", "after-stage", FromHeader} {
			_ = History(h, Options{TicketOrder: order})
		}
	})
}
