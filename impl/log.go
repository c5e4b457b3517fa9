package impl

import (
	"sort"

	"github.com/idemcheck/idemcheck/spec"
)

// Entry is one batch in a partition log.
type Entry struct {
	// Offset is the batch's base offset. Offsets are Kafka's, one per
	// record: the batch occupies spec.RecordCount(First, Last)
	// consecutive offsets from Offset, and the next batch's base offset
	// follows them.
	Offset int64
	// Op is the operation whose decision appended the batch.
	Op int64
	// Term is the partition term the batch was appended in.
	Term int64
	Batch
}

// Log is a partition's log of batches, with one offset per record. It is
// not safe for concurrent use. The zero value is an empty log.
type Log struct {
	entries []Entry
	next    int64
}

// Append adds a batch and returns its base offset: the log's end offset
// before the append. The end offset then advances by the batch's record
// count.
func (l *Log) Append(op, term int64, b Batch) int64 {
	off := l.next
	l.entries = append(l.entries, Entry{Offset: off, Op: op, Term: term, Batch: b})
	l.next = off + spec.RecordCount(b.First, b.Last)
	return off
}

// Len returns the number of batches in the log.
func (l *Log) Len() int { return len(l.entries) }

// End returns the log's end offset: the base offset the next batch takes.
func (l *Log) End() int64 { return l.next }

// At returns the batch whose base offset is off.
func (l *Log) At(off int64) (Entry, bool) {
	i := sort.Search(len(l.entries), func(i int) bool { return l.entries[i].Offset >= off })
	if i < len(l.entries) && l.entries[i].Offset == off {
		return l.entries[i], true
	}
	return Entry{}, false
}

// Entries returns a copy of the log's entries in offset order.
func (l *Log) Entries() []Entry { return append([]Entry(nil), l.entries...) }
