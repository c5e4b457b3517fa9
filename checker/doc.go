// Package checker judges recorded produce histories ([history.History])
// against the idempotent-producer obligations, as a black box: it looks
// only at what clients saw (each Replicate call and its Return), plus the
// recorded EvictProducer events when there are any. It never imports the
// reference implementation, so it can judge histories from any broker.
//
// # Method
//
// [Operations] pairs every Replicate with its Return by op id. An
// operation without a Return, or with Return result "unknown", has an
// unknown outcome and an infinite return time, as in etcd's robustness
// tests. [Check] splits the operations by (partition, producer id) and
// judges each part against a nondeterministic sequential model of one
// producer on one partition. The model decides each batch with the
// project's one decision rule, [spec.Classify], and allows the answers of
// the broker dialect in [Options.Rules] ([spec.Redpanda] by default, or
// [spec.Kafka]; docs/CHECKING.md lists the differences):
//
//   - the producer's requests are decided in the order Replicate was
//     called (the call-order obligation; [Options.NoCallOrder] drops it);
//   - a producer without state accepts any first sequence (the
//     unknown-producer path; Kafka may instead answer
//     OUT_OF_ORDER_SEQUENCE_NUMBER or UNKNOWN_PRODUCER_ID), and so does
//     one whose EvictProducer was recorded;
//   - the next batch in sequence (last+1, or 0 after INT32_MAX) must be
//     appended;
//   - a higher epoch restarts the sequence at 0, and a batch of a lower
//     epoch is never appended;
//   - an exact (first,last) match among the last five appended batches
//     returns the original offset and appends nothing;
//   - a gap may get OUT_OF_ORDER_SEQUENCE_NUMBER, with no effect;
//   - REQUEST_TIMED_OUT, NOT_LEADER_FOR_PARTITION and unknown outcomes are
//     ambiguous: the model forks into "appended" and "lost".
//
// Offsets are Kafka's: a batch [first,last] holds last−first+1 records
// and occupies that many consecutive offsets from its base offset, the
// offset of its ack. So a producer's appends take increasing offsets with
// room for every batch it appended before, acked or not: the model keeps
// the lowest offset its next append may take, and a duplicate's answer
// places a batch whose ack was lost only where it leaves room for the
// batches around it.
//
// A partition-level check (acks.go) adds what no single producer shows:
// acked record ranges of different producers never overlap, and a batch
// acked before another producer's batch was called sits below it (the
// log is linearizable across producers).
//
// With the call-order obligation the linearization order of a part is
// fixed (call order always respects real time), so porcupine's search
// reduces to a replay in call order over the set of model states that the
// ambiguous outcomes fork: the decision procedure of [Check] and
// [CheckReader]. Two things keep that set small (frontier.go, runs.go):
// a state whose offset bounds are all at or below another's of the same
// shape explains everything the other does, so the other is dropped; and
// a run of consecutive unknown outcomes, each next in sequence, is kept
// as one state until a call comes that tells its possible prefixes
// apart. So 10,000 unknown outcomes in a row cost about as much as 10,000
// acked batches. For a producer with recorded evictions an operation is
// replayed once every eviction its decision may follow is known: when
// this or a later call has returned and time has passed that return (an
// eviction widens what earlier decisions may have seen); an eviction
// that comes after the replay assumed none sends the producer to a full
// replay at the end. Porcupine checks the parts when the call-order
// obligation is dropped, and is a second algorithm that the tests compare
// the replay with (equiv_test.go); the exact reference in
// internal/refcheck, which tries every outcome by brute force, is the
// third (internal/agreement).
//
// A part the model rejects is replayed in call order to find the first
// operation that no branch of the model explains, which names the
// violation with the spec's invariant names (DecideInCallOrder,
// NoSpuriousOutOfOrder, ContiguousAppends, NoDuplicateAppend,
// AckedInLog). A part that is rejected with the obligation but accepted
// without it, around that operation, violates DecideInCallOrder; that
// search is bounded by a count of model steps, never by time, so the
// verdict and the violation's name depend only on the history and the
// options.
//
// # The read check
//
// A history may also hold LogBatch events: what a reader of a partition's
// log saw (a consumer's Fetch responses, or the broker's log). For every
// partition with such observations, the read check (logread.go) verifies
// that every acked batch within the offsets read is in the log at its
// acked offset with its producer id, epoch and sequences (LostWrite), that
// no producer's sequence is in the log twice (DuplicateInLog), that a
// producer's batches are in sequence order within an epoch with no
// sequence missing before a later acked batch (LogInSequence: the hole's
// senders and the acked batch after it are named) and that the batches'
// offsets do not overlap (LogOffsetsDisjoint); [Result.Reads] counts, per
// producer, the batches acked, in the log, lost and duplicated, like
// Jepsen's Kafka workload. A partition without observations is checked as
// before. The read check keeps a compact record (56 bytes) of every
// operation and of every distinct batch observed, whatever the mode:
// LogBatch events may come anywhere in a history, so every operation may
// yet be judged. In the bounded mode only the newest 65536 records stay
// in memory (about 3.5 MB); older ones go to a temporary file
// ([Options.TempDir], unlinked at once) and come back, one partition at
// a time, only for a partition with observations. So a history without
// LogBatch events checks in bounded memory, the observations themselves
// stay in memory (memory grows with the distinct batches read), and the
// read check's verdict, violations and counts are the same in the
// bounded mode and with KeepAll. An I/O error of that file is the
// check's error ([Result.Err]) when the history has LogBatch events,
// never a verdict on part of the records; without them it does not
// matter.
//
// # The engine
//
// [Check] and [CheckReader] are one engine, the streaming check
// (stream.go): [Check] feeds it the events of a history in memory,
// [CheckReader] the events as they are decoded. It turns each Replicate
// into the checker's one record of an operation (opRec, operation.go),
// which its Return completes; the replay, the model, porcupine, the
// explanations and the partition-level check all read that record, and
// an [Operation] is made from it only where a [Violation] names it (an
// Operation names its partition and producer, which the records of a
// part share). Where a search needs a part's records at will (porcupine,
// an explanation, a picture) the engine hands over the part's batch
// form: its records kept, the eviction times and the replay's states
// before the first record kept. Without the call-order obligation the
// engine only records, and every part goes to porcupine.
//
// Each part's replay is in one state (partState in stream.go, with its
// transitions): replaying, replaying with recorded evictions, waiting for
// time to pass a return, or stopped (failed with a final verdict, failed
// or overtaken by an eviction and judged again at the end, or beyond the
// limit on its set of states).
//
// # Memory
//
// [CheckReader] reads a [history.Reader] on one goroutine and replays on
// another, deciding each operation as soon as it and every earlier call of
// its producer have returned, so a history of millions of operations is
// checked at about the speed it is decoded; BENCHMARKS.md has the
// figures. [ShrinkReader] makes the witness from a second read, keeping
// only the failing producer, and [FailingHistory] keeps every producer
// that is not Ok, for [Shrink] and [Visualize].
//
// By default (the zero [Options]) the memory does not grow with the
// operations: a producer's records are dropped once the replay has
// decided them and they are a chunk behind it (and an operation with a
// known outcome has returned after them, so an eviction recorded later
// cannot have come before their decisions); the replay's states at the
// cut are kept, and a producer judged again (an explanation, an eviction
// that came late) starts from them. The partition-level check runs as
// the acks arrive, with the union of the acked ranges (about one range
// per gap in the log) and the partition's latest acks whole. What stays
// is the open operations, a few hundred records per producer and those
// ranges. [Options.KeepAll] keeps every record instead (about 80 bytes
// per operation). The verdicts are the same; without KeepAll a breach
// whose earlier operation is no longer held is explained without naming
// it. Without the call-order obligation ([Options.NoCallOrder]) every
// operation is held, and porcupine's memory is quadratic in a part's
// length.
//
// # Verdicts
//
// [Ok], [Illegal] or [Unknown]. Unknown is never a pass; an Unknown part
// says in [PartResult.Reason] which limit it hit: [Options.Timeout],
// which bounds the whole check, or the replay's limit on its set of
// states.
//
// # Witnesses and pictures
//
// [Shrink] reduces an Illegal history by delta debugging over whole
// operations to a small witness with the same violation (after cutting
// it to the failing producer and a window before the operations the
// violation names), [FormatWitness]
// prints it, and [Visualize] writes porcupine's HTML picture with the
// internal events as annotations. Package checkertest wraps all three for
// tests.
package checker
