// Package report holds the JSON report of "idemcheck check --json" and
// its building from a [checker.Result], so that every program that
// checks histories (the idemcheck command, the beam module's pipeline)
// prints the same report.
package report
