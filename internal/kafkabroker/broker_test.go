package kafkabroker

import (
	"context"
	"fmt"
	"math/rand/v2"
	"net"
	"os"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/idemcheck/idemcheck/checker"
	"github.com/idemcheck/idemcheck/history"
	"github.com/idemcheck/idemcheck/impl"
	"github.com/idemcheck/idemcheck/impl/server"
	"github.com/idemcheck/idemcheck/internal/proxy"
	"github.com/idemcheck/idemcheck/internal/testflag"
)

// setup is one broker configuration and client behaviour.
type setup struct {
	order          impl.TicketOrder
	pipeline       bool
	stopOnDataLoss bool
	// attempts bounds the producers run one after the other; the run
	// stops early once the seed bug shows when untilBug is set.
	attempts int
	untilBug bool
	// viaProxy puts the recording proxy between the clients and the
	// broker; its history is outcome.wire.
	viaProxy bool
}

// outcome is what one run showed.
type outcome struct {
	history  history.History
	wire     history.History // recorded by the proxy, with viaProxy
	failed   int             // records whose produce failed
	lost     int             // data-loss hook calls
	log      []string        // record values read back, in log order
	produced int
	attempts int
	bug      bool // the seed bug: an earlier batch got OUT_OF_ORDER_SEQUENCE_NUMBER after a later one was appended
	skipPath int  // Decide append_unknown events (unknown-producer path)
}

const recordsPerBurst = 30

// runBroker serves the implementation with s's settings, produces with
// idempotent franz-go producers (up to 5 produce requests in flight),
// and reads the partition back with a consumer. seed seeds the data
// plane's delays (each case runs seed 1 by default; testflag: -seed,
// -seeds, -seed.first).
func runBroker(t *testing.T, s setup, seed int64) outcome {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 40*time.Second)
	defer cancel()
	log := history.NewLog(history.Header{Source: "impl", TicketOrder: string(s.order)})
	var last int64
	srv, err := server.New(server.Config{TicketOrder: s.order, Recorder: log,
		Clock: func() int64 { // called from the server's goroutine only
			now := time.Now().UnixNano()
			last = max(last, now)
			return last
		},
		Rand: rand.New(rand.NewPCG(uint64(seed), 7)), MaxStageDelay: 4 * time.Millisecond, MaxUploadDelay: 2 * time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	b, err := New(Config{Server: srv, Pipeline: s.pipeline, EvictIdle: 40 * time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	bctx, stop := context.WithCancel(ctx)
	served := make(chan error, 1)
	go func() { served <- b.Serve(bctx, ln) }()

	var o outcome
	var mu sync.Mutex
	addr := ln.Addr().String()
	var wire *history.Log
	if s.viaProxy {
		wire = history.NewLog(history.Header{Source: "record"})
		p, err := proxy.New(proxy.Options{Upstream: addr, Recorder: wire})
		if err != nil {
			t.Fatal(err)
		}
		pln, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			t.Fatal(err)
		}
		proxied := make(chan error, 1)
		pctx, pstop := context.WithCancel(ctx)
		go func() { proxied <- p.Serve(pctx, pln) }()
		defer func() {
			pstop()
			<-proxied
		}()
		// The broker advertises its own address; the proxy rewrites
		// Metadata, so the client needs no dialer of its own.
		addr = pln.Addr().String()
	}
	opts := []kgo.Opt{kgo.SeedBrokers(addr), kgo.DefaultProduceTopic("t"),
		kgo.ProducerBatchMaxBytes(512), kgo.ProducerLinger(0),
		kgo.RetryBackoffFn(func(int) time.Duration { return 5 * time.Millisecond }),
		kgo.MetadataMinAge(10 * time.Millisecond), // retries refresh metadata; do not wait 5s for it
		kgo.ProducerOnDataLossDetected(func(string, int32) { mu.Lock(); o.lost++; mu.Unlock() }),
	}
	if s.stopOnDataLoss {
		opts = append(opts, kgo.StopProducerOnDataLossDetected())
	}
	if os.Getenv("KGO_DEBUG") != "" {
		opts = append(opts, kgo.WithLogger(kgo.BasicLogger(os.Stderr, kgo.LogLevelDebug, nil)))
	}
	produce := func(cl *kgo.Client, attempt, from, n int) {
		var wg sync.WaitGroup
		for i := from; i < from+n; i++ {
			wg.Add(1)
			o.produced++
			rec := &kgo.Record{Value: []byte(fmt.Sprintf("%02d-%03d-%s", attempt, i, strings.Repeat("v", 60)))}
			cl.Produce(ctx, rec, func(_ *kgo.Record, err error) {
				if err != nil {
					mu.Lock()
					o.failed++
					mu.Unlock()
				}
				wg.Done()
			})
		}
		wg.Wait()
	}
	// Each attempt is a new producer: one record alone (franz-go
	// pipelines on a partition only after an ack), an idle pause in which
	// the broker evicts the producer, then a burst with up to five
	// produce requests in flight.
	for attempt := 0; attempt < s.attempts; attempt++ {
		cl, err := kgo.NewClient(opts...)
		if err != nil {
			t.Fatal(err)
		}
		produce(cl, attempt, 0, 1)
		time.Sleep(100 * time.Millisecond)
		start := time.Now()
		produce(cl, attempt, 1, recordsPerBurst)
		t.Logf("attempt %d: burst of %d records took %v", attempt, recordsPerBurst, time.Since(start))
		cl.Close()
		o.attempts++
		if s.untilBug && seedBug(log.History()) {
			break
		}
	}

	cons, err := kgo.NewClient(kgo.SeedBrokers(ln.Addr().String()), kgo.ConsumeTopics("t"),
		kgo.ConsumeResetOffset(kgo.NewOffset().AtStart()), kgo.FetchMaxWait(100*time.Millisecond))
	if err != nil {
		t.Fatal(err)
	}
	for {
		pctx, pcancel := context.WithTimeout(ctx, 500*time.Millisecond)
		fs := cons.PollFetches(pctx)
		pcancel()
		n := len(o.log)
		fs.EachRecord(func(r *kgo.Record) { o.log = append(o.log, string(r.Value[:6])) })
		if len(o.log) == n || ctx.Err() != nil {
			break
		}
	}
	cons.Close()
	stop()
	if err := <-served; err != nil {
		t.Fatal(err)
	}
	if err := b.RecordLog(ctx, log); err != nil {
		t.Fatal(err)
	}
	if err := srv.Close(); err != nil {
		t.Fatal(err)
	}
	o.history = log.History()
	if wire != nil {
		o.wire = wire.History()
	}
	o.bug = seedBug(o.history)
	for _, e := range o.history.Events {
		if e.Kind == history.Decide && e.Decision == history.AppendUnknown {
			o.skipPath++
		}
	}
	return o
}

// seedBug reports whether h shows the seed bug from the client's side:
// an operation got OUT_OF_ORDER_SEQUENCE_NUMBER while an operation of
// the same producer, epoch and partition with later sequences, called
// after it, was appended.
func seedBug(h history.History) bool {
	calls := map[int64]history.Event{}
	var ooo, ok []history.Event
	for _, e := range h.Events {
		switch {
		case e.Kind == history.Replicate:
			calls[e.Op] = e
		case e.Kind == history.Return && e.Result == history.Failed && e.Error == history.OutOfOrderSequenceNumber:
			ooo = append(ooo, calls[e.Op])
		case e.Kind == history.Return && e.Result == history.OK:
			ok = append(ok, calls[e.Op])
		}
	}
	for _, a := range ooo {
		for _, b := range ok {
			if b.Op > a.Op && b.Partition == a.Partition && b.PID == a.PID && b.Epoch == a.Epoch && b.First > a.Last {
				return true
			}
		}
	}
	return false
}

func distinct(vals []string) int {
	seen := map[string]bool{}
	for _, v := range vals {
		seen[v] = true
	}
	return len(seen)
}

func inOrder(vals []string) bool {
	for i := 1; i < len(vals); i++ {
		if vals[i] < vals[i-1] {
			return false
		}
	}
	return true
}

// TestBrokerSeedBug drives the reference implementation over the Kafka
// protocol with an unmodified franz-go idempotent producer. With the
// pre-fix ticket ordering and pipelined requests, stage_write reordering
// after an idle eviction sends a later batch through the unknown-producer
// path, and the earlier batch gets OUT_OF_ORDER_SEQUENCE_NUMBER (the seed
// bug): franz-go then either bumps the epoch and re-sends it after the
// later one (the log is out of order) or, with
// StopProducerOnDataLossDetected, fails it; both histories are Illegal.
// With the fix every record is delivered in order and the history is Ok;
// without pipelining one connection cannot reorder its tickets.
func TestBrokerSeedBug(t *testing.T) {
	tests := []struct {
		name  string
		setup setup
		check func(t *testing.T, o outcome)
	}{
		{
			name:  "after-stage pipelined: franz-go re-sends, log out of order",
			setup: setup{order: impl.AfterStage, pipeline: true, attempts: 20, untilBug: true},
			check: func(t *testing.T, o outcome) {
				wantBug(t, o)
				if o.failed != 0 {
					t.Errorf("%d records failed; franz-go should have re-sent them", o.failed)
				}
				if o.lost == 0 {
					t.Errorf("franz-go's data-loss hook did not fire")
				}
				// The re-sent batches carry a new epoch, so batches that
				// were already appended are appended again: duplicates.
				if distinct(o.log) != o.produced || inOrder(o.log) {
					t.Errorf("read back %d records, %d distinct of %d produced, in order %v; want all, out of order",
						len(o.log), distinct(o.log), o.produced, inOrder(o.log))
				}
				t.Logf("log: %d records for %d produced (%d duplicates)", len(o.log), o.produced, len(o.log)-o.produced)
			},
		},
		{
			name:  "after-stage pipelined, StopProducerOnDataLossDetected: batch fails",
			setup: setup{order: impl.AfterStage, pipeline: true, stopOnDataLoss: true, attempts: 20, untilBug: true},
			check: func(t *testing.T, o outcome) {
				wantBug(t, o)
				if o.failed == 0 {
					t.Errorf("no record failed; want the rejected batch failed")
				}
				if len(o.log) >= o.produced {
					t.Errorf("read back %d of %d records; want the failed ones missing", len(o.log), o.produced)
				}
			},
		},
		{
			name:  "before-stage pipelined: every record in order",
			setup: setup{order: impl.BeforeStage, pipeline: true, attempts: 3},
			check: wantClean,
		},
		{
			name:  "after-stage, one request at a time per connection: no reordering",
			setup: setup{order: impl.AfterStage, pipeline: false, attempts: 3},
			check: wantClean,
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			testflag.Run(t, 1, func(t *testing.T, seed int64) {
				o := runBroker(t, tt.setup, seed)
				want := checker.Ok
				if o.bug {
					want = checker.Illegal
				}
				res := checker.Check(o.history, checker.Options{Timeout: 20 * time.Second})
				if res.Verdict != want {
					t.Errorf("seed %d: got verdict %s, want %s: %s", seed, res.Verdict, want, res.Summary())
				}
				tt.check(t, o)
				// The broker's log, recorded by RecordLog, is read-checked:
				// with the fix nothing acked is lost or duplicated.
				if len(res.Reads) == 0 {
					t.Errorf("seed %d: no read-back counts; the broker's log was not recorded", seed)
				}
				acked, inLog := 0, 0
				for _, c := range res.Reads {
					acked, inLog = acked+c.Acked, inLog+c.InLog
					if !o.bug && (c.Lost != 0 || c.Duplicated != 0 || c.Unread != 0) {
						t.Errorf("seed %d: read back %+v; want nothing lost, duplicated or unread", seed, c)
					}
				}
				for _, v := range res.Violations {
					switch v.Name {
					case checker.LostWrite, checker.DuplicateInLog, checker.LogInSequence, checker.LogOffsetsDisjoint:
						if !o.bug {
							t.Errorf("seed %d: read violation without the seed bug: %v", seed, v)
						}
						t.Logf("read check: %v", v)
					}
				}
				if o.bug && !slices.ContainsFunc(res.Violations, func(v *checker.Violation) bool { return v.Name == checker.LogInSequence }) {
					t.Errorf("seed %d: the seed bug showed but the read check found no hole in the broker's log", seed)
				}
				t.Logf("read back from the broker's log: %d batches acked, %d in the log", acked, inLog)
			})
		})
	}
}

func wantBug(t *testing.T, o outcome) {
	t.Helper()
	if !o.bug {
		t.Fatalf("the seed bug did not show in %d attempts (skip-path decisions %d); try other seeds with -seed.first F -seeds K", o.attempts, o.skipPath)
	}
	if o.skipPath == 0 {
		t.Errorf("no append_unknown decision: the later batch did not take the unknown-producer path")
	}
}

func wantClean(t *testing.T, o outcome) {
	t.Helper()
	if o.bug || o.failed != 0 || o.lost != 0 {
		t.Errorf("seed bug %v, %d failed records, %d data-loss calls; want none", o.bug, o.failed, o.lost)
	}
	if len(o.log) != o.produced || !inOrder(o.log) {
		t.Errorf("read back %d of %d records, in order %v; want all in order", len(o.log), o.produced, inOrder(o.log))
	}
}

// TestBlackBoxAgreesWithWhiteBox puts the recording proxy between
// franz-go and the broker: the history decoded from the Kafka traffic
// has the same operations, in the same order, with the same outcomes as
// the implementation's own events, the same offsets (the implementation's
// log counts records as Kafka does, so the base offset a client gets is
// the one the implementation records), and the checker gives both the
// same verdict (Illegal with the pre-fix ordering once the seed bug
// shows, Ok with the fix).
func TestBlackBoxAgreesWithWhiteBox(t *testing.T) {
	for _, s := range []setup{
		{order: impl.AfterStage, pipeline: true, attempts: 20, untilBug: true, viaProxy: true},
		{order: impl.BeforeStage, pipeline: true, attempts: 2, viaProxy: true},
	} {
		t.Run(string(s.order), func(t *testing.T) {
			testflag.Run(t, 1, func(t *testing.T, seed int64) { blackAgreesWithWhite(t, s, seed) })
		})
	}
}

// blackAgreesWithWhite runs TestBlackBoxAgreesWithWhiteBox's setup s
// with seed.
func blackAgreesWithWhite(t *testing.T, s setup, seed int64) {
	o := runBroker(t, s, seed)
	if s.untilBug && !o.bug {
		t.Fatalf("seed %d: the seed bug did not show in %d attempts", seed, o.attempts)
	}
	white, black := clientView(o.history), clientView(o.wire)
	if len(white) == 0 || strings.Join(white, "\n") != strings.Join(black, "\n") {
		t.Errorf("implementation and wire histories differ:\nimpl:\n%s\nwire:\n%s", strings.Join(white, "\n"), strings.Join(black, "\n"))
	}
	vw := checker.Check(o.history, checker.Options{Timeout: 20 * time.Second})
	vb := checker.Check(o.wire, checker.Options{Timeout: 20 * time.Second})
	want := checker.Ok
	if o.bug {
		want = checker.Illegal
	}
	if vw.Verdict != want || vb.Verdict != want {
		t.Errorf("got verdicts %s (impl) and %s (wire), want %s:\n%s\n%s", vw.Verdict, vb.Verdict, want, vw.Summary(), vb.Summary())
	}
}

// clientView lists the operations of h in op order as the client sees
// them: batch identity and outcome (with the base offset of an ok),
// without op ids and times.
func clientView(h history.History) []string {
	calls := map[int64]string{}
	var order []int64
	results := map[int64]string{}
	for _, e := range h.Events {
		switch e.Kind {
		case history.Replicate:
			calls[e.Op] = fmt.Sprintf("%s pid=%d epoch=%d [%d,%d]", e.Partition, e.PID, e.Epoch, e.First, e.Last)
			order = append(order, e.Op)
		case history.Return:
			r := string(e.Result)
			switch e.Result {
			case history.Failed:
				r = e.Error.String()
			case history.OK:
				r = fmt.Sprintf("ok@%d", e.Offset)
			}
			results[e.Op] = r
		}
	}
	var out []string
	for _, op := range order {
		out = append(out, calls[op]+" -> "+results[op])
	}
	return out
}
