package checker

import (
	"encoding/binary"
	"fmt"
	"os"

	"github.com/idemcheck/idemcheck/history"
)

// The read check's spill file. In the bounded mode the read check keeps
// the records of at most residentChunks full chunks of operations in
// memory, over all partitions; older full chunks go to one temporary
// file and come back only when a partition with observations is judged.
// A history without LogBatch events thus checks in bounded memory, and
// one with them is judged exactly as with KeepAll: the verdict never
// depends on the mode.

// residentChunks is how many full chunks of operation records (opChunk
// records of readOpBytes bytes each, about 3.5 MB in all) the bounded
// read check keeps in memory before it spills the oldest.
const residentChunks = 4

// readOpBytes is the size of one spilled operation record.
const readOpBytes = 56

// spill is the bounded read check's temporary file. Its zero value is
// unused: nothing spills until the budget is exceeded, and the file is
// created then.
type spill struct {
	dir string
	// budget is how many full chunks stay in memory (residentChunks;
	// tests lower it).
	budget int
	f      *os.File
	// size is the number of bytes written to f.
	size int64
	// resident lists the full chunks in memory, oldest first.
	resident []chunkRef
	// err is the first I/O error; the check then ends with it.
	err error
}

// chunkRef names one chunk of an opStore.
type chunkRef struct {
	s *opStore
	c int
}

// full takes in a chunk that has just filled up and spills the oldest
// full chunks past the budget.
func (sp *spill) full(s *opStore, c int) {
	sp.resident = append(sp.resident, chunkRef{s, c})
	for len(sp.resident) > sp.budget && sp.err == nil {
		r := sp.resident[0]
		sp.resident = sp.resident[1:]
		sp.out(r.s, r.c)
	}
}

// out writes chunk c of s to the file and drops it from memory.
func (sp *spill) out(s *opStore, c int) {
	if sp.f == nil {
		f, err := os.CreateTemp(sp.dir, "idemcheck-read-*.spill")
		if err != nil {
			sp.err = fmt.Errorf("checker: read check spill file: %w", err)
			return
		}
		// Unlinked at once where the system allows it (the open file
		// stays usable), so that nothing is left behind whatever ends
		// the process; close removes it otherwise.
		sp.f = f
		_ = os.Remove(f.Name())
	}
	buf := make([]byte, len(s.chunks[c])*readOpBytes)
	for i := range s.chunks[c] {
		s.chunks[c][i].encode(buf[i*readOpBytes:])
	}
	if _, err := sp.f.WriteAt(buf, sp.size); err != nil {
		sp.err = fmt.Errorf("checker: read check spill file: %w", err)
		return
	}
	s.offs[c] = sp.size
	sp.size += int64(len(buf))
	s.chunks[c] = nil
}

// update applies fn to the record of operation i of s, in memory or in
// the file.
func (sp *spill) update(s *opStore, i int, fn func(*readOp)) {
	c := i / opChunk
	if s.chunks[c] != nil {
		fn(&s.chunks[c][i%opChunk])
		return
	}
	if sp.err != nil {
		return
	}
	var b [readOpBytes]byte
	at := s.offs[c] + int64(i%opChunk)*readOpBytes
	if _, err := sp.f.ReadAt(b[:], at); err != nil {
		sp.err = fmt.Errorf("checker: read check spill file: %w", err)
		return
	}
	var o readOp
	o.decode(b[:])
	fn(&o)
	o.encode(b[:])
	if _, err := sp.f.WriteAt(b[:], at); err != nil {
		sp.err = fmt.Errorf("checker: read check spill file: %w", err)
	}
}

// load brings every spilled chunk of s back into memory.
func (sp *spill) load(s *opStore) {
	for c := range s.chunks {
		if s.chunks[c] != nil || sp.err != nil {
			continue
		}
		n := min(opChunk, s.n-c*opChunk)
		buf := make([]byte, n*readOpBytes)
		if _, err := sp.f.ReadAt(buf, s.offs[c]); err != nil {
			sp.err = fmt.Errorf("checker: read check spill file: %w", err)
			return
		}
		chunk := make([]readOp, n)
		for i := range chunk {
			chunk[i].decode(buf[i*readOpBytes:])
		}
		s.chunks[c] = chunk
	}
}

// close removes the file.
func (sp *spill) close() {
	if sp.f != nil {
		sp.f.Close()
		os.Remove(sp.f.Name()) // (already gone where unlinking an open file works)
		sp.f = nil
	}
}

func (o *readOp) encode(b []byte) {
	le := binary.LittleEndian
	le.PutUint64(b[0:], uint64(o.op))
	le.PutUint64(b[8:], uint64(o.call))
	le.PutUint64(b[16:], uint64(o.ret))
	le.PutUint64(b[24:], uint64(o.pid))
	le.PutUint64(b[32:], uint64(o.off))
	le.PutUint32(b[40:], uint32(o.first))
	le.PutUint32(b[44:], uint32(o.last))
	le.PutUint16(b[48:], uint16(o.epoch))
	le.PutUint16(b[50:], uint16(o.code))
	b[52] = byte(o.res)
}

func (o *readOp) decode(b []byte) {
	le := binary.LittleEndian
	o.op = int64(le.Uint64(b[0:]))
	o.call = int64(le.Uint64(b[8:]))
	o.ret = int64(le.Uint64(b[16:]))
	o.pid = int64(le.Uint64(b[24:]))
	o.off = int64(le.Uint64(b[32:]))
	o.first = int32(le.Uint32(b[40:]))
	o.last = int32(le.Uint32(b[44:]))
	o.epoch = int16(le.Uint16(b[48:]))
	o.code = history.ErrorCode(le.Uint16(b[50:]))
	o.res = resCode(b[52])
}
