// Package checkertest is a test helper around package checker: it checks
// a history inside a Go test and, when the history is not Ok, fails the
// test with the violation explained in plain words, a minimal witness
// ([checker.Shrink], [checker.FormatWitness]) and the path of an HTML
// picture ([checker.Visualize]). An Ok history passes silently.
//
// Histories are judged by the broker dialect their header's rules field
// names ([spec.Redpanda] when it names none, or [spec.Kafka]) unless
// [CheckWith]'s options give one; the witness and the picture use the same
// rules.
//
// Pictures go to the test's artifact directory ([testing.T.ArtifactDir]):
// run the tests with -artifacts (and -outputdir DIR to choose where) to
// keep them after the test ends; without it the directory is temporary
// and the failure message says so. The package defines no flags, so
// go test ./... -artifacts works across packages that do not import it.
//
// A check has a budget: [DefaultTimeout] unless the options give a
// Timeout. A part not decided within it is Unknown, which fails the test
// with the part and the limit named (never a pass); raise the budget for
// a history that needs more with [CheckWith] and checker.Options.Timeout.
package checkertest
