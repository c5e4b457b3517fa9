package main

import (
	"fmt"
	"io"

	"github.com/idemcheck/idemcheck/spec"
)

// coverageReport is the JSON form of a coverage report: every branch of
// the spec with the number of times it was taken, and the actions and
// branches never taken.
type coverageReport struct {
	Branches []branchCount `json:"branches"`
	// Actions sums the counts of each action's branches (primary and
	// side branches alike), in the order of the branches.
	Actions []branchCount `json:"actions"`
	Missed  []string      `json:"missed"`
}

// branchCount is one line of a coverage report.
type branchCount struct {
	Name  string `json:"name"`
	Count int64  `json:"count"`
}

// newCoverageReport returns the report of c.
func newCoverageReport(c *spec.Coverage) *coverageReport {
	r := &coverageReport{Missed: []string{}}
	actions := map[spec.Name]int{}
	for _, b := range spec.AllBranches() {
		n := c.Count(b)
		r.Branches = append(r.Branches, branchCount{Name: b.String(), Count: n})
		if n == 0 {
			r.Missed = append(r.Missed, b.String())
		}
		i, ok := actions[b.Action()]
		if !ok {
			i = len(r.Actions)
			actions[b.Action()] = i
			r.Actions = append(r.Actions, branchCount{Name: string(b.Action())})
		}
		r.Actions[i].Count += n
	}
	return r
}

// write prints the report as text, one branch a line with its count, in
// the manner of TLC's -coverage.
func (r *coverageReport) write(w io.Writer, what string) {
	fmt.Fprintf(w, "Coverage of the spec's branches (%s):\n", what)
	for _, b := range r.Branches {
		fmt.Fprintf(w, "  %-30s %d\n", b.Name, b.Count)
	}
	fmt.Fprintf(w, "%d of %d branches never taken", len(r.Missed), len(r.Branches))
	if len(r.Missed) > 0 {
		fmt.Fprint(w, ":")
		for _, m := range r.Missed {
			fmt.Fprint(w, " ", m)
		}
	}
	fmt.Fprintln(w)
}
