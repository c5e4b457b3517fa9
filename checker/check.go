package checker

import (
	"errors"
	"fmt"
	"runtime"
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
	// Timeout bounds the check: the streaming replay of every part from
	// the start of the check, then each part judged again at the end (an
	// eviction that came late) or searched by porcupine (NoCallOrder); 0
	// means none. A part not decided in time is Unknown, with a Reason
	// that says so. The explanation of a violation is bounded by a count
	// of model steps instead, so that its name never depends on time.
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
	// Reason says, for an Unknown part, which limit it hit.
	Reason string
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

// checkSearch is the check without the streaming replay: every part of
// at most porcupineMaxOps operations is searched by porcupine, longer
// ones replayed whole. It is a second algorithm the streaming replay is
// tested against, and the check without the call-order obligation. h
// must be valid.
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
			res.Parts[i] = checkPart(p, opts, true)
		}()
	}
	wg.Wait()
	finishResult(&res, logBreaches(h, opts))
	return res
}

// logBreaches runs the partition-level check alone over h.
func logBreaches(h history.History, opts Options) []*Violation {
	st := newStreamer(opts)
	st.logOnly = true
	for i := range h.Events {
		st.add(&h.Events[i])
	}
	return st.breaches()
}

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

// porcupineLimit is the longest part porcupine is given at all (its
// memory is quadratic in the part's length).
const porcupineLimit = 20000

// porcupineMaxOps is the longest part that checkPart's search gives
// porcupine under the call-order obligation; porcupine copies its
// linearized set at every step, which is quadratic in the part's length.
const porcupineMaxOps = 4096

// checkPart checks one (partition, pid) and explains an Illegal verdict.
// With the call-order obligation the order of decisions is fixed, and
// the check is the replay over the sets of states the outcomes allow
// (with search, porcupine's search instead, for parts up to
// porcupineMaxOps: the same decision by another algorithm); without the
// obligation, porcupine searches the orders.
func checkPart(p *part, opts Options, search bool) PartResult {
	pr := PartResult{Partition: p.key.partition, PID: p.key.pid, Ops: len(p.ops)}
	m := newModel(opts, !opts.NoCallOrder)
	if m.callOrder && (!search || len(p.in) > porcupineMaxOps) {
		var deadline time.Time
		if opts.Timeout > 0 {
			deadline = time.Now().Add(opts.Timeout)
		}
		_, failAt, _ := replayPath(m, p.in, nil, p.initTrail(), false, deadline)
		switch {
		case failAt >= 0:
			pr.Verdict = Illegal
			pr.Violation = explain(p, opts)
		case failAt == -1:
			pr.Verdict = Ok
		case failAt == replayTimedOut:
			pr.Verdict, pr.Reason = Unknown, timeoutReason(opts)
		default:
			pr.Verdict, pr.Reason = Unknown, frontierReason
		}
		return pr
	}
	if !m.callOrder && len(p.in) > porcupineLimit {
		pr.Verdict = Unknown
		pr.Reason = fmt.Sprintf("without the call-order obligation porcupine checks parts of at most %d operations", porcupineLimit)
		return pr
	}
	if m.callOrder {
		m.at = func(idx int32) *input { return p.in[idx] }
	}
	r := porcupine.CheckOperationsTimeout(m.porcupine(expandAll(m, p.initStates(), p.in)), porcupineOps(p, p.in, p.ops, nil), opts.Timeout)
	pr.Verdict = Verdict(r)
	switch r {
	case porcupine.Illegal:
		pr.Violation = explain(p, opts)
	case porcupine.Unknown:
		pr.Reason = fmt.Sprintf("porcupine's search ran out of time (--timeout %v)", opts.Timeout)
	}
	return pr
}

// timeoutReason says why a part is Unknown when the check ran out of
// time.
func timeoutReason(opts Options) string {
	return fmt.Sprintf("the check ran out of time (Options.Timeout, idemcheck check --timeout: %v)", opts.Timeout)
}

// frontierReason says why a part whose replay outgrew maxFrontier is
// Unknown.
const frontierReason = "the replay's set of possible states passed its limit of 16384 (too many interleaved unknown outcomes to tell apart)"

// expandAll returns states with every run forked into its family (for
// porcupine, whose model keeps no runs); ins are the part's inputs by
// call index.
func expandAll(m *model, states []state, ins []*input) []state {
	var out []state
	mr := *m
	mr.at = func(idx int32) *input { return ins[idx] }
	for _, s := range states {
		if s.runLen == 0 {
			out = append(out, s)
			continue
		}
		mr.expandRun(s, func(e state) { out = append(out, e) })
	}
	return out
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
