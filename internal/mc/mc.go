package mc

import (
	"context"
	"errors"
	"fmt"
	"io"
	"runtime"
	"sync"
	"time"

	"github.com/idemcheck/idemcheck/spec"
)

// Options tune a run. The zero value uses every core and prints nothing.
type Options struct {
	// Workers is the number of goroutines that compute successors
	// (0: runtime.GOMAXPROCS(0)).
	Workers int
	// Progress, when not nil, receives a progress line at most every
	// ProgressEvery (default 10s) and at the end of the search.
	Progress      io.Writer
	ProgressEvery time.Duration
	// MaxDistinct stops the search with an error once this many distinct
	// states are found (0: no limit).
	MaxDistinct int64

	_ struct{}
}

// Result is the outcome of a run.
type Result struct {
	// Distinct is the number of distinct states found; Generated the
	// number of states generated (initial state plus every successor,
	// as TLC counts them).
	Distinct, Generated int64
	// Diameter is the length of the longest shortest path from the
	// initial state (TLC reports Diameter+1 as "depth").
	Diameter int
	// Left is the number of states still on the queue when the search
	// stopped (0 when the state space was exhausted).
	Left int64
	// Violation is the first violation found (nil when none).
	Violation *Violation
	// Duration is the wall time of the search.
	Duration time.Duration
	// Liveness says whether and how EveryCallReturns was checked.
	Liveness string
	// Config is the model that was checked.
	Config Config
}

// Violation is a broken invariant or property with its shortest trace.
type Violation struct {
	// Invariant is the name of the invariant or property that failed.
	Invariant string
	// Message explains the failure in a sentence.
	Message string
	// Broken lists every checked invariant the last state breaks.
	Broken []string
	// Init is the initial state; Steps the actions from it to the
	// violating state, each with the state it leads to.
	Init  spec.State
	Steps []TraceStep
	// TicketOrder is the model's ticket ordering.
	TicketOrder string
	// Spec is the model's constants.
	Spec spec.Config
}

// TraceStep is one action of a trace and the state after it.
type TraceStep struct {
	Action spec.Action
	State  spec.State
}

// ErrUnsound is returned when a step does not increase
// [spec.State.Progress]: the state graph might then have cycles and the
// liveness check would not be sound.
var ErrUnsound = errors.New("mc: a step did not increase the progress measure")

type succ struct {
	fp     uint64
	parent uint64
	state  spec.State
	broken string // first checked invariant the state breaks
	stuck  bool   // no fair action enabled and a call is open
}

type node struct {
	fp    uint64
	state spec.State
}

// Run checks cfg breadth-first, so the first violation found has a
// shortest trace. It stops at the first violation, at ctx's end (with
// ctx's error) or when the state space is exhausted.
func Run(ctx context.Context, cfg Config, opts Options) (Result, error) {
	start := time.Now()
	if err := cfg.Spec.Validate(); err != nil {
		return Result{}, fmt.Errorf("mc: %w", err)
	}
	workers := opts.Workers
	if workers <= 0 {
		workers = runtime.GOMAXPROCS(0)
	}
	every := opts.ProgressEvery
	if every <= 0 {
		every = 10 * time.Second
	}
	var order []spec.Invariant
	for _, name := range cfg.Invariants {
		for _, iv := range spec.Invariants() {
			if iv.Name == name {
				order = append(order, iv)
			}
		}
	}
	liveness := false
	for _, p := range cfg.Properties {
		liveness = liveness || p == spec.EveryCallReturns
	}
	res := Result{Config: cfg, Liveness: "not checked (no PROPERTY EveryCallReturns in the config)"}
	if liveness {
		res.Liveness = "checked: every state with an open call has an enabled fair action, and every step increases the progress measure (so fair behaviours end in states without open calls)"
	}
	brokenIn := func(s *spec.State) string {
		if s.Viol == 0 {
			return ""
		}
		for _, iv := range order {
			if iv.Check(*s) != nil {
				return iv.Name
			}
		}
		return ""
	}
	stuck := func(s *spec.State, acts []spec.Action) bool {
		if !liveness || s.OpenCalls() == 0 {
			return false
		}
		for _, a := range acts {
			if a.Fair() {
				return false
			}
		}
		return true
	}

	init := spec.Init(cfg.Spec)
	var buf []byte
	initFP := fingerprint(&init, &buf)
	parents := map[uint64]uint64{initFP: initFP}
	res.Distinct, res.Generated = 1, 1
	frontier := []node{{initFP, init}}
	lastPrint := time.Now()
	progress := func(depth int, final bool) {
		if opts.Progress == nil || (!final && time.Since(lastPrint) < every) {
			return
		}
		lastPrint = time.Now()
		el := time.Since(start).Seconds()
		fmt.Fprintf(opts.Progress, "mc: depth %d: %d states generated, %d distinct states found, %d states left on queue (%.0f states/s)\n",
			depth, res.Generated, res.Distinct, len(frontier), float64(res.Generated)/max(el, 1e-9))
	}
	finish := func(v *Violation) (Result, error) {
		res.Violation = v
		if v != nil {
			res.Left = int64(len(frontier))
		}
		res.Duration = time.Since(start)
		progress(res.Diameter, true)
		return res, nil
	}
	if name := brokenIn(&init); name != "" {
		return finish(buildViolation(cfg, name, []uint64{initFP}, parents))
	}

	type out struct {
		succs     []succ
		generated int64
		err       error
	}
	for depth := 0; len(frontier) > 0; depth++ {
		if err := ctx.Err(); err != nil {
			return res, err
		}
		outs := make([]out, workers)
		chunk := (len(frontier) + workers - 1) / workers
		var wg sync.WaitGroup
		for w := 0; w < workers; w++ {
			lo, hi := w*chunk, min((w+1)*chunk, len(frontier))
			if lo >= hi {
				continue
			}
			wg.Add(1)
			go func(o *out, part []node) {
				defer wg.Done()
				var buf []byte
				// Successors are computed in a scratch state; only new
				// ones keep it (most successors were seen before).
				var next spec.State
				for _, n := range part {
					acts := spec.Enabled(cfg.Spec, n.state)
					if stuck(&n.state, acts) {
						o.succs = append(o.succs, succ{fp: n.fp, stuck: true})
					}
					pm := n.state.Progress()
					for _, a := range acts {
						o.generated++
						next.CopyFrom(&n.state)
						if err := next.Apply(cfg.Spec, a); err != nil {
							o.err = fmt.Errorf("mc: the spec enables %s but Step refuses it: %w", a, err)
							return
						}
						if liveness && next.Progress() <= pm {
							o.err = fmt.Errorf("%w: %s", ErrUnsound, a)
							return
						}
						fp := fingerprint(&next, &buf)
						if _, seen := parents[fp]; seen {
							continue // read-only during this phase
						}
						o.succs = append(o.succs, succ{fp: fp, parent: n.fp, state: next, broken: brokenIn(&next)})
						next = spec.State{}
					}
				}
			}(&outs[w], frontier[lo:hi])
		}
		wg.Wait()
		var next []node
		for _, o := range outs {
			if o.err != nil {
				return res, o.err
			}
			res.Generated += o.generated
		}
		for _, o := range outs {
			for _, s := range o.succs {
				if s.stuck {
					path := pathTo(s.fp, parents)
					v := buildViolation(cfg, spec.EveryCallReturns, path, parents)
					v.Message = "a call never returns: in the last state no fair action is enabled but a call is still open"
					return finish(v)
				}
				if _, seen := parents[s.fp]; seen {
					continue
				}
				parents[s.fp] = s.parent
				res.Distinct++
				res.Diameter = depth + 1
				if s.broken != "" {
					return finish(buildViolation(cfg, s.broken, pathTo(s.fp, parents), parents))
				}
				next = append(next, node{s.fp, s.state})
			}
		}
		if opts.MaxDistinct > 0 && res.Distinct > opts.MaxDistinct {
			return res, fmt.Errorf("mc: more than %d distinct states", opts.MaxDistinct)
		}
		frontier = next
		progress(depth+1, false)
	}
	return finish(nil)
}

// fingerprint is FNV-1a (64 bit) over the canonical encoding.
func fingerprint(s *spec.State, buf *[]byte) uint64 {
	*buf = s.AppendBinary((*buf)[:0])
	h := uint64(14695981039346656037)
	for _, c := range *buf {
		h ^= uint64(c)
		h *= 1099511628211
	}
	return h
}

// pathTo returns the fingerprints from the initial state to fp.
func pathTo(fp uint64, parents map[uint64]uint64) []uint64 {
	path := []uint64{fp}
	for {
		p := parents[fp]
		if p == fp {
			break
		}
		path = append(path, p)
		fp = p
	}
	for i, j := 0, len(path)-1; i < j; i, j = i+1, j-1 {
		path[i], path[j] = path[j], path[i]
	}
	return path
}

// buildViolation replays the fingerprint path from the initial state,
// picking at each step the enabled action that leads to the next
// fingerprint.
func buildViolation(cfg Config, name string, path []uint64, _ map[uint64]uint64) *Violation {
	s := spec.Init(cfg.Spec)
	v := &Violation{Invariant: name, Init: s, TicketOrder: orderOf(cfg.Spec), Spec: cfg.Spec}
	var buf []byte
	for _, want := range path[1:] {
		for _, a := range spec.Enabled(cfg.Spec, s) {
			n, err := spec.Step(cfg.Spec, s, a)
			if err == nil && fingerprint(&n, &buf) == want {
				v.Steps = append(v.Steps, TraceStep{Action: a, State: n})
				s = n
				break
			}
		}
	}
	for _, iv := range spec.Invariants() {
		for _, c := range cfg.Invariants {
			if c == iv.Name {
				if err := iv.Check(s); err != nil {
					v.Broken = append(v.Broken, iv.Name)
					if iv.Name == name {
						v.Message = err.Error()
					}
				}
			}
		}
	}
	return v
}

func orderOf(c spec.Config) string {
	if c.TicketOrder == "" {
		return spec.BeforeStage
	}
	return c.TicketOrder
}
