package checker

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"math"
	"slices"
	"sort"
	"time"

	"github.com/anishathalye/porcupine"
	"github.com/idemcheck/idemcheck/history"
	"github.com/idemcheck/idemcheck/spec"
)

// VisualizeOptions tune [Visualize].
type VisualizeOptions struct {
	// Full draws every part and every operation: at most
	// [MaxFullOps] operations in all (about 2 KB of HTML each, so some
	// 20 MB), else [ErrTooLarge].
	// By default only the parts that are not Ok are drawn (all parts if
	// every part is Ok), each cut to a window of operations around the
	// first operation of its violation.
	Full bool
	// MaxBytes bounds the HTML size when Full is false (default 1 MiB);
	// the window shrinks until the picture fits.
	MaxBytes int
	// NoCallOrder draws the model without the call-order obligation, as
	// [Options.NoCallOrder].
	NoCallOrder bool
	// Rules draws the model of this broker dialect, as [Options.Rules].
	Rules spec.Rules
	_     struct{}
}

// ErrTooLarge: the picture does not fit in VisualizeOptions.MaxBytes even
// with the smallest window, or a Full picture has a part too long to draw.
var ErrTooLarge = errors.New("checker: picture larger than the size limit")

// MaxFullOps is the most operations a Full picture draws.
const MaxFullOps = 10000

// Default window around a witness: operations before and after it.
const (
	windowBefore = 200
	windowAfter  = 50
)

// Visualize writes porcupine's HTML picture of h, as judged in res (from
// [Check] on the same history), to w. Each part is one porcupine
// partition; its partial linearizations show how far the model got. The
// internal events of the drawn operations and the environment events are
// annotations, one row per part.
func Visualize(w io.Writer, h history.History, res Result, opts VisualizeOptions) error {
	if err := validate(h); err != nil {
		return err
	}
	parts, _ := split(h, Options{Rules: opts.Rules})
	var chosen []*part
	var centers []int
	var viols []*Violation
	for _, p := range parts {
		pr := findPart(res, p.key)
		if !opts.Full && pr != nil && pr.Verdict == Ok {
			continue
		}
		c := 0
		if pr != nil && pr.Violation != nil {
			for i := range p.recs {
				if inOps(pr.Violation.Ops, p.recs[i].op) {
					c = i
					break
				}
			}
		}
		chosen = append(chosen, p)
		centers = append(centers, c)
		var v *Violation
		if pr != nil {
			v = pr.Violation
		}
		viols = append(viols, v)
	}
	if len(chosen) == 0 {
		chosen = parts
		centers = make([]int, len(parts))
		viols = make([]*Violation, len(parts))
	}
	if opts.Full {
		n := 0
		for _, p := range chosen {
			n += len(p.recs)
		}
		if n > MaxFullOps {
			return fmt.Errorf("%w: a full picture of %d operations (at most %d); draw the default picture, a window around each violation, instead", ErrTooLarge, n, MaxFullOps)
		}
	}
	maxBytes := opts.MaxBytes
	if maxBytes <= 0 {
		maxBytes = 1 << 20
	}
	before, after := windowBefore, windowAfter
	for {
		var buf bytes.Buffer
		if err := draw(&buf, h, chosen, centers, viols, before, after, opts); err != nil {
			return err
		}
		if opts.Full || buf.Len() <= maxBytes {
			_, err := w.Write(withSummary(buf.Bytes(), res, summaryHTML(h, res, opts)))
			return err
		}
		if before == 0 && after == 0 {
			return fmt.Errorf("%w: %d bytes > %d", ErrTooLarge, buf.Len(), maxBytes)
		}
		before, after = before/2, after/2
	}
}

func findPart(res Result, k partKey) *PartResult {
	for i := range res.Parts {
		if res.Parts[i].Partition == k.partition && res.Parts[i].PID == k.pid {
			return &res.Parts[i]
		}
	}
	return nil
}

// draw renders the chosen parts, each cut to [center-before,
// center+after] unless opts.Full.
func draw(w io.Writer, h history.History, parts []*part, centers []int, viols []*Violation, before, after int, opts VisualizeOptions) error {
	checkOpts := Options{Rules: opts.Rules}
	m := newModel(checkOpts, !opts.NoCallOrder)
	var init []state
	var pops []porcupine.Operation
	var anns []porcupine.Annotation
	for k, p := range parts {
		lo, hi := 0, len(p.recs)
		if !opts.Full {
			lo, hi = max(0, centers[k]-before), min(len(p.recs), centers[k]+after+1)
		}
		// The model state before the window: the call-order replay of
		// the operations before it.
		start, fa, _ := replay(newModel(checkOpts, true), p.recs[:lo], nil, p.initTrail())
		if fa != -1 {
			lo = 0
			start = p.initTrail()
		}
		for _, t := range start {
			s := t.s
			s.part = int32(k)
			init = append(init, s)
		}
		if hi-lo > porcupineLimit {
			return fmt.Errorf("%w: part %q pid %d has %d operations to draw, more than %d", ErrTooLarge, p.key.partition, p.key.pid, hi-lo, porcupineLimit)
		}
		drawn := slices.Clone(p.recs[lo:hi])
		for i := range drawn {
			drawn[i].part = int32(k)
		}
		pops = append(pops, porcupineOps(p, drawn, lanes(drawn))...)
		anns = append(anns, annotations(h, p, drawn)...)
		anns = append(anns, logAnnotations(h, p, drawn, viols[k])...)
		if v := viols[k]; v != nil && len(v.Ops) > 0 {
			from, to := v.Ops[0].Call, v.Ops[0].Call
			for _, o := range v.Ops {
				from = min(from, o.Call)
				if o.Return != math.MaxInt64 {
					to = max(to, o.Return)
				}
			}
			anns = append(anns, porcupine.Annotation{
				Tag: fmt.Sprintf("violation %s pid %d", p.key.partition, p.key.pid), Start: from, End: to,
				Description: v.Name, Details: v.Explanation, BackgroundColor: "#f4b6b6",
			})
		}
	}
	timeout := time.Duration(0)
	if opts.NoCallOrder {
		timeout = 10 * time.Second
	}
	init = expandAllParts(m, init, parts)
	_, info := porcupine.CheckOperationsVerbose(m.porcupine(init), pops, timeout)
	info.AddAnnotations(anns)
	return porcupine.Visualize(m.porcupine(init), info, w)
}

// expandAllParts forks the runs of init, states of the parts drawn
// (tagged with their index in parts).
func expandAllParts(m *model, init []state, parts []*part) []state {
	var out []state
	for _, s := range init {
		out = append(out, expandAll(m, []state{s}, parts[s.part].recs)...)
	}
	return out
}

// lanes assigns each operation a row so that the operations of a row do
// not overlap in time.
func lanes(recs []opRec) []int {
	var ends []int64
	r := make([]int, len(recs))
	for i := range recs {
		l := 0
		for l < len(ends) && ends[l] >= recs[i].call {
			l++
		}
		if l == len(ends) {
			ends = append(ends, 0)
		}
		ends[l] = recs[i].ret
		r[i] = l
	}
	return r
}

// annotations turns the internal events of recs and the environment
// events of p's producer, within the recs' time span, into annotations.
func annotations(h history.History, p *part, recs []opRec) []porcupine.Annotation {
	if len(recs) == 0 {
		return nil
	}
	from, to := recs[0].call, int64(math.MinInt64)
	for i := range recs {
		if r := recs[i].ret; r != math.MaxInt64 && r > to {
			to = r
		}
	}
	if to < from {
		to = math.MaxInt64
	}
	first, last := recs[0].op, recs[len(recs)-1].op
	drawn := func(op int64) bool {
		i := sort.Search(len(recs), func(i int) bool { return recs[i].op >= op })
		return i < len(recs) && recs[i].op == op
	}
	tag := fmt.Sprintf("steps %s pid %d", p.key.partition, p.key.pid)
	var r []porcupine.Annotation
	for _, e := range h.Events {
		var desc string
		switch {
		case e.Kind.Internal():
			if e.Op < first || e.Op > last || !drawn(e.Op) {
				continue
			}
			desc = fmt.Sprintf("%s op %d", e.Kind, e.Op)
			switch e.Kind {
			case history.Decide:
				desc = fmt.Sprintf("Decide op %d %s", e.Op, e.Decision)
			case history.StageWriteDone, history.UploadDone, history.FenceEpoch:
				if e.Result == history.Failed {
					desc += " failed"
				}
			}
		case e.Kind == history.EvictProducer && e.Partition == p.key.partition && e.PID == p.key.pid,
			e.Kind == history.ChangeTerm && e.Partition == p.key.partition,
			e.Kind == history.BumpEpoch && e.PID == p.key.pid:
			if e.Time < from || e.Time > to {
				continue
			}
			desc = e.String()
		default:
			continue
		}
		r = append(r, porcupine.Annotation{Tag: tag, Start: e.Time, Description: desc, Details: e.String()})
	}
	return r
}

// maxLogAnnotations bounds the LogBatch annotations of one part, so that
// a history that read back its whole log keeps a small picture.
const maxLogAnnotations = 100

// logAnnotations draws what was read of p's log: each LogBatch event of
// p's partition and producer whose batch meets the sequences of a drawn
// operation of its epoch, on a "log" row of the part, highlighted when
// it meets an operation that v (the part's violation) names. At most
// maxLogAnnotations are drawn; one more annotation says how many were
// left out.
func logAnnotations(h history.History, p *part, recs []opRec, v *Violation) []porcupine.Annotation {
	meets := func(e *history.Event, epoch int16, first, last int32) bool {
		return e.Epoch == epoch && e.First <= last && first <= e.Last
	}
	// The sequences the drawn operations span, per epoch: most batches
	// read of a long history lie outside the window and are skipped
	// without comparing them with every drawn operation.
	span := map[int16][2]int32{}
	for k := range recs {
		sp, ok := span[recs[k].epoch]
		if !ok {
			sp = [2]int32{recs[k].first, recs[k].last}
		}
		span[recs[k].epoch] = [2]int32{min(sp[0], recs[k].first), max(sp[1], recs[k].last)}
	}
	tag := fmt.Sprintf("log %s pid %d", p.key.partition, p.key.pid)
	var r []porcupine.Annotation
	left, lastTime := 0, int64(0)
	for i := range h.Events {
		e := &h.Events[i]
		if e.Kind != history.LogBatch || e.Partition != p.key.partition || e.PID != p.key.pid {
			continue
		}
		if sp, ok := span[e.Epoch]; !ok || !meets(e, e.Epoch, sp[0], sp[1]) {
			continue
		}
		drawn := false
		for k := range recs {
			if meets(e, recs[k].epoch, recs[k].first, recs[k].last) {
				drawn = true
				break
			}
		}
		if !drawn {
			continue
		}
		if len(r) == maxLogAnnotations {
			left++
			lastTime = e.Time
			continue
		}
		a := porcupine.Annotation{Tag: tag, Start: e.Time,
			Description: fmt.Sprintf("read @%d [%d,%d]", e.Offset, e.First, e.Last), Details: e.String()}
		if v != nil {
			for _, o := range v.Ops {
				if o.PID == e.PID && meets(e, o.Epoch, o.First, o.Last) {
					a.BackgroundColor = "#f4b6b6"
					a.Details += " (involved in " + v.Name + ")"
					break
				}
			}
		}
		r = append(r, a)
	}
	if left > 0 {
		r = append(r, porcupine.Annotation{Tag: tag, Start: lastTime,
			Description: fmt.Sprintf("… %d more batches read", left),
			Details:     fmt.Sprintf("%d more LogBatch events of this producer are not drawn (at most %d per part)", left, maxLogAnnotations)})
	}
	return r
}
