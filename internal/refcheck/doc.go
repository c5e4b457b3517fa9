// Package refcheck is the reference checker: an exact and deliberately
// naive decision procedure for small produce histories. It is the
// project's precise statement of what `idemcheck check` promises, and the
// oracle the checker is tested against (package internal/agreement). It
// is written to be obviously correct, not fast: it enumerates every
// explanation of a history and tries each one.
//
// # Operations
//
// An operation is a Replicate call (partition, producer id, epoch,
// sequence range [first, last], call time) paired by op id with its
// Return. Its outcome is one of:
//
//   - ok at offset X: the batch's records are at offsets X, X+1, ...,
//     X+count−1, where count = [spec.RecordCount](first, last);
//   - a definite error: a code c for which c.Ambiguous() is false
//     (OUT_OF_ORDER_SEQUENCE_NUMBER 45, DUPLICATE_SEQUENCE_NUMBER 46,
//     INVALID_PRODUCER_EPOCH 47, UNKNOWN_PRODUCER_ID 59, POLICY_VIOLATION
//     44, INVALID_REQUEST 42): the client knows the batch was not written
//     by this request;
//   - ambiguous: Return "unknown", no Return at all, or an error code for
//     which Ambiguous() is true (REQUEST_TIMED_OUT 7, NOT_LEADER 6, any
//     code the rules do not answer with): the request may or may not have
//     taken effect.
//
// An operation's return time is its Return's time, or +∞ when it has no
// Return or its Return is "unknown" (the request may go on inside the
// broker). Internal events (tickets, stage writes, Decide, ...) are not
// read: the check is black box. BumpEpoch and ChangeTerm are not read
// either; the epochs the producers call with say everything.
//
// # The verdict
//
// A history is Ok if and only if there is an explanation of it: for every
// ambiguous operation whose batch would be appended, a choice of "took
// effect" or "lost", and for every recorded EvictProducer a place among
// its producer's decisions, such that the three obligations below hold.
// Otherwise it is Illegal.
//
// # (a) Each producer is a sequential idempotency state machine
//
// The operations of one producer on one partition (one (partition, pid)
// pair: a producer is this pair from here on) are decided one at a time
// in call order, which is op id order. The producer's state is whether
// the partition knows it, its epoch, and its window: the last
// [spec.WindowSize] batches it appended (first, last, epoch, and the
// offset when one is known). Nothing else: no term, no in-flight
// requests. Initially the producer is unknown with an empty window.
//
// For each operation the one decision rule of the project,
// [spec.Classify], gives (class, match, stale) from the state and the
// batch. The answers allowed, and their effect, are:
//
//   - invalid (first > last; the history reader already refuses such
//     batches): INVALID_REQUEST or ambiguous, no effect.
//   - stale (the batch's epoch is below the producer's) with a class other
//     than duplicate, or, under Kafka's rules, stale with any class: the
//     batch is never appended. Ambiguous or INVALID_PRODUCER_EPOCH, and
//     under Redpanda's rules also OUT_OF_ORDER_SEQUENCE_NUMBER; no effect.
//     An ok is Illegal.
//   - first, skip, new-epoch and next (the appending classes), not stale:
//     the batch must be appended. ok at X: appended at base offset X.
//     Ambiguous: either took effect (appended, offset unknown) or lost (no
//     effect). POLICY_VIOLATION for first and skip (the partition does not
//     know the producer and may refuse a new one): no effect. Under Kafka's
//     rules a skip (a producer without state starting above sequence 0)
//     may also be answered OUT_OF_ORDER_SEQUENCE_NUMBER or
//     UNKNOWN_PRODUCER_ID, with no effect. Anything else is Illegal: in
//     particular OUT_OF_ORDER_SEQUENCE_NUMBER for the next batch in
//     sequence.
//   - duplicate (an exact (first, last) match in the window; under
//     Redpanda's rules stale or not, under Kafka's only when not stale):
//     nothing is appended. ok at X: the matched batch's offset is X (if it
//     was known it must be X; if it was unknown, X reveals it).
//     DUPLICATE_SEQUENCE_NUMBER or ambiguous: no effect. Under Redpanda's
//     rules a stale duplicate may also be answered INVALID_PRODUCER_EPOCH.
//     Anything else is Illegal.
//   - gap (not next in sequence and not in the window, or a new epoch not
//     starting at 0): OUT_OF_ORDER_SEQUENCE_NUMBER,
//     DUPLICATE_SEQUENCE_NUMBER or ambiguous, no effect. An ok, or any
//     other code, is Illegal.
//
// An append of class first, skip or new-epoch starts afresh: the window is
// cleared, the producer becomes known with the batch's epoch. Every append
// then pushes the batch onto the window, dropping the oldest beyond
// [spec.WindowSize]. An eviction makes the producer unknown, with epoch 0
// and an empty window; it does not touch offsets.
//
// # (b) A producer's appends take increasing, disjoint offsets
//
// Let a_1, ..., a_m be the batches a producer appended (over its whole
// life, evictions and epochs included), in decision order, with record
// counts c_i and offsets o_i: known from an ok answer or revealed by a
// duplicate's ok, unknown for an ambiguous operation that took effect.
// There must be integers for the unknown o_i such that o_1 ≥ 0 and
// o_(i+1) ≥ o_i + c_i for every i. Equivalently: a known o_k is at least
// c_1 + ... + c_(k−1), and for known o_i and o_k with i < k,
// o_k ≥ o_i + c_i + ... + c_(k−1). An append that took effect without an
// ack still takes room in the log.
//
// # (c) The partition's acks agree with one log and with real time
//
// Over the acked operations of a partition (ok outcomes, of every
// producer), two acks are of the same batch when they have the same
// producer id, first, last and offset. The choices above do not matter
// here.
//
//   - (c1) Acks of different batches occupy disjoint offset ranges
//     [X, X+count−1].
//   - (c2) If an ack of op A returned before op B was called (A's return
//     time < B's call time), B is acked, and no operation with B's
//     producer id, first and last was called at or before A's return time,
//     then B's batch was appended after A returned, so B's offset is at
//     least A's offset + A's count.
//
// Times are compared as recorded: two events at the same time are
// concurrent, so neither returns before the other is called.
//
// # Evictions
//
// A recorded EvictProducer (partition, pid, time t) happened inside the
// partition between two decisions of that producer, or before its first
// or after its last, and the history does not say where. Placing it
// before the decision of operation q (and after the one before q) is
// allowed when q and every later operation of the producer returned at or
// after t; placing it after q's decision is allowed when q and every
// earlier operation were called at or before t. So an eviction recorded
// before a call comes before that operation's decision, and one recorded
// after a return comes after it. Only decided operations bound a
// placement: those with a definite outcome, and the ambiguous ones the
// explanation takes as appended; an ambiguous operation taken as lost
// may have failed before the partition decided anything (a failed upload
// returns REQUEST_TIMED_OUT), so its call and return bound nothing. A
// producer's evictions keep their recorded order.
//
// # Method and limits
//
// For each producer, every subset of its ambiguous operations (as the ones
// that took effect) and every allowed placement of its evictions is
// replayed in call order through (a), and the offsets it produces are
// checked against (b); (c) is checked once per partition. The enumeration
// is per producer because (a) and (b) read one producer only and (c)
// depends on no choice, so an explanation of the whole history is exactly
// one explanation per producer together with (c).
//
// The enumeration is exponential, so [Check] returns [ErrUnsupported] for
// histories with more than [MaxOps] operations, more than [MaxAmbiguous]
// ambiguous ones, or a producer with more than [MaxScenarios] explanations
// to try, and for histories with LogBatch observations (a log read back,
// which the checker's read check judges; the reference judges the write
// path only).
package refcheck
