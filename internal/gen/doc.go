// Package gen generates seeded synthetic produce histories quickly, with
// or without one of the bugs of the catalogue injected.
//
// Generation and mutation are apart, the way pebble's metamorphic tests
// keep generating operations apart from running them.
//
// Generation: a seeded workload drives the spec's step function, one
// [spec.State] per partition (the spec models one partition), in the
// fixed "before-stage" ticket order. The workload is the generator's:
// which producer sends which batch to which partition and when, in
// which order stage_write and the uploads complete, client timeouts (a
// Return with result unknown while the request goes on inside the
// broker), retries of timed-out batches with the same sequence range,
// epoch bumps (a client-side step every partition's state takes), and
// first sequences near INT32_MAX. The write path is the spec's: every
// step goes through [spec.State.Apply], which refuses what the write
// path does not allow (tickets reserved in call order and redeemed in
// turn, and so on), and rm_stm's decision, its offset and the result a
// Return owes are those the spec enables ([spec.AppendOpEnabled], with
// the project's one rule, [spec.Classify]); each step is recorded as the
// history event of the same name ([history.FromAction]), internal ones
// included, at times 0, 1, 2, ... and with op ids 1, 2, .... A step the
// spec refuses or one that breaks a spec invariant is an internal error.
// So the output is a complete history that history.Stream accepts, a
// correct checker judges Ok and checker/validate allows step by step.
// The generator does not use impl: the checker's tests, which generate
// histories, stay apart from the reference implementation.
//
// Invariants of a generated history without injection: per partition and
// producer, batches are decided in call order; every appended batch is
// appended once; a retry of an appended batch is answered with the
// original's base offset; a partition's offsets are Kafka's, one per
// record, so every append takes the log's end offset as its base offset
// and the end grows by the batch's record count (1 to 3 records here).
//
// Mutation: a [Mutator] turns a correct event stream into one that shows
// a bug. With [Options.Inject] set, [Generate] passes its correct stream
// through the bug's Mutator, which puts a short scripted episode of the
// bug at the start of partition p0, played by producer ids the traffic
// does not use, and moves the traffic after it (op ids, times and p0's
// offsets), so that the episode's is the history's one violation. The
// episodes are described on the [Bug] constants.
//
// Generation streams: events go to a [Recorder] as they happen, and the
// generator's memory grows with the requests still in flight, not with
// the length of the history: now and then, as checker/validate does,
// each partition's state retires the operations that are over
// ([spec.State.Retire]), keeping what is in flight and the log entries
// the idempotency windows refer to, so multi-gigabyte histories can be
// produced through a pipe. The Mutator streams too.
package gen
