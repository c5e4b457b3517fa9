package checker

import (
	"github.com/anishathalye/porcupine"
	"github.com/idemcheck/idemcheck/history"
)

// plainState is the state of every part at once, for the plain search:
// one porcupine search over all operations, without partitioning. It is
// immutable; a step copies it.
type plainState struct {
	parts []state
}

// checkPlain checks h with porcupine alone ([Options.PlainSearch]). h
// must be valid.
func checkPlain(h history.History, opts Options) Result {
	ops := Operations(h)
	parts := split(h, ops)
	m := newModel(opts, !opts.NoCallOrder)
	var pops []porcupine.Operation
	init := plainState{parts: make([]state, len(parts))}
	for i, p := range parts {
		init.parts[i] = initState(int32(i))
		for _, in := range p.in {
			in.part = int32(i)
		}
		pops = append(pops, porcupineOps(p, p.in, p.ops, nil)...)
	}
	nm := porcupine.NondeterministicModel{
		Init: func() []any { return []any{init} },
		Step: func(st, in, _ any) []any {
			s := st.(plainState)
			i := in.(*input)
			br, _ := m.step(s.parts[i.part], i, nil, false)
			if len(br) == 0 {
				return nil
			}
			r := make([]any, len(br))
			for k := range br {
				n := plainState{parts: append([]state(nil), s.parts...)}
				n.parts[i.part] = br[k].s
				r[k] = n
			}
			return r
		},
		Equal: func(a, b any) bool {
			x, y := a.(plainState), b.(plainState)
			for k := range x.parts {
				if x.parts[k] != y.parts[k] {
					return false
				}
			}
			return true
		},
		Hash: func(a any) uint64 {
			var h uint64
			for k, s := range a.(plainState).parts {
				h = h*31 + s.hash() + uint64(k)
			}
			return h
		},
	}
	r := porcupine.CheckOperationsTimeout(nm.ToModel(), pops, opts.Timeout)
	res := Result{Verdict: Verdict(r), Parts: make([]PartResult, len(parts))}
	for i, p := range parts {
		res.Parts[i] = PartResult{Partition: p.key.partition, PID: p.key.pid, Ops: len(p.ops), Verdict: Verdict(r)}
	}
	// The partition-level check across producers is not a search.
	if res.Violations = logBreaches(h, opts); len(res.Violations) > 0 {
		res.Verdict = Illegal
	}
	return res
}
