package spec

import "testing"

// TestRetireKeepsWindow checks that Retire keeps the log entries a
// producer's idempotency window still refers to, so that a retry
// answered as a duplicate of a retired request passes AckedInLog, and
// drops the entries nothing refers to any more.
func TestRetireKeepsWindow(t *testing.T) {
	cfg := Config{Window: 1}
	s := Init(Config{})
	run := func(acts ...Action) {
		t.Helper()
		for _, a := range acts {
			if err := s.Apply(cfg, a); err != nil {
				t.Fatalf("%s: %v", a, err)
			}
		}
	}
	call := func(op int64, seq int32) {
		run(Action{Name: Replicate, Op: op, PID: 1, First: seq, Last: seq},
			Action{Name: ReserveTicket, Op: op}, Action{Name: StageWriteStart, Op: op})
	}
	finish := func(op, off int64, dec Decision) {
		run(Action{Name: StageWriteDone, Op: op, Result: OK}, Action{Name: UploadDone, Op: op, Result: OK},
			Action{Name: RedeemTicket, Op: op}, Action{Name: FenceEpoch, Op: op, Result: OK},
			Action{Name: Decide, Op: op, Decision: dec, Offset: off}, Action{Name: ReleaseTicket, Op: op},
			Action{Name: Return, Op: op, Result: OK, Offset: off})
	}
	call(1, 0)
	finish(1, 0, Append)
	call(2, 1)
	finish(2, 1, Append) // the window (size 1) now holds only seq [1,1] @1
	var retired []int64
	s.Retire(func(id int64) { retired = append(retired, id) })
	if len(retired) != 2 || len(s.Ops) != 0 {
		t.Fatalf("retired %v, %d ops left; want ops 1 and 2 retired", retired, len(s.Ops))
	}
	if len(s.Log) != 1 || s.Log[0].Offset != 1 {
		t.Fatalf("log after Retire = %s, want only the entry at offset 1 (the window's)", s.describeLog())
	}
	// A retry of seq [1,1] is a duplicate of the retired op 2.
	call(3, 1)
	finish(3, 1, Duplicate)
	if b := s.Broken(); len(b) != 0 {
		t.Fatalf("retry acked as a duplicate after Retire broke %v (AckedInLog must hold)", b)
	}
}
