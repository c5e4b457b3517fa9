package spec

import (
	"encoding/binary"
	"errors"
)

// ErrEncoding is returned by [State.UnmarshalBinary] for bytes that are
// not an encoding written by [State.AppendBinary].
var ErrEncoding = errors.New("spec: bad state encoding")

// decoder reads what AppendBinary writes.
type decoder struct {
	buf []byte
	err bool
}

func (d *decoder) v() int64 {
	if b := d.buf; len(b) > 0 && b[0] < 0x80 { // one byte: most values
		d.buf = b[1:]
		return int64(b[0]>>1) ^ -int64(b[0]&1)
	}
	return d.slow()
}

func (d *decoder) slow() int64 {
	x, n := binary.Varint(d.buf)
	if n <= 0 {
		d.err = true
		d.buf = nil
		return 0
	}
	d.buf = d.buf[n:]
	return x
}

func (d *decoder) b() byte {
	if len(d.buf) == 0 {
		d.err = true
		return 0
	}
	c := d.buf[0]
	d.buf = d.buf[1:]
	return c
}

func (d *decoder) bool() bool {
	c := d.b()
	if c > 1 {
		d.err = true
	}
	return c == 1
}

// n reads a slice length; a length cannot exceed the bytes left (every
// element takes at least one byte).
func (d *decoder) n() int {
	x := d.v()
	if x < 0 || x > int64(len(d.buf)) {
		d.err = true
		d.buf = nil
		return 0
	}
	return int(x)
}

var decisionOf = [...]Decision{"", Append, AppendUnknown, Duplicate, DuplicateInFlight, OutOfOrder, InvalidRequest}

// UnmarshalBinary makes s the state whose [State.AppendBinary] encoding
// is data, reusing s's memory where it can (a model checker keeps its
// states encoded and decodes each one into a scratch state to expand
// it). Slices that are empty come back empty, not nil. It returns
// [ErrEncoding] for data that AppendBinary did not write, or that holds
// a decision other than the spec's own, and s is then unspecified.
func (s *State) UnmarshalBinary(data []byte) error {
	d := decoder{buf: data}
	s.Term = d.v()
	s.NextOffset = d.v()
	s.LastOp = d.v()
	s.Sync = d.v()
	s.Evictions, s.EpochBumps, s.TermChanges, s.Viol = d.b(), d.b(), d.b(), d.b()
	np := d.n()
	if cap(s.Producers) < np {
		s.Producers = append(s.Producers[:cap(s.Producers)], make([]Producer, np-cap(s.Producers))...)
	}
	s.Producers = s.Producers[:np]
	for i := range s.Producers {
		p := &s.Producers[i]
		p.PID = d.v()
		p.Epoch = int16(d.v())
		p.NextSeq = int32(d.v())
		p.Sent, p.Retries = d.b(), d.b()
		p.Known, p.AppHas = d.bool(), d.bool()
		p.PEpoch = int16(d.v())
		p.Reqs = p.Reqs[:0]
		for k := d.n(); k > 0; k-- {
			p.Reqs = append(p.Reqs, Req{Epoch: int16(d.v()), First: int32(d.v()), Last: int32(d.v()), Offset: d.v()})
		}
		p.Queue = p.Queue[:0]
		for k := d.n(); k > 0; k-- {
			p.Queue = append(p.Queue, d.v())
		}
		p.AppEpoch = int16(d.v())
		p.AppMaxLast = d.v()
		p.AppPrefix = d.v()
		p.AppAbove = p.AppAbove[:0]
		for k := d.n(); k > 0; k-- {
			p.AppAbove = append(p.AppAbove, Range{First: d.v(), Last: d.v()})
		}
		p.Starts = p.Starts[:0]
		for k := d.n(); k > 0; k-- {
			p.Starts = append(p.Starts, EpochStart{Epoch: int16(d.v()), First: int32(d.v())})
		}
	}
	no := d.n()
	s.Ops = s.Ops[:0]
	for ; no > 0; no-- {
		o := Op{ID: d.v(), PID: d.v(), Epoch: int16(d.v()), First: int32(d.v()), Last: int32(d.v())}
		o.Phase = Phase(d.b())
		bits := d.b()
		if bits > 7 {
			return ErrEncoding
		}
		o.Reserved, o.Released, o.Retried = bits&1 != 0, bits&2 != 0, bits&4 != 0
		o.Returned = Returned(d.b())
		o.Flags = d.b()
		o.Term = d.v()
		dc := d.b()
		if int(dc) >= len(decisionOf) {
			return ErrEncoding
		}
		o.Decision = decisionOf[dc]
		o.Offset = d.v()
		s.Ops = append(s.Ops, o)
	}
	s.Log = s.Log[:0]
	for k := d.n(); k > 0; k-- {
		s.Log = append(s.Log, Entry{Offset: d.v(), PID: d.v(), Epoch: int16(d.v()), First: int32(d.v()), Last: int32(d.v())})
	}
	if d.err || len(d.buf) != 0 {
		return ErrEncoding
	}
	return nil
}
