// Package spec is the Go twin of spec/tla/Broker.tla: the cloud-topics
// produce path of one partition as a state machine, with the same action
// names (which are also the event kinds of package history) and the same
// named invariants.
//
// The model: producers with their epoch and next sequence; replicate
// calls in flight, each going through
//
//	Replicate → ReserveTicket → StageWriteStart → StageWriteDone → UploadDone
//	          → RedeemTicket → FenceEpoch → Decide → ReleaseTicket → Return
//
// (in the pre-fix "after-stage" ordering ReserveTicket comes right after
// StageWriteDone); stage_writes and uploads that complete in any order;
// the per-pid producer queue of tickets; rm_stm's idempotency state
// (known producers, the last five finished requests, the epoch); and the
// log. Environment actions (EvictProducer, BumpEpoch, ChangeTerm, client
// timeouts, retries, failures) are each bounded or switched off by a
// [Config] field.
//
// [Step] is the transition relation. It accepts any action the write
// path allows, including actions from recorded histories with arbitrary
// producer ids, sequences and op ids; the bounds and switches of
// [Config] only restrict [Enabled], the model checker's choice. A
// rejected action comes back as a [*StepError] that says what the spec
// expected instead. A Decide's recorded decision is checked against the
// decision the spec computes; an append takes the next log offset (a
// recorded append may skip offsets, never go back).
//
// The package is pure: it imports only the standard library and does no
// I/O, starts no goroutines and reads no clock or global random source.
// States are plain values; [State.AppendBinary] is a canonical encoding
// for fingerprints, and [State.UnmarshalBinary] its inverse, so that a
// model checker can queue states as compact bytes. [AppendEnabled] and
// [State.CopyFrom] let it compute successors without allocating.
// [State.Retire] lets a long replay drop what is over while keeping what
// the idempotency windows still refer to.
//
// [Branch] names every branch of the spec (an action and the cases of
// its rule: the classes of [Classify], failures, why a ticket is
// released, window truncation, the sequence wrap, …), and
// [State.AppendBranches] says which an action takes without changing
// the state; a [Coverage] counts them for `idemcheck mc --coverage` and
// `idemcheck validate --coverage`.
package spec
