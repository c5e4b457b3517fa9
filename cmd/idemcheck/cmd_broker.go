package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"math/rand/v2"
	"net"
	"os"
	"time"

	"github.com/idemcheck/idemcheck/history"
	"github.com/idemcheck/idemcheck/impl"
	"github.com/idemcheck/idemcheck/impl/server"
	"github.com/idemcheck/idemcheck/internal/kafkabroker"
)

// runBroker serves the reference implementation over the Kafka protocol
// until ctx is cancelled (SIGINT).
func runBroker(ctx context.Context, env *cmdEnv, args []string) int {
	fs := flag.NewFlagSet("broker", flag.ContinueOnError)
	fs.SetOutput(env.stderr)
	listen := fs.String("listen", "127.0.0.1:9092", "address to accept Kafka clients on (also advertised in Metadata unless --advertise)")
	advertise := fs.String("advertise", "", "address HOST:PORT to advertise in Metadata (default: the address each client connected to)")
	order := fs.String("ticket-order", string(impl.BeforeStage), "where tickets are reserved: before-stage (the fix) or after-stage (pre-fix)")
	pipeline := fs.Bool("pipeline", false, "read a connection's next request without waiting for the previous produce's enqueued stage")
	stageDelay := fs.Duration("stage-delay", 4*time.Millisecond, "upper bound of the random stage_write delay")
	uploadDelay := fs.Duration("upload-delay", 2*time.Millisecond, "upper bound of the random upload delay")
	uploadFail := fs.Float64("upload-fail", 0, "probability that an upload fails (REQUEST_TIMED_OUT)")
	evictIdle := fs.Duration("evict-idle", 0, "evict producers idle this long from a partition's idempotency state (0: never)")
	partitions := fs.Int("partitions", 1, "partitions of a topic created on first mention")
	out := fs.String("history", "", "write the implementation's events (white-box history) to this file")
	seed := fs.Uint64("seed", 1, "seed of the data plane's random delays and failures")
	quiet := fs.Bool("quiet", false, "do not log connections")
	fs.Usage = func() {
		fmt.Fprintln(fs.Output(), `usage: idemcheck broker --listen ADDR [--advertise HOST:PORT] [--ticket-order before-stage|after-stage]
       [--pipeline] [--stage-delay D] [--upload-delay D] [--evict-idle D] [--history FILE]

Serves the reference implementation of the cloud-topics write path to Kafka
clients (ApiVersions, Metadata, InitProducerId, Produce, ListOffsets, Fetch;
idempotent producers only, no transactions, one broker, node 0). A batch
without a producer id gets INVALID_RECORD (logged), one older than its
producer's epoch on the partition INVALID_PRODUCER_EPOCH. stage_write
and upload complete after random delays, so they finish out of order.

By default a connection reads its next request only after the previous
produce's enqueued stage fired, as Redpanda does: one connection then cannot
reorder its own tickets. --pipeline drops that wait. The seed bug (PR #30429)
is reachable from an unmodified client with --ticket-order after-stage
--pipeline: a producer that pipelines (franz-go: up to 5 requests in flight
once a partition acked its first batch; the Java client from the start) gets
OUT_OF_ORDER_SEQUENCE_NUMBER for an earlier batch after a later one took the
unknown-producer path. With franz-go add --evict-idle (say 100ms) and pause
between bursts, so that the producer is unknown again when it pipelines.
Stop with Ctrl-C; check the history with 'idemcheck check FILE'. When it
stops, the broker appends its log to the history (one LogBatch per batch,
as a reader from offset 0 would see it), so the check also verifies the
log against the acks (read back: acked, in log, lost).

Example:
  idemcheck broker --listen 127.0.0.1:9092 --ticket-order after-stage --pipeline --history h.jsonl

Exit codes: 0 stopped (Ctrl-C, SIGTERM) with the history flushed; 2 bad
usage, an address it cannot listen on, or a history it cannot write.

flags:`)
		fs.PrintDefaults()
	}
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return exitOK
		}
		return exitUsage
	}
	to, err := impl.ParseTicketOrder(*order)
	if err != nil || fs.NArg() > 0 || *partitions < 1 || *uploadFail < 0 || *uploadFail > 1 || *stageDelay < 0 || *uploadDelay < 0 {
		fmt.Fprintln(env.stderr, "idemcheck broker: bad flags: --ticket-order is before-stage or after-stage, --partitions >= 1, --upload-fail in [0,1], delays >= 0, no arguments")
		fs.Usage()
		return exitUsage
	}
	var rec *lockedWriter
	if *out != "" {
		f, err := os.Create(*out)
		if err != nil {
			fmt.Fprintf(env.stderr, "idemcheck broker: %v\n", err)
			return exitUsage
		}
		defer f.Close()
		rec, err = newLockedWriter(f, history.Header{Source: "impl", TicketOrder: string(to),
			Description: fmt.Sprintf("idemcheck broker, ticket order %s, pipeline %v, stage delay < %v, upload delay < %v", to, *pipeline, *stageDelay, *uploadDelay),
			Seed:        int64(*seed)})
		if err != nil {
			fmt.Fprintf(env.stderr, "idemcheck broker: %v\n", err)
			return exitUsage
		}
	}
	var last int64
	cfg := server.Config{TicketOrder: to,
		Clock: func() int64 { // the server's goroutine only
			last = max(last, time.Now().UnixNano())
			return last
		},
		Rand: rand.New(rand.NewPCG(*seed, 0x1de)), MaxStageDelay: *stageDelay, MaxUploadDelay: *uploadDelay, UploadFail: *uploadFail}
	if rec != nil {
		cfg.Recorder = rec
	}
	srv, err := server.New(cfg)
	if err != nil {
		fmt.Fprintf(env.stderr, "idemcheck broker: %v\n", err)
		return exitUsage
	}
	logf := func(format string, args ...any) { fmt.Fprintf(env.stderr, format+"\n", args...) }
	if *quiet {
		logf = nil
	}
	b, err := kafkabroker.New(kafkabroker.Config{Server: srv, Pipeline: *pipeline, Partitions: int32(*partitions),
		EvictIdle: *evictIdle, Advertise: *advertise, Logf: logf})
	if err != nil {
		srv.Close()
		fmt.Fprintf(env.stderr, "idemcheck broker: %v\n", err)
		return exitUsage
	}
	ln, err := net.Listen("tcp", *listen)
	if err != nil {
		srv.Close()
		fmt.Fprintf(env.stderr, "idemcheck broker: %v\n", err)
		return exitUsage
	}
	fmt.Fprintf(env.stderr, "idemcheck broker: serving on %s, ticket order %s, pipeline %v (Ctrl-C to stop)\n", ln.Addr(), to, *pipeline)
	serveErr := b.Serve(ctx, ln)
	code := exitOK
	if rec != nil {
		// The log as a reader from offset 0 would see it, so that the
		// history is read-checked too (ctx is done by now).
		if err := b.RecordLog(context.Background(), rec); err != nil {
			fmt.Fprintf(env.stderr, "idemcheck broker: %v\n", err)
			code = exitUsage
		}
	}
	if err := srv.Close(); err != nil {
		fmt.Fprintf(env.stderr, "idemcheck broker: the history is incomplete: %v\n", err)
		code = exitUsage
	}
	if serveErr != nil {
		fmt.Fprintf(env.stderr, "idemcheck broker: %v\n", serveErr)
		code = exitUsage
	}
	if rec != nil {
		if err := rec.Flush(); err != nil {
			fmt.Fprintf(env.stderr, "idemcheck broker: %v\n", err)
			code = exitUsage
		}
		fmt.Fprintf(env.stderr, "idemcheck broker: wrote %s; check it with 'idemcheck check %s'\n", *out, *out)
	}
	return code
}
