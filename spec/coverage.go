package spec

import (
	"strings"
)

// Branch names one branch of the spec: an action, or a named case of an
// action's rule (a class of [Classify] for Decide, a failure for
// StageWriteDone, the reason a ticket is released, …). Every allowed
// action takes exactly one primary branch (the first [State.AppendBranches]
// returns) and may take side branches too (window truncation, the
// sequence wrap, a stale epoch). A coverage report counts the branches a
// history or a model-checker run took, as TLC's -coverage counts actions.
type Branch uint8

// Branches of the spec, named "Action/case" (or "Action" for an action
// with one case). They are listed here once; [AllBranches] returns them
// in this order.
const (
	// BranchReplicateNew: a call with the producer's next batch (or a
	// new epoch's first).
	BranchReplicateNew Branch = iota + 1
	// BranchReplicateRetry: a call with a batch the producer sent before
	// (a client retry).
	BranchReplicateRetry
	// BranchReserveBeforeStage: the ticket reserved inside replicate(),
	// before stage_write (the fix).
	BranchReserveBeforeStage
	// BranchReserveAfterStage: the ticket reserved when stage_write
	// resolves (the pre-fix ordering).
	BranchReserveAfterStage
	// BranchStageWriteStart: stage_write starts.
	BranchStageWriteStart
	// BranchStageOK: stage_write succeeds.
	BranchStageOK
	// BranchStageFailed: stage_write fails.
	BranchStageFailed
	// BranchUploadOK: the L0 upload succeeds.
	BranchUploadOK
	// BranchUploadFailed: the L0 upload fails.
	BranchUploadFailed
	// BranchRedeem: the ticket is redeemed.
	BranchRedeem
	// BranchRedeemAborted: the call is aborted while it waits in redeem
	// and fails.
	BranchRedeemAborted
	// BranchFenceOK: fence_epoch succeeds (in the current term).
	BranchFenceOK
	// BranchFenceFailed: fence_epoch fails.
	BranchFenceFailed
	// BranchDecideInvalid: [ClassInvalid] (first > last).
	BranchDecideInvalid
	// BranchDecideFirst: [ClassFirst], an unknown producer at sequence 0.
	BranchDecideFirst
	// BranchDecideSkip: [ClassSkip], the skip path of an unknown
	// producer above sequence 0.
	BranchDecideSkip
	// BranchDecideNewEpoch: [ClassNewEpoch], the state reset by a
	// higher epoch.
	BranchDecideNewEpoch
	// BranchDecideNext: [ClassNext], the next batch in sequence.
	BranchDecideNext
	// BranchDecideDuplicate: [ClassDuplicate] of a finished request,
	// answered with its offset.
	BranchDecideDuplicate
	// BranchDecideDuplicateInFlight: [ClassDuplicate] recorded as a
	// duplicate of a request still in flight.
	BranchDecideDuplicateInFlight
	// BranchDecideGap: [ClassGap], OUT_OF_ORDER_SEQUENCE_NUMBER.
	BranchDecideGap
	// BranchDecideGapAppended (side branch of BranchDecideGap): the batch
	// answered OUT_OF_ORDER_SEQUENCE_NUMBER is already in the log, out of
	// the window (the window-overflow class, KAFKA-17926).
	BranchDecideGapAppended
	// BranchDecideStaleEpoch (side branch): the batch's epoch is below
	// the producer's (Redpanda has no lower-epoch check).
	BranchDecideStaleEpoch
	// BranchDecideWindowTruncate (side branch of an append): the window
	// is full and its oldest request is forgotten.
	BranchDecideWindowTruncate
	// BranchDecideWrap (side branch of BranchDecideNext): the batch
	// follows INT32_MAX at sequence 0.
	BranchDecideWrap
	// BranchDecideDupLatestOffset (side branch of a duplicate, the
	// injected bug dup-latest-offset): the offset of the latest request
	// instead of the matched one.
	BranchDecideDupLatestOffset
	// BranchDecideTiered (side branch): the call took the tiered path
	// (Config.TieredPath) and is decided inside replicate(), with no
	// ticket.
	BranchDecideTiered
	// BranchReleaseAfterDecide: the ticket released after rm_stm decided.
	BranchReleaseAfterDecide
	// BranchReleaseAfterFailure: the ticket released after a failure.
	BranchReleaseAfterFailure
	// BranchReleaseTermChanged: the ticket released because the term
	// changed after the fence; the call then fails.
	BranchReleaseTermChanged
	// BranchReleaseBeforeDecide: the ticket released after redeem,
	// before the decision (the injected bug release-before-decide).
	BranchReleaseBeforeDecide
	// BranchReturnOK: the call returns ok with an offset.
	BranchReturnOK
	// BranchReturnError: the call returns the error its outcome owes.
	BranchReturnError
	// BranchReturnNotLeader: a failed call returns
	// NOT_LEADER_FOR_PARTITION.
	BranchReturnNotLeader
	// BranchReturnUnknown: the client gives up (a timeout).
	BranchReturnUnknown
	// BranchReturnLeakedTicket (side branch, the injected bug
	// leak-ticket): a failed call returns still holding its ticket.
	BranchReturnLeakedTicket
	// BranchEvictProducer: the partition forgets a producer (idle
	// eviction).
	BranchEvictProducer
	// BranchBumpEpoch: the producer's epoch is raised.
	BranchBumpEpoch
	// BranchChangeTerm: a new leader term.
	BranchChangeTerm

	numBranches = iota
)

var branchNames = [numBranches + 1]string{"",
	"Replicate/new", "Replicate/retry",
	"ReserveTicket/before-stage", "ReserveTicket/after-stage",
	"StageWriteStart", "StageWriteDone/ok", "StageWriteDone/failed",
	"UploadDone/ok", "UploadDone/failed", "RedeemTicket", "RedeemTicket/aborted",
	"FenceEpoch/ok", "FenceEpoch/failed",
	"Decide/invalid", "Decide/first", "Decide/skip", "Decide/new-epoch", "Decide/next",
	"Decide/duplicate", "Decide/duplicate-in-flight", "Decide/gap",
	"Decide/gap-already-appended", "Decide/stale-epoch", "Decide/window-truncate", "Decide/wrap",
	"Decide/dup-latest-offset", "Decide/tiered",
	"ReleaseTicket/after-decide", "ReleaseTicket/after-failure", "ReleaseTicket/term-changed", "ReleaseTicket/before-decide",
	"Return/ok", "Return/error", "Return/not-leader", "Return/unknown", "Return/leaked-ticket",
	"EvictProducer", "BumpEpoch", "ChangeTerm",
}

// String returns the branch's name, "Action/case" or "Action".
func (b Branch) String() string {
	if b == 0 || int(b) > numBranches {
		return "branch?"
	}
	return branchNames[b]
}

// Action returns the name of the action the branch belongs to.
func (b Branch) Action() Name {
	n, _, _ := strings.Cut(b.String(), "/")
	return Name(n)
}

// Side reports whether b is a side branch, taken besides an action's
// primary branch.
func (b Branch) Side() bool {
	switch b {
	case BranchDecideGapAppended, BranchDecideStaleEpoch, BranchDecideWindowTruncate, BranchDecideWrap,
		BranchDecideDupLatestOffset, BranchDecideTiered, BranchReturnLeakedTicket:
		return true
	}
	return false
}

// AllBranches returns every branch, in the order of their declaration.
func AllBranches() []Branch {
	out := make([]Branch, numBranches)
	for i := range out {
		out[i] = Branch(i + 1)
	}
	return out
}

// ParseBranch returns the branch named s.
func ParseBranch(s string) (Branch, bool) {
	for i := 1; i <= numBranches; i++ {
		if branchNames[i] == s {
			return Branch(i), true
		}
	}
	return 0, false
}

// AppendBranches appends to dst the branches action a takes in s (which
// [Step] allows): the primary branch first, then any side branches. It
// reads s only; it calls the same rule ([Classify]) as Step, so the
// branches are those Step takes.
func (s *State) AppendBranches(dst []Branch, cfg Config, a Action) []Branch {
	switch a.Name {
	case Replicate:
		pi := s.producer(a.PID)
		var epoch int16
		var next int32
		if pi >= 0 {
			epoch, next = s.Producers[pi].Epoch, s.Producers[pi].NextSeq
		}
		if a.Epoch > epoch {
			epoch, next = a.Epoch, 0
		}
		return append(dst, pick(a.Epoch == epoch && a.First == next, BranchReplicateNew, BranchReplicateRetry))
	case EvictProducer:
		return append(dst, BranchEvictProducer)
	case BumpEpoch:
		return append(dst, BranchBumpEpoch)
	case ChangeTerm:
		return append(dst, BranchChangeTerm)
	}
	oi := s.op(a.Op)
	if oi < 0 {
		return dst
	}
	o := &s.Ops[oi]
	switch a.Name {
	case ReserveTicket:
		return append(dst, pick(o.Phase == PhaseStaged, BranchReserveAfterStage, BranchReserveBeforeStage))
	case StageWriteStart:
		return append(dst, BranchStageWriteStart)
	case StageWriteDone:
		return append(dst, pick(a.Result == OK, BranchStageOK, BranchStageFailed))
	case UploadDone:
		return append(dst, pick(a.Result == OK, BranchUploadOK, BranchUploadFailed))
	case RedeemTicket:
		return append(dst, pick(a.Result == Failed, BranchRedeemAborted, BranchRedeem))
	case FenceEpoch:
		return append(dst, pick(a.Result == OK, BranchFenceOK, BranchFenceFailed))
	case Decide:
		return s.decideBranches(dst, cfg, o, a)
	case ReleaseTicket:
		switch {
		case o.Phase == PhaseDecided:
			return append(dst, BranchReleaseAfterDecide)
		case o.Phase == PhaseFailed:
			return append(dst, BranchReleaseAfterFailure)
		case o.Phase == PhaseFenced && o.Term != s.Term:
			return append(dst, BranchReleaseTermChanged)
		}
		return append(dst, BranchReleaseBeforeDecide)
	case Return:
		switch {
		case a.Result == Unknown:
			return append(dst, BranchReturnUnknown)
		case a.Result == OK:
			dst = append(dst, BranchReturnOK)
		case a.Error == NotLeaderForPartition && o.Phase == PhaseFailed:
			dst = append(dst, BranchReturnNotLeader)
		default:
			dst = append(dst, BranchReturnError)
		}
		if o.Reserved && !o.Released {
			dst = append(dst, BranchReturnLeakedTicket)
		}
	}
	return dst
}

// decideBranches appends the branches of Decide for op o.
func (s *State) decideBranches(dst []Branch, cfg Config, o *Op, a Action) []Branch {
	pi := s.producer(o.PID)
	if pi < 0 {
		return dst
	}
	p := &s.Producers[pi]
	view := ProducerView{Known: p.Known, Epoch: p.PEpoch, Window: p.Reqs, MaxSeq: cfg.maxSeq()}
	c, _, stale := Classify(view, Batch{PID: o.PID, Epoch: o.Epoch, First: o.First, Last: o.Last})
	switch c {
	case ClassInvalid:
		dst = append(dst, BranchDecideInvalid)
	case ClassFirst:
		dst = append(dst, BranchDecideFirst)
	case ClassSkip:
		dst = append(dst, BranchDecideSkip)
	case ClassNewEpoch:
		dst = append(dst, BranchDecideNewEpoch)
	case ClassNext:
		dst = append(dst, BranchDecideNext)
	case ClassDuplicate:
		dst = append(dst, pick(a.Decision == DuplicateInFlight, BranchDecideDuplicateInFlight, BranchDecideDuplicate))
		if cfg.bug(BugDupLatestOffset) {
			dst = append(dst, BranchDecideDupLatestOffset)
		}
	case ClassGap:
		dst = append(dst, BranchDecideGap)
		for _, e := range s.Log {
			if e.PID == o.PID && e.Epoch == o.Epoch && e.First == o.First && e.Last == o.Last {
				dst = append(dst, BranchDecideGapAppended)
				break
			}
		}
	}
	if stale {
		dst = append(dst, BranchDecideStaleEpoch)
	}
	if o.Phase == PhaseCalled {
		dst = append(dst, BranchDecideTiered)
	}
	if !c.Appends() {
		return dst
	}
	// The window the append sees: applyDecide clears it for a new
	// producer, a higher epoch and the skip path.
	kept := len(p.Reqs)
	if !p.Known || o.Epoch > p.PEpoch || c == ClassSkip {
		kept = 0
	}
	if kept >= cfg.window() {
		dst = append(dst, BranchDecideWindowTruncate)
	}
	if c == ClassNext && kept > 0 && p.Reqs[kept-1].Last == cfg.maxSeq() && o.First == 0 {
		dst = append(dst, BranchDecideWrap)
	}
	return dst
}

// Coverage counts the branches taken by a sequence of actions (a
// history, or every transition a model checker generates). The zero
// value is empty and ready to use.
type Coverage struct {
	counts [numBranches + 1]int64
	buf    [8]Branch
}

// Add counts the branches action a takes in s; call it before applying
// a to s.
func (c *Coverage) Add(cfg Config, s *State, a Action) {
	for _, b := range s.AppendBranches(c.buf[:0], cfg, a) {
		c.counts[b]++
	}
}

// Inc counts one more taking of branch b.
func (c *Coverage) Inc(b Branch) {
	if int(b) <= numBranches {
		c.counts[b]++
	}
}

// Count returns how many times branch b was taken.
func (c *Coverage) Count(b Branch) int64 {
	if int(b) > numBranches {
		return 0
	}
	return c.counts[b]
}

// Merge adds o's counts to c's.
func (c *Coverage) Merge(o *Coverage) {
	for i := range c.counts {
		c.counts[i] += o.counts[i]
	}
}

// Missed returns the branches never taken, in the order of
// [AllBranches].
func (c *Coverage) Missed() []Branch {
	var out []Branch
	for _, b := range AllBranches() {
		if c.counts[b] == 0 {
			out = append(out, b)
		}
	}
	return out
}
