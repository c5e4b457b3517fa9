// Package traces is the regression corpus of idemcheck: good and bad
// produce histories, named NAME-ok.jsonl / NAME-bad.jsonl (or .yaml for a
// few small hand-written ones), each with its expected verdict, violation
// name and a description in its header. A header may also name the broker
// dialect its verdict holds for ("rules": "redpanda" or "kafka"; none
// means redpanda). corpus_test.go checks every file with the black-box
// checker under that dialect and asserts the verdict, the violation name
// and that the minimal witness of each bad file has at most 10
// operations; gen_test.go and many_unknown_test.go regenerate the files
// made by impl, internal/gen and the scripted scenarios (go test ./traces
// -rewrite).
//
// The regressions of issue 11 (verdicts you can trust), written by hand
// or, for the long many-unknown-* ones, by many_unknown_test.go:
// unknown-needs-room* (an acked batch needs room for the unknown-outcome
// batch that must have been appended before it), many-unknown-* (1,000
// unknown outcomes before the acked batches that decide the verdict, for
// a producer the partition knows and for one it does not),
// record-offsets-* (a batch occupies one offset per record),
// log-real-time-* (the log grows at its end), and
// kafka-first-contact-ooosn-* and kafka-unknown-producer-id-* (the same
// operations judged by each dialect), explain-budget-* and
// explain-window-bad (a violation's name no longer depends on a time
// budget), eviction-after-lost-timeout-ok (a call that timed out may never
// have been decided), and diff-* (disagreements that the differential
// test in internal/agreement found between the checker and the exact
// reference in internal/refcheck).
//
// internal/agreement's TestCorpusCoverage replays every file with
// internal events through checker/validate and asserts that together they take every branch of
// the spec (spec.Branch), but for the few it lists with the reason no
// history can take them; seq-wrap-internal-ok, stage-fail-ok,
// term-change-fenced-ok and duplicate-inflight-ok were written by hand
// for that (the sequence wrap, a failed stage_write, a term change
// between the fence and the decision, a duplicate of a request in
// flight).
//
// The read side (issue 14), by hand: read-lost-write-*, read-duplicate-*
// and read-hole-* hold LogBatch events, what a reader of the partition's
// log saw, and are judged by the checker's read check (LostWrite,
// DuplicateInLog, LogInSequence): the bad files' acks are consistent, so
// only the log read back shows the lost, duplicated or missing batch.
//
// The package holds no code: it exists for its files and tests.
package traces
