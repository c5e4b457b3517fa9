package checker

import (
	"cmp"
	"errors"
	"fmt"
	"math"
	"runtime"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/anishathalye/porcupine"
	"github.com/idemcheck/idemcheck/history"
	"github.com/idemcheck/idemcheck/spec"
)

// Verdict is the outcome of a check: [Ok], [Illegal] or [Unknown].
type Verdict string

// Verdicts.
const (
	// Ok: the model explains every operation.
	Ok Verdict = "Ok"
	// Illegal: no behaviour allowed by the model explains the operations.
	Illegal Verdict = "Illegal"
	// Unknown: the check did not finish (timeout or bad input); never a pass.
	Unknown Verdict = "Unknown"
)

// Sentinel errors for problems with the checker's input; [Result.Err]
// wraps one of them.
var (
	// ErrNoOperations: the history has no Replicate event.
	ErrNoOperations = errors.New("checker: history has no operations")
	// ErrInvalidHistory: the history breaks the consistency rules of
	// [history.Stream].
	ErrInvalidHistory = errors.New("checker: inconsistent history")
)

// Options tune [Check]. The zero value checks with the call-order
// obligation, no timeout and GOMAXPROCS workers.
type Options struct {
	// Timeout bounds the porcupine search of each part (the fallback of
	// the call-order replay, and every part under NoCallOrder); 0 means
	// none. A part whose search times out is Unknown. The replay itself
	// is linear and not bounded.
	Timeout time.Duration
	// NoCallOrder drops the call-order obligation: a producer's requests
	// may then be decided in any order consistent with real time (plain
	// linearizability). It exists to show what the obligation adds. The
	// search is then porcupine's, whose memory is quadratic in a part's
	// length: parts longer than 20000 operations are Unknown.
	NoCallOrder bool
	// Workers bounds the parts searched by porcupine or explained at
	// once; 0 means GOMAXPROCS. (The call-order replay of every part
	// runs on one goroutine, beside the decoding one in CheckReader.)
	Workers int
	// PlainSearch checks with porcupine alone: one search over all
	// operations, with no replay and no split into producers, and no
	// explanation of an Illegal verdict. It exists to measure what the
	// replay and the split save (BENCHMARKS.md); Timeout bounds it.
	PlainSearch bool
	// Bounded keeps the memory of [CheckReader] (and [Check]) bounded
	// by the operations still open and a fixed amount per producer,
	// instead of a compact record per operation: a producer's records
	// are dropped once the replay has decided them and they are a chunk
	// behind, and the clash of two producers acked at one offset is
	// found as the acks arrive, with one bit per log offset (see
	// doc.go). Verdicts are the same; an explanation may then name
	// fewer of the operations involved, when they were dropped.
	Bounded bool
	// Rules is the broker dialect whose answers are allowed
	// ([spec.Redpanda] when empty, or [spec.Kafka]); see docs/CHECKING.md.
	Rules spec.Rules
	_     struct{}
}

// Result is the outcome of [Check].
type Result struct {
	// Verdict is Illegal if there is a violation, else Unknown if a part
	// timed out or the input was bad, else Ok.
	Verdict Verdict
	// Parts holds one result per (partition, pid), sorted by partition
	// and then pid.
	Parts []PartResult
	// Violations lists every violation found: at most one per part, plus
	// the partition-level AckedInLog clashes across producers.
	Violations []*Violation
	// Err is a problem with the input (wrapping [ErrNoOperations] or
	// [ErrInvalidHistory]); Verdict is then Unknown.
	Err error
}

// PartResult is the verdict for one producer on one partition.
type PartResult struct {
	Partition string
	PID       int64
	// Ops is the number of operations of the part.
	Ops       int
	Verdict   Verdict
	Violation *Violation
}

// Violation is an Illegal verdict explained: the invariant broken (one of
// the shared names: DecideInCallOrder, NoSpuriousOutOfOrder,
// ContiguousAppends, NoDuplicateAppend, AckedInLog), where, in plain
// words, and the few operations involved.
type Violation struct {
	Name        string
	Partition   string
	PID         int64
	Explanation string
	// Ops are the operations involved, in call order.
	Ops []Operation
}

// Error gives a one-paragraph human explanation.
func (v *Violation) Error() string {
	var b strings.Builder
	fmt.Fprintf(&b, "checker: %s violated on partition %q, producer %d: %s", v.Name, v.Partition, v.PID, v.Explanation)
	if len(v.Ops) > 0 {
		b.WriteString(". Operations involved: ")
		for i, o := range v.Ops {
			if i > 0 {
				b.WriteString("; ")
			}
			fmt.Fprintf(&b, "op %d pid=%d epoch=%d %s -> %s", o.Op, o.PID, o.Epoch, o.batch(), o.outcome())
		}
	}
	return b.String()
}

// Check judges h. It never panics on user input: a history that is not
// consistent or has no operations gives Verdict Unknown and Result.Err.
func Check(h history.History, opts Options) Result {
	if err := validate(h); err != nil {
		return Result{Verdict: Unknown, Err: err}
	}
	if opts.PlainSearch {
		return checkPlain(h, opts)
	}
	if opts.NoCallOrder {
		return checkSearch(h, opts)
	}
	st := newStreamer(opts)
	for i := range h.Events {
		st.add(&h.Events[i])
	}
	return st.finish(opts)
}

// checkSearch is the check without the call-order replay: every part of
// at most porcupineMaxOps operations is searched by porcupine. It is the
// reference the replay is tested against, and the check without the
// call-order obligation. h must be valid.
func checkSearch(h history.History, opts Options) Result {
	ops := Operations(h)
	parts := split(h, ops)
	res := Result{Parts: make([]PartResult, len(parts))}
	workers := opts.Workers
	if workers <= 0 {
		workers = runtime.GOMAXPROCS(0)
	}
	var wg sync.WaitGroup
	sem := make(chan struct{}, workers)
	for i, p := range parts {
		wg.Add(1)
		sem <- struct{}{}
		go func() {
			defer wg.Done()
			defer func() { <-sem }()
			res.Parts[i] = checkPart(p, opts)
		}()
	}
	wg.Wait()
	views := make([]ackView, len(parts))
	for i, p := range parts {
		views[i] = p
	}
	finishResult(&res, crossCheck(views))
	return res
}

// ackView is what the partition-level check needs of a part.
type ackView interface {
	partKey() partKey
	len() int
	// acked returns the offset of operation j and whether it was acked.
	acked(j int) (int64, bool)
	operation(j int) Operation
}

func (p *part) partKey() partKey { return p.key }
func (p *part) len() int         { return len(p.ops) }
func (p *part) acked(j int) (int64, bool) {
	return p.ops[j].Offset, p.ops[j].Result == history.OK
}
func (p *part) operation(j int) Operation { return p.ops[j] }

// finishResult collects the parts' violations, adds the partition-level
// clashes cross and sets the verdict.
func finishResult(res *Result, cross []*Violation) {
	unknown := false
	for i := range res.Parts {
		pr := &res.Parts[i]
		if pr.Violation != nil {
			res.Violations = append(res.Violations, pr.Violation)
		}
		if pr.Verdict == Unknown {
			unknown = true
		}
	}
	for _, v := range cross {
		res.Violations = append(res.Violations, v)
		for i := range res.Parts {
			pr := &res.Parts[i]
			if pr.Partition == v.Partition && pr.PID == v.PID && pr.Violation == nil {
				pr.Verdict, pr.Violation = Illegal, v
			}
		}
	}
	switch {
	case len(res.Violations) > 0:
		res.Verdict = Illegal
	case unknown:
		res.Verdict = Unknown
	default:
		res.Verdict = Ok
	}
}

// validate checks the history's consistency and that it has operations.
func validate(h history.History) error {
	var s history.Stream
	calls := 0
	for i, e := range h.Events {
		if err := s.Check(e); err != nil {
			return fmt.Errorf("checker: event %d: %w: %w", i, ErrInvalidHistory, err)
		}
		if e.Kind == history.Replicate {
			calls++
		}
	}
	if calls == 0 {
		return ErrNoOperations
	}
	return nil
}

// porcupineOps converts the inputs to porcupine operations.
func porcupineOps(p *part, ins []*input, ops []Operation, lanes []int) []porcupine.Operation {
	r := make([]porcupine.Operation, len(ins))
	for i, in := range ins {
		o := ops[i]
		lane := 0
		if lanes != nil {
			lane = lanes[i]
		}
		r[i] = porcupine.Operation{ClientId: lane, Input: in, Output: in, Call: o.Call, Return: o.Return,
			Metadata: fmt.Sprintf("op %d client %d partition %q pid %d", o.Op, o.Client, p.key.partition, p.key.pid)}
	}
	return r
}

// porcupineMaxOps is the largest part checked with porcupine under the
// call-order obligation; porcupine copies its linearized set at every
// step, which is quadratic in the part's length. Larger parts are checked
// by the equivalent linear replay.
const porcupineMaxOps = 4096

// porcupineLimit is the longest part porcupine is given at all (its
// memory is quadratic in the part's length).
const porcupineLimit = 20000

// checkPart checks one (partition, pid) with porcupine and explains an
// Illegal verdict.
func checkPart(p *part, opts Options) PartResult {
	pr := PartResult{Partition: p.key.partition, PID: p.key.pid, Ops: len(p.ops)}
	m := &model{callOrder: !opts.NoCallOrder}
	if m.callOrder && len(p.in) > porcupineMaxOps {
		// With the call-order obligation the order is fixed: porcupine's
		// search reduces to this replay over the sets of states, without
		// its per-step copies of the linearized set.
		var deadline time.Time
		if opts.Timeout > 0 {
			deadline = time.Now().Add(opts.Timeout)
		}
		_, failAt, _ := replayPath(m, p.in, nil, p.initTrail(), false, deadline)
		switch {
		case failAt >= 0:
			pr.Verdict = Illegal
			pr.Violation = explain(p, opts)
			return pr
		case failAt == -1:
			pr.Verdict = Ok
			return pr
		case failAt == replayTimedOut:
			pr.Verdict = Unknown
			return pr
		}
		// Too many states: let porcupine try.
	}
	if len(p.in) > porcupineLimit {
		pr.Verdict = Unknown
		return pr
	}
	r := porcupine.CheckOperationsTimeout(m.porcupine(p.initStates()), porcupineOps(p, p.in, p.ops, nil), opts.Timeout)
	pr.Verdict = Verdict(r)
	if r == porcupine.Illegal {
		pr.Violation = explain(p, opts)
	}
	return pr
}

// crossCheck finds different batches acked at the same offset of one
// partition by different producers (AckedInLog); one clash per
// partition, the one at the lowest offset (ties in part and call order).
func crossCheck(parts []ackView) []*Violation {
	type acked struct {
		off  int64
		p, j int32
	}
	var out []*Violation
	var all []acked
	var seen, dup []uint64
	for i := 0; i < len(parts); {
		j := i
		for ; j < len(parts) && parts[j].partKey().partition == parts[i].partKey().partition; j++ {
		}
		// A clash needs an offset acked twice: find those offsets with a
		// bitmap over the offsets' range, and sort only their acks.
		lo, hi, n := int64(math.MaxInt64), int64(math.MinInt64), 0
		for q := i; q < j; q++ {
			for k, m := 0, parts[q].len(); k < m; k++ {
				if off, ok := parts[q].acked(k); ok {
					lo, hi, n = min(lo, off), max(hi, off), n+1
				}
			}
		}
		filter := n > 0 && uint64(hi-lo) < 1<<32 && uint64(hi-lo) < 64*uint64(n)
		if filter {
			words := int((uint64(hi-lo) >> 6) + 1)
			seen = append(seen[:0], make([]uint64, words)...)
			dup = append(dup[:0], make([]uint64, words)...)
			for q := i; q < j; q++ {
				for k, m := 0, parts[q].len(); k < m; k++ {
					if off, ok := parts[q].acked(k); ok {
						b := uint64(off - lo)
						if seen[b>>6]&(1<<(b&63)) != 0 {
							dup[b>>6] |= 1 << (b & 63)
						}
						seen[b>>6] |= 1 << (b & 63)
					}
				}
			}
		}
		all = all[:0]
		for q := i; q < j; q++ {
			for k, m := 0, parts[q].len(); k < m; k++ {
				if off, ok := parts[q].acked(k); ok {
					if b := uint64(off - lo); filter && dup[b>>6]&(1<<(b&63)) == 0 {
						continue
					}
					all = append(all, acked{off, int32(q), int32(k)})
				}
			}
		}
		slices.SortFunc(all, func(a, b acked) int {
			if c := cmp.Compare(a.off, b.off); c != 0 {
				return c
			}
			if c := cmp.Compare(a.p, b.p); c != 0 {
				return c
			}
			return cmp.Compare(a.j, b.j)
		})
		for k := 1; k < len(all); k++ {
			x, y := all[k-1], all[k]
			if x.off != y.off || parts[x.p].partKey().pid == parts[y.p].partKey().pid {
				continue
			}
			out = append(out, clashViolation(parts[x.p].operation(int(x.j)), parts[y.p].operation(int(y.j))))
			break
		}
		i = j
	}
	return out
}

// clashViolation is the AckedInLog violation of two producers' batches
// acked at one offset; it names the later call as the producer at fault.
func clashViolation(a, b Operation) *Violation {
	if a.Op > b.Op {
		a, b = b, a
	}
	return &Violation{
		Name: AckedInLog, Partition: b.Partition, PID: b.PID,
		Explanation: fmt.Sprintf("batch %s of producer %d (op %d) and batch %s of producer %d (op %d) were both acked at offset %d: two different batches cannot sit at one offset, so one acked write is not in the log where it was acked",
			a.batch(), a.PID, a.Op, b.batch(), b.PID, b.Op, b.Offset),
		Ops: []Operation{a, b},
	}
}

// Summary renders a short human summary: the verdict and one line per
// part (Ok parts beyond the first 20 are counted, not listed).
func (r Result) Summary() string {
	var b strings.Builder
	illegal, unknown := 0, 0
	for _, p := range r.Parts {
		switch p.Verdict {
		case Illegal:
			illegal++
		case Unknown:
			unknown++
		}
	}
	fmt.Fprintf(&b, "%s: %d parts, %d illegal, %d unknown", r.Verdict, len(r.Parts), illegal, unknown)
	if r.Err != nil {
		fmt.Fprintf(&b, " (%v)", r.Err)
	}
	b.WriteByte('\n')
	listedOk, hidden := 0, 0
	for _, p := range r.Parts {
		if p.Verdict == Ok {
			if listedOk >= 20 {
				hidden++
				continue
			}
			listedOk++
		}
		fmt.Fprintf(&b, "  partition %q pid %d: %d ops, %s", p.Partition, p.PID, p.Ops, p.Verdict)
		if p.Violation != nil {
			fmt.Fprintf(&b, " (%s)", p.Violation.Name)
		}
		b.WriteByte('\n')
	}
	if hidden > 0 {
		fmt.Fprintf(&b, "  ... and %d more Ok parts\n", hidden)
	}
	return b.String()
}
