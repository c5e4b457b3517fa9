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

// Options tune [Check] and [CheckReader]. The zero value is the
// bounded streaming check with the call-order obligation, the broker
// dialect [spec.Redpanda], no timeout and GOMAXPROCS workers: the check
// the CLI runs.
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
	// search is then porcupine's, over every operation held in memory,
	// whose memory is quadratic in a part's length: parts longer than
	// 20000 operations are Unknown.
	NoCallOrder bool
	// Workers bounds the parts searched by porcupine or explained at
	// once; 0 means GOMAXPROCS. (The call-order replay of every part
	// runs on one goroutine, beside the decoding one in CheckReader.)
	Workers int
	// KeepAll keeps a compact record of every operation until the end
	// (memory grows with the history) instead of the default bounded
	// memory, where a producer's records are dropped once the replay
	// has decided them and they are a chunk behind it (see doc.go).
	// Verdicts and violation names are the same; with KeepAll every
	// explanation names all its operations, where the default may
	// explain a clash of two producers without naming the earlier one.
	KeepAll bool
	// TempDir is where the bounded mode's read check keeps the records
	// of operations past its memory budget (a few MB), for a history
	// with LogBatch events to be judged like with KeepAll; empty means
	// os.TempDir(). The file is unlinked as soon as it is made.
	TempDir string
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
	// Reads holds the read check's counts per producer of every partition
	// whose log the history observed (LogBatch events), sorted by
	// partition and then pid; empty when the history has none (see
	// logread.go).
	Reads []ReadCount
	// PartitionLevel is how many of Violations, at their end, are the
	// partition-level clashes across producers (acks.go); the others are
	// the parts' own, in the order of Parts. A check split by partition
	// (the beam module's) puts the partitions' results back in the order
	// of one history's with it: every part's violation, then every
	// partition-level clash.
	PartitionLevel int
	// ReadLevel is how many of the PartitionLevel ones, at the very end,
	// are the read check's (logread.go); the others are the offset
	// clashes.
	ReadLevel int
	// Err is a problem with the input (wrapping [ErrNoOperations] or
	// [ErrInvalidHistory]), or for [CheckReader] the reader's error or
	// an I/O error of the read check's spill file; Verdict is then
	// Unknown.
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
	parts, breaches := split(h, opts)
	res := Result{Parts: make([]PartResult, len(parts))}
	inParallel(opts, len(parts), func(i int) { res.Parts[i] = checkPart(parts[i], opts, true) })
	rc := newReadCheck(false, "")
	for i := range h.Events {
		rc.add(&h.Events[i])
	}
	finishResult(&res, breaches, rc.finish())
	return res
}

// inParallel calls f(0), …, f(n-1) on at most opts.Workers goroutines at
// once (GOMAXPROCS when 0) and waits for them.
func inParallel(opts Options, n int, f func(i int)) {
	workers := opts.Workers
	if workers <= 0 {
		workers = runtime.GOMAXPROCS(0)
	}
	var wg sync.WaitGroup
	sem := make(chan struct{}, workers)
	for i := range n {
		wg.Add(1)
		sem <- struct{}{}
		go func() {
			defer wg.Done()
			defer func() { <-sem }()
			f(i)
		}()
	}
	wg.Wait()
}

// finishResult collects the parts' violations, adds the partition-level
// clashes cross and sets the verdict.
func finishResult(res *Result, cross []*Violation, reads readOutcome) {
	cross = append(cross, reads.viols...)
	res.Reads = reads.counts
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
	res.PartitionLevel, res.ReadLevel = len(cross), len(reads.viols)
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
	case reads.err != nil:
		res.Verdict, res.Err = Unknown, reads.err
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

// porcupineOps returns recs, records of p, as porcupine operations,
// each on its lane (nil: all on lane 0).
func porcupineOps(p *part, recs []opRec, lanes []int) []porcupine.Operation {
	r := make([]porcupine.Operation, len(recs))
	for i := range recs {
		o := &recs[i]
		lane := 0
		if lanes != nil {
			lane = lanes[i]
		}
		r[i] = porcupine.Operation{ClientId: lane, Input: o, Output: o, Call: o.call, Return: o.ret,
			Metadata: fmt.Sprintf("op %d client %d partition %q pid %d", o.op, o.client, p.key.partition, p.key.pid)}
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
	pr := PartResult{Partition: p.key.partition, PID: p.key.pid, Ops: len(p.recs)}
	m := newModel(opts, !opts.NoCallOrder)
	if m.callOrder && (!search || len(p.recs) > porcupineMaxOps) {
		var deadline time.Time
		if opts.Timeout > 0 {
			deadline = time.Now().Add(opts.Timeout)
		}
		_, failAt, _ := replayPath(m, p.recs, nil, p.initTrail(), false, deadline)
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
	if !m.callOrder && len(p.recs) > porcupineLimit {
		pr.Verdict = Unknown
		pr.Reason = fmt.Sprintf("without the call-order obligation porcupine checks parts of at most %d operations", porcupineLimit)
		return pr
	}
	if m.callOrder {
		m.at = func(idx int32) *opRec { return &p.recs[idx] }
	}
	r := porcupine.CheckOperationsTimeout(m.porcupine(expandAll(m, p.initStates(), p.recs)), porcupineOps(p, p.recs, nil), opts.Timeout)
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
// porcupine, whose model keeps no runs); recs are the part's records by
// call index.
func expandAll(m *model, states []state, recs []opRec) []state {
	var out []state
	mr := *m
	mr.at = func(idx int32) *opRec { return &recs[idx] }
	for _, s := range states {
		if s.runLen == 0 {
			out = append(out, s)
			continue
		}
		mr.expandRun(s, func(e state) { out = append(out, e) })
	}
	return out
}

// partCounts returns the number of Illegal parts and of Unknown ones.
func (r Result) partCounts() (illegal, unknown int) {
	for _, p := range r.Parts {
		switch p.Verdict {
		case Illegal:
			illegal++
		case Unknown:
			unknown++
		}
	}
	return illegal, unknown
}

// Summary renders a short human summary: the verdict and one line per
// part (Ok parts beyond the first 20 are counted, not listed).
func (r Result) Summary() string {
	var b strings.Builder
	illegal, unknown := r.partCounts()
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
