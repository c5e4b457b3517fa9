// Package validate validates the internal events of a recorded history
// against the Go spec (package spec): every event is mapped to the spec
// action of the same name and replayed through the spec's Step, one spec
// state per partition, and the first event the spec does not allow (or
// that breaks one of its invariants) is reported with its line, what the
// spec expected there and the part of the state that mattered.
//
// It is the `idemcheck validate` command's engine. Unlike the black-box
// checker it sees the write path's steps, so a pre-fix history (ticket
// reserved after stage_write) is rejected at its ticket step even when
// its client-visible outcome happened to be fine.
//
// Validation streams: memory grows with the operations still open (and
// the log entries they or a producer's idempotency window refer to, so
// that a retry answered as a duplicate of a long-finished request is
// still checked against the log), not with the length of the history;
// the common path allocates nothing per event.
//
// [Options.Coverage] counts the spec branches ([spec.Branch]) the
// allowed events take, for `idemcheck validate --coverage`.
package validate
