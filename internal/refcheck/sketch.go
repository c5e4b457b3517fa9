package refcheck

import (
	"fmt"
	"sort"
	"strconv"
	"strings"

	"github.com/idemcheck/idemcheck/history"
)

// Sketch builds a small history from one line per operation or eviction,
// for hand-written tests:
//
//	pid=1 [0,0] t=0..1 ok@0        an operation acked at offset 0
//	pid=1 e=1 [1,3] t=2..5 err=45   epoch 1, answered error 45
//	p=p1 pid=2 [0,0] t=3..9 unknown Return "unknown" at t=9, partition p1
//	pid=1 [4,6] t=4 open            never returns
//	evict pid=1 t=7                 EvictProducer (p= as for operations)
//
// The partition is "p0" unless p= says otherwise, the epoch 0 unless e=
// says otherwise. Events are ordered by time (an operation's Replicate
// before its Return, and otherwise in line order); op ids are given in
// call order from 1.
func Sketch(lines ...string) (history.History, error) {
	type ev struct {
		e  history.Event
		op *int64 // the op id to fill in
	}
	var evs []ev
	for n, line := range lines {
		f := strings.Fields(line)
		if len(f) == 0 {
			continue
		}
		bad := func(format string, args ...any) error {
			return fmt.Errorf("refcheck: sketch line %d %q: %s", n+1, line, fmt.Sprintf(format, args...))
		}
		e := history.Event{Partition: "p0"}
		evict := false
		var call, ret int64
		hasRet, hasRange, hasOutcome := false, false, false
		var result history.Event
		for _, tok := range f {
			k, v, kv := strings.Cut(tok, "=")
			num := func() (int64, error) {
				x, err := strconv.ParseInt(v, 10, 64)
				if err != nil {
					return 0, bad("%q is not a number", tok)
				}
				return x, nil
			}
			var err error
			var x int64
			switch {
			case tok == "evict":
				evict = true
			case kv && k == "p":
				e.Partition = v
			case kv && k == "pid":
				e.PID, err = num()
			case kv && k == "e":
				x, err = num()
				e.Epoch = int16(x)
			case kv && k == "t":
				c, r, two := strings.Cut(v, "..")
				if call, err = strconv.ParseInt(c, 10, 64); err != nil {
					return history.History{}, bad("bad time %q", tok)
				}
				if two {
					if ret, err = strconv.ParseInt(r, 10, 64); err != nil {
						return history.History{}, bad("bad time %q", tok)
					}
					hasRet = true
				}
			case kv && k == "err":
				x, err = num()
				result, hasOutcome = history.Event{Kind: history.Return, Result: history.Failed, Error: history.ErrorCode(x)}, true
			case strings.HasPrefix(tok, "ok@"):
				x, err = strconv.ParseInt(tok[3:], 10, 64)
				if err != nil {
					return history.History{}, bad("bad offset %q", tok)
				}
				result, hasOutcome = history.Event{Kind: history.Return, Result: history.OK, Offset: x}, true
			case tok == "unknown":
				result, hasOutcome = history.Event{Kind: history.Return, Result: history.Unknown}, true
			case tok == "open":
				hasOutcome = true
			case strings.HasPrefix(tok, "[") && strings.HasSuffix(tok, "]"):
				a, b, ok := strings.Cut(tok[1:len(tok)-1], ",")
				fa, err1 := strconv.ParseInt(a, 10, 32)
				lb, err2 := strconv.ParseInt(b, 10, 32)
				if !ok || err1 != nil || err2 != nil {
					return history.History{}, bad("bad range %q", tok)
				}
				e.First, e.Last, hasRange = int32(fa), int32(lb), true
			default:
				return history.History{}, bad("unknown token %q", tok)
			}
			if err != nil {
				return history.History{}, err
			}
		}
		if evict {
			e.Kind, e.Time = history.EvictProducer, call
			evs = append(evs, ev{e: e})
			continue
		}
		if !hasRange || !hasOutcome {
			return history.History{}, bad("an operation needs [first,last] and an outcome")
		}
		id := new(int64)
		e.Kind, e.Time, e.Client = history.Replicate, call, e.PID
		evs = append(evs, ev{e: e, op: id})
		if result.Kind == history.Return {
			if !hasRet {
				return history.History{}, bad("a Return needs t=call..return")
			}
			result.Time = ret
			evs = append(evs, ev{e: result, op: id})
		}
	}
	sort.SliceStable(evs, func(i, j int) bool { return evs[i].e.Time < evs[j].e.Time })
	var next int64 = 1
	h := history.History{Header: history.Header{Format: history.FormatV1, Source: "sketch"}}
	for _, x := range evs {
		if x.e.Kind == history.Replicate {
			*x.op = next
			next++
		}
		if x.op != nil {
			x.e.Op = *x.op
		}
		h.Events = append(h.Events, x.e)
	}
	var s history.Stream
	for _, e := range h.Events {
		if err := s.Check(e); err != nil {
			return history.History{}, fmt.Errorf("refcheck: sketch: %s: %w", e, err)
		}
	}
	return h, nil
}

// MustSketch is [Sketch] for literals in tests; it panics on an error.
func MustSketch(lines ...string) history.History {
	h, err := Sketch(lines...)
	if err != nil {
		panic(err)
	}
	return h
}
