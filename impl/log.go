package impl

// Entry is one batch in a partition log.
type Entry struct {
	// Offset is the batch's offset. The log gives one offset per batch:
	// the first batch is at offset 0, the next at 1, and so on, whatever
	// the number of records in a batch.
	Offset int64
	// Op is the operation whose decision appended the batch.
	Op int64
	// Term is the partition term the batch was appended in.
	Term int64
	Batch
}

// Log is a partition's log of batches, with one offset per batch. It is
// not safe for concurrent use. The zero value is an empty log.
type Log struct {
	entries []Entry
}

// Append adds a batch and returns its offset.
func (l *Log) Append(op, term int64, b Batch) int64 {
	off := int64(len(l.entries))
	l.entries = append(l.entries, Entry{Offset: off, Op: op, Term: term, Batch: b})
	return off
}

// Len returns the number of batches in the log (the next offset).
func (l *Log) Len() int64 { return int64(len(l.entries)) }

// At returns the entry at offset off.
func (l *Log) At(off int64) (Entry, bool) {
	if off < 0 || off >= int64(len(l.entries)) {
		return Entry{}, false
	}
	return l.entries[off], true
}

// Entries returns a copy of the log's entries in offset order.
func (l *Log) Entries() []Entry { return append([]Entry(nil), l.entries...) }
