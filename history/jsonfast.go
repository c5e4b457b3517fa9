package history

import "math"

// This file holds the JSON Lines fast path: a scanner for the fixed
// event schema that the writer produces (no white space, integer numbers,
// plain ASCII strings, each field once). It decides only lines it can
// decode exactly as encoding/json would; for anything else (an unknown
// or repeated field, white space, escapes, floats, null, a value out of
// range, a missing or extra field) it gives up and the reader falls back
// to encoding/json, which produces the precise error or the same event.

// fast field bits, one per wire field.
const (
	fKind uint16 = 1 << iota
	fTime
	fOp
	fClient
	fPartition
	fPID
	fEpoch
	fFirst
	fLast
	fResult
	fOffset
	fError
	fDecision
	fTerm
)

// fastScanner decodes JSON event lines without allocating, interning the
// partition names it has seen.
type fastScanner struct {
	parts map[string]string
}

// intern returns b as a string, shared with earlier equal partitions.
func (fs *fastScanner) intern(b []byte) string {
	if s, ok := fs.parts[string(b)]; ok {
		return s
	}
	if fs.parts == nil {
		fs.parts = make(map[string]string)
	}
	if len(fs.parts) >= 1<<16 {
		return string(b) // bound the table; correctness does not depend on it
	}
	s := string(b)
	fs.parts[s] = s
	return s
}

// decode returns the event of line and true, or false when the line is
// not in the fast schema (the caller then uses encoding/json).
func (fs *fastScanner) decode(line []byte) (Event, bool) {
	var e Event
	n := len(line)
	if n < 2 || line[0] != '{' || line[n-1] != '}' {
		return e, false
	}
	i := 1
	var have uint16
	for {
		// "name":
		if i >= n || line[i] != '"' {
			return e, false
		}
		j := i + 1
		for j < n && line[j] != '"' {
			if line[j] == '\\' {
				return e, false
			}
			j++
		}
		if j+1 >= n || line[j+1] != ':' {
			return e, false
		}
		name := line[i+1 : j]
		i = j + 2
		var bit uint16
		var str bool
		switch string(name) {
		case "kind":
			bit, str = fKind, true
		case "t":
			bit = fTime
		case "op":
			bit = fOp
		case "client":
			bit = fClient
		case "partition":
			bit, str = fPartition, true
		case "pid":
			bit = fPID
		case "epoch":
			bit = fEpoch
		case "first":
			bit = fFirst
		case "last":
			bit = fLast
		case "result":
			bit, str = fResult, true
		case "offset":
			bit = fOffset
		case "error":
			bit = fError
		case "decision":
			bit, str = fDecision, true
		case "term":
			bit = fTerm
		default:
			return e, false
		}
		if have&bit != 0 {
			return e, false // repeated: encoding/json keeps the last one
		}
		have |= bit
		if str {
			if i >= n || line[i] != '"' {
				return e, false
			}
			j := i + 1
			for j < n && line[j] != '"' {
				if c := line[j]; c < 0x20 || c >= 0x7f || c == '\\' {
					return e, false
				}
				j++
			}
			if j >= n {
				return e, false
			}
			v := line[i+1 : j]
			i = j + 1
			switch bit {
			case fKind:
				k, ok := kindOf(v)
				if !ok {
					return e, false
				}
				e.Kind = k
			case fPartition:
				e.Partition = fs.intern(v)
			case fResult:
				switch string(v) {
				case "ok":
					e.Result = OK
				case "error":
					e.Result = Failed
				case "unknown":
					e.Result = Unknown
				default:
					return e, false
				}
			case fDecision:
				switch string(v) {
				case string(Append):
					e.Decision = Append
				case string(AppendUnknown):
					e.Decision = AppendUnknown
				case string(Duplicate):
					e.Decision = Duplicate
				case string(DuplicateInFlight):
					e.Decision = DuplicateInFlight
				case string(OutOfOrder):
					e.Decision = OutOfOrder
				case string(InvalidRequest):
					e.Decision = InvalidRequest
				default:
					return e, false
				}
			}
		} else {
			// An integer: -?(0|[1-9][0-9]*), at most 18 digits.
			neg := false
			if i < n && line[i] == '-' {
				neg = true
				i++
			}
			start := i
			var v int64
			for i < n && line[i] >= '0' && line[i] <= '9' {
				v = v*10 + int64(line[i]-'0')
				i++
			}
			d := i - start
			if d == 0 || d > 18 || (d > 1 && line[start] == '0') {
				return e, false
			}
			if neg {
				v = -v
			}
			switch bit {
			case fTime:
				e.Time = v
			case fOp:
				e.Op = v
			case fClient:
				e.Client = v
			case fPID:
				e.PID = v
			case fEpoch:
				if v < math.MinInt16 || v > math.MaxInt16 {
					return e, false
				}
				e.Epoch = int16(v)
			case fFirst:
				if v < math.MinInt32 || v > math.MaxInt32 {
					return e, false
				}
				e.First = int32(v)
			case fLast:
				if v < math.MinInt32 || v > math.MaxInt32 {
					return e, false
				}
				e.Last = int32(v)
			case fOffset:
				e.Offset = v
			case fError:
				if v < math.MinInt16 || v > math.MaxInt16 {
					return e, false
				}
				e.Error = ErrorCode(v)
			case fTerm:
				e.Term = v
			}
		}
		if i >= n {
			return e, false
		}
		if line[i] == '}' {
			if i != n-1 {
				return e, false
			}
			break
		}
		if line[i] != ',' {
			return e, false
		}
		i++
	}
	if have&fKind == 0 || wantBits(e.Kind, e.Result, e.Decision)&^fClient != have&^fClient ||
		(e.Kind != Replicate && have&fClient != 0) {
		return e, false
	}
	return e, true
}

// kindOf returns the Kind constant spelled by b.
func kindOf(b []byte) (Kind, bool) {
	switch string(b) {
	case "Replicate":
		return Replicate, true
	case "Return":
		return Return, true
	case "ReserveTicket":
		return ReserveTicket, true
	case "StageWriteStart":
		return StageWriteStart, true
	case "StageWriteDone":
		return StageWriteDone, true
	case "UploadDone":
		return UploadDone, true
	case "RedeemTicket":
		return RedeemTicket, true
	case "FenceEpoch":
		return FenceEpoch, true
	case "Decide":
		return Decide, true
	case "ReleaseTicket":
		return ReleaseTicket, true
	case "EvictProducer":
		return EvictProducer, true
	case "BumpEpoch":
		return BumpEpoch, true
	case "ChangeTerm":
		return ChangeTerm, true
	case "LogBatch":
		return LogBatch, true
	}
	return "", false
}

// wantBits is [fieldsOf] as field bits.
func wantBits(k Kind, r Result, d Decision) uint16 {
	const base = fKind | fTime | fOp
	switch k {
	case Replicate:
		return base | fClient | fPartition | fPID | fEpoch | fFirst | fLast
	case Return:
		switch r {
		case OK:
			return base | fResult | fOffset
		case Failed:
			return base | fResult | fError
		}
		return base | fResult
	case StageWriteDone, UploadDone, FenceEpoch:
		return base | fResult
	case RedeemTicket:
		if r != "" {
			return base | fResult
		}
		return base
	case Decide:
		if d.HasOffset() {
			return base | fDecision | fOffset
		}
		return base | fDecision
	case EvictProducer:
		return fKind | fTime | fPartition | fPID
	case BumpEpoch:
		return fKind | fTime | fPID | fEpoch
	case ChangeTerm:
		return fKind | fTime | fPartition | fTerm
	case LogBatch:
		return fKind | fTime | fPartition | fOffset | fPID | fEpoch | fFirst | fLast
	}
	return base
}
