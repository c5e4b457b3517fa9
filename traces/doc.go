// Package traces is the regression corpus of idemcheck: good and bad
// produce histories, named NAME-ok.jsonl / NAME-bad.jsonl (or .yaml for a
// few small hand-written ones), each with its expected verdict, violation
// name and a description in its header. corpus_test.go checks every file
// with the black-box checker and asserts the verdict, the violation name
// and that the minimal witness of each bad file has at most 10
// operations; gen_test.go regenerates the files made by impl,
// internal/gen and the scripted scenarios (go test ./traces -update).
//
// The package holds no code: it exists for its files and tests.
package traces
