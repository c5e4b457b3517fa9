package agreement

import (
	"testing"

	"github.com/idemcheck/idemcheck/checker"
	"github.com/idemcheck/idemcheck/history"
	"github.com/idemcheck/idemcheck/impl"
	"github.com/idemcheck/idemcheck/impl/sim"
	"github.com/idemcheck/idemcheck/spec"
	"github.com/stretchr/testify/require"
)

// TestReadBackSeedScenario: the seed scenario of PR #30429 read back
// from the reference implementation's log. Pre-fix, with the producer
// unknown to the partition, batch B [1,1] is acked at offset 0 and A
// [0,0] is rejected with OUT_OF_ORDER_SEQUENCE_NUMBER: a consumer reading
// the log from its start sees a hole, and the read check names A (the
// rejected batch) and B (the acked batch that needed it) from the
// LogBatch events and the client-visible operations alone. With the fix,
// and pre-fix with a known producer (B's rejection is retriable and B is
// written after A), the log reads back clean.
func TestReadBackSeedScenario(t *testing.T) {
	for _, tc := range []struct {
		order impl.TicketOrder
		known bool
		hole  bool
		acked int
	}{
		{impl.AfterStage, false, true, 1},
		{impl.BeforeStage, false, false, 2},
		{impl.AfterStage, true, false, 3},
		{impl.BeforeStage, true, false, 3},
	} {
		s, err := sim.SeedScenario(tc.order, tc.known)
		require.NoError(t, err)
		require.NoError(t, s.ReadBack())
		h := history.History{Header: s.History().Header}
		for _, e := range s.History().Events {
			if e.Kind == history.Replicate || e.Kind == history.Return || e.Kind == history.LogBatch {
				h.Events = append(h.Events, e)
			}
		}
		res := checker.Check(h, checker.Options{Rules: spec.Redpanda})
		require.NoError(t, res.Err)
		require.Len(t, res.Reads, 1)
		c := res.Reads[0]
		require.Equal(t, checker.ReadCount{Partition: sim.SeedPartition, PID: 1, Acked: tc.acked, InLog: tc.acked}, c, "%s known=%v", tc.order, tc.known)
		var hole *checker.Violation
		for _, v := range res.Violations {
			switch v.Name {
			case checker.LogInSequence:
				hole = v
			case checker.LostWrite, checker.DuplicateInLog, checker.LogOffsetsDisjoint:
				t.Errorf("%s known=%v: %v", tc.order, tc.known, v)
			}
		}
		if !tc.hole {
			require.Nil(t, hole, "%s known=%v", tc.order, tc.known)
			continue
		}
		require.NotNil(t, hole, res.Summary())
		t.Log(hole)
		require.Contains(t, hole.Explanation, "sequences [0,0]")
		var rejected, acked bool
		for _, o := range hole.Ops {
			rejected = rejected || (o.First == 0 && o.Result == history.Failed && o.Error == history.OutOfOrderSequenceNumber)
			acked = acked || (o.First == 1 && o.Result == history.OK && o.Offset == 0)
		}
		require.True(t, rejected && acked, "the hole names the rejected A and the acked B: %v", hole)
	}
}
