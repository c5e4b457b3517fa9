// Package sim is a deterministic simulation of one broker's write path
// around the reference implementation's core ([impl.Frontend]): a fake
// data plane whose stage_writes and uploads wait in explicit queues, and
// idempotent producer clients with the Kafka Java client's semantics.
//
// Nothing happens until a caller picks the next step: a test or a script
// picks a pending [Item] ([Sim.Pending], [Sim.Do]), a *rand.Rand picks one
// ([Sim.Step], [Sim.Run]) with failures drawn from [Faults], or
// [Sim.Stabilize] takes them in a fixed order. Every event is recorded
// with the frontend's logical clock, so the same choices give the same
// history, byte for byte.
//
// A [Client] is an idempotent producer: sequences per partition, at most
// 5 batches in flight, retries with the same sequences, a delivery
// timeout after which a batch is lost, optionally waiting for the
// enqueued stage before the next send, and epoch bumps ([Sim.BumpEpoch]).
// [Sim.Outcomes] is what the application saw of each batch.
//
// [RandomWorkload] and [RunWorkload] run seeded random workloads with
// several clients and partitions, random completion orders and random
// failures; [SeedScenario] runs the regression scenario of Redpanda PR
// #30429 under either ticket ordering.
//
// The invariants these histories keep with the fix are checked in
// internal/agreement (CheckSanity and the white-box validator), and the
// step-by-step scripts of the write path, which drive a Sim, live there
// too (testdata/scripts).
package sim
