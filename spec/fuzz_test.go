package spec

import "testing"

// FuzzStep applies arbitrary actions (decoded from the input) to a
// state with Apply: every action is either taken or refused with a
// *StepError, the state never panics, and a refused action leaves the
// state as it was.
func FuzzStep(f *testing.F) {
	f.Add([]byte{0, 1, 1, 0, 0, 1, 1, 2, 1, 3, 1, 0})
	f.Add([]byte{0, 1, 1, 0, 0, 0, 2, 1, 0, 1, 3, 1, 4, 1, 5, 1, 6, 1, 7, 1, 8, 1, 9, 1})
	names := Names()
	results := []Result{OK, Failed, Unknown, ""}
	decisions := []Decision{Append, AppendUnknown, Duplicate, DuplicateInFlight, OutOfOrder, InvalidRequest}
	f.Fuzz(func(t *testing.T, data []byte) {
		cfg := Config{}
		if len(data) > 0 && data[0]&1 == 1 {
			cfg.TicketOrder = AfterStage
		}
		s := Init(cfg)
		next := func() int64 {
			if len(data) == 0 {
				return 0
			}
			b := data[0]
			data = data[1:]
			return int64(b)
		}
		for len(data) > 0 {
			a := Action{Name: names[int(next())%len(names)], Op: next() % 8}
			switch a.Name {
			case Replicate:
				a.PID, a.Epoch, a.First = next()%3, int16(next()%2), int32(next()%4)
				a.Last = a.First + int32(next()%2)
			case StageWriteDone, UploadDone, FenceEpoch, Return:
				a.Result = results[int(next())%len(results)]
				a.Offset, a.Error = next()%4, ErrorCode(next()%50)
			case Decide:
				a.Decision, a.Offset = decisions[int(next())%len(decisions)], next()%4
			case EvictProducer, BumpEpoch:
				a.PID, a.Epoch = next()%3, int16(next()%3)
			case ChangeTerm:
				a.Term = next() % 3
			}
			before := string(s.AppendBinary(nil))
			if err := s.Apply(cfg, a); err != nil {
				if _, ok := err.(*StepError); !ok {
					t.Fatalf("%s: error %T %v", a, err, err)
				}
				if string(s.AppendBinary(nil)) != before {
					t.Fatalf("%s: refused but changed the state", a)
				}
			}
			_ = s.String()
			for _, iv := range Invariants() {
				_ = iv.Check(s)
			}
		}
	})
}
