package report

import (
	"fmt"
	"slices"
	"strings"

	"github.com/idemcheck/idemcheck/checker"
)

// Exit codes of a check: every input Ok; a violation; unusable input or
// usage (or an output that could not be written); undecided.
const (
	ExitOK        = 0
	ExitViolation = 1
	ExitUsage     = 2
	ExitUndecided = 3
)

// File is what "check --json" prints for one input.
type File struct {
	File       string      `json:"file"`
	Verdict    string      `json:"verdict"`
	Rules      string      `json:"rules,omitempty"`
	Error      string      `json:"error,omitempty"`
	Events     int64       `json:"events"`
	Ops        int         `json:"ops"`
	Parts      []Part      `json:"parts,omitempty"`
	Violations []Violation `json:"violations,omitempty"`
	Reads      []Read      `json:"reads,omitempty"`
	Undecided  []string    `json:"undecided,omitempty"`
	Witness    *Witness    `json:"witness,omitempty"`
	HTML       string      `json:"html,omitempty"`
	// BadLines lists the input lines that could not be used, as
	// FILE:LINE: message (the beam pipeline's; the command stops at the
	// first and reports it as Error instead).
	BadLines []string `json:"bad_lines,omitempty"`
	Seconds  float64  `json:"seconds"`
}

// Part is the verdict on one producer on one partition.
type Part struct {
	Partition string `json:"partition"`
	PID       int64  `json:"pid"`
	Ops       int    `json:"ops"`
	Verdict   string `json:"verdict"`
	Violation string `json:"violation,omitempty"`
	// Reason says, for an undecided (Unknown) part, which limit it hit
	// ([checker.PartResult.Reason]).
	Reason string `json:"reason,omitempty"`
}

// Read is the read check's tally of one producer on one partition
// whose log the history observed ([checker.ReadCount]).
type Read struct {
	Partition  string `json:"partition"`
	PID        int64  `json:"pid"`
	Acked      int    `json:"acked"`
	InLog      int    `json:"in_log"`
	Lost       int    `json:"lost"`
	Duplicated int    `json:"duplicated"`
	Unread     int    `json:"unread"`
}

// Reads returns the read check's tallies of res, in its order.
func Reads(res checker.Result) []Read {
	var out []Read
	for _, c := range res.Reads {
		out = append(out, Read{Partition: c.Partition, PID: c.PID, Acked: c.Acked, InLog: c.InLog,
			Lost: c.Lost, Duplicated: c.Duplicated, Unread: c.Unread})
	}
	return out
}

// Violation is one violation found, with the ids of its operations.
type Violation struct {
	Name        string  `json:"name"`
	Partition   string  `json:"partition"`
	PID         int64   `json:"pid"`
	Explanation string  `json:"explanation"`
	Ops         []int64 `json:"ops"`
}

// Witness is the minimal witness of the first violation.
type Witness struct {
	Ops    int    `json:"ops"`
	Events int    `json:"events"`
	Text   string `json:"text"`
	File   string `json:"file,omitempty"`
}

// Check is the whole "check --json" output.
type Check struct {
	Verdict  string `json:"verdict"`
	ExitCode int    `json:"exit_code"`
	Files    []File `json:"files"`
}

// Parts returns the part reports of res, in its order.
func Parts(res checker.Result) []Part {
	var out []Part
	for _, pr := range res.Parts {
		part := Part{Partition: pr.Partition, PID: pr.PID, Ops: pr.Ops, Verdict: string(pr.Verdict), Reason: pr.Reason}
		if pr.Violation != nil {
			part.Violation = pr.Violation.Name
		}
		out = append(out, part)
	}
	return out
}

// Violations returns the violation reports of res, in its order.
func Violations(res checker.Result) []Violation {
	var out []Violation
	for _, v := range res.Violations {
		vr := Violation{Name: v.Name, Partition: v.Partition, PID: v.PID, Explanation: v.Explanation}
		for _, o := range v.Ops {
			vr.Ops = append(vr.Ops, o.Op)
		}
		out = append(out, vr)
	}
	return out
}

// Fill sets the verdict, the operation count, the parts, the
// violations, the read tallies and the undecided parts of f from parts,
// violations and reads (of one [checker.Result], or of several
// partitions' results put together in the order of one).
func (f *File) Fill(parts []Part, violations []Violation, reads []Read) {
	f.Parts, f.Violations, f.Reads = parts, violations, reads
	f.Ops, f.Undecided = 0, nil
	unknown := false
	for _, p := range parts {
		f.Ops += p.Ops
		if p.Verdict == string(checker.Unknown) {
			unknown = true
			f.Undecided = append(f.Undecided, fmt.Sprintf("partition %q pid %d", p.Partition, p.PID))
		}
	}
	switch {
	case len(violations) > 0:
		f.Verdict = string(checker.Illegal)
	case unknown:
		f.Verdict = string(checker.Unknown)
	default:
		f.Verdict = string(checker.Ok)
	}
}

// Code is the exit code of one verdict.
func Code(verdict string) int {
	switch verdict {
	case string(checker.Ok):
		return ExitOK
	case string(checker.Illegal):
		return ExitViolation
	case string(checker.Unknown):
		return ExitUndecided
	}
	return ExitUsage
}

// Combine picks the exit code of several inputs: a violation first,
// then unusable input, then undecided.
func Combine(codes []int) int {
	for _, want := range []int{ExitViolation, ExitUsage, ExitUndecided} {
		for _, c := range codes {
			if c == want {
				return want
			}
		}
	}
	return ExitOK
}

// Overall is the verdict of the whole report for an exit code.
func Overall(code int) string {
	switch code {
	case ExitOK:
		return string(checker.Ok)
	case ExitViolation:
		return string(checker.Illegal)
	case ExitUsage:
		return "Error"
	}
	return string(checker.Unknown)
}

// Partition is the report of the check of one partition's history, as a
// check split by partition (the beam module's pipeline) ships it from
// the worker that checked the partition to the one that writes the
// report.
type Partition struct {
	Partition  string
	Parts      []Part
	Violations []Violation
	Reads      []Read
	// PartitionLevel and ReadLevel are [checker.Result.PartitionLevel]
	// and [checker.Result.ReadLevel]: how many of Violations, at their
	// end, are partition-level (clashes across producers, then the read
	// check's), and how many of those the read check's.
	PartitionLevel, ReadLevel int
}

// FromPartition is the report of res, the result of checking a history
// that holds only the events of partition.
func FromPartition(partition string, res checker.Result) Partition {
	return Partition{Partition: partition, Parts: Parts(res), Violations: Violations(res), Reads: Reads(res),
		PartitionLevel: res.PartitionLevel, ReadLevel: res.ReadLevel}
}

// Merge puts the reports of several partitions, in any order, together
// in the order of the check of one history holding them all: the parts
// by partition (and by pid within one, as each report has them), then
// the parts' own violations in that order, then the clashes across
// producers by partition, then the read check's violations by
// partition; the read tallies by partition.
func Merge(ps []Partition) ([]Part, []Violation, []Read) {
	sorted := slices.Clone(ps)
	slices.SortStableFunc(sorted, func(a, b Partition) int { return strings.Compare(a.Partition, b.Partition) })
	var parts []Part
	var own, clash, read []Violation
	var reads []Read
	for _, p := range sorted {
		parts = append(parts, p.Parts...)
		reads = append(reads, p.Reads...)
		k := len(p.Violations) - p.PartitionLevel
		r := len(p.Violations) - p.ReadLevel
		own = append(own, p.Violations[:k]...)
		clash = append(clash, p.Violations[k:r]...)
		read = append(read, p.Violations[r:]...)
	}
	return parts, append(append(own, clash...), read...), reads
}
