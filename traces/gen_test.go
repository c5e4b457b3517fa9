package traces_test

import (
	"bytes"
	"fmt"
	"math/rand/v2"
	"os"
	"testing"

	"github.com/idemcheck/idemcheck/history"
	"github.com/idemcheck/idemcheck/impl"
	"github.com/idemcheck/idemcheck/impl/sim"
	"github.com/idemcheck/idemcheck/internal/gen"
	"github.com/idemcheck/idemcheck/internal/testflag"
)

// generated is one generated trace: its file name and how to make it.
type generated struct {
	file string
	make func() (history.History, error)
}

// generatedTraces lists every generated file of the corpus. Files not
// listed here (the small YAML ones) are written by hand.
func generatedTraces() []generated {
	return []generated{
		// The seed race of PR #30429, from impl's regression scenario.
		{"seed-unknown-ok.jsonl", seedScenario(impl.BeforeStage, false, "Ok", "")},
		{"seed-unknown-bad.jsonl", seedScenario(impl.AfterStage, false, "Illegal", "DecideInCallOrder")},
		{"seed-known-ok.jsonl", seedScenario(impl.BeforeStage, true, "Ok", "")},
		{"seed-known-bad.jsonl", seedScenario(impl.AfterStage, true, "Illegal", "DecideInCallOrder")},
		// PR #30937: a failed upload frees the ticket before the decision.
		{"upload-fail-known-ok.jsonl", uploadFail(true)},
		{"upload-fail-unknown-ok.jsonl", uploadFail(false)},
		{"redeem-abort-known-ok.jsonl", redeemAbort(true)},
		{"redeem-abort-unknown-ok.jsonl", redeemAbort(false)},
		// impl's random workloads under both orderings.
		{"impl-workload-ok.jsonl", implWorkload(impl.BeforeStage, 7, "Ok", "")},
		{"impl-workload-bad.jsonl", implWorkload(impl.AfterStage, 3, "Illegal", "DecideInCallOrder")},
		// internal/gen: synthetic traffic, with the catalogue bugs injected.
		{"gen-traffic-ok.jsonl", genTrace("", "Ok", "")},
		{"gen-reorder-unknown-bad.jsonl", genTrace(gen.ReorderUnknown, "Illegal", "DecideInCallOrder")},
		{"gen-gap-accept-bad.jsonl", genTrace(gen.GapAccept, "Illegal", "ContiguousAppends")},
		// Hand-scripted histories of the catalogue (see the functions).
		{"storage-mode-flip-ok.jsonl", storageModeFlip(true)},
		{"storage-mode-flip-bad.jsonl", storageModeFlip(false)},
		{"idle-eviction-ok.jsonl", idleEviction(true)},
		{"idle-eviction-bad.jsonl", idleEviction(false)},
		{"epoch-bump-inflight-ok.jsonl", epochBump(true)},
		{"epoch-bump-inflight-bad.jsonl", epochBump(false)},
		{"retry-window-ok.jsonl", retryWindow(true)},
		{"retry-window-bad.jsonl", retryWindow(false)},
		{"term-change-ok.jsonl", termChange(true)},
		{"term-change-bad.jsonl", termChange(false)},
		{"timeout-took-effect-ok.jsonl", timeoutTookEffect(true)},
		{"timeout-took-effect-bad.jsonl", timeoutTookEffect(false)},
		{"prefix-retry-overtakes-ok.jsonl", prefixRetryOvertakes},
	}
}

// TestGeneratedTracesUpToDate regenerates every generated trace and
// compares it with the file in traces/, so the corpus stays what impl,
// internal/gen and the scripts produce. Run with -rewrite to rewrite them.
func TestGeneratedTracesUpToDate(t *testing.T) {
	for _, g := range append(generatedTraces(), manyUnknownTraces()...) {
		t.Run(g.file, func(t *testing.T) {
			h, err := g.make()
			if err != nil {
				t.Fatal(err)
			}
			var b bytes.Buffer
			if err := history.EncodeJSONL(&b, h); err != nil {
				t.Fatal(err)
			}
			if testflag.Rewrite() {
				if err := os.WriteFile(g.file, b.Bytes(), 0o644); err != nil {
					t.Fatal(err)
				}
				return
			}
			got, err := os.ReadFile(g.file)
			if err != nil {
				t.Fatalf("%v (run go test ./traces -rewrite)", err)
			}
			if !bytes.Equal(got, b.Bytes()) {
				t.Errorf("%s differs from what its generator makes now; run go test ./traces -rewrite and review the diff", g.file)
			}
		})
	}
}

func header(h history.Header, expect, violation, desc string) history.Header {
	h.Format = history.FormatV1
	h.Expect, h.Violation, h.Description = expect, violation, desc
	return h
}

func seedScenario(order impl.TicketOrder, known bool, expect, violation string) func() (history.History, error) {
	return func() (history.History, error) {
		s, err := sim.SeedScenario(order, known)
		if err != nil {
			return history.History{}, err
		}
		h := s.History()
		who := "unknown"
		if known {
			who = "known"
		}
		h.Header = header(h.Header, expect, violation, fmt.Sprintf(
			"sim.SeedScenario(%s, producer %s): batch B's stage_write resolves before A's (redpanda PR #30429)", order, who))
		return h, nil
	}
}

// uploadFail: one client sends A then B; both stage, B uploads, A's
// upload fails, which releases A's ticket before any decision (PR
// #30937), so B is decided first. Known producer (ok): B gets a retriable
// OUT_OF_ORDER_SEQUENCE_NUMBER and both retries succeed. Unknown producer
// (also Ok for the black box, see the description): B is accepted
// through the unknown-producer path and every retry of A gets
// OUT_OF_ORDER_SEQUENCE_NUMBER until the delivery timeout.
func uploadFail(known bool) func() (history.History, error) {
	desc := "impl, fixed ordering, unknown producer: A's upload fails and frees its ticket before the decision (redpanda PR #30937), B is accepted through the unknown-producer path and every retry of A gets OUT_OF_ORDER_SEQUENCE_NUMBER until the delivery timeout: A is lost, but the client was told (REQUEST_TIMED_OUT is ambiguous, so a black box cannot tell this from A never having been written); it takes the white box (idemcheck validate) or the poisoned-successor rule of PR #30937 to flag it"
	if known {
		desc = "impl, fixed ordering, known producer: A's upload fails and frees its ticket before the decision (redpanda PR #30937), so B is decided first and gets a retriable OUT_OF_ORDER_SEQUENCE_NUMBER; the retries succeed, nothing is lost"
	}
	return ticketFreedEarly(known, desc, func(s *sim.Sim, a int64) error {
		return s.Do(sim.Item{Kind: sim.UploadItem, Op: a, Fail: true})
	})
}

// redeemAbort is uploadFail's scenario with the abort signal instead of
// the failed upload: A is uploaded and waits in redeem when its abort
// signal fires, so its ticket is released before it reaches rm_stm.
func redeemAbort(known bool) func() (history.History, error) {
	desc := "impl, fixed ordering, unknown producer: A is aborted while it waits in redeem (RedeemTicket error), which releases its ticket before A reaches rm_stm, so B is accepted through the unknown-producer path and every retry of A gets OUT_OF_ORDER_SEQUENCE_NUMBER until the delivery timeout: A is lost, but the client was told (REQUEST_TIMED_OUT); validate flags the skip-path append (EpochStartsAtFirstCall), a black box cannot"
	if known {
		desc = "impl, fixed ordering, known producer: A is aborted while it waits in redeem (RedeemTicket error), which releases its ticket before A reaches rm_stm, so B is decided first and gets a retriable OUT_OF_ORDER_SEQUENCE_NUMBER; the retries succeed, nothing is lost"
	}
	return ticketFreedEarly(known, desc, func(s *sim.Sim, a int64) error {
		if err := s.Do(sim.Item{Kind: sim.UploadItem, Op: a}); err != nil {
			return err
		}
		return s.Abort(a)
	})
}

// ticketFreedEarly is the scenario of a request A whose ticket is freed
// before it reaches rm_stm: a producer (known to the partition if known)
// sends A and B; both are staged and B is uploaded; then free ends A's
// way (a failed upload, an abort in redeem) and the run settles.
func ticketFreedEarly(known bool, desc string, free func(s *sim.Sim, a int64) error) func() (history.History, error) {
	return func() (history.History, error) {
		s, err := sim.New(sim.Config{})
		if err != nil {
			return history.History{}, err
		}
		c, err := s.AddClient(sim.ClientConfig{PID: 1, DeliveryTimeout: 200})
		if err != nil {
			return history.History{}, err
		}
		if known {
			if err := c.Produce("p0", 1); err != nil {
				return history.History{}, err
			}
			if err := s.Stabilize(0); err != nil {
				return history.History{}, err
			}
		}
		for range 2 {
			if err := c.Produce("p0", 1); err != nil {
				return history.History{}, err
			}
		}
		send := sim.Item{Kind: sim.SendItem, Client: c.ID(), Partition: "p0"}
		if err := s.Do(send); err != nil {
			return history.History{}, err
		}
		a := lastOp(s)
		if err := s.Do(send); err != nil {
			return history.History{}, err
		}
		b := lastOp(s)
		for _, it := range []sim.Item{
			{Kind: sim.StageItem, Op: a}, {Kind: sim.StageItem, Op: b}, {Kind: sim.UploadItem, Op: b},
		} {
			if err := s.Do(it); err != nil {
				return history.History{}, fmt.Errorf("%s: %w", it, err)
			}
		}
		if err := free(s, a); err != nil {
			return history.History{}, err
		}
		if err := s.Stabilize(0); err != nil {
			return history.History{}, err
		}
		h := s.History()
		h.Header = header(h.Header, "Ok", "", desc)
		return h, s.Err()
	}
}

func lastOp(s *sim.Sim) int64 {
	h := s.History()
	for i := len(h.Events) - 1; i >= 0; i-- {
		if h.Events[i].Kind == history.Replicate {
			return h.Events[i].Op
		}
	}
	return 0
}

func implWorkload(order impl.TicketOrder, seed uint64, expect, violation string) func() (history.History, error) {
	return func() (history.History, error) {
		cfg := sim.WorkloadConfig{TicketOrder: order, Producers: 2, Partitions: 2, Batches: 6,
			Header: history.Header{Seed: int64(seed)}}
		h, err := sim.RandomWorkload(rand.New(rand.NewPCG(seed, 0)), cfg)
		if err != nil {
			return h, err
		}
		h.Header = header(h.Header, expect, violation, fmt.Sprintf("sim.RandomWorkload, ticket order %s, 2 producers, 2 partitions, 6 batches each, default faults, seed %d", order, seed))
		return h, nil
	}
}

func genTrace(bug gen.Bug, expect, violation string) func() (history.History, error) {
	return func() (history.History, error) {
		o := gen.Options{Seed: 11, Partitions: 2, Producers: 2, Batches: 8, UnknownRate: 0.2, Retries: 1, EpochBumps: 1, Inject: bug}
		h, err := gen.History(o)
		h.Header = header(h.Header, expect, violation, h.Header.Description)
		return h, err
	}
}

// script builds a history by hand, one event per time step.
type script struct {
	h    history.History
	t    int64
	next int64
}

func newScript(expect, violation, desc string) *script {
	return &script{h: history.History{Header: header(history.Header{Source: "hand", TicketOrder: "before-stage"}, expect, violation, desc)}, next: 1}
}

func (s *script) e(ev history.Event) {
	ev.Time = s.t
	s.t++
	s.h.Events = append(s.h.Events, ev)
}

// call is a replicate() call in the fixed ordering: Replicate,
// ReserveTicket and StageWriteStart in one synchronous step.
func (s *script) call(pid int64, epoch int16, first, last int32) int64 {
	op := s.next
	s.next++
	s.e(history.Event{Kind: history.Replicate, Op: op, Client: pid, Partition: "p0", PID: pid, Epoch: epoch, First: first, Last: last})
	s.e(history.Event{Kind: history.ReserveTicket, Op: op})
	s.e(history.Event{Kind: history.StageWriteStart, Op: op})
	return op
}

// noTicketCall is a call on a path that takes no ticket and stages
// nothing (the tiered storage path of PR #31106).
func (s *script) noTicketCall(pid int64, epoch int16, first, last int32) int64 {
	op := s.next
	s.next++
	s.e(history.Event{Kind: history.Replicate, Op: op, Client: pid, Partition: "p0", PID: pid, Epoch: epoch, First: first, Last: last})
	return op
}

func (s *script) ok(k history.Kind, op int64) {
	s.e(history.Event{Kind: k, Op: op, Result: history.OK})
}
func (s *script) k(k history.Kind, op int64) { s.e(history.Event{Kind: k, Op: op}) }

// staged: stage_write and the upload finish.
func (s *script) staged(op int64) {
	s.ok(history.StageWriteDone, op)
	s.ok(history.UploadDone, op)
}

// decide: redeem, fence, decide, release.
func (s *script) decide(op int64, d history.Decision, off int64) {
	s.k(history.RedeemTicket, op)
	s.ok(history.FenceEpoch, op)
	ev := history.Event{Kind: history.Decide, Op: op, Decision: d}
	if d.Appends() || d == history.Duplicate || d == history.DuplicateInFlight {
		ev.Offset = off
	}
	s.e(ev)
	s.k(history.ReleaseTicket, op)
}

func (s *script) retOK(op, off int64) {
	s.e(history.Event{Kind: history.Return, Op: op, Result: history.OK, Offset: off})
}

func (s *script) retErr(op int64, code history.ErrorCode) {
	s.e(history.Event{Kind: history.Return, Op: op, Result: history.Failed, Error: code})
}

func (s *script) retUnknown(op int64) {
	s.e(history.Event{Kind: history.Return, Op: op, Result: history.Unknown})
}

// whole runs one call through the fixed path to its Return.
func (s *script) whole(pid int64, epoch int16, first, last int32, d history.Decision, off int64) int64 {
	op := s.call(pid, epoch, first, last)
	s.staged(op)
	s.decide(op, d, off)
	if d.Appends() || d == history.Duplicate {
		s.retOK(op, off)
	} else {
		s.retErr(op, history.OutOfOrderSequenceNumber)
	}
	return op
}

// storageModeFlip (PR #31106): the partition flips from cloud to
// tiered_cloud while A (cloud path, ticket, uploading) is in flight; B
// goes down the tiered path, which takes no ticket, and overtakes A. The
// producer is known (X was appended), so B gets OUT_OF_ORDER_SEQUENCE_NUMBER;
// the client bumps its epoch and re-sends B as [0,0] of epoch 1, while
// the old-epoch A still lands: A's records are in the log twice once the
// client re-sends them too. Fixed (ok): the tiered path takes a ticket,
// B waits for A.
func storageModeFlip(fixed bool) func() (history.History, error) {
	return func() (history.History, error) {
		if fixed {
			s := newScript("Ok", "", "storage-mode flip (redpanda PR #31106), fixed: the tiered path takes a ticket too, so B waits for A and both are appended in call order")
			s.whole(1, 0, 0, 0, history.Append, 0)
			a := s.call(1, 0, 1, 1)
			b := s.call(1, 0, 2, 2) // tiered: stage and upload are no-ops
			s.staged(b)
			s.staged(a)
			s.decide(a, history.Append, 1)
			s.decide(b, history.Append, 2)
			s.retOK(b, 2)
			s.retOK(a, 1)
			return s.h, nil
		}
		s := newScript("Illegal", "DecideInCallOrder", "storage-mode flip (redpanda PR #31106): B takes the tiered path with no ticket and overtakes A (cloud path, still uploading), gets a spurious OUT_OF_ORDER_SEQUENCE_NUMBER; the client bumps its epoch and re-sends A and B in epoch 1 while the old-epoch A still lands, so A's records are appended twice (the copy is a new batch to a black box; the spurious error is what it sees)")
		s.whole(1, 0, 0, 0, history.Append, 0)
		a := s.call(1, 0, 1, 1)
		b := s.noTicketCall(1, 0, 2, 2)
		s.e(history.Event{Kind: history.Decide, Op: b, Decision: history.OutOfOrder})
		s.retErr(b, history.OutOfOrderSequenceNumber)
		s.e(history.Event{Kind: history.BumpEpoch, PID: 1, Epoch: 1})
		a2 := s.call(1, 1, 0, 0) // A's records again, epoch 1
		b2 := s.call(1, 1, 1, 1)
		s.staged(a)
		s.decide(a, history.Append, 1) // the old-epoch A lands
		s.retOK(a, 1)
		s.staged(a2)
		s.decide(a2, history.Append, 2) // and its copy
		s.retOK(a2, 2)
		s.staged(b2)
		s.decide(b2, history.Append, 3)
		s.retOK(b2, 3)
		return s.h, nil
	}
}

// idleEviction (issue #22670): A is appended; B times out at the client
// and its retry B' is in flight; the producer looks idle to rm_stm and
// is evicted; C (first_seq 2 > 0) is accepted through the unknown-producer
// path and B' then gets OUT_OF_ORDER_SEQUENCE_NUMBER for ever. The bad
// history is the client's capture, which cannot see the eviction. The ok
// history evicts an idle producer with nothing in flight.
func idleEviction(ok bool) func() (history.History, error) {
	return func() (history.History, error) {
		if ok {
			s := newScript("Ok", "", "idle eviction (issue #22670), harmless case: the producer is evicted while nothing is in flight, and its next batch (first_seq 1 > 0) is accepted through the unknown-producer path")
			s.whole(1, 0, 0, 0, history.Append, 0)
			s.e(history.Event{Kind: history.EvictProducer, Partition: "p0", PID: 1})
			s.whole(1, 0, 1, 1, history.AppendUnknown, 1)
			s.whole(1, 0, 2, 2, history.Append, 2)
			return s.h, nil
		}
		s := newScript("Illegal", "ContiguousAppends", "idle eviction (issue #22670): B's upload fails, its retry B' is still in flight when the idle producer is evicted, C (first_seq 2) is accepted through the unknown-producer path and B' gets OUT_OF_ORDER_SEQUENCE_NUMBER: B is lost. Seen from the client (the eviction is not visible), C acked at offset 1 right after [0,0] at offset 0 leaves B no room, and without B C is a gap that was accepted")
		s.whole(1, 0, 0, 0, history.Append, 0)
		b := s.call(1, 0, 1, 1)
		c := s.call(1, 0, 2, 2)
		s.ok(history.StageWriteDone, b)
		s.e(history.Event{Kind: history.UploadDone, Op: b, Result: history.Failed})
		s.k(history.ReleaseTicket, b)
		s.e(history.Event{Kind: history.Return, Op: b, Result: history.Failed, Error: history.RequestTimedOut})
		b2 := s.call(1, 0, 1, 1)
		s.staged(c)
		s.decide(c, history.AppendUnknown, 1)
		s.retOK(c, 1)
		s.staged(b2)
		s.decide(b2, history.OutOfOrder, 0)
		s.retErr(b2, history.OutOfOrderSequenceNumber)
		return s.h, nil
	}
}

// epochBump: A of epoch 0 is in flight when the producer bumps its epoch
// and appends B = [0,0] of epoch 1. Ok: reset_with_new_epoch fails the
// old-epoch request with REQUEST_TIMED_OUT. Bad: an old-epoch zombie's
// next batch is appended after B (Redpanda has no lower-epoch check in
// the idempotent path).
func epochBump(ok bool) func() (history.History, error) {
	return func() (history.History, error) {
		desc := "epoch bump with an old-epoch request in flight: reset_with_new_epoch fails it with REQUEST_TIMED_OUT"
		expect, violation := "Ok", ""
		if !ok {
			desc = "epoch bump with an old-epoch producer still sending: after B = [0,0] of epoch 1, a zombie of epoch 0 sends [1,1]; the idempotent path has no lower-epoch check, so it is validated against the new epoch's window and appended"
			expect, violation = "Illegal", "ContiguousAppends"
		}
		s := newScript(expect, violation, desc)
		a := s.call(1, 0, 0, 0)
		s.staged(a)
		s.e(history.Event{Kind: history.BumpEpoch, PID: 1, Epoch: 1})
		b := s.call(1, 1, 0, 0)
		if ok {
			s.k(history.RedeemTicket, a)
			s.e(history.Event{Kind: history.FenceEpoch, Op: a, Result: history.Failed})
			s.k(history.ReleaseTicket, a)
			s.e(history.Event{Kind: history.Return, Op: a, Result: history.Failed, Error: history.RequestTimedOut})
			s.staged(b)
			s.decide(b, history.Append, 0)
			s.retOK(b, 0)
			return s.h, nil
		}
		s.decide(a, history.Append, 0)
		s.retOK(a, 0)
		s.staged(b)
		s.decide(b, history.Append, 1)
		s.retOK(b, 1)
		// A zombie of the old epoch (an instance that has not seen the
		// bump) sends its next batch [1,1]; with no lower-epoch check it
		// is validated against the new epoch's window and appended.
		a2 := s.next
		s.next++
		s.e(history.Event{Kind: history.Replicate, Op: a2, Client: 2, Partition: "p0", PID: 1, First: 1, Last: 1})
		s.k(history.ReserveTicket, a2)
		s.k(history.StageWriteStart, a2)
		s.staged(a2)
		s.decide(a2, history.Append, 2)
		s.retOK(a2, 2)
		return s.h, nil
	}
}

// retryWindow: A's response is lost (unknown), five more batches are
// appended, then A is retried: it is older than the window of 5 finished
// requests. Ok: OUT_OF_ORDER_SEQUENCE_NUMBER (what Kafka and Redpanda
// answer). Bad: the retry is appended a second time.
func retryWindow(ok bool) func() (history.History, error) {
	return func() (history.History, error) {
		desc := "a retry older than the window of 5 finished requests gets OUT_OF_ORDER_SEQUENCE_NUMBER (requests_cached_max, KAFKA-17926)"
		expect, violation := "Ok", ""
		if !ok {
			desc = "a retry older than the window of 5 finished requests is appended a second time"
			expect, violation = "Illegal", "ContiguousAppends"
		}
		s := newScript(expect, violation, desc)
		a := s.call(1, 0, 0, 0)
		s.staged(a)
		s.decide(a, history.Append, 0)
		s.retUnknown(a)
		for i := int32(1); i <= 5; i++ {
			s.whole(1, 0, i, i, history.Append, int64(i))
		}
		a2 := s.call(1, 0, 0, 0)
		s.staged(a2)
		if ok {
			s.decide(a2, history.OutOfOrder, 0)
			s.retErr(a2, history.OutOfOrderSequenceNumber)
		} else {
			s.decide(a2, history.Append, 6)
			s.retOK(a2, 6)
		}
		return s.h, nil
	}
}

// termChange: A is appended, the leader changes while B is in flight;
// B fails with NOT_LEADER_FOR_PARTITION. Ok: the new leader has applied
// A, B's retry is next in sequence. Bad: the new leader never applied the
// producer and takes C (first_seq 2) through the unknown-producer path;
// B's retry then gets OUT_OF_ORDER_SEQUENCE_NUMBER.
func termChange(ok bool) func() (history.History, error) {
	return func() (history.History, error) {
		desc := "leader change with B in flight: B fails with NOT_LEADER_FOR_PARTITION and its retry succeeds on the new leader, which applied the producer's earlier batch"
		expect, violation := "Ok", ""
		if !ok {
			desc = "leader change with B in flight: the new leader never applied the producer, accepts C (first_seq 2) through the unknown-producer path, and B's retry gets OUT_OF_ORDER_SEQUENCE_NUMBER: B is lost. C acked at offset 1 right after [0,0] at offset 0 leaves B no room, and without B C is a gap that was accepted"
			expect, violation = "Illegal", "ContiguousAppends"
		}
		s := newScript(expect, violation, desc)
		s.whole(1, 0, 0, 0, history.Append, 0)
		b := s.call(1, 0, 1, 1)
		c := s.call(1, 0, 2, 2)
		s.staged(b)
		s.e(history.Event{Kind: history.ChangeTerm, Partition: "p0", Term: 2})
		s.k(history.RedeemTicket, b)
		s.e(history.Event{Kind: history.FenceEpoch, Op: b, Result: history.Failed})
		s.k(history.ReleaseTicket, b)
		s.e(history.Event{Kind: history.Return, Op: b, Result: history.Failed, Error: history.NotLeaderForPartition})
		b2 := s.call(1, 0, 1, 1)
		s.staged(c)
		if ok {
			s.decide(c, history.OutOfOrder, 0)
			s.retErr(c, history.OutOfOrderSequenceNumber)
			s.staged(b2)
			s.decide(b2, history.Append, 1)
			s.retOK(b2, 1)
			s.whole(1, 0, 2, 2, history.Append, 2)
			return s.h, nil
		}
		s.decide(c, history.AppendUnknown, 1)
		s.retOK(c, 1)
		s.staged(b2)
		s.decide(b2, history.OutOfOrder, 0)
		s.retErr(b2, history.OutOfOrderSequenceNumber)
		return s.h, nil
	}
}

// timeoutTookEffect: the client times out on A (unknown) but A is
// appended; B follows. Ok: A's retry gets A's offset back. Bad: A's
// retry is appended again after B.
func timeoutTookEffect(ok bool) func() (history.History, error) {
	return func() (history.History, error) {
		desc := "a timed-out request that did take effect: the client saw unknown, the retry is answered with the original offset"
		expect, violation := "Ok", ""
		if !ok {
			desc = "a timed-out request that did take effect: its retry is appended again, after the next batch"
			expect, violation = "Illegal", "ContiguousAppends"
		}
		s := newScript(expect, violation, desc)
		a := s.call(1, 0, 0, 0)
		b := s.call(1, 0, 1, 1)
		s.retUnknown(a)
		s.staged(a)
		s.decide(a, history.Append, 0)
		s.staged(b)
		s.decide(b, history.Append, 1)
		s.retOK(b, 1)
		a2 := s.call(1, 0, 0, 0)
		s.staged(a2)
		if ok {
			s.decide(a2, history.Duplicate, 0)
			s.retOK(a2, 0)
		} else {
			s.decide(a2, history.Append, 2)
			s.retOK(a2, 2)
		}
		return s.h, nil
	}
}

// prefixRetryOvertakes: a pre-fix (after-stage) history whose tickets are
// reserved out of call order but whose client-visible outcome is fine:
// the client re-sends A while A is staging, the retry's stage_write
// resolves first, so the retry reserves, is decided and appended first,
// and A is then answered as its duplicate. The black box sees nothing
// wrong; idemcheck validate rejects it at A's ReserveTicket
// (TicketOrderIsCallOrder).
func prefixRetryOvertakes() (history.History, error) {
	s := newScript("Ok", "", "pre-fix ordering, harmless outcome: a retry of A overtakes A in ticket order and is appended first, A is answered as its duplicate with the same offset; only the white box (validate: TicketOrderIsCallOrder at A's ReserveTicket) sees the reordering")
	s.h.Header.TicketOrder = "after-stage"
	call := func() int64 {
		op := s.next
		s.next++
		s.e(history.Event{Kind: history.Replicate, Op: op, Client: 1, Partition: "p0", PID: 1, First: 0, Last: 0})
		s.k(history.StageWriteStart, op)
		return op
	}
	a := call()
	a2 := call()
	s.ok(history.StageWriteDone, a2)
	s.k(history.ReserveTicket, a2)
	s.ok(history.StageWriteDone, a)
	s.k(history.ReserveTicket, a)
	s.ok(history.UploadDone, a2)
	s.ok(history.UploadDone, a)
	s.decide(a2, history.Append, 0)
	s.retOK(a2, 0)
	s.decide(a, history.Duplicate, 0)
	s.retOK(a, 0)
	return s.h, nil
}
