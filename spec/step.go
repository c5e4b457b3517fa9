package spec

import (
	"fmt"
	"math"
)

// Step returns the state after action a, or a [*StepError] saying what
// the spec expected instead. s is not changed.
func Step(cfg Config, s State, a Action) (State, error) {
	if err := s.check(cfg, a); err != nil {
		return s, err
	}
	n := s.Clone()
	n.apply(cfg, a)
	return n, nil
}

// Apply performs action a on s in place, or returns a [*StepError] and
// leaves s unchanged. It is [Step] without the copy, for long replays.
func (s *State) Apply(cfg Config, a Action) error {
	if err := s.check(cfg, a); err != nil {
		return err
	}
	s.apply(cfg, a)
	return nil
}

func stepErr(a Action, state string, want []Name, format string, args ...any) *StepError {
	return &StepError{Action: a, Expected: fmt.Sprintf(format, args...), Want: want, State: state}
}

// syncNext is the action the op inside its synchronous replicate()
// prologue must take next.
func syncNext(cfg Config, o *Op) Name {
	if !o.Reserved && (cfg.order() == BeforeStage || o.Phase == PhaseStaged) {
		return ReserveTicket
	}
	return StageWriteStart
}

// tiered reports whether op o, inside its replicate() prologue, may take
// the tiered path (Config.TieredPath): a Decide with no ticket.
func (s *State) tiered(cfg Config, o *Op) bool {
	return cfg.TieredPath && s.Sync == o.ID && o.Phase == PhaseCalled && !o.Reserved
}

// syncAllows reports whether a may come next inside the synchronous
// sequence of op s.Sync: its ticket reservation, its stage_write start,
// or, on the tiered path, its decision.
func (s *State) syncAllows(cfg Config, a Action) bool {
	if a.Op != s.Sync {
		return false
	}
	return a.Name == ReserveTicket || a.Name == StageWriteStart || a.Name == Decide && s.tiered(cfg, &s.Ops[s.op(s.Sync)])
}

// check reports whether a is allowed in s, without changing s.
func (s *State) check(cfg Config, a Action) error {
	if s.Sync != 0 && !s.syncAllows(cfg, a) {
		o := &s.Ops[s.op(s.Sync)]
		next := syncNext(cfg, o)
		where := "its synchronous replicate() call"
		if o.Phase == PhaseStaged {
			where = "the synchronous continuation of its stage_write"
		}
		return stepErr(a, "op["+itoa(o.ID)+"] = "+o.describe(), []Name{next},
			"op %d is inside %s: expected %s for op %d before any other event", o.ID, where, next, o.ID)
	}
	switch a.Name {
	case Replicate:
		if a.Op <= s.LastOp {
			return stepErr(a, "", nil, "op ids increase in call order: expected an op id above %d", s.LastOp)
		}
		return nil
	case EvictProducer:
		pi := s.producer(a.PID)
		if pi < 0 || !s.Producers[pi].Known {
			return stepErr(a, "", nil, "EvictProducer of producer %d, which the partition does not know", a.PID)
		}
		return nil
	case BumpEpoch:
		if pi := s.producer(a.PID); pi >= 0 && a.Epoch <= s.Producers[pi].Epoch {
			return stepErr(a, "", nil, "BumpEpoch must raise producer %d's epoch above %d", a.PID, s.Producers[pi].Epoch)
		}
		return nil
	case ChangeTerm:
		if a.Term <= s.Term {
			return stepErr(a, "term = "+itoa(s.Term), nil, "ChangeTerm must raise the term above %d", s.Term)
		}
		return nil
	case ReserveTicket, StageWriteStart, StageWriteDone, UploadDone, RedeemTicket, FenceEpoch, Decide, ReleaseTicket, Return:
	default:
		return stepErr(a, "", nil, "unknown action %q", string(a.Name))
	}
	oi := s.op(a.Op)
	if oi < 0 {
		return stepErr(a, "", []Name{Replicate}, "op %d was never called (or is over)", a.Op)
	}
	o := &s.Ops[oi]
	st := func() string { return "op[" + itoa(o.ID) + "] = " + o.describe() }
	order := cfg.order()
	if a.Name == Return && a.Result == Unknown {
		if o.Returned != NotReturned {
			return stepErr(a, st(), nil, "op %d has already returned", o.ID)
		}
		return nil
	}
	switch a.Name {
	case ReserveTicket:
		if o.Reserved {
			return stepErr(a, st(), nil, "op %d has already reserved its ticket", o.ID)
		}
		if order == BeforeStage && o.Phase != PhaseCalled {
			return stepErr(a, st(), nil, "ReserveTicket for op %d after its %s, but ticket order before-stage requires it right after Replicate", o.ID, lastStepOf(o))
		}
		if order == AfterStage && o.Phase != PhaseStaged {
			return stepErr(a, st(), []Name{StageWriteDone}, "ReserveTicket for op %d while it is %s, but ticket order after-stage reserves it when stage_write resolves (after StageWriteDone ok)", o.ID, o.Phase)
		}
	case StageWriteStart:
		if o.Phase != PhaseCalled {
			return stepErr(a, st(), nil, "StageWriteStart for op %d while it is %s: stage_write starts once, inside replicate()", o.ID, o.Phase)
		}
		if order == BeforeStage && !o.Reserved {
			return stepErr(a, st(), []Name{ReserveTicket}, "StageWriteStart for op %d before its ReserveTicket, but ticket order before-stage reserves the ticket first", o.ID)
		}
	case StageWriteDone:
		if o.Phase != PhaseStaging {
			return stepErr(a, st(), []Name{StageWriteStart}, "StageWriteDone for op %d while it is %s: expected it after StageWriteStart", o.ID, o.Phase)
		}
		return checkResult(a, st)
	case UploadDone:
		if o.Phase != PhaseStaged {
			return stepErr(a, st(), []Name{StageWriteDone}, "UploadDone for op %d while it is %s: the upload starts after StageWriteDone ok", o.ID, o.Phase)
		}
		if !o.Reserved {
			return stepErr(a, st(), []Name{ReserveTicket}, "UploadDone for op %d before its ReserveTicket: the upload starts after the ticket is reserved", o.ID)
		}
		return checkResult(a, st)
	case RedeemTicket:
		if o.Phase != PhaseUploaded {
			return stepErr(a, st(), []Name{UploadDone}, "RedeemTicket for op %d while it is %s: redeem comes after UploadDone ok", o.ID, o.Phase)
		}
		if !o.Reserved || o.Released {
			return stepErr(a, st(), []Name{ReserveTicket}, "RedeemTicket for op %d, which holds no ticket", o.ID)
		}
		switch a.Result {
		case "", OK:
		case Failed:
			return nil // aborted while waiting: no need to be the head
		default:
			return stepErr(a, st(), nil, "RedeemTicket needs no result (or ok), or error for a redeem that was aborted, not %q", a.Result)
		}
		p := &s.Producers[s.producer(o.PID)]
		if p.Queue[0] != o.ID {
			return stepErr(a, "producer["+itoa(p.PID)+"].queue = "+describeQueue(p.Queue), nil,
				"RedeemTicket for op %d while op %d holds an earlier ticket of producer %d: expected ReleaseTicket for op %d first", o.ID, p.Queue[0], p.PID, p.Queue[0])
		}
	case FenceEpoch:
		if o.Phase != PhaseRedeemed {
			return stepErr(a, st(), []Name{RedeemTicket}, "FenceEpoch for op %d while it is %s: the fence comes after RedeemTicket", o.ID, o.Phase)
		}
		return checkResult(a, st)
	case Decide:
		tiered := s.tiered(cfg, o)
		if o.Phase != PhaseFenced && !tiered {
			return stepErr(a, st(), []Name{FenceEpoch}, "Decide for op %d while it is %s: rm_stm decides after FenceEpoch ok", o.ID, o.Phase)
		}
		if o.Released && !cfg.bug(BugReleaseBeforeDecide) {
			return stepErr(a, st(), nil, "Decide for op %d after it released its ticket: the ticket is released after rm_stm decides", o.ID)
		}
		if o.Term != s.Term && !tiered {
			return stepErr(a, st()+"; term = "+itoa(s.Term), []Name{ReleaseTicket}, "Decide for op %d fenced in term %d, but the term is now %d: expected ReleaseTicket and a failed Return", o.ID, o.Term, s.Term)
		}
		p := &s.Producers[s.producer(o.PID)]
		dec, off := s.decide(cfg, p, o)
		got := a.Decision
		if got == DuplicateInFlight {
			got = Duplicate
		}
		if got != dec {
			return stepErr(a, "producer["+itoa(p.PID)+"].rm_stm = "+p.describeRM(), nil,
				"Decide for op %d (pid %d epoch %d seq [%d,%d]) recorded %s, but the idempotency rules give %s", o.ID, o.PID, o.Epoch, o.First, o.Last, a.Decision, dec)
		}
		switch {
		case dec.Appends() && a.Offset < off:
			return stepErr(a, "next offset = "+itoa(off), nil, "Decide for op %d appends at offset %d, but the log already reaches offset %d", o.ID, a.Offset, off)
		case dec == Duplicate && a.Offset != off:
			return stepErr(a, "producer["+itoa(p.PID)+"].rm_stm = "+p.describeRM(), nil, "Decide for op %d is a duplicate of the request at offset %d, not %d", o.ID, off, a.Offset)
		}
	case ReleaseTicket:
		if !o.Reserved || o.Released {
			return stepErr(a, st(), []Name{ReserveTicket}, "ReleaseTicket for op %d, which holds no ticket", o.ID)
		}
		switch {
		case o.Phase == PhaseDecided || o.Phase == PhaseFailed:
		case o.Phase == PhaseFenced && o.Term != s.Term:
		case o.Phase == PhaseRedeemed && cfg.bug(BugReleaseBeforeDecide):
		default:
			return stepErr(a, st(), []Name{Decide}, "ReleaseTicket for op %d while it is %s: the ticket is released after rm_stm decides or after a failure", o.ID, o.Phase)
		}
	case Return:
		if o.Returned != NotReturned {
			return stepErr(a, st(), nil, "op %d has already returned", o.ID)
		}
		if o.Phase != PhaseDecided && o.Phase != PhaseFailed {
			return stepErr(a, st(), []Name{Decide}, "Return %s for op %d while it is %s: expected its Decide or a failure first", a.Result, o.ID, o.Phase)
		}
		if o.Reserved && !o.Released && !(o.Phase == PhaseFailed && cfg.bug(BugLeakTicket)) {
			return stepErr(a, st(), []Name{ReleaseTicket}, "Return for op %d before its ReleaseTicket", o.ID)
		}
		res, code, off := o.outcome()
		ok := a.Result == res
		switch {
		case !ok:
		case res == OK:
			ok = a.Offset == off
		case res == Failed:
			ok = a.Error == code || (o.Phase == PhaseFailed && a.Error == NotLeaderForPartition)
		}
		if !ok {
			want := Action{Name: Return, Op: o.ID, Result: res, Error: code, Offset: off}
			return stepErr(a, st(), nil, "expected %s (or Return unknown)", want)
		}
	}
	return nil
}

func checkResult(a Action, st func() string) error {
	if a.Result != OK && a.Result != Failed {
		return stepErr(a, st(), nil, "%s needs result ok or error, not %q", a.Name, a.Result)
	}
	return nil
}

// lastStepOf names the last step op o took, for messages.
func lastStepOf(o *Op) Name {
	switch o.Phase {
	case PhaseStaging:
		return StageWriteStart
	case PhaseStaged, PhaseFailed:
		return StageWriteDone
	case PhaseUploaded:
		return UploadDone
	case PhaseRedeemed:
		return RedeemTicket
	case PhaseFenced:
		return FenceEpoch
	case PhaseDecided:
		return Decide
	}
	return Replicate
}

// outcome is the Return a finished op owes its client.
func (o *Op) outcome() (Result, ErrorCode, int64) {
	if o.Phase == PhaseFailed {
		return Failed, RequestTimedOut, 0
	}
	switch o.Decision {
	case Append, AppendUnknown, Duplicate, DuplicateInFlight:
		return OK, 0, o.Offset
	case InvalidRequest:
		return Failed, InvalidRequestCode, 0
	}
	return Failed, OutOfOrderSequenceNumber, 0
}

// decide computes rm_stm's decision for op o of producer p with the
// project's one rule, [Classify], and the offset it answers with: the
// log's next offset for an append, the matched request's for a duplicate.
func (s *State) decide(cfg Config, p *Producer, o *Op) (Decision, int64) {
	view := ProducerView{Known: p.Known, Epoch: p.PEpoch, Window: p.Reqs, MaxSeq: cfg.maxSeq()}
	c, match, _ := Classify(view, Batch{PID: o.PID, Epoch: o.Epoch, First: o.First, Last: o.Last})
	switch {
	case c.Appends():
		return c.Decision(), s.NextOffset
	case c == ClassDuplicate && cfg.bug(BugDupLatestOffset):
		return Duplicate, p.Reqs[len(p.Reqs)-1].Offset
	case c == ClassDuplicate:
		return Duplicate, p.Reqs[match].Offset
	}
	return c.Decision(), 0
}

// apply performs a, which check has allowed, and records in s.Viol the
// invariants the new state breaks. Flag invariants are judged by the
// step that breaks them (see [Invariants]); a predicate invariant is
// evaluated, for the call's producer, after the only action that can
// make it false: ReserveTicket for TicketOrderIsCallOrder, Decide for
// DecideInCallOrder, Return for AckedInLog (every other action only
// adds the highest call or moves a call on). TestPredicateCache checks
// on random behaviours that this equals evaluating every predicate on
// every state.
func (s *State) apply(cfg Config, a Action) {
	switch a.Name {
	case Replicate:
		s.applyReplicate(cfg, a)
		return
	case EvictProducer:
		p := &s.Producers[s.producer(a.PID)]
		p.Known, p.PEpoch, p.Reqs = false, 0, nil
		s.Evictions = sat(s.Evictions)
		return
	case BumpEpoch:
		pi := s.producer(a.PID)
		if pi < 0 {
			pi = s.addProducer(a.PID)
		}
		p := &s.Producers[pi]
		p.Epoch, p.NextSeq = a.Epoch, 0
		s.EpochBumps = sat(s.EpochBumps)
		return
	case ChangeTerm:
		s.Term = a.Term
		s.TermChanges = sat(s.TermChanges)
		return
	}
	o := &s.Ops[s.op(a.Op)]
	p := &s.Producers[s.producer(o.PID)]
	switch a.Name {
	case ReserveTicket:
		o.Reserved = true
		if o.Phase == PhaseStaged {
			s.Sync = 0 // the end of the after-stage continuation
		}
		p.Queue = append(p.Queue, o.ID)
		if s.ticketOvertaker(o.PID) != nil {
			s.Viol |= bitTicketOrder
		}
	case StageWriteStart:
		o.Phase = PhaseStaging
		s.Sync = 0
	case StageWriteDone:
		o.Phase = pick(a.Result == OK, PhaseStaged, PhaseFailed)
		if o.Phase == PhaseStaged && cfg.order() == AfterStage {
			s.Sync = o.ID // the continuation reserves the ticket at once
		}
	case UploadDone:
		o.Phase = pick(a.Result == OK, PhaseUploaded, PhaseFailed)
	case RedeemTicket:
		o.Phase = pick(a.Result == Failed, PhaseFailed, PhaseRedeemed)
	case FenceEpoch:
		o.Phase = pick(a.Result == OK, PhaseFenced, PhaseFailed)
		o.Term = s.Term
	case Decide:
		if o.Phase == PhaseCalled {
			s.Sync = 0 // the tiered path: decided inside replicate()
		}
		s.applyDecide(cfg, p, o, a)
		if s.decideOvertaker(o.PID) != nil {
			s.Viol |= bitDecideOrder
		}
	case ReleaseTicket:
		o.Released = true
		if o.Phase == PhaseFenced && o.Term != s.Term {
			o.Phase = PhaseFailed
		}
		for i, id := range p.Queue {
			if id == o.ID {
				p.Queue = append(p.Queue[:i], p.Queue[i+1:]...)
				break
			}
		}
	case Return:
		if a.Result == Unknown {
			o.Returned = ReturnedUnknown
			break
		}
		o.Returned = ReturnedNormally
		if !s.ackedInLog(o) {
			s.Viol |= bitAcked
		}
	}
	s.Viol |= o.Flags
}

func (s *State) applyReplicate(cfg Config, a Action) {
	pi := s.producer(a.PID)
	if pi < 0 {
		pi = s.addProducer(a.PID)
	}
	p := &s.Producers[pi]
	if a.Epoch > p.Epoch {
		p.Epoch, p.NextSeq = a.Epoch, 0
	}
	if a.Epoch == p.Epoch && a.First == p.NextSeq {
		p.Sent = sat(p.Sent)
		if a.Last < cfg.maxSeq() {
			p.NextSeq = a.Last + 1
		} else {
			p.NextSeq = 0
		}
	} else {
		p.Retries = sat(p.Retries)
		for i := len(s.Ops) - 1; i >= 0; i-- {
			o := &s.Ops[i]
			if o.PID == a.PID && o.Epoch == a.Epoch && o.First == a.First && o.Last == a.Last {
				o.Retried = true
				break
			}
		}
	}
	p.noteStart(a.Epoch, a.First)
	s.Ops = append(s.Ops, Op{ID: a.Op, PID: a.PID, Epoch: a.Epoch, First: a.First, Last: a.Last, Phase: PhaseCalled})
	s.LastOp = a.Op
	s.Sync = a.Op
}

func (s *State) applyDecide(cfg Config, p *Producer, o *Op, a Action) {
	dec, off := s.decide(cfg, p, o)
	if dec.Appends() {
		off = a.Offset
	}
	if dec == OutOfOrder && p.nextInSequence(o) {
		o.Flags |= bitSpuriousOOO
	}
	if dec == OutOfOrder && p.appended(o) {
		o.Flags |= bitLoggedOOO
	}
	// Idempotency state: create, reset on a higher epoch, clear on skip.
	switch {
	case !p.Known:
		p.Known, p.PEpoch, p.Reqs = true, o.Epoch, p.Reqs[:0]
	case o.Epoch > p.PEpoch:
		p.PEpoch, p.Reqs = o.Epoch, p.Reqs[:0]
	}
	if dec == AppendUnknown {
		p.Reqs = p.Reqs[:0]
	}
	o.Phase, o.Decision, o.Offset = PhaseDecided, a.Decision, off
	if !dec.Appends() {
		return
	}
	if w := cfg.window(); len(p.Reqs) >= w {
		n := copy(p.Reqs, p.Reqs[len(p.Reqs)-w+1:])
		p.Reqs = p.Reqs[:n]
	}
	p.Reqs = append(p.Reqs, Req{Epoch: o.Epoch, First: o.First, Last: o.Last, Offset: off})
	s.Log = append(s.Log, Entry{Offset: off, PID: o.PID, Epoch: o.Epoch, First: o.First, Last: o.Last})
	s.NextOffset = off + RecordCount(o.First, o.Last)
	o.Flags |= p.recordAppend(o, int64(cfg.maxSeq()))
}

// appended reports whether every sequence of o's batch is in the log in
// o's epoch, as the appended-sequence summary of the latest appended
// epoch shows (a long replay trims the log itself). An older epoch's
// sequences are not tracked, and a range that wraps past INT32_MAX
// counts as not appended, as in Broker.tla's InLog.
func (p *Producer) appended(o *Op) bool {
	if !p.AppHas || o.Epoch != p.AppEpoch || o.First > o.Last {
		return false
	}
	for x := int64(o.First); x <= int64(o.Last); {
		if x < p.AppPrefix {
			x = p.AppPrefix
			continue
		}
		next := x
		for _, r := range p.AppAbove {
			if r.First <= x && x <= r.Last {
				next = r.Last + 1
				break
			}
		}
		if next == x {
			return false
		}
		x = next
	}
	return true
}

// noteStart records first as the start of epoch if it is the producer's
// first call there.
func (p *Producer) noteStart(epoch int16, first int32) {
	i := 0
	for i < len(p.Starts) && p.Starts[i].Epoch < epoch {
		i++
	}
	if i < len(p.Starts) && p.Starts[i].Epoch == epoch {
		return
	}
	p.Starts = append(p.Starts, EpochStart{})
	copy(p.Starts[i+1:], p.Starts[i:])
	p.Starts[i] = EpochStart{epoch, first}
}

// startOf returns the first sequence the producer called in epoch.
func (p *Producer) startOf(epoch int16) (int32, bool) {
	for _, e := range p.Starts {
		if e.Epoch == epoch {
			return e.First, true
		}
	}
	return 0, false
}

// nextInSequence reports whether o is the producer's next batch: every
// sequence before o.First of o's epoch is in the log and o's are not.
func (p *Producer) nextInSequence(o *Op) bool {
	if !p.AppHas || o.Epoch > p.AppEpoch {
		return o.First == 0
	}
	if o.Epoch < p.AppEpoch {
		return false
	}
	return int64(o.First) == p.AppPrefix && !p.overlaps(int64(o.First), int64(o.Last))
}

func (p *Producer) overlaps(f, l int64) bool {
	if f < p.AppPrefix {
		return true
	}
	for _, r := range p.AppAbove {
		if f <= r.Last && r.First <= l {
			return true
		}
	}
	return false
}

// recordAppend updates the appended-sequence summary for o's append and
// returns the invariant bits the append breaks.
func (p *Producer) recordAppend(o *Op, maxSeq int64) uint8 {
	f, l := int64(o.First), int64(o.Last)
	var bits uint8
	if !p.AppHas || o.Epoch > p.AppEpoch {
		// The epoch's first append (an older epoch's, after a newer
		// one's, breaks ContiguousAppends below instead).
		if start, ok := p.startOf(o.Epoch); ok && start != o.First {
			bits |= bitEpochStart
		}
	}
	wrap := false
	if p.AppHas {
		switch {
		case o.Epoch < p.AppEpoch:
			return bitContiguous // an older epoch after a newer one
		case o.Epoch == p.AppEpoch:
			wrap = p.AppMaxLast == maxSeq && f == 0
			switch {
			case wrap:
			case p.overlaps(f, l):
				bits |= bitDuplicate
			case f != p.AppMaxLast+1:
				bits |= bitContiguous
			}
		}
	}
	if !p.AppHas || o.Epoch > p.AppEpoch || wrap {
		p.AppHas, p.AppEpoch, p.AppMaxLast, p.AppPrefix, p.AppAbove = true, o.Epoch, -1, 0, p.AppAbove[:0]
	}
	p.AppMaxLast = max(p.AppMaxLast, l)
	if f <= p.AppPrefix {
		p.AppPrefix = max(p.AppPrefix, l+1)
	} else {
		// Keep the ranges sorted, so equal summaries encode equally.
		i := 0
		for i < len(p.AppAbove) && p.AppAbove[i].First < f {
			i++
		}
		p.AppAbove = append(p.AppAbove, Range{})
		copy(p.AppAbove[i+1:], p.AppAbove[i:])
		p.AppAbove[i] = Range{f, l}
	}
	// Absorb ranges the prefix now reaches.
	for changed := true; changed; {
		changed = false
		n := 0
		for _, r := range p.AppAbove {
			if r.First <= p.AppPrefix {
				p.AppPrefix = max(p.AppPrefix, r.Last+1)
				changed = true
				continue
			}
			p.AppAbove[n] = r
			n++
		}
		p.AppAbove = p.AppAbove[:n]
	}
	return bits
}

func pick[T any](c bool, a, b T) T {
	if c {
		return a
	}
	return b
}

func sat(x uint8) uint8 {
	if x == math.MaxUint8 {
		return x
	}
	return x + 1
}

func itoa(x int64) string { return fmt.Sprint(x) }
