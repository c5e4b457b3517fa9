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
// Pictures go to the test's temporary directory, which the testing
// package removes when the test ends; run the tests with
// -idemcheck.htmldir=DIR to keep them.
package checkertest
