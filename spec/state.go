package spec

import (
	"encoding/binary"
	"fmt"
	"strconv"
	"strings"
)

// Phase is how far an operation has got on the write path (ignoring its
// ticket and its client-visible Return, which are tracked apart).
type Phase uint8

// Phases, in order. PhaseDecided and PhaseFailed end the path.
const (
	PhaseCalled   Phase = iota + 1 // replicate() called, stage_write not started
	PhaseStaging                   // stage_write started
	PhaseStaged                    // stage_write resolved ok
	PhaseUploaded                  // L0 upload resolved ok
	PhaseRedeemed                  // ticket redeemed (head of its queue)
	PhaseFenced                    // epoch fence taken, in Op.Term
	PhaseDecided                   // rm_stm decided
	PhaseFailed                    // stage_write, upload or fence failed, or the term changed
)

var phaseNames = [...]string{"", "called", "staging", "staged", "uploaded", "redeemed", "fenced", "decided", "failed"}

func (p Phase) String() string {
	if int(p) < len(phaseNames) && p != 0 {
		return phaseNames[p]
	}
	return "phase" + strconv.Itoa(int(p))
}

// Returned says whether and how the client saw an operation end.
type Returned uint8

// Return states.
const (
	NotReturned Returned = iota
	ReturnedNormally
	ReturnedUnknown // the client timed out; the request may go on
)

// Invariant bits, in the order of [Invariants].
const (
	bitTicketOrder uint8 = 1 << iota
	bitDecideOrder
	bitSpuriousOOO
	bitContiguous
	bitDuplicate
	bitAcked
	bitEpochStart
	bitLoggedOOO
)

// Op is one replicate operation of the partition.
type Op struct {
	ID    int64
	PID   int64
	Epoch int16
	First int32
	Last  int32
	Phase Phase
	// Reserved: the op reserved a ticket; Released: it released it.
	Reserved bool
	Released bool
	Returned Returned
	// Retried: the client has sent a retry of this op (model only).
	Retried bool
	// Term is the term of the op's epoch fence.
	Term int64
	// Decision and Offset are rm_stm's decision and its offset.
	Decision Decision
	Offset   int64
	// Flags are the invariant bits this op broke.
	Flags uint8
}

// Req is a finished request in a producer's idempotency window.
type Req struct {
	Epoch  int16
	First  int32
	Last   int32
	Offset int64
}

// Range is an inclusive range of sequence numbers.
type Range struct{ First, Last int64 }

// Producer is everything the model keeps for one producer id: the
// client's side, rm_stm's idempotency state, the producer queue, and
// history summaries the invariants read.
type Producer struct {
	PID int64

	// Client side: current epoch, next sequence, budget used.
	Epoch   int16
	NextSeq int32
	Sent    uint8
	Retries uint8

	// rm_stm: known producer, its epoch and the last finished requests
	// (oldest first).
	Known  bool
	PEpoch int16
	Reqs   []Req

	// Queue holds the op ids with an unreleased ticket, in reservation
	// order (the per-pid producer_queue).
	Queue []int64

	// History summaries: the appended sequences of the latest appended
	// epoch (AppPrefix is the first sequence not in the contiguous run
	// from 0, AppAbove the appended ranges past it). They summarize the
	// log, which a long replay trims.
	AppHas     bool
	AppEpoch   int16
	AppMaxLast int64
	AppPrefix  int64
	AppAbove   []Range
	// Starts holds, per epoch the producer called in, the first
	// sequence of its first call there, sorted by epoch
	// (EpochStartsAtFirstCall reads it). It is a function of the calls,
	// kept apart because a long replay retires them.
	Starts []EpochStart
}

// EpochStart is the first sequence a producer called in an epoch.
type EpochStart struct {
	Epoch int16
	First int32
}

// Entry is one appended batch of the log.
type Entry struct {
	Offset int64
	PID    int64
	Epoch  int16
	First  int32
	Last   int32
}

// State is one state of the partition. Use [Init] to make one and
// [Step] (or [State.Apply]) to move it.
type State struct {
	Term       int64
	NextOffset int64
	// LastOp is the highest op id called so far.
	LastOp int64
	// Sync is the op inside a synchronous sequence of steps (0 when
	// none): its replicate() prologue (Replicate, ReserveTicket in the
	// fixed ordering, StageWriteStart) or, in the pre-fix ordering, the
	// continuation of its stage_write (StageWriteDone ok, ReserveTicket).
	// No other action may come in between.
	Sync int64
	// Environment budget used.
	Evictions   uint8
	EpochBumps  uint8
	TermChanges uint8
	// Viol has a bit for every invariant broken so far.
	Viol uint8

	Producers []Producer // sorted by PID
	Ops       []Op       // sorted by ID
	Log       []Entry    // sorted by Offset
}

// Init returns the initial state for cfg: producers 1..cfg.Producers at
// epoch 0, unknown to the partition unless cfg.KnownProducers, an empty
// log, term 0.
func Init(cfg Config) State {
	s := State{}
	for i := 1; i <= cfg.Producers; i++ {
		s.Producers = append(s.Producers, Producer{PID: int64(i), Known: cfg.KnownProducers})
	}
	return s
}

// Clone returns a deep copy of s.
func (s State) Clone() State {
	c := s
	c.Producers = make([]Producer, len(s.Producers))
	for i, p := range s.Producers {
		p.Reqs = cloneSlice(p.Reqs)
		p.Queue = cloneSlice(p.Queue)
		p.AppAbove = cloneSlice(p.AppAbove)
		p.Starts = cloneSlice(p.Starts)
		c.Producers[i] = p
	}
	c.Ops = cloneSlice(s.Ops)
	c.Log = cloneSlice(s.Log)
	return c
}

// CopyFrom makes s a deep copy of src, reusing s's memory where it can:
// a model checker can then compute successors in one scratch state and
// keep only the new ones. s must not share memory with another state.
func (s *State) CopyFrom(src *State) {
	prods, ops, log := s.Producers, s.Ops, s.Log
	*s = *src
	if cap(prods) < len(src.Producers) {
		prods = make([]Producer, len(src.Producers))
	}
	prods = prods[:len(src.Producers)]
	for i := range src.Producers {
		sp, dp := &src.Producers[i], &prods[i]
		reqs, queue, above, starts := dp.Reqs, dp.Queue, dp.AppAbove, dp.Starts
		*dp = *sp
		dp.Reqs = append(reqs[:0], sp.Reqs...)
		dp.Queue = append(queue[:0], sp.Queue...)
		dp.AppAbove = append(above[:0], sp.AppAbove...)
		dp.Starts = append(starts[:0], sp.Starts...)
	}
	s.Producers = prods
	s.Ops = append(ops[:0], src.Ops...)
	s.Log = append(log[:0], src.Log...)
}

func cloneSlice[T any](s []T) []T {
	if s == nil {
		return nil
	}
	return append(make([]T, 0, len(s)), s...)
}

// lowerBound returns the index of the first element of xs, sorted by
// key, whose key is at least v (len(xs) if none). It is sort.Search
// without the indirect call per probe: lookups are the hot path of a
// long replay or generation.
func lowerBound[T any](xs []T, v int64, key func(*T) int64) int {
	lo, hi := 0, len(xs)
	for lo < hi {
		m := int(uint(lo+hi) >> 1)
		if key(&xs[m]) < v {
			lo = m + 1
		} else {
			hi = m
		}
	}
	return lo
}

func producerID(p *Producer) int64 { return p.PID }

// op returns the index of op id in s.Ops, or -1.
func (s *State) op(id int64) int {
	i := lowerBound(s.Ops, id, func(o *Op) int64 { return o.ID })
	if i < len(s.Ops) && s.Ops[i].ID == id {
		return i
	}
	return -1
}

// producer returns the index of pid in s.Producers, or -1.
func (s *State) producer(pid int64) int {
	// Producer ids are usually 1, 2, ...: try pid's own place first.
	if i := int(pid - 1); pid > 0 && i < len(s.Producers) && s.Producers[i].PID == pid {
		return i
	}
	i := lowerBound(s.Producers, pid, producerID)
	if i < len(s.Producers) && s.Producers[i].PID == pid {
		return i
	}
	return -1
}

// addProducer inserts an unknown producer pid and returns its index.
func (s *State) addProducer(pid int64) int {
	i := lowerBound(s.Producers, pid, producerID)
	s.Producers = append(s.Producers, Producer{})
	copy(s.Producers[i+1:], s.Producers[i:])
	s.Producers[i] = Producer{PID: pid}
	return i
}

// entry returns the index of the log entry at offset, or -1.
func (s *State) entry(offset int64) int {
	i := lowerBound(s.Log, offset, func(e *Entry) int64 { return e.Offset })
	if i < len(s.Log) && s.Log[i].Offset == offset {
		return i
	}
	return -1
}

// OpenCalls returns the number of calls the client still waits for.
func (s State) OpenCalls() int {
	n := 0
	for i := range s.Ops {
		if s.Ops[i].Returned == NotReturned {
			n++
		}
	}
	return n
}

// Retire drops the operations that are over (returned, at the end of
// their path, ticket released) and the log entries that nothing still
// refers to, so that a long replay keeps only what is open. A log entry
// stays while a remaining operation was decided at its offset or a
// producer's idempotency window (Producer.Reqs) holds its offset: a
// later retry answered as a duplicate is acked with that offset, and
// AckedInLog reads the entry there. The invariant summaries stay; only
// their details go. retired, if not nil, is called with the id of each
// dropped operation.
func (s *State) Retire(retired func(id int64)) {
	n := 0
	for _, o := range s.Ops {
		if o.Returned != NotReturned && (o.Phase == PhaseDecided || o.Phase == PhaseFailed) && (!o.Reserved || o.Released) {
			if retired != nil {
				retired(o.ID)
			}
			continue
		}
		s.Ops[n] = o
		n++
	}
	clear(s.Ops[n:])
	s.Ops = s.Ops[:n]
	var small [512]bool // no allocation for the usual log sizes
	var keep []bool
	if len(s.Log) <= len(small) {
		keep = small[:len(s.Log)]
	} else {
		keep = make([]bool, len(s.Log))
	}
	for i := range s.Ops {
		if o := &s.Ops[i]; o.Phase == PhaseDecided {
			if ei := s.entry(o.Offset); ei >= 0 {
				keep[ei] = true
			}
		}
	}
	for i := range s.Producers {
		for _, r := range s.Producers[i].Reqs {
			if ei := s.entry(r.Offset); ei >= 0 {
				keep[ei] = true
			}
		}
	}
	m := 0
	for i, e := range s.Log {
		if keep[i] {
			s.Log[m] = e
			m++
		}
	}
	s.Log = s.Log[:m]
}

// Progress is a measure that every step strictly increases; the model
// checker checks it, which shows the state graph has no cycles, so that
// a fair behaviour must end in a state where no fair action is enabled.
func (s State) Progress() int64 {
	var m int64
	for _, o := range s.Ops {
		r := int64(o.Phase)
		if o.Phase == PhaseFailed {
			r = int64(PhaseDecided)
		}
		m += 2 * (r + b2i(o.Reserved) + b2i(o.Released) + int64(o.Returned) + b2i(o.Retried) + 1)
	}
	for _, p := range s.Producers {
		m += 1 - b2i(p.Known) + int64(p.Epoch)
	}
	m += int64(s.Evictions) + int64(s.EpochBumps) + int64(s.TermChanges) + s.Term
	return m
}

func b2i(b bool) int64 {
	if b {
		return 1
	}
	return 0
}

// stateMarks are the invariant marks that are variables of Broker.tla
// (ops[o].flags): those of the two flag invariants it keeps. The other
// marks (Viol's bits of the predicate invariants, Op.Flags' bits of the
// append invariants, which Broker.tla states over the log) are functions
// of the path that reached a state, not of the state, so the encoding
// leaves them out: the model checker then counts the states TLC counts.
// They matter only in the state right after the step that sets them,
// where the model checker checks them before it encodes the state.
const stateMarks = bitSpuriousOOO | bitLoggedOOO

// AppendBinary appends a canonical binary encoding of s to buf: two
// states are equal exactly when their encodings are, but for the marks
// of invariants that are not state variables (see stateMarks: the
// encoding drops them). The model checker fingerprints it.
func (s *State) AppendBinary(buf []byte) []byte {
	v := func(x int64) {
		if ux := uint64(x)<<1 ^ uint64(x>>63); ux < 0x80 { // one byte: most values
			buf = append(buf, byte(ux))
		} else {
			buf = binary.AppendUvarint(buf, ux)
		}
	}
	v(s.Term)
	v(s.NextOffset)
	v(s.LastOp)
	v(s.Sync)
	buf = append(buf, s.Evictions, s.EpochBumps, s.TermChanges, s.Viol&stateMarks)
	v(int64(len(s.Producers)))
	for i := range s.Producers {
		p := &s.Producers[i]
		v(p.PID)
		v(int64(p.Epoch))
		v(int64(p.NextSeq))
		buf = append(buf, p.Sent, p.Retries, byte(b2i(p.Known)), byte(b2i(p.AppHas)))
		v(int64(p.PEpoch))
		v(int64(len(p.Reqs)))
		for _, r := range p.Reqs {
			v(int64(r.Epoch))
			v(int64(r.First))
			v(int64(r.Last))
			v(r.Offset)
		}
		v(int64(len(p.Queue)))
		for _, q := range p.Queue {
			v(q)
		}
		v(int64(p.AppEpoch))
		v(p.AppMaxLast)
		v(p.AppPrefix)
		v(int64(len(p.AppAbove)))
		for _, r := range p.AppAbove {
			v(r.First)
			v(r.Last)
		}
		v(int64(len(p.Starts)))
		for _, e := range p.Starts {
			v(int64(e.Epoch))
			v(int64(e.First))
		}
	}
	v(int64(len(s.Ops)))
	for i := range s.Ops {
		o := &s.Ops[i]
		v(o.ID)
		v(o.PID)
		v(int64(o.Epoch))
		v(int64(o.First))
		v(int64(o.Last))
		buf = append(buf, byte(o.Phase), byte(b2i(o.Reserved)|b2i(o.Released)<<1|b2i(o.Retried)<<2), byte(o.Returned), o.Flags&stateMarks)
		v(o.Term)
		buf = append(buf, decisionCode(o.Decision))
		v(o.Offset)
	}
	v(int64(len(s.Log)))
	for _, e := range s.Log {
		v(e.Offset)
		v(e.PID)
		v(int64(e.Epoch))
		v(int64(e.First))
		v(int64(e.Last))
	}
	return buf
}

func decisionCode(d Decision) byte {
	switch d {
	case "":
		return 0
	case Append:
		return 1
	case AppendUnknown:
		return 2
	case Duplicate:
		return 3
	case DuplicateInFlight:
		return 4
	case OutOfOrder:
		return 5
	case InvalidRequest:
		return 6
	}
	return 7
}

// Var is one named variable of a state, rendered as text; states are
// compared variable by variable to show what a step changed.
type Var struct {
	Name  string
	Value string
}

// Vars renders s as named variables in a fixed order (the TLA+
// variables, split per producer and per operation).
func (s State) Vars() []Var {
	vars := []Var{
		{"term", strconv.FormatInt(s.Term, 10)},
		{"log", s.describeLog()},
	}
	if s.Sync != 0 {
		vars = append(vars, Var{"sync", "op " + strconv.FormatInt(s.Sync, 10)})
	}
	if s.Evictions+s.EpochBumps+s.TermChanges > 0 {
		vars = append(vars, Var{"env", fmt.Sprintf("evictions=%d epoch_bumps=%d term_changes=%d", s.Evictions, s.EpochBumps, s.TermChanges)})
	}
	if s.Viol != 0 {
		vars = append(vars, Var{"violated", strings.Join(violNames(s.Viol), ",")})
	}
	for i := range s.Producers {
		p := &s.Producers[i]
		pre := "producer[" + strconv.FormatInt(p.PID, 10) + "]."
		vars = append(vars,
			Var{pre + "client", fmt.Sprintf("epoch=%d next_seq=%d sent=%d retries=%d", p.Epoch, p.NextSeq, p.Sent, p.Retries)},
			Var{pre + "rm_stm", p.describeRM()},
			Var{pre + "queue", describeQueue(p.Queue)})
	}
	for i := range s.Ops {
		vars = append(vars, Var{"op[" + strconv.FormatInt(s.Ops[i].ID, 10) + "]", s.Ops[i].describe()})
	}
	return vars
}

// String renders every variable of s, one per line.
func (s State) String() string {
	var b strings.Builder
	for _, v := range s.Vars() {
		b.WriteString(v.Name)
		b.WriteString(" = ")
		b.WriteString(v.Value)
		b.WriteByte('\n')
	}
	return b.String()
}

func (s State) describeLog() string {
	if len(s.Log) == 0 {
		return "[]"
	}
	parts := make([]string, len(s.Log))
	for i, e := range s.Log {
		parts[i] = fmt.Sprintf("%d:pid%d/e%d[%d,%d]", e.Offset, e.PID, e.Epoch, e.First, e.Last)
	}
	return "[" + strings.Join(parts, " ") + "]"
}

func (p *Producer) describeRM() string {
	if !p.Known {
		return "unknown"
	}
	var b strings.Builder
	fmt.Fprintf(&b, "known epoch=%d window=[", p.PEpoch)
	for i, r := range p.Reqs {
		if i > 0 {
			b.WriteByte(' ')
		}
		fmt.Fprintf(&b, "[%d,%d]@%d", r.First, r.Last, r.Offset)
	}
	b.WriteByte(']')
	return b.String()
}

func describeQueue(q []int64) string {
	parts := make([]string, len(q))
	for i, id := range q {
		parts[i] = strconv.FormatInt(id, 10)
	}
	return "[" + strings.Join(parts, " ") + "]"
}

func (o *Op) describe() string {
	var b strings.Builder
	fmt.Fprintf(&b, "pid=%d epoch=%d seq=[%d,%d] %s", o.PID, o.Epoch, o.First, o.Last, o.Phase)
	switch {
	case o.Released:
		b.WriteString(" ticket=released")
	case o.Reserved:
		b.WriteString(" ticket=held")
	}
	if o.Phase >= PhaseFenced && o.Phase != PhaseFailed || o.Term != 0 {
		fmt.Fprintf(&b, " term=%d", o.Term)
	}
	if o.Decision != "" {
		fmt.Fprintf(&b, " decision=%s", o.Decision)
		if o.Decision.HasOffset() {
			fmt.Fprintf(&b, "@%d", o.Offset)
		}
	}
	switch o.Returned {
	case ReturnedNormally:
		b.WriteString(" returned")
	case ReturnedUnknown:
		b.WriteString(" returned=unknown")
	}
	if o.Flags != 0 {
		fmt.Fprintf(&b, " broke=%s", strings.Join(violNames(o.Flags), ","))
	}
	return b.String()
}
