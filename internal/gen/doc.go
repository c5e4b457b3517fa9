// Package gen generates seeded synthetic produce histories quickly, with
// or without one of the bugs of the catalogue injected.
//
// The generator simulates producers sending record batches to partitions
// through the fixed ("before-stage") cloud-topics write path: each call
// reserves its producer-queue ticket synchronously, stage_write and the
// upload finish in any order, the ticket is redeemed in call order and the
// rm_stm idempotency rules ([spec.Classify]) decide each batch. Client
// timeouts (a Return with result unknown while the request goes on inside
// the broker), retries of timed-out batches and epoch bumps are drawn
// from the seed. Every event is recorded, internal ones included, so the
// output is a complete history that history.Stream accepts and a
// correct checker judges Ok.
//
// Invariants of a generated history without injection: per partition and
// producer, batches are decided in call order; every appended batch is
// appended once; a retry of an appended batch is answered with the
// original's base offset; a partition's offsets are Kafka's, one per
// record, so every append takes the log's end offset as its base offset
// and the end grows by the batch's record count (1 to 3 records here).
//
// With [Options.Inject] set, a short scripted episode at the start of
// partition p0 (producer 1, plus a producer id of its own for lost-ack)
// shows the chosen bug in its client-visible outcome, and the random
// traffic goes on after it. The episodes are described on the [Bug]
// constants.
//
// Generation streams: events go to a [Recorder] as they happen, and the
// generator's memory grows with the requests still in flight, not with
// the length of the history, so multi-gigabyte histories can be produced
// through a pipe.
package gen
