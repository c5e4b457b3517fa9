// Package impl is the reference implementation of Redpanda's cloud-topics
// write path for idempotent producers (the frontend's replicate, the
// per-partition producer_queue and the rm_stm idempotency rules), built so
// that every step is explicit, recorded and reproducible.
//
// # Core and shell
//
// [Frontend] is the core: a single-threaded, step-driven state machine in
// the style of etcd raft's RawNode. [Frontend.Replicate] records the call,
// reserves the ticket (fixed ordering) and starts stage_write on a
// [DataPlane]; nothing asynchronous happens inside the core. The owner of
// the frontend completes stage_writes ([Frontend.CompleteStage]) and
// uploads ([Frontend.CompleteUpload]) in whatever order it likes, and
// redeems tickets that [Frontend.Redeemable] lists ([Frontend.Redeem]:
// redeem, epoch fence, idempotency decision, append, release, result).
// [Frontend.Ready] hands back the two stages of each call, enqueued and
// finished, like raft's Ready.
//
// Two owners are provided. [Sim] is deterministic: its fake data plane
// keeps pending stage_writes and uploads in explicit queues, and a test,
// a script, a *rand.Rand ([Sim.Step]) or a fixed order ([Sim.Stabilize])
// picks the next [Item]. [Server] (server.go) is the concurrent shell: one
// goroutine owns the frontend, and the data plane completes each
// stage_write and upload from its own goroutine after a random delay.
//
// The pieces are usable alone: [Queue] and [Ticket] are the producer
// queue, [Producers] the idempotency rules ([spec.Classify]), [Log] a
// partition log with Kafka's offsets (a batch takes one offset per record
// from its base offset, the offset its Decide and its ok Return carry).
//
// # Ticket orderings
//
// [Config.TicketOrder] selects where a request's ticket is reserved:
// [BeforeStage] ("before-stage", the fix of PR #30429 and the default)
// reserves it synchronously in Replicate, so ticket order is call order;
// [AfterStage] ("after-stage", the pre-fix code) reserves it when
// stage_write resolves, so a later call can overtake an earlier one. Both
// stay runnable; [SeedScenario] runs the PR's regression scenario under
// either.
//
// Events per call, fixed ordering:
//
//	Replicate → ReserveTicket → StageWriteStart → StageWriteDone → UploadDone
//	          → RedeemTicket → FenceEpoch → Decide → ReleaseTicket → Return
//
// and pre-fix ordering, Replicate → StageWriteStart → StageWriteDone →
// ReserveTicket → UploadDone → ... A failed stage_write, upload or fence
// releases the ticket and returns REQUEST_TIMED_OUT (7). The partition's
// replication is synchronous: an appended batch is committed when it is
// decided, so a request is never inflight in rm_stm across steps and the
// DuplicateInFlight decision, implemented by [Producers], does not arise
// in a [Frontend].
//
// # Recording
//
// The frontend records through a one-method [Recorder] ([history.Log] and
// [history.JSONLWriter] satisfy it; nil turns recording off). Op ids
// increase in call order; a client timeout ([Frontend.Timeout]) records a
// Return with result unknown while the request goes on. Without a
// [Config.Clock], times come from a logical clock that counts events, so
// the same steps give the same history byte for byte.
//
// # Clients and workloads
//
// A [Client] in a Sim is an idempotent producer with the Kafka Java
// client's semantics: sequences per partition, at most 5 batches in
// flight, retries with the same sequences, a delivery timeout after which
// a batch is lost, and optionally waiting for the enqueued stage before
// the next send. [RandomWorkload] and [RunWorkload] run seeded random
// workloads with several clients and partitions, random completion orders
// and random failures ([Faults]). [CheckSanity] checks the white-box
// invariants the fixed ordering keeps.
//
// # Bug classes
//
// Reachable: the late ticket ([AfterStage], #30429); a failure before raft
// frees the slot (failed stage_write, upload or fence: [Faults]); the
// abort signal in redeem ([Frontend.Abort]); idle eviction
// ([Frontend.Evict]); epoch bumps with old-epoch requests still inside
// ([Sim.BumpEpoch]); the dedup window ([spec.WindowSize] batches); the INT32_MAX wrap. Term
// changes are recorded but, replication being synchronous, fail nothing.
// Not modelled: the storage-mode flip (#31106), fence-before-redeem
// deadlocks, release before the rm_stm enqueue, no-pid semaphore units,
// and the abandon/poisoned tickets of #30937.
//
// # Invariants kept with the fix
//
// [CheckSanity] checks, on a recorded history: TicketOrderIsCallOrder,
// DecideInCallOrder, ContiguousAppends, NoDuplicateAppend and AckedInLog
// (the names of the spec and the checker). Every history of the fixed
// ordering without evictions keeps them (tested on thousands of seeded
// workloads); the pre-fix ordering breaks the first two, and evictions can
// break the last three (Redpanda forgets the dedup window of an evicted
// producer).
//
// # Replay
//
// [Replay] drives a frontend through the events of a given history
// (for example a model checker's counterexample, which may hold only
// Replicate, StageWriteDone, UploadDone and Return events) and returns
// the history the implementation records, with the same op ids, so the
// client-visible Returns can be compared.
package impl
