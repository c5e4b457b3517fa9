package agreement

import (
	"fmt"
	"math"
	"math/rand/v2"
	"slices"

	"github.com/idemcheck/idemcheck/history"
	"github.com/idemcheck/idemcheck/impl"
	"github.com/idemcheck/idemcheck/impl/sim"
	"github.com/idemcheck/idemcheck/internal/gen"
	"github.com/idemcheck/idemcheck/internal/refcheck"
	"github.com/idemcheck/idemcheck/spec"
)

// Sources of generated histories. Each draws a small history from rng.
const (
	srcImplFixed = "impl-before-stage" // impl's random workload, the fix
	srcImplPre   = "impl-after-stage"  // impl's random workload, pre-fix ordering
	srcGen       = "gen"               // internal/gen, no bug injected
	srcGenBug    = "gen-inject"        // internal/gen with a catalogue bug
	srcRandom    = "random"            // client-level random histories
	srcMutated   = "mutated"           // one of the above, mutated
	srcHand      = "hand"              // hand-written
	srcCorpus    = "corpus"            // traces/ files within the reference's limits
)

// draw picks a source and draws a history from it.
func draw(rng *rand.Rand) (string, history.History, error) {
	x := rng.IntN(100)
	switch {
	case x < 10:
		h, err := implHistory(rng, impl.BeforeStage)
		return srcImplFixed, h, err
	case x < 18:
		h, err := implHistory(rng, impl.AfterStage)
		return srcImplPre, h, err
	case x < 28:
		h, err := genHistory(rng, false)
		return srcGen, h, err
	case x < 33:
		h, err := genHistory(rng, true)
		return srcGenBug, h, err
	case x < 55:
		return srcRandom, randomHistory(rng), nil
	case x < 67:
		h, _ := brokerHistory(rng)
		return srcBroker, h, nil
	}
	base, err := baseHistory(rng)
	if err != nil {
		return srcMutated, history.History{}, err
	}
	h := mutate(rng, base)
	if rng.IntN(3) == 0 {
		h = mutate(rng, h)
	}
	return srcMutated, h, nil
}

// baseHistory draws a history to mutate, from any generating source.
func baseHistory(rng *rand.Rand) (history.History, error) {
	switch rng.IntN(5) {
	case 0:
		return implHistory(rng, impl.BeforeStage)
	case 1:
		return genHistory(rng, false)
	case 2, 3:
		h, _ := brokerHistory(rng)
		return h, nil
	}
	return randomHistory(rng), nil
}

// implHistory runs a small seeded workload of the reference
// implementation: one or two producers and partitions, a few batches of
// one to three records, the default faults and sometimes evictions,
// epoch bumps and more client timeouts.
func implHistory(rng *rand.Rand, order impl.TicketOrder) (history.History, error) {
	faults := sim.DefaultFaults()
	if rng.IntN(3) == 0 {
		faults.Evict = 0.05
	}
	if rng.IntN(3) == 0 {
		faults.BumpEpoch = 0.05
	}
	if rng.IntN(4) == 0 {
		faults.Timeout = 0.15
	}
	cfg := sim.WorkloadConfig{
		TicketOrder:  order,
		Producers:    1 + rng.IntN(2),
		Partitions:   1 + rng.IntN(2),
		Batches:      1 + rng.IntN(4),
		MaxRecords:   int32(1 + rng.IntN(3)),
		WaitEnqueued: rng.IntN(3) == 0,
		Faults:       faults,
	}
	if order == impl.AfterStage {
		// One partition and no waiting, so that later calls overtake.
		cfg.Partitions, cfg.Batches, cfg.WaitEnqueued = 1, 2+rng.IntN(3), false
	}
	h, err := sim.RandomWorkload(rng, cfg)
	if err != nil {
		return h, fmt.Errorf("impl workload %+v: %w", cfg, err)
	}
	return h, nil
}

// genHistory generates a small synthetic history, with a random bug of
// the catalogue injected if inject.
func genHistory(rng *rand.Rand, inject bool) (history.History, error) {
	o := gen.Options{
		Seed:        rng.Int64(),
		Partitions:  1 + rng.IntN(2),
		Producers:   1 + rng.IntN(2),
		Batches:     1 + rng.IntN(3),
		InFlight:    1 + rng.IntN(5),
		UnknownRate: []float64{0, 0.1, 0.3, 0.5}[rng.IntN(4)],
		Retries:     rng.IntN(3),
		EpochBumps:  rng.IntN(2),
	}
	switch rng.IntN(6) {
	case 0:
		o.StartSeq = rng.Int32N(10)
	case 1:
		o.StartSeq = math.MaxInt32 - rng.Int32N(4) // the wrap
	}
	if inject {
		bugs := gen.Bugs()
		o.Inject = bugs[rng.IntN(len(bugs))]
		o.Batches = rng.IntN(2) + 1
	}
	h, err := gen.History(o)
	if err != nil {
		return h, fmt.Errorf("gen %+v: %w", o, err)
	}
	return h, nil
}

// Error codes the random histories and the mutations answer with: every
// definite code and two ambiguous ones, the common ones more often.
var codes = []spec.ErrorCode{
	spec.OutOfOrderSequenceNumber, spec.OutOfOrderSequenceNumber, spec.RequestTimedOut,
	spec.InvalidProducerEpoch, spec.UnknownProducerID, spec.DuplicateSequenceNumber,
	spec.PolicyViolation, spec.NotLeaderForPartition, spec.InvalidRequestCode,
}

// randomHistory is a client-level history (Replicate and Return events,
// and sometimes EvictProducer) of one to seven operations by one or two
// producers, mostly on one partition: batches mostly next in sequence,
// sometimes retries, gaps, new or old epochs and fresh starts; answers
// mostly at the partition's next offset, sometimes off by a little,
// sometimes errors, unknown or missing. Some histories are one producer's
// longer run (up to 13 operations, retrying batches that may have left
// the window of 5), some start near INT32_MAX and wrap, some have many
// evictions or many events at one time. Many are Ok and many Illegal.
func randomHistory(rng *rand.Rand) history.History {
	type stream struct {
		next  int32
		epoch int16
		sent  [][2]int32
		acked map[[2]int32]int64
	}
	type call struct {
		ev     history.Event
		stream *stream
		open   bool // never returns
	}
	nparts, npids, nops := 1, 1+rng.IntN(2), 1+rng.IntN(7)
	if rng.IntN(4) == 0 {
		nparts = 2
	}
	var start int32
	evictEvery, tieEvery := 12, 20 // one step in evictEvery evicts, one event in tieEvery shares its time
	switch rng.IntN(10) {
	case 0: // a longer run of one producer
		nparts, npids, nops = 1, 1, 7+rng.IntN(7)
	case 1: // the wrap
		start = math.MaxInt32 - rng.Int32N(4)
	case 2: // many evictions
		nparts, evictEvery = 1, 3
	case 3: // many events at one time
		tieEvery = 2
	}
	// add is first+n on the sequence circle 0..INT32_MAX.
	add := func(first int32, n int64) int32 {
		return int32((int64(first) + n) % (math.MaxInt32 + 1))
	}
	streams := map[[2]int]*stream{}
	nextOff := make([]int64, nparts)
	var (
		evs     []history.Event
		t       int64
		pending []*call
		called  int
	)
	tick := func() int64 {
		if len(evs) == 0 || rng.IntN(tieEvery) != 0 {
			t++
		}
		return t
	}
	for called < nops || len(pending) > 0 {
		if rng.IntN(evictEvery) == 0 {
			evs = append(evs, history.Event{Kind: history.EvictProducer, Time: tick(),
				Partition: fmt.Sprintf("p%d", rng.IntN(nparts)), PID: int64(1 + rng.IntN(npids))})
		}
		if called < nops && (len(pending) == 0 || rng.IntN(2) == 0) {
			part, pid := rng.IntN(nparts), 1+rng.IntN(npids)
			s := streams[[2]int{part, pid}]
			if s == nil {
				s = &stream{next: start, acked: map[[2]int32]int64{}}
				streams[[2]int{part, pid}] = s
			}
			epoch := s.epoch
			size := 1 + rng.Int64N(3)
			var first int32
			advance := true // the batch moves the stream's next sequence
			switch x := rng.IntN(100); {
			case x < 60:
				first = s.next
			case x < 75 && len(s.sent) > 0:
				r := s.sent[rng.IntN(len(s.sent))]
				first, size, advance = r[0], spec.RecordCount(r[0], r[1]), false
			case x < 85:
				first = add(s.next, 1+rng.Int64N(2))
			case x < 90:
				s.epoch++
				epoch, first = s.epoch, 0
			case x < 95 && s.epoch > 0:
				epoch, first, advance = s.epoch-1, s.next, false
			default:
				first = rng.Int32N(5)
			}
			if int64(first)+size-1 > math.MaxInt32 {
				size = math.MaxInt32 - int64(first) + 1 // a batch does not wrap
			}
			last := int32(int64(first) + size - 1)
			if advance {
				s.next = add(last, 1)
			}
			s.sent = append(s.sent, [2]int32{first, last})
			called++
			c := &call{stream: s, open: rng.IntN(10) == 0, ev: history.Event{Kind: history.Replicate, Time: tick(),
				Op: int64(called), Client: int64(pid), Partition: fmt.Sprintf("p%d", part), PID: int64(pid),
				Epoch: epoch, First: first, Last: last}}
			evs = append(evs, c.ev)
			if !c.open {
				pending = append(pending, c)
			}
			continue
		}
		i := rng.IntN(len(pending))
		c := pending[i]
		pending = slices.Delete(pending, i, i+1)
		ret := history.Event{Kind: history.Return, Time: tick(), Op: c.ev.Op}
		r := [2]int32{c.ev.First, c.ev.Last}
		part := int(c.ev.Partition[1] - '0')
		switch x := rng.IntN(100); {
		case x < 55:
			ret.Result = history.OK
			if off, ok := c.stream.acked[r]; ok && rng.IntN(5) != 0 {
				ret.Offset = off
				break
			}
			ret.Offset = nextOff[part]
			if rng.IntN(4) == 0 {
				ret.Offset = max(0, ret.Offset+rng.Int64N(5)-2)
			}
			c.stream.acked[r] = ret.Offset
			nextOff[part] = max(nextOff[part], ret.Offset+spec.RecordCount(c.ev.First, c.ev.Last))
		case x < 75:
			ret.Result = history.Unknown
		default:
			ret.Result = history.Failed
			ret.Error = history.ErrorCode(codes[rng.IntN(len(codes))])
		}
		evs = append(evs, ret)
	}
	return history.History{Header: history.Header{Format: history.FormatV1, Source: "random"}, Events: evs}
}

// mutate changes one answer of h so that it may no longer be
// explainable: an offset shifted, two acks made to overlap, two results
// swapped, an ack dropped (ok → unknown), an ack copied onto another
// operation, an unknown or missing answer turned into an ack at a
// plausible offset, or an error code changed. The history stays
// consistent. If h has nothing the drawn mutation applies to, another is
// tried; h is returned as it is if none applies.
func mutate(rng *rand.Rand, h history.History) history.History {
	evs := slices.Clone(h.Events)
	calls := map[int64]history.Event{}
	returned := map[int64]bool{}
	var rets, oks, unknowns, fails []int // indices in evs
	for i, e := range evs {
		switch e.Kind {
		case history.Replicate:
			calls[e.Op] = e
		case history.Return:
			returned[e.Op] = true
			rets = append(rets, i)
			switch e.Result {
			case history.OK:
				oks = append(oks, i)
			case history.Unknown:
				unknowns = append(unknowns, i)
			case history.Failed:
				fails = append(fails, i)
			}
		}
	}
	var open []int64
	for id := range calls {
		if !returned[id] {
			open = append(open, id)
		}
	}
	slices.Sort(open)
	count := func(i int) int64 {
		c := calls[evs[i].Op]
		return spec.RecordCount(c.First, c.Last)
	}
	pick := func(s []int) int { return s[rng.IntN(len(s))] }
	// plausible is an offset near the acked ones: right after one, or on one.
	plausible := func() int64 {
		if len(oks) == 0 {
			return rng.Int64N(3)
		}
		i := pick(oks)
		if rng.IntN(2) == 0 {
			return evs[i].Offset
		}
		return evs[i].Offset + count(i)
	}
	for range 20 {
		switch rng.IntN(8) {
		case 0: // shift an offset
			if len(oks) == 0 {
				continue
			}
			i := pick(oks)
			evs[i].Offset = max(0, evs[i].Offset+[]int64{-2, -1, 1, 2}[rng.IntN(4)])
		case 1: // make two acks overlap
			if len(oks) < 2 {
				continue
			}
			a, b := pick(oks), pick(oks)
			if a == b {
				continue
			}
			evs[b].Offset = evs[a].Offset + rng.Int64N(count(a))
		case 2: // swap two results
			if len(rets) < 2 {
				continue
			}
			a, b := pick(rets), pick(rets)
			if a == b {
				continue
			}
			ea, eb := evs[a], evs[b]
			evs[a].Result, evs[a].Offset, evs[a].Error = eb.Result, eb.Offset, eb.Error
			evs[b].Result, evs[b].Offset, evs[b].Error = ea.Result, ea.Offset, ea.Error
		case 3: // drop an ack
			if len(oks) == 0 {
				continue
			}
			i := pick(oks)
			evs[i].Result, evs[i].Offset = history.Unknown, 0
		case 4: // copy an ack onto another operation
			if len(oks) == 0 || len(rets) < 2 {
				continue
			}
			a, b := pick(oks), pick(rets)
			if a == b {
				continue
			}
			evs[b].Result, evs[b].Offset, evs[b].Error = history.OK, evs[a].Offset, 0
		case 5: // an unknown answer becomes an ack
			if len(unknowns) == 0 {
				continue
			}
			i := pick(unknowns)
			evs[i].Result, evs[i].Offset = history.OK, plausible()
		case 6: // a call that never returned gets an ack at the end
			if len(open) == 0 {
				continue
			}
			t := evs[len(evs)-1].Time + 1
			evs = append(evs, history.Event{Kind: history.Return, Time: t, Op: open[rng.IntN(len(open))], Result: history.OK, Offset: plausible()})
		case 7: // change an error code, or an ack into an error
			var i int
			switch {
			case len(fails) > 0 && (len(oks) == 0 || rng.IntN(2) == 0):
				i = pick(fails)
			case len(oks) > 0:
				i = pick(oks)
			default:
				continue
			}
			c := codes[rng.IntN(len(codes))]
			if evs[i].Result == history.Failed && spec.ErrorCode(evs[i].Error) == c {
				continue
			}
			evs[i].Result, evs[i].Offset, evs[i].Error = history.Failed, 0, history.ErrorCode(c)
		}
		break
	}
	return history.History{Header: h.Header, Events: evs}
}

// handCase is a hand-written history and the reference's verdict under
// each dialect.
type handCase struct {
	name            string
	lines           []string // refcheck.Sketch lines
	redpanda, kafka refcheck.Verdict
}

// handCases are the examples that motivated the reference's semantics
// (per-record offsets, room for unknown appends, cross-producer ranges,
// real-time order, the Kafka dialect) and a few more around them.
var handCases = []handCase{
	{"unknown-append-takes-room", []string{
		"pid=1 [0,0] t=0..1 ok@0", "pid=1 [1,3] t=2..3 unknown", "pid=1 [4,6] t=4..5 ok@1",
	}, refcheck.Illegal, refcheck.Illegal},
	{"unknown-append-room", []string{
		"pid=1 [0,0] t=0..1 ok@0", "pid=1 [1,3] t=2..3 unknown", "pid=1 [4,6] t=4..5 ok@4",
	}, refcheck.Ok, refcheck.Ok},
	{"cross-producer-overlap", []string{
		"pid=1 [0,4] t=0..1 ok@0", "pid=2 [0,0] t=2..3 ok@2",
	}, refcheck.Illegal, refcheck.Illegal},
	{"per-record-offsets", []string{
		"pid=1 [0,4] t=0..1 ok@0", "pid=1 [5,9] t=2..3 ok@1",
	}, refcheck.Illegal, refcheck.Illegal},
	{"per-record-offsets-ok", []string{
		"pid=1 [0,4] t=0..1 ok@0", "pid=1 [5,9] t=2..3 ok@5",
	}, refcheck.Ok, refcheck.Ok},
	{"real-time-order", []string{
		"pid=1 [0,0] t=0..1 ok@5", "pid=2 [0,0] t=2..3 ok@1",
	}, refcheck.Illegal, refcheck.Illegal},
	{"concurrent-any-order", []string{
		"pid=1 [0,0] t=0..3 ok@5", "pid=2 [0,0] t=2..4 ok@1",
	}, refcheck.Ok, refcheck.Ok},
	{"kafka-skip-out-of-order", []string{
		"pid=1 [5,9] t=0..1 err=45",
	}, refcheck.Illegal, refcheck.Ok},
	{"kafka-skip-unknown-producer", []string{
		"pid=1 [5,9] t=0..1 err=59", "pid=1 [0,4] t=2..3 ok@0",
	}, refcheck.Illegal, refcheck.Ok},
	{"stale-out-of-order", []string{
		"pid=1 e=1 [0,0] t=0..1 ok@0", "pid=1 [1,1] t=2..3 err=45",
	}, refcheck.Ok, refcheck.Illegal},
	{"stale-duplicate-acked", []string{
		"pid=1 [0,0] t=0..1 unknown", "pid=1 e=1 [0,0] t=2..3 ok@0", "pid=1 [0,0] t=4..5 ok@0",
	}, refcheck.Ok, refcheck.Illegal},
	{"eviction-between", []string{
		"pid=1 [0,0] t=0..1 ok@0", "evict pid=1 t=2", "pid=1 [0,0] t=3..4 ok@1",
	}, refcheck.Ok, refcheck.Ok},
	{"eviction-before-all", []string{
		"evict pid=1 t=0", "pid=1 [0,0] t=1..2 ok@0", "pid=1 [0,0] t=3..4 ok@1",
	}, refcheck.Illegal, refcheck.Illegal},
	{"eviction-after-return", []string{
		"pid=1 [0,0] t=0..1 ok@0", "pid=1 [5,5] t=2..3 ok@1", "evict pid=1 t=4",
	}, refcheck.Illegal, refcheck.Illegal},
	{"eviction-during-concurrent", []string{
		"pid=1 [0,0] t=0..1 ok@0", "pid=1 [1,1] t=2..6 unknown", "pid=1 [5,5] t=3..7 ok@3", "evict pid=1 t=4",
	}, refcheck.Ok, refcheck.Ok},
	{"spurious-out-of-order", []string{
		"pid=1 [0,0] t=0..1 ok@0", "pid=1 [1,1] t=2..3 err=45",
	}, refcheck.Illegal, refcheck.Illegal},
	{"seed-race", []string{
		"pid=1 [0,0] t=0..19 err=45", "pid=1 [1,1] t=2..14 ok@0",
	}, refcheck.Illegal, refcheck.Illegal},
	{"duplicate-reveals-room", []string{
		"pid=1 [0,0] t=0..3 ok@10", "pid=1 [1,2] t=1..2 unknown", "pid=1 [1,2] t=4..5 ok@5",
	}, refcheck.Illegal, refcheck.Illegal},
	{"retry-after-timeout", []string{
		"pid=1 [0,2] t=0..1 err=7", "pid=1 [0,2] t=2..3 ok@4", "pid=1 [3,3] t=4..5 ok@7",
	}, refcheck.Ok, refcheck.Ok},
	{"wrap", []string{
		"pid=1 [2147483646,2147483647] t=0..1 ok@0", "pid=1 [0,0] t=2..3 ok@2",
	}, refcheck.Ok, refcheck.Ok},
	{"wrap-no-room", []string{
		"pid=1 [2147483646,2147483647] t=0..1 ok@0", "pid=1 [0,0] t=2..3 ok@1",
	}, refcheck.Illegal, refcheck.Illegal},
}

const srcBroker = "broker" // a correct broker of the reference's model

// brokerHistory simulates a correct broker of a random dialect, exactly
// as the reference's model describes one, and returns its client-level
// history and the dialect: clients send batches (mostly next in
// sequence, sometimes retries, gaps, new or stale epochs, fresh starts);
// each producer's batches are decided in call order by spec.Classify,
// with a random answer among those the dialect allows; an appended batch
// takes the partition's next offsets, one per record; a Return comes
// after its decision, or earlier as a client timeout ("unknown"); the
// partition evicts producers at random times. The reference must judge
// every such history Ok under its dialect.
func brokerHistory(rng *rand.Rand) (history.History, spec.Rules) {
	rules := spec.Redpanda
	if rng.IntN(2) == 0 {
		rules = spec.Kafka
	}
	type key struct {
		part int
		pid  int64
	}
	type entry struct {
		first, last int32
		epoch       int16
		off         int64
	}
	type state struct { // the partition's view of a producer
		known  bool
		epoch  int16
		window []entry
	}
	type client struct {
		next  int32
		epoch int16
		sent  [][2]int32
	}
	type op struct {
		ev       history.Event
		k        key
		decided  bool
		answer   history.Event // the Return, once decided
		returned bool
	}
	nparts, npids, nops := 1+rng.IntN(2), 1+rng.IntN(3), 2+rng.IntN(9)
	if rng.IntN(2) == 0 {
		nparts = 1
	}
	states, clients := map[key]*state{}, map[key]*client{}
	queues := map[key][]*op{} // undecided ops in call order
	logNext := make([]int64, nparts)
	var (
		evs    []history.Event
		t      int64
		ops    []*op
		called int
	)
	emit := func(e history.Event) {
		e.Time = t
		t++
		evs = append(evs, e)
	}
	ambiguous := func(e history.Event) history.Event {
		switch rng.IntN(3) {
		case 0:
			e.Result, e.Error = history.Failed, history.RequestTimedOut
		case 1:
			e.Result, e.Error = history.Failed, history.NotLeaderForPartition
		default:
			e.Result = history.Unknown
		}
		return e
	}
	decide := func(o *op) {
		s := states[o.k]
		if s == nil {
			s = &state{}
			states[o.k] = s
		}
		view := spec.ProducerView{Known: s.known, Epoch: s.epoch}
		for _, w := range s.window {
			view.Window = append(view.Window, spec.Req{Epoch: w.epoch, First: w.first, Last: w.last, Offset: w.off})
		}
		b := spec.Batch{PID: o.ev.PID, Epoch: o.ev.Epoch, First: o.ev.First, Last: o.ev.Last}
		class, match, stale := spec.Classify(view, b)
		ret := history.Event{Kind: history.Return, Op: o.ev.Op}
		fail := func(codes ...spec.ErrorCode) {
			if rng.IntN(4) == 0 {
				ret = ambiguous(ret)
				return
			}
			ret.Result, ret.Error = history.Failed, history.ErrorCode(codes[rng.IntN(len(codes))])
		}
		switch {
		case stale && (class != spec.ClassDuplicate || rules == spec.Kafka):
			if rules == spec.Kafka {
				fail(spec.InvalidProducerEpoch)
			} else {
				fail(spec.InvalidProducerEpoch, spec.OutOfOrderSequenceNumber)
			}
		case class == spec.ClassDuplicate:
			if rng.IntN(2) == 0 {
				ret.Result, ret.Offset = history.OK, s.window[match].off
			} else if rules == spec.Redpanda && stale {
				fail(spec.DuplicateSequenceNumber, spec.InvalidProducerEpoch)
			} else {
				fail(spec.DuplicateSequenceNumber)
			}
		case class == spec.ClassGap:
			fail(spec.OutOfOrderSequenceNumber, spec.DuplicateSequenceNumber)
		case class.Appends():
			var refuse []spec.ErrorCode // no-effect answers besides ambiguous ones
			if class == spec.ClassFirst || class == spec.ClassSkip {
				refuse = append(refuse, spec.PolicyViolation)
			}
			if rules == spec.Kafka && class == spec.ClassSkip {
				refuse = append(refuse, spec.OutOfOrderSequenceNumber, spec.UnknownProducerID, spec.UnknownProducerID)
			}
			switch x := rng.IntN(10); {
			case x == 0: // lost
				ret = ambiguous(ret)
			case x <= 2 && len(refuse) > 0:
				ret.Result, ret.Error = history.Failed, history.ErrorCode(refuse[rng.IntN(len(refuse))])
			default: // appended
				off := logNext[o.k.part]
				logNext[o.k.part] += spec.RecordCount(b.First, b.Last)
				if class != spec.ClassNext {
					s.known, s.epoch, s.window = true, b.Epoch, nil
				}
				s.window = append(s.window, entry{b.First, b.Last, b.Epoch, off})
				if len(s.window) > spec.WindowSize {
					s.window = s.window[1:]
				}
				if rng.IntN(5) == 0 {
					ret = ambiguous(ret) // took effect, the client cannot tell
				} else {
					ret.Result, ret.Offset = history.OK, off
				}
			}
		default:
			panic(fmt.Sprintf("brokerHistory: class %s", class))
		}
		o.decided, o.answer = true, ret
	}
	for {
		var undecided, decidedOpen, open []*op
		for _, o := range ops {
			switch {
			case !o.decided && queues[o.k][0] == o:
				undecided = append(undecided, o)
			case o.decided && !o.returned:
				decidedOpen = append(decidedOpen, o)
			}
			if !o.returned {
				open = append(open, o)
			}
		}
		if called == nops && len(undecided) == 0 && len(decidedOpen) == 0 {
			break
		}
		switch x := rng.IntN(20); {
		case x < 6 && called < nops: // a call
			k := key{rng.IntN(nparts), int64(1 + rng.IntN(npids))}
			c := clients[k]
			if c == nil {
				c = &client{}
				clients[k] = c
			}
			epoch, size := c.epoch, 1+rng.Int32N(3)
			var first int32
			switch y := rng.IntN(100); {
			case y < 65:
				first = c.next
			case y < 80 && len(c.sent) > 0:
				r := c.sent[rng.IntN(len(c.sent))]
				first, size = r[0], r[1]-r[0]+1
			case y < 85:
				first = c.next + 1 + rng.Int32N(2)
			case y < 90:
				c.epoch, c.next = c.epoch+1, 0
				epoch = c.epoch
			case y < 95 && c.epoch > 0:
				epoch, first = c.epoch-1, c.next
			default:
				first = rng.Int32N(4)
			}
			last := first + size - 1
			if epoch == c.epoch && first >= c.next {
				c.next = last + 1
			}
			c.sent = append(c.sent, [2]int32{first, last})
			called++
			o := &op{k: k, ev: history.Event{Kind: history.Replicate, Op: int64(called), Client: k.pid,
				Partition: fmt.Sprintf("p%d", k.part), PID: k.pid, Epoch: epoch, First: first, Last: last}}
			emit(o.ev)
			ops = append(ops, o)
			queues[k] = append(queues[k], o)
		case x < 12 && len(undecided) > 0: // a decision
			o := undecided[rng.IntN(len(undecided))]
			decide(o)
			queues[o.k] = queues[o.k][1:]
		case x < 17 && len(decidedOpen) > 0: // a Return with the decision's answer
			o := decidedOpen[rng.IntN(len(decidedOpen))]
			if rng.IntN(12) == 0 {
				o.returned = true // never returns
				continue
			}
			emit(o.answer)
			o.returned = true
		case x < 18 && len(open) > 0: // a client timeout; the request goes on
			o := open[rng.IntN(len(open))]
			emit(history.Event{Kind: history.Return, Op: o.ev.Op, Result: history.Unknown})
			o.returned = true
		case x < 19 && len(states) > 0: // an eviction
			var ks []key
			for k := range states {
				ks = append(ks, k)
			}
			slices.SortFunc(ks, func(a, b key) int {
				if a.part != b.part {
					return a.part - b.part
				}
				return int(a.pid - b.pid)
			})
			k := ks[rng.IntN(len(ks))]
			*states[k] = state{}
			emit(history.Event{Kind: history.EvictProducer, Partition: fmt.Sprintf("p%d", k.part), PID: k.pid})
		}
	}
	return history.History{Header: history.Header{Format: history.FormatV1, Source: "broker", Rules: string(rules)}, Events: evs}, rules
}
