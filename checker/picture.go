package checker

import (
	"bytes"
	"cmp"
	"fmt"
	"html"
	"math"
	"slices"
	"sort"
	"strings"

	"github.com/idemcheck/idemcheck/history"
	"github.com/idemcheck/idemcheck/spec"
)

// The first screen of a picture. Porcupine's drawing is wide and tells its
// story on hover; a person opening the page should see at once, without
// scrolling or hovering, what was judged and why. So the page starts with
// a summary written by idemcheck: the verdict, each violation's name and
// explanation in words, and a timeline of the violation's operations and
// their internal steps, laid out to fill the page's width. Porcupine's
// interactive drawing follows below it.

// maxSummaryViolations is how many violations the summary draws; the
// others are listed by name.
const maxSummaryViolations = 3

// pageTitle is the page's title: the verdict and the first violation.
func pageTitle(res Result) string {
	t := "idemcheck: " + string(res.Verdict)
	if len(res.Violations) > 0 {
		v := res.Violations[0]
		t += fmt.Sprintf(": %s on %q, producer %d", v.Name, v.Partition, v.PID)
	}
	return t
}

// withSummary returns porcupine's page with idemcheck's title and the
// summary at the start of its body.
func withSummary(page []byte, res Result, summary []byte) []byte {
	title := []byte("<title>" + html.EscapeString(pageTitle(res)) + "</title>")
	page = bytes.Replace(page, []byte("<title>Porcupine</title>"), title, 1)
	// Porcupine's legend floats over the top of the page: put it in the
	// flow, above its drawing, so that it does not hide the summary.
	page = bytes.Replace(page, []byte("</head>"), []byte("<style>#legend{position:static;margin:0 0 4px 8px}</style>\n</head>"), 1)
	i := bytes.Index(page, []byte("<body>"))
	if i < 0 {
		return page
	}
	i += len("<body>")
	out := make([]byte, 0, len(page)+len(summary))
	out = append(out, page[:i]...)
	out = append(out, summary...)
	return append(out, page[i:]...)
}

// summaryHTML renders the summary of res for h.
func summaryHTML(h history.History, res Result, opts VisualizeOptions) []byte {
	var b bytes.Buffer
	b.WriteString(`<section id="idemcheck-summary" style="font:15px/1.4 system-ui,sans-serif;padding:12px 16px;border-bottom:2px solid #888;margin-bottom:12px">` + "\n")
	colour := map[Verdict]string{Ok: "#1a7f37", Illegal: "#c62828", Unknown: "#b26a00"}[res.Verdict]
	fmt.Fprintf(&b, `<h1 style="margin:0 0 4px;font-size:24px">idemcheck: <span id="idemcheck-verdict" style="color:%s">%s</span></h1>`+"\n", colour, res.Verdict)
	illegal, unknown := res.partCounts()
	rules := string(opts.Rules)
	if rules == "" {
		rules = "redpanda"
	}
	fmt.Fprintf(&b, "<p style=\"margin:0 0 8px\">%d parts (producer × partition) judged: %d illegal, %d undecided; %s rules.</p>\n",
		len(res.Parts), illegal, unknown, html.EscapeString(rules))
	for i, v := range res.Violations {
		if i == maxSummaryViolations {
			var rest []string
			for _, v := range res.Violations[i:] {
				rest = append(rest, fmt.Sprintf("%s (%q, producer %d)", v.Name, v.Partition, v.PID))
			}
			fmt.Fprintf(&b, "<p>%d more: %s.</p>\n", len(rest), html.EscapeString(strings.Join(rest, "; ")))
			break
		}
		fmt.Fprintf(&b, `<h2 class="idemcheck-violation" style="margin:12px 0 2px;font-size:19px">%s <span style="font-weight:normal">on partition %q, producer %d</span></h2>`+"\n",
			html.EscapeString(v.Name), html.EscapeString(v.Partition), v.PID)
		fmt.Fprintf(&b, `<p class="idemcheck-explanation" style="margin:0 0 6px;max-width:110ch">%s</p>`+"\n", html.EscapeString(v.Explanation))
		timelineSVG(&b, h, v)
		logListing(&b, h, v)
	}
	for _, p := range res.Parts {
		if p.Verdict == Unknown {
			fmt.Fprintf(&b, "<p>Undecided: partition %q, producer %d: %s</p>\n", html.EscapeString(p.Partition), p.PID, html.EscapeString(p.Reason))
		}
	}
	b.WriteString(`<p style="margin:8px 0 0;color:#555">Below: porcupine's drawing of the same operations (bars are calls, from call to return; the model's partial linearizations show on hover; scroll right for later operations).</p>` + "\n</section>\n")
	return b.Bytes()
}

// step is one event of a timeline.
type step struct {
	t     int64
	row   int
	label string
	fail  bool
}

// timelineSVG draws v's operations, one row per batch (retries of a
// batch folded into its row, with a count), and their internal steps as
// labelled ticks. The horizontal axis is the order of the events, not
// their times, so that every step has room for its label and the
// timeline fills the width whatever the times' spread.
func timelineSVG(b *bytes.Buffer, h history.History, v *Violation) {
	if len(v.Ops) == 0 {
		return
	}
	type rowKey struct {
		epoch       int16
		first, last int32
	}
	rowOf := map[rowKey]int{}
	var rows []string
	var rowOps [][]Operation
	opRow := map[int64]int{}
	for _, o := range v.Ops {
		k := rowKey{o.Epoch, o.First, o.Last}
		r, ok := rowOf[k]
		if !ok {
			r = len(rows)
			rowOf[k] = r
			rows = append(rows, "")
			rowOps = append(rowOps, nil)
		}
		rowOps[r] = append(rowOps[r], o)
		opRow[o.Op] = r
	}
	for r, ops := range rowOps {
		o := ops[len(ops)-1]
		label := fmt.Sprintf("op %d %s → %s", o.Op, o.batch(), o.outcome())
		if len(ops) > 1 {
			ids := make([]string, len(ops))
			for i, o := range ops {
				ids[i] = fmt.Sprint(o.Op)
			}
			label = fmt.Sprintf("%s ×%d attempts (ops %s) → %s", o.batch(), len(ops), strings.Join(ids, ", "), o.outcome())
		}
		if o.Epoch != 0 {
			label += fmt.Sprintf(" (epoch %d)", o.Epoch)
		}
		rows[r] = label
	}
	var steps []step
	for _, e := range h.Events {
		r, ok := opRow[e.Op]
		if !ok || !(e.Kind.Internal() || e.Kind == history.Replicate || e.Kind == history.Return) {
			continue
		}
		steps = append(steps, step{t: e.Time, row: r, label: stepLabel(e), fail: e.Result == history.Failed})
	}
	// Columns: the distinct times of the steps, in order.
	times := make([]int64, 0, len(steps))
	for _, s := range steps {
		times = append(times, s.t)
	}
	sort.Slice(times, func(i, j int) bool { return times[i] < times[j] })
	col := map[int64]int{}
	for _, t := range times {
		if _, ok := col[t]; !ok {
			col[t] = len(col)
		}
	}
	const (
		width   = 1360.0
		left    = 10.0
		right   = 130.0 // room for the last labels, which lean right
		rowH    = 132.0
		barY    = 110.0
		labelDY = -10.0
	)
	ncol := max(len(col), 2)
	dx := (width - left - right) / float64(ncol)
	x := func(t int64) float64 { return left + dx*(float64(col[t])+0.5) }
	height := rowH*float64(len(rows)) + 8
	fmt.Fprintf(b, `<svg class="idemcheck-timeline" viewBox="0 0 %.0f %.0f" width="100%%" style="max-height:%.0fpx;font:12px system-ui,sans-serif" role="img" aria-label="timeline of the violation's operations">`+"\n",
		width, height, height*1.2)
	for r, label := range rows {
		y0 := rowH * float64(r)
		// The bar of each attempt, from its call to its return (to the
		// right edge when its outcome is unknown).
		for _, o := range rowOps[r] {
			x0 := x(o.Call)
			x1 := width - right
			dash := ` stroke-dasharray="6 4"`
			if o.Return != math.MaxInt64 {
				if _, ok := col[o.Return]; ok {
					x1, dash = x(o.Return), ""
				}
			}
			colour := "#1565c0"
			if o.Result == history.Failed {
				colour = "#c62828"
			}
			fmt.Fprintf(b, `<line x1="%.1f" y1="%.1f" x2="%.1f" y2="%.1f" stroke="%s" stroke-width="8" stroke-linecap="round"%s/>`+"\n",
				x0, y0+barY, x1, y0+barY, colour, dash)
		}
		fmt.Fprintf(b, `<text x="%.1f" y="%.1f" font-weight="bold" font-size="14">%s</text>`+"\n", left, y0+barY+20, html.EscapeString(label))
	}
	for _, s := range steps {
		xs, y := x(s.t), rowH*float64(s.row)+barY
		colour := "#222"
		if s.fail {
			colour = "#c62828"
		}
		fmt.Fprintf(b, `<line x1="%.1f" y1="%.1f" x2="%.1f" y2="%.1f" stroke="%s" stroke-width="2"/>`+"\n", xs, y-7, xs, y+7, colour)
		fmt.Fprintf(b, `<text x="%.1f" y="%.1f" fill="%s" transform="rotate(-50 %.1f %.1f)">%s</text>`+"\n",
			xs, y+labelDY, colour, xs, y+labelDY, html.EscapeString(s.label))
	}
	b.WriteString("</svg>\n")
}

// stepLabel is a short label of one event of an operation.
func stepLabel(e history.Event) string {
	switch e.Kind {
	case history.Replicate:
		return fmt.Sprintf("call [%d,%d]", e.First, e.Last)
	case history.Return:
		switch e.Result {
		case history.OK:
			return fmt.Sprintf("ok @%d", e.Offset)
		case history.Failed:
			return e.Error.String()
		}
		return "unknown"
	case history.Decide:
		switch e.Decision {
		case history.Append, history.AppendUnknown, history.Duplicate, history.DuplicateInFlight:
			return fmt.Sprintf("Decide %s @%d", e.Decision, e.Offset)
		}
		return fmt.Sprintf("Decide %s", e.Decision)
	case history.StageWriteDone, history.UploadDone, history.FenceEpoch:
		if e.Result == history.Failed {
			return string(e.Kind) + " failed"
		}
	}
	return string(e.Kind)
}

// maxLogRows is how many rows the log listing of a read violation shows.
const maxLogRows = 24

// logRow is one row of a log listing: a batch read, a hole in a
// producer's sequences or an acked offset where nothing was read.
type logRow struct {
	off  int64
	text string
	mark bool // involved in the violation
}

// isReadViolation says whether v is one of the read check's.
func isReadViolation(v *Violation) bool {
	for _, rp := range spec.ReadProperties() {
		if rp.Name == v.Name {
			return true
		}
	}
	return false
}

// logListing writes, for a read violation, the log of its partition as
// read (h's LogBatch events) around the batches involved: one row per
// batch, offset → pid/epoch/sequences, the holes in an involved
// producer's sequences and the acked offsets where nothing was read, the
// involved rows in bold, at most maxLogRows rows ("…" for those left out).
func logListing(b *bytes.Buffer, h history.History, v *Violation) {
	if !isReadViolation(v) {
		return
	}
	var log []logEntry
	for _, e := range h.Events {
		if e.Kind == history.LogBatch && e.Partition == v.Partition {
			log = append(log, logEntry{off: e.Offset, pid: e.PID, epoch: e.Epoch, first: e.First, last: e.Last})
		}
	}
	if len(log) == 0 {
		return
	}
	slices.SortFunc(log, compareLog)
	log = slices.Compact(log)
	involved := func(l logEntry) bool {
		for _, o := range v.Ops {
			if o.PID == l.pid && o.Epoch == l.epoch && o.First <= l.last && o.Last >= l.first {
				return true
			}
		}
		return false
	}
	pids := map[int64]bool{}
	for _, o := range v.Ops {
		pids[o.PID] = true
	}
	type pe struct {
		pid   int64
		epoch int16
	}
	next := map[pe]int32{} // the sequence expected next of an involved producer's epoch
	var rows []logRow
	for _, l := range log {
		k := pe{l.pid, l.epoch}
		if n, ok := next[k]; ok && pids[l.pid] && l.first > n {
			rows = append(rows, logRow{off: l.off, mark: true,
				text: fmt.Sprintf("hole: sequences [%d,%d] of pid %d epoch %d missing here", n, l.first-1, l.pid, l.epoch)})
		}
		if n, ok := next[k]; !ok || l.last+1 > n {
			next[k] = l.last + 1
		}
		rows = append(rows, logRow{off: l.off, mark: involved(l),
			text: fmt.Sprintf("offset %d: pid %d epoch %d seq [%d,%d]", l.off, l.pid, l.epoch, l.first, l.last)})
	}
	// Acked offsets where nothing was read.
	for _, o := range v.Ops {
		if o.Result != history.OK {
			continue
		}
		if _, found := slices.BinarySearchFunc(log, o.Offset, func(l logEntry, off int64) int { return cmp.Compare(l.off, off) }); !found {
			rows = append(rows, logRow{off: o.Offset, mark: true,
				text: fmt.Sprintf("offset %d: no batch read here, yet op %d %s was acked here", o.Offset, o.Op, o.batch())})
		}
	}
	slices.SortStableFunc(rows, func(a, b logRow) int { return cmp.Compare(a.off, b.off) })
	// Keep the involved rows and two on each side, at most maxLogRows.
	keep := make([]bool, len(rows))
	n := 0
	for i, r := range rows {
		if !r.mark {
			continue
		}
		for j := max(0, i-2); j <= min(len(rows)-1, i+2) && n < maxLogRows; j++ {
			if !keep[j] {
				keep[j] = true
				n++
			}
		}
	}
	fmt.Fprintf(b, `<div class="idemcheck-log" style="margin:4px 0 10px"><p style="margin:0 0 2px">The log of partition %q as read, around the batches involved (in bold):</p>`+"\n<pre style=\"margin:0;font-size:13px\">", html.EscapeString(v.Partition))
	skipped := false
	for i, r := range rows {
		if !keep[i] {
			skipped = true
			continue
		}
		if skipped {
			b.WriteString("…\n")
			skipped = false
		}
		t := html.EscapeString(r.text)
		if r.mark {
			t = "<b>" + t + "</b>"
		}
		b.WriteString(t + "\n")
	}
	if skipped {
		b.WriteString("…\n")
	}
	b.WriteString("</pre></div>\n")
}
