package replay

import (
	"bytes"
	"math/rand/v2"
	"testing"

	"github.com/idemcheck/idemcheck/history"
	"github.com/idemcheck/idemcheck/impl"
	"github.com/idemcheck/idemcheck/impl/sim"
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
	for _, order := range []impl.TicketOrder{impl.BeforeStage, impl.AfterStage} {
		for _, known := range []bool{false, true} {
			s, err := sim.SeedScenario(order, known)
			if err != nil {
				f.Fatal(err)
			}
			add(s.History())
			add(clientOnly(s.History()))
		}
		faults := sim.DefaultFaults()
		faults.Evict, faults.BumpEpoch = 0.02, 0.02
		h, err := sim.RandomWorkload(rand.New(rand.NewPCG(1, 1)), sim.WorkloadConfig{TicketOrder: order, Faults: faults})
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

// FuzzReplayEvents builds event sequences straight from the fuzzer's
// bytes (three bytes per event: kind, op, and a value for the result,
// sequence or partition), without the decoder's consistency checks, and
// checks that Replay never panics and that whatever it records is a
// consistent history.
func FuzzReplayEvents(f *testing.F) {
	f.Add([]byte{0, 1, 0, 0, 2, 1, 3, 1, 0, 4, 1, 0, 9, 1, 0})
	f.Add([]byte{0, 1, 1, 0, 2, 0, 3, 2, 0, 3, 1, 0, 4, 2, 0, 4, 1, 0, 9, 1, 0, 9, 2, 0})
	f.Add([]byte{0, 1, 0, 9, 1, 2, 12, 0, 0, 10, 0, 0, 11, 0, 1, 5, 1, 0, 7, 1, 0})
	kinds := history.Kinds()
	f.Fuzz(func(t *testing.T, data []byte) {
		var h history.History
		if len(data) > 3*200 {
			data = data[:3*200]
		}
		for i := 0; i+2 < len(data); i += 3 {
			k := kinds[int(data[i])%len(kinds)]
			op, v := int64(data[i+1]%8), data[i+2]
			e := history.Event{Kind: k, Time: int64(i), Op: op}
			switch k {
			case history.Replicate:
				e.Partition = []string{"p0", "p1"}[v%2]
				e.PID = int64(v % 3)
				e.First = int32(v % 4)
				e.Last = e.First + int32(v%2)
			case history.Return:
				e.Result = []history.Result{history.OK, history.Failed, history.Unknown}[v%3]
				if e.Result == history.Failed {
					e.Error = history.OutOfOrderSequenceNumber
				}
			case history.StageWriteDone, history.UploadDone, history.FenceEpoch:
				e.Result = []history.Result{history.OK, history.Failed}[v%2]
			case history.Decide:
				e.Decision = history.Append
			case history.EvictProducer:
				e.Partition, e.PID = "p0", int64(v%3)
			case history.BumpEpoch:
				e.PID, e.Epoch = int64(v%3), int16(v%4)
			case history.ChangeTerm:
				e.Partition, e.Term = "p0", int64(v%5)
			}
			h.Events = append(h.Events, e)
		}
		got, err := Replay(h)
		if err != nil {
			return
		}
		var s history.Stream
		for _, e := range got.Events {
			if err := s.Check(e); err != nil {
				t.Fatalf("replay recorded an inconsistent event %s: %v", e, err)
			}
		}
	})
}
