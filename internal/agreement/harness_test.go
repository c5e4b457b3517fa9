package agreement

import (
	"bytes"
	"errors"
	"fmt"
	"path/filepath"
	"slices"
	"sort"
	"strings"

	"github.com/idemcheck/idemcheck/checker"
	"github.com/idemcheck/idemcheck/history"
	"github.com/idemcheck/idemcheck/internal/refcheck"
	"github.com/idemcheck/idemcheck/spec"
)

// Verdict strings of a judgement, beyond Ok and Illegal.
const (
	unknown     = "Unknown"     // the checker did not decide (a disagreement)
	unsupported = "Unsupported" // the reference's limits: the case is skipped
	limit       = "Limit"       // the checker said which limit it hit: skipped
)

// judgement is a judge's answer: "Ok", "Illegal", or one of the above;
// class sorts it into a kind of disagreement (the obligation the
// reference finds broken, the checker's violation names), detail is for
// a report.
type judgement struct {
	verdict string
	class   string
	detail  string
}

// judge judges a history under a dialect.
type judge struct {
	name string
	fn   func(history.History, spec.Rules) judgement
}

// referenceJudge is refcheck with opts (opts.Rules is set per call).
func referenceJudge(name string, opts refcheck.Options) judge {
	return judge{name: name, fn: func(h history.History, r spec.Rules) judgement {
		o := opts
		o.Rules = r
		res, err := o.Check(h)
		switch {
		case errors.Is(err, refcheck.ErrUnsupported):
			return judgement{verdict: unsupported, detail: err.Error()}
		case err != nil:
			return judgement{verdict: "error", detail: err.Error()}
		}
		return judgement{verdict: string(res.Verdict), class: reasonClass(res), detail: res.Reason}
	}}
}

// checkerJudge is checker.Check, bounded (its default) or with
// Options.KeepAll.
func checkerJudge(bounded bool) judge {
	name := "checker"
	if bounded {
		name = "checker-bounded"
	}
	return judge{name: name, fn: func(h history.History, r spec.Rules) judgement {
		res := checker.Check(h, checker.Options{Rules: r, KeepAll: !bounded})
		var names []string
		for _, v := range res.Violations {
			names = append(names, v.Name)
		}
		sort.Strings(names)
		class := strings.Join(slices.Compact(names), ",")
		detail := res.Summary()
		if len(res.Violations) > 0 {
			detail = res.Violations[0].Error()
		}
		switch res.Verdict {
		case checker.Ok, checker.Illegal:
			return judgement{verdict: string(res.Verdict), class: class, detail: detail}
		}
		if res.Err != nil && !errors.Is(res.Err, checker.ErrInvalidHistory) && !errors.Is(res.Err, checker.ErrNoOperations) {
			return judgement{verdict: limit, detail: res.Err.Error()}
		}
		if res.Err != nil {
			detail = res.Err.Error()
		}
		return judgement{verdict: unknown, detail: detail}
	}}
}

// tally counts the cases of one source.
type tally struct {
	histories   int
	ok, illegal int // reference verdicts, counted per (history, dialect)
	unsupported int // beyond the reference's limits
	limits      int // the checker hit a limit it named
	disagree    int // (history, dialect, candidate) triples
}

// disagreement is one case where a candidate and the reference differ,
// shrunk.
type disagreement struct {
	kind      string // source, dialect, verdicts and the reference's reason class
	source    string
	where     string // which history: "history #12 of seed 7", "hand case x", "traces/x.jsonl"
	rules     spec.Rules
	candidate string
	ref, cand judgement
	count     int // how many cases of this kind
	original  int // operations before shrinking
	h         history.History
}

// harness runs cases through a reference and candidates and keeps what
// they disagree on, one example (the first, shrunk) per kind.
type harness struct {
	ref    judge
	cands  []judge
	rules  []spec.Rules
	tally  map[string]*tally
	kinds  map[string]*disagreement
	order  []string // kinds in the order found
	shrink bool
}

func newHarness(ref judge, cands ...judge) *harness {
	return &harness{ref: ref, cands: cands, rules: []spec.Rules{spec.Redpanda, spec.Kafka},
		tally: map[string]*tally{}, kinds: map[string]*disagreement{}, shrink: true}
}

func (hs *harness) tallyOf(source string) *tally {
	t := hs.tally[source]
	if t == nil {
		t = &tally{}
		hs.tally[source] = t
	}
	return t
}

// verdicts is what the reference and each candidate said about one
// history under one dialect.
type verdicts struct {
	rules spec.Rules
	ref   judgement
	cands []judgement // in the order of harness.cands; nil if ref is unsupported
}

// judge judges h under each dialect with the reference and every
// candidate. It only reads hs, so histories can be judged concurrently.
func (hs *harness) judge(h history.History) []verdicts {
	var out []verdicts
	for _, r := range hs.rules {
		v := verdicts{rules: r, ref: hs.ref.fn(h, r)}
		if v.ref.verdict != unsupported {
			for _, c := range hs.cands {
				v.cands = append(v.cands, c.fn(h, r))
			}
		}
		out = append(out, v)
	}
	return out
}

// run judges h (from source; where names it in reports) and records
// the verdicts.
func (hs *harness) run(source, where string, h history.History) error {
	return hs.record(source, where, h, hs.judge(h))
}

// record counts the verdicts vs of h and keeps a disagreement, shrunk,
// if it is the first of its kind. It returns an error only for a broken
// harness: an inconsistent history or a reference error.
func (hs *harness) record(source, where string, h history.History, vs []verdicts) error {
	t := hs.tallyOf(source)
	t.histories++
	for _, v := range vs {
		r, ref := v.rules, v.ref
		switch ref.verdict {
		case string(refcheck.Ok):
			t.ok++
		case string(refcheck.Illegal):
			t.illegal++
		case unsupported:
			t.unsupported++
			continue
		default:
			return fmt.Errorf("%s, %s (%s): reference: %s: %s", source, where, r, ref.verdict, ref.detail)
		}
		for k, c := range hs.cands {
			got := v.cands[k]
			if got.verdict == limit {
				t.limits++
				continue
			}
			if got.verdict == ref.verdict {
				continue
			}
			t.disagree++
			kind := fmt.Sprintf("%s/%s/%s: reference %s (%s), %s %s", source, r, c.name, ref.verdict, ref.class, c.name, got.verdict)
			if got.class != "" {
				kind += " (" + got.class + ")"
			}
			if d := hs.kinds[kind]; d != nil {
				d.count++
				continue
			}
			d := &disagreement{kind: kind, source: source, where: where, rules: r, candidate: c.name,
				ref: ref, cand: got, count: 1, original: len(checker.Operations(h)), h: h}
			if hs.shrink {
				d.h = shrink(h, func(x history.History) bool {
					return hs.ref.fn(x, r).verdict == ref.verdict && c.fn(x, r).verdict == got.verdict
				})
				d.ref, d.cand = hs.ref.fn(d.h, r), c.fn(d.h, r)
			}
			hs.kinds[kind] = d
			hs.order = append(hs.order, kind)
		}
	}
	return nil
}

// reasonClass names the obligation behind a reference verdict, to sort
// disagreements into kinds.
func reasonClass(res refcheck.Result) string {
	if res.Verdict != refcheck.Illegal {
		return "explained"
	}
	r := res.Reason
	switch {
	case strings.Contains(r, "overlapping"):
		return "c1 overlapping acks"
	case strings.Contains(r, "returned at"):
		return "c2 real-time order"
	case strings.Contains(r, "is below"):
		return "b offsets"
	case strings.Contains(r, "below the producer's"):
		return "a stale epoch"
	case strings.Contains(r, "must be appended"):
		return "a must append"
	case strings.Contains(r, "(gap)"):
		return "a gap"
	case strings.Contains(r, "duplicate"):
		return "a duplicate"
	}
	return "other"
}

// disagreements returns the kinds found, in the order found.
func (hs *harness) disagreements() []*disagreement {
	var out []*disagreement
	for _, k := range hs.order {
		out = append(out, hs.kinds[k])
	}
	return out
}

// report renders d for a test failure: what each side said, and the
// shrunk history as JSON Lines.
func (d *disagreement) report() string {
	var b strings.Builder
	fmt.Fprintf(&b, "%s\n  %d case(s) of this kind; first: %s (%d ops, shrunk to %d)\n",
		d.kind, d.count, d.where, d.original, len(checker.Operations(d.h)))
	fmt.Fprintf(&b, "  reference: %s %s\n", d.ref.verdict, d.ref.detail)
	fmt.Fprintf(&b, "  %s: %s %s\n", d.candidate, d.cand.verdict, d.cand.detail)
	b.WriteString("  history (rules " + string(d.rules) + "):\n")
	var buf bytes.Buffer
	h := d.h
	h.Header = history.Header{Format: history.FormatV1}
	if err := history.EncodeJSONL(&buf, h); err != nil {
		fmt.Fprintf(&b, "    (cannot encode: %v)\n", err)
	}
	for _, l := range strings.Split(strings.TrimRight(buf.String(), "\n"), "\n") {
		b.WriteString("    " + l + "\n")
	}
	return b.String()
}

// write saves d in dir as a trace: NAME-ok.jsonl when the reference says
// Ok, NAME-bad.jsonl when it says Illegal, with the reference's verdict
// as the header's expect.
func (d *disagreement) write(dir string, n int) (string, error) {
	suffix := "ok"
	h := d.h
	h.Header = history.Header{Format: history.FormatV1, Source: "agreement", Expect: d.ref.verdict}
	if d.ref.verdict == string(refcheck.Illegal) {
		suffix = "bad"
		h.Header.Violation = "TBD"
	}
	if d.rules == spec.Kafka {
		h.Header.Rules = string(spec.Kafka)
	}
	ref := d.ref.verdict
	if d.ref.detail != "" {
		ref += " (" + d.ref.detail + ")"
	}
	cand := d.cand.verdict
	if d.cand.class != "" {
		cand += " (" + d.cand.class + ")"
	}
	h.Header.Description = fmt.Sprintf("the reference says %s; %s says %s (found by TestReferenceAgrees: %s, from %s, shrunk)",
		ref, d.candidate, cand, d.where, d.source)
	path := filepath.Join(dir, fmt.Sprintf("diff-%03d-%s.jsonl", n, suffix))
	return path, history.WriteFile(path, h)
}
