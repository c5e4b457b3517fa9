// Package history defines the events of a produce history and their
// files: the events the reference implementation (impl), the spec (spec,
// spec/tla) and the checker share, a self-checking recorder, and JSON
// Lines and YAML codecs. The vocabulary is package spec's: [Kind],
// [Result], [Decision] and [ErrorCode] are spec's types and their
// constants are re-exported here.
//
// # Vocabulary
//
// One replicate operation is a [Replicate] call and, later, its [Return].
// Between them the cloud-topics write path records its internal steps, in
// the fixed ordering:
//
//	Replicate → ReserveTicket → StageWriteStart → StageWriteDone → UploadDone
//	          → RedeemTicket → FenceEpoch → Decide → ReleaseTicket → Return
//
// and in the pre-fix ordering ReserveTicket comes after StageWriteDone.
// [EvictProducer], [BumpEpoch] and [ChangeTerm] are environment steps.
// These kind names are also the action names of spec/tla/Broker.tla and of
// the Go spec.
//
// [LogBatch] is an observation, not a step: one record batch of a
// partition's log as a reader saw it (a consumer's Fetch response, the
// broker's log at the end of a run). It belongs to no operation and may
// come anywhere in a history, for example all at the end; the same batch
// may be observed more than once.
//
// # JSON Lines schema (format "idemcheck/v1")
//
// A file is an optional header line, then one event object per line.
// Blank lines and lines whose first non-blank character is '#' are
// ignored. Lines are at most [MaxLineBytes] long and must be valid UTF-8.
// A reader decompresses gzip'd input, skips a UTF-8 byte-order mark and
// refuses binary input after its first few KiB ([ErrBinary]); a YAML
// history is read whole, up to [MaxYAMLBytes], and holds one document;
// partition names are at most [MaxNameBytes]; op ids start at 1.
//
//	{"header":{"format":"idemcheck/v1","source":"impl","ticket_order":"after-stage",
//	           "rules":"redpanda","expect":"Illegal","violation":"CallOrder",
//	           "description":"...","seed":1}}
//	{"kind":"Replicate","t":0,"op":1,"client":1,"partition":"p0","pid":1,"epoch":0,"first":0,"last":2}
//	{"kind":"ReserveTicket","t":1,"op":1}
//	{"kind":"StageWriteDone","t":5,"op":1,"result":"ok"}
//	{"kind":"Decide","t":9,"op":1,"decision":"append","offset":0}
//	{"kind":"Return","t":10,"op":1,"result":"ok","offset":0}
//
// Header fields, all optional: format ("idemcheck/v1"); source (what wrote
// the file: "impl", "mc", "record", "gen", ...); ticket_order
// ("before-stage" or "after-stage", when known); rules, the broker dialect
// of the idempotency rules the history is to be judged by: "redpanda" or
// "kafka" (spec.ParseRules; any other value is refused with the file, the
// line and the field); expect ("Ok" or "Illegal") and violation (the
// expected verdict of a corpus file); description; seed.
//
// Fields, by kind (every event has "kind" and "t"; an event must carry
// exactly the fields of its kind):
//
//	Replicate        op, client (optional), partition, pid, epoch, first, last
//	Return           op, result ("ok" + offset | "error" + error | "unknown")
//	StageWriteDone   op, result ("ok" | "error")
//	UploadDone       op, result ("ok" | "error")
//	FenceEpoch       op, result ("ok" | "error")
//	Decide           op, decision (+ offset for append, append_unknown,
//	                 duplicate, duplicate_inflight)
//	RedeemTicket     op (+ result "error" for a call aborted while it
//	                 waited in redeem; "ok" may be written, and is the default)
//	ReserveTicket, StageWriteStart, ReleaseTicket   op
//	EvictProducer    partition, pid
//	BumpEpoch        pid, epoch (the new epoch)
//	ChangeTerm       partition, term
//	LogBatch         partition, offset (the batch's base offset), pid, epoch,
//	                 first, last (no op)
//
// Offsets are Kafka's, one per record. The offset of an ok Return and of
// a Decide that appends (append, append_unknown) is the batch's base
// offset: the batch [first,last] of the operation's Replicate holds
// spec.RecordCount(first, last) = last-first+1 records and occupies that
// many consecutive offsets from its base offset, so the next batch
// appended to the partition has a base offset at least that much higher
// (in the example above, op 1 occupies offsets 0, 1 and 2). A duplicate
// (duplicate, duplicate_inflight, and the ok Return after it) answers
// with the original batch's base offset.
//
// Types and ranges: t, op, client, pid, offset and term are int64; epoch
// and error (a Kafka error code, for example 45 for
// OUT_OF_ORDER_SEQUENCE_NUMBER) are int16; first and last are int32.
// Times, op ids, producer ids, epochs, sequences and offsets are never
// negative, and first <= last.
//
// Consistency rules, checked by [Stream] on every read and every record:
// times never decrease; Replicate op ids strictly increase (op ids are
// given in call order, so a duplicate id is an id that does not
// increase); a Return closes an operation that is open; an internal event
// names an operation already called (it may come after that operation's
// Return: a timed-out request goes on inside the broker). A LogBatch is
// checked on its own fields only.
//
// # YAML schema
//
// The same fields, as one document:
//
//	header:
//	  format: idemcheck/v1
//	events:
//	  - {kind: Replicate, t: 0, op: 1, client: 1, partition: "p0", pid: 1, epoch: 0, first: 0, last: 0}
//	  - {kind: Return, t: 10, op: 1, result: "ok", offset: 0}
//
// JSON Lines are read as a stream with memory bounded by the open
// operations; YAML is read whole, so use it for small, hand-written
// histories.
package history
