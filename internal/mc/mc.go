package mc

import (
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"math/bits"
	"runtime"
	"sync"
	"sync/atomic"
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
	// Coverage counts the spec branches ([spec.Branch]) of every
	// transition generated, as TLC's -coverage counts actions; the
	// counts are in [Result.Coverage]. It costs a little speed and does
	// not change the counts of states.
	Coverage bool

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
	// Coverage counts the branches of the transitions generated (nil
	// unless [Options.Coverage]); a search stopped early counts those of
	// the levels it expanded.
	Coverage *spec.Coverage
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

// Run checks cfg breadth-first, so the first violation found has a
// shortest trace. It stops at the first violation, at ctx's end (with
// ctx's error) or when the state space is exhausted.
//
// The hot path allocates nothing per state: a BFS level is one byte
// arena of encoded states ([spec.State.AppendBinary]), each worker
// decodes a state into a scratch [spec.State], computes its successors
// in a second scratch state and appends the encodings of the ones not
// seen in earlier levels to its own arena; the seen set is an
// open-addressing table of fingerprints. The per-worker results are
// merged in frontier order, so counts, verdicts and traces do not
// depend on the number of workers.
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
	e := &expander{cfg: cfg, order: order, liveness: liveness, coverage: opts.Coverage}

	init := spec.Init(cfg.Spec)
	var buf []byte
	initFP := fingerprint(&init, &buf)
	seen := newSeenSet()
	seen.insert(initFP, initFP)
	res.Distinct, res.Generated = 1, 1
	frontier, next := &level{}, &level{}
	frontier.add(init.AppendBinary(nil), initFP)
	lastPrint := time.Now()
	progress := func(depth int, final bool) {
		if opts.Progress == nil || (!final && time.Since(lastPrint) < every) {
			return
		}
		lastPrint = time.Now()
		el := time.Since(start).Seconds()
		fmt.Fprintf(opts.Progress, "mc: depth %d: %d states generated, %d distinct states found, %d states left on queue (%.0f states/s)\n",
			depth, res.Generated, res.Distinct, frontier.len(), float64(res.Generated)/max(el, 1e-9))
	}
	scratch := make([]worker, workers)
	collect := func() {
		if !opts.Coverage {
			return
		}
		res.Coverage = &spec.Coverage{}
		for i := range scratch {
			res.Coverage.Merge(&scratch[i].cov)
		}
	}
	finish := func(v *Violation) (Result, error) {
		collect()
		res.Violation = v
		if v != nil {
			res.Left = int64(frontier.len())
			res.Liveness = stoppedLiveness(liveness, v.Invariant)
		}
		res.Duration = time.Since(start)
		progress(res.Diameter, true)
		return res, nil
	}
	if bi := e.broken(&init); bi >= 0 {
		return finish(buildViolation(cfg, order[bi].Name, []uint64{initFP}))
	}

	var chunks []chunk
	for depth := 0; frontier.len() > 0; depth++ {
		if err := ctx.Err(); err != nil {
			res.Liveness = stoppedLiveness(liveness, "")
			collect()
			return res, err
		}
		// Split the level into chunks that the workers take in turn;
		// small enough to balance, big enough to amortize.
		n := frontier.len()
		size := min(max(n/(8*workers), 16), 4096)
		nchunks := (n + size - 1) / size
		if cap(chunks) < nchunks {
			chunks = append(chunks[:cap(chunks)], make([]chunk, nchunks-cap(chunks))...)
		}
		chunks = chunks[:nchunks]
		for i := range chunks {
			c := &chunks[i]
			c.lo, c.hi = i*size, min((i+1)*size, n)
			c.arena, c.recs, c.generated, c.err = c.arena[:0], c.recs[:0], 0, nil
		}
		// A small level is not worth the goroutines.
		par := min(workers, nchunks)
		if n < smallLevel {
			par = 1
		}
		var taken atomic.Int64
		work := func(wk *worker) {
			for {
				i := int(taken.Add(1)) - 1
				if i >= len(chunks) {
					return
				}
				if ctx.Err() != nil {
					chunks[i].err = ctx.Err()
					continue
				}
				e.expand(wk, frontier, seen, &chunks[i])
			}
		}
		var wg sync.WaitGroup
		for w := 1; w < par; w++ {
			wg.Add(1)
			go func() {
				defer wg.Done()
				work(&scratch[w])
			}()
		}
		work(&scratch[0])
		wg.Wait()
		for i := range chunks {
			if chunks[i].err != nil {
				res.Liveness = stoppedLiveness(liveness, "")
				collect()
				return res, chunks[i].err
			}
			res.Generated += chunks[i].generated
		}
		// Insert the candidates into the seen set in frontier order, each
		// goroutine the shards of its own (so the first parent found
		// sequentially is the one recorded), then take the new ones in
		// frontier order.
		groups := min(par, nShards)
		insert := func(g int) {
			for i := range chunks {
				recs := chunks[i].recs
				for k := range recs {
					if r := &recs[k]; !r.stuck && shardOf(r.fp)%groups == g {
						r.isNew = seen.insert(r.fp, r.parent)
					}
				}
			}
		}
		for g := 1; g < groups; g++ {
			wg.Add(1)
			go func() {
				defer wg.Done()
				insert(g)
			}()
		}
		insert(0)
		wg.Wait()
		next.reset()
		for i := range chunks {
			c := &chunks[i]
			for _, r := range c.recs {
				if r.stuck {
					path := pathTo(r.fp, seen)
					v := buildViolation(cfg, spec.EveryCallReturns, path)
					v.Message = "a call never returns: in the last state no fair action is enabled but a call is still open"
					return finish(v)
				}
				if !r.isNew {
					continue // reached earlier in this level
				}
				res.Distinct++
				res.Diameter = depth + 1
				if r.broken >= 0 {
					return finish(buildViolation(cfg, order[r.broken].Name, pathTo(r.fp, seen)))
				}
				next.add(c.arena[r.start:r.end], r.fp)
			}
		}
		if opts.MaxDistinct > 0 && res.Distinct > opts.MaxDistinct {
			res.Liveness = stoppedLiveness(liveness, "")
			collect()
			return res, fmt.Errorf("mc: more than %d distinct states", opts.MaxDistinct)
		}
		frontier, next = next, frontier
		progress(depth+1, false)
	}
	return finish(nil)
}

// stoppedLiveness is [Result.Liveness] for a search that did not
// exhaust the state space: it stopped at a violation of the invariant or
// property named broken, or ("" ) for another reason (a limit, ctx's
// end, an error). The liveness check is then not complete, whatever the
// config asks.
func stoppedLiveness(asked bool, broken string) string {
	switch {
	case !asked:
		return "not checked (no PROPERTY EveryCallReturns in the config)"
	case broken == spec.EveryCallReturns:
		return "violated (see the trace)"
	case broken != "":
		return "not checked to the end: the search stopped at the violation of " + broken + " before exhausting the state space"
	}
	return "not checked to the end: the search stopped before exhausting the state space"
}

// smallLevel is the number of states below which a level is expanded
// by one goroutine.
const smallLevel = 512

// level is one BFS level: encoded states back to back in one arena.
type level struct {
	data []byte
	ends []int // state i is data[ends[i-1]:ends[i]]
	fps  []uint64
}

func (l *level) len() int { return len(l.fps) }

func (l *level) reset() { l.data, l.ends, l.fps = l.data[:0], l.ends[:0], l.fps[:0] }

func (l *level) add(enc []byte, fp uint64) {
	l.data = append(l.data, enc...)
	l.ends = append(l.ends, len(l.data))
	l.fps = append(l.fps, fp)
}

func (l *level) state(i int) []byte {
	lo := 0
	if i > 0 {
		lo = l.ends[i-1]
	}
	return l.data[lo:l.ends[i]]
}

// rec is one successor not seen in earlier levels (or a stuck state).
type rec struct {
	fp, parent uint64
	start, end int  // its encoding in the chunk's arena
	broken     int  // index of the first broken checked invariant, or -1
	stuck      bool // no fair action enabled and a call is open (fp is the state's own)
	isNew      bool // not reached earlier (set when merging)
}

// chunk is a slice [lo,hi) of a level and what expanding it found.
type chunk struct {
	lo, hi    int
	arena     []byte
	recs      []rec
	generated int64
	err       error
}

// worker is one goroutine's scratch memory, reused for every state.
type worker struct {
	cur, next spec.State
	acts      []spec.Action
	cov       spec.Coverage
}

// expander computes successors.
type expander struct {
	cfg      Config
	order    []spec.Invariant
	liveness bool
	coverage bool
}

// broken returns the index in e.order of the first invariant s breaks,
// or -1.
func (e *expander) broken(s *spec.State) int {
	if s.Viol == 0 {
		return -1
	}
	for i, iv := range e.order {
		if iv.Check(*s) != nil {
			return i
		}
	}
	return -1
}

// expand computes the successors of the states of chunk c of frontier
// and records those that seen (read-only here) does not hold.
func (e *expander) expand(w *worker, frontier *level, seen *seenSet, c *chunk) {
	cfg := e.cfg.Spec
	for i := c.lo; i < c.hi; i++ {
		parent := frontier.fps[i]
		if err := w.cur.UnmarshalBinary(frontier.state(i)); err != nil {
			c.err = fmt.Errorf("mc: %w", err)
			return
		}
		w.acts = spec.AppendEnabled(w.acts[:0], cfg, &w.cur)
		if e.liveness && stuck(&w.cur, w.acts) {
			c.recs = append(c.recs, rec{fp: parent, stuck: true, broken: -1})
		}
		var pm int64
		if e.liveness {
			pm = w.cur.Progress()
		}
		for _, a := range w.acts {
			c.generated++
			if e.coverage {
				w.cov.Add(cfg, &w.cur, a)
			}
			w.next.CopyFrom(&w.cur)
			if err := w.next.Apply(cfg, a); err != nil {
				c.err = fmt.Errorf("mc: the spec enables %s but Step refuses it: %w", a, err)
				return
			}
			if e.liveness && w.next.Progress() <= pm {
				c.err = fmt.Errorf("%w: %s", ErrUnsound, a)
				return
			}
			start := len(c.arena)
			c.arena = w.next.AppendBinary(c.arena)
			fp := hashBytes(c.arena[start:])
			if seen.has(fp) {
				c.arena = c.arena[:start]
				continue
			}
			c.recs = append(c.recs, rec{fp: fp, parent: parent, start: start, end: len(c.arena), broken: e.broken(&w.next)})
		}
	}
}

// stuck reports whether s has an open call and no fair action enabled.
func stuck(s *spec.State, acts []spec.Action) bool {
	if s.OpenCalls() == 0 {
		return false
	}
	for _, a := range acts {
		if a.Fair() {
			return false
		}
	}
	return true
}

// seenSet maps the fingerprint of every state found to the fingerprint
// of the state it was first reached from (the initial state maps to
// itself). It is split into shards by the top bits of the fingerprint,
// so that goroutines can insert into different shards at once; each is
// an open-addressing table with linear probing, 16 bytes a slot and no
// pointers, so the garbage collector never scans it. Fingerprint 0
// marks an empty slot; [hashBytes] never returns it.
type seenSet struct {
	shards [nShards]table
}

const shardBits = 4
const nShards = 1 << shardBits

func shardOf(fp uint64) int { return int(fp >> (64 - shardBits)) }

func newSeenSet() *seenSet {
	t := &seenSet{}
	for i := range t.shards {
		t.shards[i].alloc(1 << 10)
	}
	return t
}

// has reports whether fp is in the set.
func (t *seenSet) has(fp uint64) bool { return t.shards[shardOf(fp)].has(fp) }

// parent returns the fingerprint fp was first reached from.
func (t *seenSet) parent(fp uint64) (uint64, bool) { return t.shards[shardOf(fp)].parent(fp) }

// insert adds fp, reached from parent, and reports whether it was new.
func (t *seenSet) insert(fp, parent uint64) bool { return t.shards[shardOf(fp)].insert(fp, parent) }

// table is one shard of a seenSet.
type table struct {
	keys, parents []uint64
	n             int
	mask          uint64
}

func (t *table) alloc(size int) {
	t.keys, t.parents, t.mask = make([]uint64, size), make([]uint64, size), uint64(size-1)
}

// has reports whether fp is in the set.
func (t *table) has(fp uint64) bool {
	for i := fp & t.mask; ; i = (i + 1) & t.mask {
		switch t.keys[i] {
		case fp:
			return true
		case 0:
			return false
		}
	}
}

// parent returns the fingerprint fp was first reached from.
func (t *table) parent(fp uint64) (uint64, bool) {
	for i := fp & t.mask; ; i = (i + 1) & t.mask {
		switch t.keys[i] {
		case fp:
			return t.parents[i], true
		case 0:
			return 0, false
		}
	}
}

// insert adds fp, reached from parent, and reports whether it was new.
func (t *table) insert(fp, parent uint64) bool {
	if 4*(t.n+1) > 3*len(t.keys) {
		t.grow()
	}
	i := fp & t.mask
	for ; t.keys[i] != 0; i = (i + 1) & t.mask {
		if t.keys[i] == fp {
			return false
		}
	}
	t.keys[i], t.parents[i] = fp, parent
	t.n++
	return true
}

func (t *table) grow() {
	keys, parents := t.keys, t.parents
	t.alloc(2 * len(keys))
	for j, k := range keys {
		if k == 0 {
			continue
		}
		i := k & t.mask
		for t.keys[i] != 0 {
			i = (i + 1) & t.mask
		}
		t.keys[i], t.parents[i] = k, parents[j]
	}
}

// fingerprint hashes the canonical encoding of s.
func fingerprint(s *spec.State, buf *[]byte) uint64 {
	*buf = s.AppendBinary((*buf)[:0])
	return hashBytes(*buf)
}

// hashBytes is a 64-bit hash of b in the style of wyhash (16 bytes per
// 64×64→128-bit multiply), never 0.
func hashBytes(b []byte) uint64 {
	const p0, p1, p2 = 0xa0761d6478bd642f, 0xe7037ed1a0b428db, 0x8ebc6af09c88c6e3
	h := uint64(len(b)) ^ p0
	for len(b) >= 16 {
		h = mum(binary.LittleEndian.Uint64(b)^p1, binary.LittleEndian.Uint64(b[8:])^h)
		b = b[16:]
	}
	var tail [16]byte
	copy(tail[:], b)
	h = mum(binary.LittleEndian.Uint64(tail[:])^p1, binary.LittleEndian.Uint64(tail[8:])^h^p2)
	h = mum(h^p2, h^p0)
	if h == 0 {
		h = 1
	}
	return h
}

func mum(a, b uint64) uint64 {
	hi, lo := bits.Mul64(a, b)
	return hi ^ lo
}

// pathTo returns the fingerprints from the initial state to fp.
func pathTo(fp uint64, seen *seenSet) []uint64 {
	path := []uint64{fp}
	for {
		p, _ := seen.parent(fp)
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
func buildViolation(cfg Config, name string, path []uint64) *Violation {
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
		return string(spec.BeforeStage)
	}
	return string(c.TicketOrder)
}
