// Package kafkawire turns Kafka wire traffic into produce histories.
//
// It frames the two byte streams of a Kafka connection (4-byte size
// prefix, then a request or response), parses the request header (API
// key, version, correlation id, client id and, for flexible versions, the
// tagged fields of KIP-482) and the response header, whose version
// depends on the request it answers, and pairs each response with its
// request by correlation id, per connection. Bodies are decoded with
// franz-go's kmsg.
//
// Four API keys matter for a history:
//
//   - Produce: every idempotent record batch (producer id >= 0, base
//     sequence >= 0, magic 2) of a request becomes one operation: a
//     [history.Replicate] when the request arrives, with partition
//     "topic/partition", producer id, epoch and the batch's sequence
//     range, and a [history.Return] when the response leaves, with that
//     partition's error code, or ok and the batch's offset. Non-idempotent
//     batches are counted and skipped. Transactional batches are recorded
//     like any idempotent batch; commit and abort markers are not
//     interpreted.
//   - InitProducerId: a successful response becomes a
//     [history.BumpEpoch] with the producer id and epoch it hands out.
//   - Fetch: every idempotent data batch of a response (the record batch
//     headers: base offset, producer id, epoch, base sequence and last
//     offset delta; record values are not decoded) becomes a
//     [history.LogBatch], what the consumer was shown of the partition's
//     log. Non-idempotent batches, transaction markers and the partial
//     batch a broker may end a partition's records with are left out.
//     Versions v4 to v12 (topic names, non-flexible up to v11) and v13+
//     (topic ids, named through Metadata) are decoded alike.
//   - Metadata: topic ids of v10+ responses name the topics of Produce
//     v13+ requests, which carry ids instead of names.
//
// Every other request is framed, paired and otherwise ignored.
//
// # Guarantees
//
// Op ids increase in the order requests arrive, times never decrease
// (a time that goes back is raised to the last one), and every event
// passes [history.Stream]. A connection that ends with requests still
// unanswered turns their operations into unknown outcomes. Kafka answers
// the requests of one connection in order, so a response also settles
// every earlier request of its connection whose response was lost (in a
// capture gap): those become unknown too.
//
// Decoding never panics on its input. Garbage, truncated frames, capture
// gaps and responses without a request are reported as [Problem] values
// naming the connection, the direction and the byte offset in that
// direction's stream; after a framing error the decoder searches for the
// next plausible frame (a request that decodes fully, or a response whose
// correlation id is awaited and whose body decodes) and goes on. A
// connection whose capture starts mid-stream starts in that search mode.
package kafkawire
