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
// producer on one partition:
//
//   - the producer's requests are decided in the order Replicate was
//     called (the call-order obligation; [Options.NoCallOrder] drops it);
//   - a producer without state accepts any first sequence (the
//     unknown-producer path), and so does one whose EvictProducer was
//     recorded;
//   - the next batch in sequence (last+1, or 0 after INT32_MAX) must be
//     appended, at an offset above the producer's earlier offsets;
//   - a higher epoch restarts the sequence at 0;
//   - an exact (first,last) match among the last five appended batches
//     returns the original offset and appends nothing;
//   - a gap may get OUT_OF_ORDER_SEQUENCE_NUMBER, with no effect;
//   - REQUEST_TIMED_OUT, NOT_LEADER_FOR_PARTITION and unknown outcomes are
//     ambiguous: the model forks into "persisted" and "lost".
//
// A partition-level check across producers adds that two different
// batches are never acked at the same offset.
//
// With the call-order obligation the linearization order of a part is
// fixed (call order always respects real time), so porcupine's search
// reduces to a replay in call order over the set of model states that the
// ambiguous outcomes fork: linear in the part's length. This replay is
// the decision procedure of [Check] and [CheckReader]; porcupine is the
// fallback for a part whose set of states outgrows 4096. For a producer
// with recorded evictions an operation is replayed once every eviction
// its decision may follow is known: when this or a later call has
// returned and time has passed that return (an eviction widens what
// earlier decisions may have seen); an eviction that comes after the
// replay assumed none sends the producer to a replay at the end. The
// equivalence tests (equiv_test.go) check on the traces/ corpus and on
// 10,000 generated histories that verdicts and violations equal those of
// porcupine's search.
//
// A part the model rejects is replayed in call order to find the first
// operation that no branch of the model explains, which names the
// violation with the shared invariant names (DecideInCallOrder,
// NoSpuriousOutOfOrder, ContiguousAppends, NoDuplicateAppend,
// AckedInLog). A part that is rejected with the obligation but accepted
// without it, around that operation, violates DecideInCallOrder.
//
// # Streaming
//
// [CheckReader] reads a [history.Reader] on one goroutine and replays on
// another, deciding each operation as soon as it and every earlier call of
// its producer have returned. It keeps a compact record of each operation
// (for explanations and the cross-producer check), not the events, so a
// history of millions of operations is checked at about the speed it is
// decoded; BENCHMARKS.md has the figures. [ShrinkReader] makes the
// witness from a second read, keeping only the failing producer, and
// [FailingHistory] keeps every producer that is not Ok, for [Shrink] and
// [Visualize].
//
// With [Options.Bounded] the memory no longer grows with the operations:
// a producer's records are dropped once the replay has decided them and
// they are a chunk behind it (and an operation with a known outcome has
// returned after them, so an eviction recorded later cannot have come
// before their decisions); the replay's states at the cut are kept, and a
// producer judged again (an explanation, the porcupine fallback, an
// eviction that came late) starts from them. Two producers acked at one
// offset are found as the acks arrive, with one bit per acked offset and
// the partition's latest acks whole. What stays is the open operations,
// a few hundred records per producer and those bits. The verdicts are
// the same; a clash whose earlier operation is no longer held is
// explained without naming it.
//
// # Cost
//
// Without the obligation ([Options.NoCallOrder]) every part goes to
// porcupine, whose memory is quadratic in a part's length.
// [Options.PlainSearch] runs porcupine alone over all operations at once,
// to measure what the replay and the split save.
//
// # Verdicts
//
// [Ok], [Illegal] or [Unknown]. Unknown means the search ran out of time
// ([Options.Timeout]) and is never a pass.
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
