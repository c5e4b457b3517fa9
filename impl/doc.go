// Package impl is the reference implementation of Redpanda's cloud-topics
// write path for idempotent producers (the frontend's replicate, the
// per-partition producer_queue and the rm_stm idempotency rules), built so
// that every step is explicit, recorded and reproducible. It holds the
// write path's core only; the roles built on it have their own packages:
//
//	impl           the core: Frontend, Queue and Ticket, Producers, Log
//	impl/sim       the deterministic simulator, Java-semantics clients,
//	               random workloads and the PR #30429 scenario
//	impl/replay    drives a Frontend through the events of a given history
//	impl/server    the concurrent shell (one goroutine owns the Frontend)
//	               that internal/kafkabroker serves over the Kafka protocol
//
// The invariants the implementation keeps with the fix are checked, on
// the histories of all three, by the tests of internal/agreement.
//
// # The core
//
// [Frontend] is a single-threaded, step-driven state machine in the style
// of etcd raft's RawNode: its owner calls a step, reads what became
// enabled and what happened, and acts on it; nothing asynchronous happens
// inside. The steps are [Frontend.Replicate] (records the call, reserves
// the ticket with the fixed ordering and starts stage_write on a
// [DataPlane]), [Frontend.CompleteStage] and [Frontend.CompleteUpload]
// (the owner completes the data plane's work, in whatever order it
// likes), [Frontend.Redeem] (redeem, epoch fence, idempotency decision,
// append, release, result) for an op that [Frontend.Redeemable] lists,
// and the environment's steps: [Frontend.Timeout], [Frontend.Abort],
// [Frontend.Evict], [Frontend.ChangeTerm] and [Frontend.BumpEpoch].
// [Frontend.Ready] hands back the two stages of each call, enqueued and
// finished, like raft's Ready. [Frontend.Status], [Frontend.Open],
// [Frontend.Partitions] and [Frontend.Log] are the read-only view of
// the state, and [Frontend.Describe] renders it as text.
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
// stay runnable; impl/sim's SeedScenario runs the PR's regression
// scenario under either.
//
// Events per call, fixed ordering:
//
//	Replicate → ReserveTicket → StageWriteStart → StageWriteDone → UploadDone
//	          → RedeemTicket → FenceEpoch → Decide → ReleaseTicket → Return
//
// and pre-fix ordering, Replicate → StageWriteStart → StageWriteDone →
// ReserveTicket → UploadDone → ... A failed stage_write, upload or fence
// releases the ticket and returns REQUEST_TIMED_OUT (7).
//
// The partition's replication is synchronous: a batch is appended and
// committed in the step that decides it. So no request is ever in flight
// inside rm_stm between two steps, every duplicate the rules find is of
// a finished request ([history.Duplicate], never
// [history.DuplicateInFlight]), and a term change has nothing in flight
// to fail; [Producers] keeps finished requests only.
//
// # Recording
//
// The frontend records through a one-method [Recorder] ([history.Log] and
// [history.JSONLWriter] satisfy it; nil turns recording off). Op ids
// increase in call order; a client timeout ([Frontend.Timeout]) records a
// Return with result unknown while the request goes on. Without a
// [Config.Clock], times come from a logical clock that counts events, so
// the same steps give the same history byte for byte. The first recorder
// error stops the frontend: that step and every later one return it, and
// nothing more is recorded, so a history is never silently incomplete.
//
// # Bug classes
//
// Reachable: the late ticket ([AfterStage], #30429); a failure before raft
// frees the slot (failed stage_write, upload or fence); the abort signal
// in redeem ([Frontend.Abort]); idle eviction ([Frontend.Evict]); epoch
// bumps with old-epoch requests still inside; the dedup window
// ([spec.WindowSize] batches); the INT32_MAX wrap. Term changes are
// recorded but, replication being synchronous, fail nothing. Not
// modelled: the storage-mode flip (#31106), fence-before-redeem
// deadlocks, release before the rm_stm enqueue, no-pid batches in the
// frontend (the [Queue]'s no-pid units are there and tested, but
// [Frontend.Replicate] refuses a [NoPID] batch: it has no sequence to
// judge), and the abandon/poisoned tickets of #30937.
package impl
