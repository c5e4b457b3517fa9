package server

import (
	"context"
	"errors"
	"math/rand/v2"
	"sync"
	"time"

	"github.com/idemcheck/idemcheck/impl"
)

// Config configures a [Server].
type Config struct {
	// TicketOrder is the frontend's ordering; "" is [impl.BeforeStage].
	TicketOrder impl.TicketOrder
	// Recorder receives every event, from the server's goroutine only; nil
	// turns recording off.
	Recorder impl.Recorder
	// Clock gives event times (nil: a logical clock counting events).
	Clock func() int64
	// Rand draws the data plane's delays and failures; nil uses a fixed
	// seed. It is used by the server's goroutine only.
	Rand *rand.Rand
	// MaxStageDelay and MaxUploadDelay bound the random delays of
	// stage_write and upload (uniform in [0, max)).
	MaxStageDelay  time.Duration
	MaxUploadDelay time.Duration
	// UploadFail is the probability that an upload fails.
	UploadFail float64

	_ struct{}
}

// Stages are the two stages of a replicate call made through a [Server]
// (Redpanda's replicate_stages).
type Stages struct {
	// Op is the call's operation id.
	Op int64
	// Enqueued is closed when the request is enqueued (its stage_write
	// resolved); a Kafka connection waits for it before it reads the next
	// request.
	Enqueued <-chan struct{}
	// Finished delivers the result once, then is closed.
	Finished <-chan impl.Result
}

// ErrClosed is returned by the methods of a closed [Server].
var ErrClosed = errors.New("server: closed")

type completion struct {
	op     int64
	upload bool
	ok     bool
}

type pendingStages struct {
	enqueued chan struct{}
	finished chan impl.Result
}

// Server is the concurrent shell around an [impl.Frontend], for use from
// network servers: one goroutine owns the frontend and serves calls over
// channels; the data plane runs each stage_write and upload in its own
// goroutine after a random delay, so they complete in any order. Redeems
// happen as soon as tickets are ready, and fences always succeed. All
// methods are safe for concurrent use.
type Server struct {
	calls       chan func(*impl.Frontend)
	completions chan completion
	quit        chan struct{}
	loopDone    chan struct{}
	workers     sync.WaitGroup
	closeOnce   sync.Once

	// Owned by the loop goroutine.
	f       *impl.Frontend
	rng     *rand.Rand
	cfg     Config
	pending map[int64]*pendingStages
}

// serverDataPlane starts delayed completions; it runs on the loop goroutine.
type serverDataPlane struct{ s *Server }

func (d serverDataPlane) StageWrite(op int64, _ string, _ impl.Batch) {
	d.s.start(op, false, d.s.delay(d.s.cfg.MaxStageDelay), true)
}

func (d serverDataPlane) ExecuteWrite(op int64, _ string, _ impl.Batch) {
	ok := !(d.s.cfg.UploadFail > 0 && d.s.rng.Float64() < d.s.cfg.UploadFail)
	d.s.start(op, true, d.s.delay(d.s.cfg.MaxUploadDelay), ok)
}

func (s *Server) delay(max time.Duration) time.Duration {
	if max <= 0 {
		return 0
	}
	return time.Duration(s.rng.Int64N(int64(max)))
}

func (s *Server) start(op int64, upload bool, d time.Duration, ok bool) {
	s.workers.Add(1)
	go func() {
		defer s.workers.Done()
		if d > 0 {
			t := time.NewTimer(d)
			defer t.Stop()
			select {
			case <-t.C:
			case <-s.quit:
				return
			}
		}
		select {
		case s.completions <- completion{op: op, upload: upload, ok: ok}:
		case <-s.quit:
		}
	}()
}

// New starts a server; call Close to stop it.
func New(cfg Config) (*Server, error) {
	s := &Server{calls: make(chan func(*impl.Frontend)), completions: make(chan completion),
		quit: make(chan struct{}), loopDone: make(chan struct{}), cfg: cfg, rng: cfg.Rand,
		pending: make(map[int64]*pendingStages)}
	if s.rng == nil {
		s.rng = rand.New(rand.NewPCG(1, 2))
	}
	f, err := impl.NewFrontend(impl.Config{TicketOrder: cfg.TicketOrder, Recorder: cfg.Recorder, Clock: cfg.Clock}, serverDataPlane{s})
	if err != nil {
		return nil, err
	}
	s.f = f
	go s.loop()
	return s, nil
}

func (s *Server) loop() {
	defer close(s.loopDone)
	for {
		select {
		case fn := <-s.calls:
			fn(s.f)
		case c := <-s.completions:
			if c.upload {
				_ = s.f.CompleteUpload(c.op, c.ok) // ops are only completed once
			} else {
				_ = s.f.CompleteStage(c.op, c.ok)
			}
		case <-s.quit:
			return
		}
		s.advance()
	}
}

// advance redeems every ready ticket and delivers the notifications.
func (s *Server) advance() {
	for {
		ready := s.f.Redeemable()
		if len(ready) == 0 {
			break
		}
		for _, op := range ready {
			_ = s.f.Redeem(op, true) // ready ops are redeemable
		}
	}
	r := s.f.Ready()
	for _, op := range r.Enqueued {
		if p, ok := s.pending[op]; ok {
			close(p.enqueued)
		}
	}
	for _, fin := range r.Finished {
		if p, ok := s.pending[fin.Op]; ok {
			p.finished <- fin.Result // buffered, one result per op
			close(p.finished)
			delete(s.pending, fin.Op)
		}
		s.f.Forget(fin.Op)
	}
}

// run runs fn on the loop goroutine and waits for it.
func (s *Server) run(ctx context.Context, fn func(*impl.Frontend)) error {
	done := make(chan struct{})
	wrapped := func(f *impl.Frontend) { fn(f); close(done) }
	select {
	case s.calls <- wrapped:
	case <-s.quit:
		return ErrClosed
	case <-ctx.Done():
		return ctx.Err()
	}
	<-done // the loop runs fn before it looks at quit again
	return nil
}

// Replicate calls replicate (req.Op must be 0: the server numbers the
// calls) and returns the call's stages.
func (s *Server) Replicate(ctx context.Context, req impl.Request) (Stages, error) {
	req.Op = 0
	var (
		st  Stages
		err error
	)
	if rerr := s.run(ctx, func(f *impl.Frontend) {
		var op int64
		op, err = f.Replicate(req)
		if err != nil {
			return
		}
		p := &pendingStages{enqueued: make(chan struct{}), finished: make(chan impl.Result, 1)}
		s.pending[op] = p
		st = Stages{Op: op, Enqueued: p.enqueued, Finished: p.finished}
	}); rerr != nil {
		return Stages{}, rerr
	}
	return st, err
}

// Timeout records that the client gave up on op (result unknown); the
// request goes on, and its Finished stage still fires.
func (s *Server) Timeout(ctx context.Context, op int64) error {
	var err error
	if rerr := s.run(ctx, func(f *impl.Frontend) { err = f.Timeout(op) }); rerr != nil {
		return rerr
	}
	return err
}

// Do runs fn on the server's goroutine, with exclusive access to the
// frontend (for evictions, term changes, inspection). fn must not keep f.
func (s *Server) Do(ctx context.Context, fn func(f *impl.Frontend)) error {
	return s.run(ctx, fn)
}

// Close stops the server and its data plane goroutines and waits for
// them. Calls that have not finished never finish. It returns the
// recorder's first error, if any.
func (s *Server) Close() error {
	s.closeOnce.Do(func() { close(s.quit) })
	<-s.loopDone
	s.workers.Wait()
	return s.f.Err()
}
