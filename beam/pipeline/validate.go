package pipeline

import (
	"cmp"
	"encoding/json"
	"errors"
	"fmt"
	"github.com/idemcheck/idemcheck/checker/report"
	"regexp"
	"slices"

	"github.com/idemcheck/idemcheck/checker/validate"
	"github.com/idemcheck/idemcheck/history"
)

// Validation is the report of the validate mode: the JSON of
// "idemcheck validate --json" for the whole input (File is the glob; the
// failing event names its Source), plus the per-partition results, the
// bad lines and the exit code. Verdict is "Ok" (the spec allows every
// event of every partition), "Illegal" (Violation is the first failing
// event in input order: by source, then line) or "Unusable" (Error says
// why: nothing to validate, or bad input).
type Validation struct {
	report.Validation
	Partitions []PartValidation `json:"partitions,omitempty"`
	BadLines   []string         `json:"bad_lines,omitempty"`
	ExitCode   int              `json:"exit_code"`
}

// PartValidation is one partition's validation.
type PartValidation struct {
	Partition string              `json:"partition"`
	Verdict   string              `json:"verdict"`
	Events    int                 `json:"events"`
	Violation *report.FailedEvent `json:"violation,omitempty"`
	Error     string              `json:"error,omitempty"`
}

// validateFn validates the history of one partition with
// checker/validate.
type validateFn struct{}

func (f *validateFn) ProcessElement(partition string, recs func(*Rec) bool, infos func(*Info) bool, emit func(PartOut)) error {
	order := ""
	for _, in := range collectInfos(infos) {
		if in.TicketOrder != "" {
			order = in.TicketOrder
			break
		}
	}
	if order == "" {
		order = "before-stage"
	}
	var all []Rec
	var taint string
	var r Rec
	for recs(&r) {
		if r.Taint != "" {
			if taint == "" || r.Taint < taint {
				taint = r.Taint
			}
			continue
		}
		all = append(all, r)
	}
	pv := PartValidation{Partition: partition, Events: len(all)}
	evs, idx, err := inTimeOrder(all)
	switch {
	case taint != "":
		pv.Verdict, pv.Error = "Unusable", "input lost: "+taint
	case err != nil:
		pv.Verdict, pv.Error = "Unusable", err.Error()
	default:
		h := history.History{Header: history.Header{Format: history.FormatV1, TicketOrder: order}}
		for _, i := range idx {
			h.Events = append(h.Events, evs[i])
		}
		err := validate.History(h, validate.Options{TicketOrder: order})
		var we *validate.Error
		switch {
		case err == nil:
			pv.Verdict = "Ok"
		case errors.Is(err, validate.ErrNothingToValidate):
			pv.Verdict, pv.Error = "Unusable", err.Error()
		case errors.As(err, &we) && we.Line >= 1 && we.Line <= len(idx):
			src := all[idx[we.Line-1]]
			fe := &report.FailedEvent{Source: src.Source, Line: int(src.Line), Event: we.Event.String(), Expected: we.Expected, State: we.State, Invariant: we.Invariant}
			if we.Missing != "" {
				pv.Verdict, pv.Error = "Unusable", fmt.Sprintf("%s:%d: cannot be validated: %s", src.Source, src.Line, we.Expected)
			} else {
				pv.Verdict, pv.Violation = "Illegal", fe
			}
		default:
			pv.Verdict, pv.Error = "Unusable", err.Error()
		}
	}
	b, err := json.Marshal(pv)
	if err != nil {
		return err
	}
	emit(PartOut{Partition: partition, Validation: b})
	return nil
}

// AssembleValidation builds the validate mode's report from the
// partitions' results, the bad lines and the files' Infos: Illegal if a
// partition is, with the first failing event in input order; else
// Unusable if the input holds no internal event or a partition could
// not be validated; else Ok.
func AssembleValidation(cfg Config, results func(*PartOut) bool, bads func(*string) bool, infos func(*Info) bool) Validation {
	ins := collectInfos(infos)
	rep := Validation{Validation: report.Validation{File: cfg.Input, TicketOrder: "before-stage"}}
	internal := int64(0)
	for _, in := range ins {
		rep.Events += in.Events
		internal += in.Internal
		if in.TicketOrder != "" && rep.TicketOrder == "before-stage" {
			rep.TicketOrder = in.TicketOrder
		}
	}
	var s string
	for bads(&s) {
		rep.BadLines = append(rep.BadLines, s)
	}
	place := regexp.MustCompile(`^(.*?):([0-9]+): `)
	slices.SortFunc(rep.BadLines, func(a, b string) int { return compareBad(place, a, b) })
	var po PartOut
	for results(&po) {
		var pv PartValidation
		if err := json.Unmarshal(po.Validation, &pv); err != nil {
			rep.BadLines = append(rep.BadLines, fmt.Sprintf("partition %q: %v", po.Partition, err))
			continue
		}
		rep.Partitions = append(rep.Partitions, pv)
	}
	slices.SortFunc(rep.Partitions, func(a, b PartValidation) int { return cmp.Compare(a.Partition, b.Partition) })
	for i := range rep.Partitions {
		v := rep.Partitions[i].Violation
		if v != nil && (rep.Violation == nil || cmp.Or(cmp.Compare(v.Source, rep.Violation.Source), cmp.Compare(v.Line, rep.Violation.Line)) < 0) {
			rep.Violation = v
		}
	}
	unusable := ""
	for _, pv := range rep.Partitions {
		if pv.Verdict == "Unusable" && internal > 0 && unusable == "" {
			unusable = fmt.Sprintf("partition %q: %s", pv.Partition, pv.Error)
		}
	}
	switch {
	case rep.Violation != nil:
		rep.Verdict, rep.ExitCode = "Illegal", report.ExitViolation
	case internal == 0:
		rep.Verdict, rep.ExitCode, rep.Error = "Unusable", report.ExitUsage, fmt.Sprintf("%s: %v", cfg.Input, validate.ErrNothingToValidate)
	case unusable != "":
		rep.Verdict, rep.ExitCode, rep.Error = "Unusable", report.ExitUsage, unusable
	default:
		rep.Verdict, rep.ExitCode = "Ok", report.ExitOK
	}
	if len(rep.BadLines) > 0 && rep.ExitCode == report.ExitOK {
		rep.ExitCode = report.ExitUsage
	}
	return rep
}
