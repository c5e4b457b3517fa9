package kafkawire

import (
	"encoding/binary"
	"fmt"
)

// batchHeaderBytes is the size of a v2 record batch header, up to and
// including the record count.
const batchHeaderBytes = 61

// Batch is the header of one record batch of a Produce request.
type Batch struct {
	// BaseOffset is the offset of the batch's first record (0 in a
	// Produce request: the broker assigns it; the log offset in a Fetch
	// response).
	BaseOffset int64
	// Magic is the message format: 2 for record batches; 0 and 1 are the
	// old message sets, which carry no producer id.
	Magic int8
	// ProducerID, ProducerEpoch and FirstSequence identify the batch for
	// idempotency; ProducerID is -1 for a non-idempotent batch.
	ProducerID    int64
	ProducerEpoch int16
	FirstSequence int32
	// LastOffsetDelta is the offset delta of the batch's last record, so
	// the batch holds sequences FirstSequence..FirstSequence+LastOffsetDelta.
	LastOffsetDelta int32
	// NumRecords is the record count of the header.
	NumRecords int32
	// Transactional is the transactional attribute bit.
	Transactional bool
	// Control is the control attribute bit: a transaction marker, not
	// data.
	Control bool
}

// Idempotent reports whether the batch takes part in idempotent
// sequence checks: a v2 batch with a producer id and a sequence.
func (b Batch) Idempotent() bool {
	return b.Magic == 2 && b.ProducerID >= 0 && b.FirstSequence >= 0 && b.ProducerEpoch >= 0
}

// LastSequence returns the sequence of the batch's last record and
// whether it is representable without wrapping past INT32_MAX.
func (b Batch) LastSequence() (int32, bool) {
	last := int64(b.FirstSequence) + int64(b.LastOffsetDelta)
	if b.LastOffsetDelta < 0 || last > 1<<31-1 {
		return 0, false
	}
	return int32(last), true
}

// Offsets returns how many offsets the batch takes in the log:
// LastOffsetDelta+1.
func (b Batch) Offsets() int64 { return int64(b.LastOffsetDelta) + 1 }

// Batches parses the record batch headers of a Produce partition's
// records field. Old message sets (magic 0 and 1) are returned with their
// magic only. The records themselves are not decoded (they may be
// compressed).
func Batches(records []byte) ([]Batch, error) {
	var out []Batch
	at := 0
	for len(records) > 0 {
		if len(records) < 17 {
			return out, fmt.Errorf("%w: %d trailing bytes at byte %d", ErrBatch, len(records), at)
		}
		length := int32(binary.BigEndian.Uint32(records[8:]))
		if length < 5 || int64(length) > int64(len(records)-12) {
			return out, fmt.Errorf("%w: batch length %d with %d bytes left at byte %d", ErrBatch, length, len(records)-12, at)
		}
		total := 12 + int(length)
		b := Batch{BaseOffset: int64(binary.BigEndian.Uint64(records)), Magic: int8(records[16]), ProducerID: -1, FirstSequence: -1}
		if b.Magic == 2 {
			if total < batchHeaderBytes {
				return out, fmt.Errorf("%w: v2 batch of %d bytes at byte %d", ErrBatch, total, at)
			}
			h := records[:total]
			attrs := int16(binary.BigEndian.Uint16(h[21:]))
			b.Transactional = attrs&0x10 != 0
			b.Control = attrs&0x20 != 0
			b.LastOffsetDelta = int32(binary.BigEndian.Uint32(h[23:]))
			b.ProducerID = int64(binary.BigEndian.Uint64(h[43:]))
			b.ProducerEpoch = int16(binary.BigEndian.Uint16(h[51:]))
			b.FirstSequence = int32(binary.BigEndian.Uint32(h[53:]))
			b.NumRecords = int32(binary.BigEndian.Uint32(h[57:]))
		}
		out = append(out, b)
		records = records[total:]
		at += total
	}
	return out, nil
}
