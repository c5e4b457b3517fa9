// Package kafkabroker serves the reference implementation ([server.Server])
// over the Kafka protocol, so that unmodified Kafka clients can drive it.
//
// It speaks what an idempotent producer and a simple consumer need:
// ApiVersions, Metadata (topics are created on first mention, one
// broker, node 0, advertised at [Config.Advertise] or else the address
// the client connected to), InitProducerId (new producer ids from 1; a
// request with a producer id and epoch bumps the epoch, KIP-360, and
// one whose epoch would pass INT16_MAX gets a new producer id at epoch
// 0, as Kafka does when an epoch is exhausted), Produce, and, to read
// the log back, ListOffsets and Fetch. Every idempotent record batch of
// a Produce request is one [server.Server.Replicate] call on partition
// "topic/partition"; the partition's error code and base offset come
// from the call's finished stage.
//
// Before that call, a batch whose epoch is below the producer's epoch
// on the partition (the highest epoch of its batches the partition
// appended) gets INVALID_PRODUCER_EPOCH, as Kafka's ProducerStateManager
// answers on every Produce version; the write path never sees it.
// Non-idempotent batches (producer id -1) get INVALID_RECORD and a log
// line saying why: the reference implementation models idempotent
// producers only, and its log, whose offsets are Kafka's, has no place
// for batches outside it. Transactions are not supported.
//
// # Connections and the enqueued stage
//
// Like Redpanda's connection loop, a connection reads its next request
// only after every replicate call of the previous Produce request has
// fired its enqueued stage (stage_write resolved; pre-fix, also the
// ticket reserved). With that wait one connection cannot reorder its own
// requests' tickets. [Config.Pipeline] drops the wait, so
// requests pipelined on one connection (a producer with up to five in
// flight) run their stage_writes concurrently and, with the pre-fix
// ticket ordering and data-plane delays, can overtake each other.
// Responses are always written in request order.
//
// # Offsets
//
// The implementation's log gives Kafka offsets, one per record: a batch
// [first,last] occupies spec.RecordCount(first, last) offsets from its
// base offset. The base offset of a Produce response, and the offset the
// history records on the Decide and the ok Return, is that base offset
// (the original's for a duplicate). Fetch serves the stored batches with
// their base offsets; the high watermark is the log's end offset.
//
// # Producer eviction
//
// [Config.EvictIdle] evicts producers idle for that long from a
// partition's idempotency state, as Redpanda does after
// transactional_id_expiration_ms. The next request of an evicted
// producer takes the unknown-producer path; a producer that pipelines
// its next requests (franz-go pipelines only after its first batch on a
// partition was acked) then reaches the seed bug of PR #30429.
package kafkabroker
