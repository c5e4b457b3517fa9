package checker

import (
	"math"
	"math/rand"
	"testing"

	"github.com/idemcheck/idemcheck/history"
	"github.com/idemcheck/idemcheck/internal/testflag"
	"github.com/idemcheck/idemcheck/spec"
)

// simBroker is a small broker for one partition that generates
// histories for the tests: it decides a producer's requests in call
// order (or, if reorder is set, in random order, like the pre-fix write
// path) with spec's decision rule, and loses responses and requests at
// random.
type simBroker struct {
	r       *rand.Rand
	b       *hb
	reorder bool
	nextOff int64
	prods   map[int64]*simProducer
	op      int64
}

type simBatch struct {
	first, last int32
	off         int64
}

type simProducer struct {
	known  bool
	epoch  int16
	window []simBatch
	// client side
	cEpoch   int16
	nextSeq  int32
	unacked  []simBatch // batches sent and not acked (for retries)
	inflight []*simReq  // called, not decided
	decided  []*simReq  // decided, not returned
}

type simReq struct {
	op          int64
	epoch       int16
	first, last int32
	res         history.Result
	off         int64
	code        history.ErrorCode
}

// decide applies the project's one decision rule, spec.Classify, with
// Kafka's answer to a lower epoch (INVALID_PRODUCER_EPOCH, which both
// dialects allow), and one offset per record.
func (s *simBroker) decide(pid int64, q *simReq) {
	p := s.prods[pid]
	win := make([]spec.Req, len(p.window))
	for i, w := range p.window {
		win[i] = spec.Req{First: w.first, Last: w.last, Offset: w.off}
	}
	c, match, stale := spec.Classify(spec.ProducerView{Known: p.known, Epoch: p.epoch, Window: win},
		spec.Batch{PID: pid, Epoch: q.epoch, First: q.first, Last: q.last})
	switch {
	case stale:
		q.res, q.code = history.Failed, history.InvalidProducerEpoch
	case c == spec.ClassDuplicate:
		q.res, q.off = history.OK, p.window[match].off
	case c.Appends():
		if c != spec.ClassNext {
			p.window = nil
		}
		p.known, p.epoch = true, q.epoch
		p.window = append(p.window, simBatch{q.first, q.last, s.nextOff})
		if len(p.window) > windowSize {
			p.window = p.window[1:]
		}
		q.res, q.off = history.OK, s.nextOff
		s.nextOff += spec.RecordCount(q.first, q.last)
	default:
		q.res, q.code = history.Failed, history.OutOfOrderSequenceNumber
	}
}

// run generates a history of n calls by producers 1..np on partition p0.
func (s *simBroker) run(n, np int, startSeq int32) history.History {
	s.prods = map[int64]*simProducer{}
	for pid := int64(1); pid <= int64(np); pid++ {
		s.prods[pid] = &simProducer{nextSeq: startSeq}
	}
	calls := 0
	for calls < n || s.pending() {
		pid := int64(1 + s.r.Intn(np))
		p := s.prods[pid]
		switch a := s.r.Intn(10); {
		case a < 3 && calls < n && len(p.inflight)+len(p.decided) < 5:
			calls++
			s.call(pid, p)
		case a < 6 && len(p.inflight) > 0:
			i := 0
			if s.reorder {
				i = s.r.Intn(len(p.inflight))
			}
			q := p.inflight[i]
			p.inflight = append(p.inflight[:i], p.inflight[i+1:]...)
			if s.r.Intn(8) == 0 {
				// Failed before the decision: lost, the client sees a timeout.
				q.res, q.code = history.Failed, history.RequestTimedOut
			} else {
				s.decide(pid, q)
				s.b.decide(q.op, history.Append, 0)
			}
			p.decided = append(p.decided, q)
		case a < 9 && len(p.decided) > 0:
			i := s.r.Intn(len(p.decided))
			q := p.decided[i]
			p.decided = append(p.decided[:i], p.decided[i+1:]...)
			s.ret(p, q)
		case a == 9 && len(p.inflight) == 0 && s.r.Intn(4) == 0:
			if s.r.Intn(2) == 0 {
				p.known, p.window = false, nil
				s.b.evict("p0", pid)
			} else if len(p.decided) == 0 {
				// The client bumps its epoch and starts again at 0.
				p.cEpoch++
				p.nextSeq, p.unacked = 0, nil
			}
		}
	}
	return s.b.h()
}

func (s *simBroker) pending() bool {
	for _, p := range s.prods {
		if len(p.inflight)+len(p.decided) > 0 {
			return true
		}
	}
	return false
}

func (s *simBroker) call(pid int64, p *simProducer) {
	s.op++
	q := &simReq{op: s.op, epoch: p.cEpoch}
	if len(p.unacked) > 0 && s.r.Intn(3) == 0 {
		u := p.unacked[s.r.Intn(len(p.unacked))]
		q.first, q.last = u.first, u.last
	} else {
		k := int32(s.r.Intn(3))
		q.first = p.nextSeq
		if q.first > math.MaxInt32-k {
			k = math.MaxInt32 - q.first
		}
		q.last = q.first + k
		if q.last == math.MaxInt32 {
			p.nextSeq = 0
		} else {
			p.nextSeq = q.last + 1
		}
		p.unacked = append(p.unacked, simBatch{q.first, q.last, 0})
	}
	s.b.call(req{op: q.op, pid: pid, epoch: q.epoch, first: q.first, last: q.last})
	p.inflight = append(p.inflight, q)
}

func (s *simBroker) ret(p *simProducer, q *simReq) {
	if q.res == history.OK && s.r.Intn(6) == 0 {
		s.b.unknown(q.op) // the response is lost
		return
	}
	switch q.res {
	case history.OK:
		s.b.ok(q.op, q.off)
		for i, u := range p.unacked {
			if u.first == q.first && u.last == q.last {
				p.unacked = append(p.unacked[:i], p.unacked[i+1:]...)
				break
			}
		}
	default:
		s.b.fail(q.op, q.code)
	}
}

// TestRandomCorrectBrokerOk: histories of a broker that decides in call
// order are Ok (no false alarms), including lost responses, failures
// before the decision, evictions, epoch bumps and the INT32_MAX wrap.
func TestRandomCorrectBrokerOk(t *testing.T) {
	testflag.Run(t, 1, func(t *testing.T, seed int64) {
		r := rand.New(rand.NewSource(seed))
		for i := 0; i < 200; i++ {
			start := int32(0)
			if i%4 == 3 {
				start = math.MaxInt32 - 5
			}
			s := &simBroker{r: r, b: &hb{}}
			h := s.run(60, 1+r.Intn(3), start)
			res := Check(h, Options{})
			if res.Verdict != Ok {
				t.Fatalf("seed %d, history %d: correct broker judged %s: %v\n%s", seed, i, res.Verdict, res.Violations, FormatWitness(Shrink(h, Options{})))
			}
		}
	})
}

// TestRandomReorderAgreement: for a broker that reorders decisions, the
// porcupine verdict (call order) agrees with the sequential replay, some
// histories are Illegal, and a history Ok with the obligation is Ok
// without it.
func TestRandomReorderAgreement(t *testing.T) {
	testflag.Run(t, 1, func(t *testing.T, seed int64) {
		r := rand.New(rand.NewSource(seed))
		illegal := 0
		names := map[string]int{}
		for i := 0; i < 200; i++ {
			s := &simBroker{r: r, b: &hb{}, reorder: true}
			h := s.run(40, 1+r.Intn(2), 0)
			res := Check(h, Options{})
			parts, _ := split(h, Options{})
			for _, p := range parts {
				_, failAt, _ := replay(newModel(Options{}, true), p.recs, nil, p.initTrail())
				pr := checkPart(p, Options{}, true) // porcupine: the part is short
				if (failAt >= 0) != (pr.Verdict == Illegal) {
					t.Fatalf("seed %d, history %d, part %v: porcupine %s, replay fails at %d", seed, i, p.key, pr.Verdict, failAt)
				}
			}
			if res.Verdict == Illegal {
				illegal++
				names[res.Violations[0].Name]++
				continue
			}
			if free := Check(h, Options{NoCallOrder: true}); free.Verdict != Ok {
				t.Fatalf("seed %d, history %d: Ok with the call-order obligation but %s without", seed, i, free.Verdict)
			}
		}
		if illegal == 0 {
			t.Errorf("seed %d: no reordering history was Illegal", seed)
		}
		t.Logf("seed %d: %d of 200 reordering histories Illegal: %v", seed, illegal, names)
	})
}
