package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"net"
	"os"
	"sync"
	"time"

	"github.com/idemcheck/idemcheck/history"
	"github.com/idemcheck/idemcheck/internal/kafkawire"
	"github.com/idemcheck/idemcheck/internal/pcap"
	"github.com/idemcheck/idemcheck/internal/proxy"
)

// maxShownProblems bounds the traffic problems printed one by one.
const maxShownProblems = 20

// runRecord runs the recording proxy until ctx is cancelled (SIGINT).
func runRecord(ctx context.Context, env *cmdEnv, args []string) int {
	fs := flag.NewFlagSet("record", flag.ContinueOnError)
	fs.SetOutput(env.stderr)
	listen := fs.String("listen", "127.0.0.1:9192", "address to accept Kafka clients on")
	upstream := fs.String("upstream", "", "broker address HOST:PORT to forward to (required)")
	out := fs.String("out", "", "history file to write, JSON Lines (required)")
	pcapOut := fs.String("pcap", "", "also write a pcap capture of the traffic to this file")
	advertise := fs.String("advertise-host", "", "host that rewritten Metadata advertises for the proxy's listeners (default: the address each client reached the proxy at)")
	quiet := fs.Bool("quiet", false, "do not log connections")
	fs.Usage = func() {
		fmt.Fprintln(fs.Output(), `usage: idemcheck record --listen ADDR --upstream HOST:PORT --out FILE [--pcap FILE] [--advertise-host HOST]

Forwards Kafka traffic unchanged between clients and one broker and records
one operation per idempotent record batch of every Produce request: the call
when the request arrives, the return (the partition's error code, or ok and
the batch's offset) when the response leaves. A dropped connection turns its
unanswered requests into unknown outcomes. Stop with Ctrl-C (SIGINT): the
history is flushed and can be checked with 'idemcheck check FILE'.

Clients learn broker addresses from Metadata responses: record rewrites them
(and FindCoordinator and DescribeCluster responses) so that every broker is
reached through the proxy. --listen serves the --upstream broker; each other
broker node gets a listener on the same host, on the next free port after
--listen's or else an ephemeral one, logged when it opens. A response that
still advertises an address the proxy does not serve is passed on with a
warning on stderr (once per address). Batches without a producer id
(non-idempotent) are counted and skipped; acks=0 produce requests get no
response, so their batches are recorded as unknown outcomes.

Example:
  idemcheck record --listen 127.0.0.1:19092 --upstream 127.0.0.1:9092 --out h.jsonl

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
	if *upstream == "" || *out == "" || fs.NArg() > 0 {
		fmt.Fprintln(env.stderr, "idemcheck record: --upstream and --out are required and no arguments are taken")
		fs.Usage()
		return exitUsage
	}
	f, err := os.Create(*out)
	if err != nil {
		fmt.Fprintf(env.stderr, "idemcheck record: %v\n", err)
		return exitUsage
	}
	defer f.Close()
	rec, err := newLockedWriter(f, history.Header{Source: "record",
		Description: fmt.Sprintf("Kafka traffic recorded by idemcheck record in front of %s", *upstream)})
	if err != nil {
		fmt.Fprintf(env.stderr, "idemcheck record: %v\n", err)
		return exitUsage
	}
	var pw *pcap.Writer
	if *pcapOut != "" {
		pf, err := os.Create(*pcapOut)
		if err != nil {
			fmt.Fprintf(env.stderr, "idemcheck record: %v\n", err)
			return exitUsage
		}
		defer pf.Close()
		if pw, err = pcap.NewWriter(pf); err != nil {
			fmt.Fprintf(env.stderr, "idemcheck record: %v\n", err)
			return exitUsage
		}
	}
	probs := &problemLog{w: env.stderr, prefix: "idemcheck record: "}
	logf := func(format string, args ...any) { fmt.Fprintf(env.stderr, format+"\n", args...) }
	if *quiet {
		logf = nil
	}
	warnf := func(format string, args ...any) {
		fmt.Fprintf(env.stderr, "idemcheck record: warning: "+format+"\n", args...)
	}
	p, err := proxy.New(proxy.Options{Upstream: *upstream, Recorder: rec, PCAP: pw,
		Decoder: kafkawire.Options{OnProblem: probs.add}, Logf: logf, Warnf: warnf, AdvertiseHost: *advertise})
	if err != nil {
		fmt.Fprintf(env.stderr, "idemcheck record: %v\n", err)
		return exitUsage
	}
	ln, err := net.Listen("tcp", *listen)
	if err != nil {
		fmt.Fprintf(env.stderr, "idemcheck record: %v\n", err)
		return exitUsage
	}
	fmt.Fprintf(env.stderr, "idemcheck record: proxying %s -> %s, writing %s (Ctrl-C to stop)\n", ln.Addr(), *upstream, *out)

	// Flush now and then, so that a killed proxy leaves most of the
	// history behind.
	flushDone := make(chan struct{})
	go func() {
		t := time.NewTicker(time.Second)
		defer t.Stop()
		for {
			select {
			case <-t.C:
				rec.Flush()
			case <-flushDone:
				return
			}
		}
	}()
	serveErr := p.Serve(ctx, ln)
	close(flushDone)
	code := exitOK
	if err := rec.Flush(); err != nil {
		fmt.Fprintf(env.stderr, "idemcheck record: %v\n", err)
		code = exitUsage
	}
	if pw != nil && pw.Err() != nil {
		fmt.Fprintf(env.stderr, "idemcheck record: %v\n", pw.Err())
		code = exitUsage
	}
	if serveErr != nil {
		fmt.Fprintf(env.stderr, "idemcheck record: %v\n", serveErr)
		code = exitUsage
	}
	st := p.Stats()
	fmt.Fprintf(env.stderr, "idemcheck record: %d connections, %d operations (%d unknown), %d non-idempotent batches skipped, %d batches read back (Fetch), %d traffic problems; wrote %s\n",
		st.Conns, st.Operations, st.Unknown, st.Skipped, st.LogBatches, st.Problems, *out)
	if rec.err != nil {
		fmt.Fprintf(env.stderr, "idemcheck record: the history is incomplete: %v\n", rec.err)
		code = exitUsage
	}
	return code
}

// lockedWriter is a history.JSONLWriter behind a mutex, so that the
// decoder's records and the periodic flushes do not interleave.
type lockedWriter struct {
	mu  sync.Mutex
	w   *history.JSONLWriter
	err error // first record error
}

func newLockedWriter(w io.Writer, h history.Header) (*lockedWriter, error) {
	jw, err := history.NewJSONLWriter(w, h)
	if err != nil {
		return nil, err
	}
	return &lockedWriter{w: jw}, nil
}

// Record writes one event.
func (l *lockedWriter) Record(e history.Event) error {
	l.mu.Lock()
	defer l.mu.Unlock()
	err := l.w.Record(e)
	if err != nil && l.err == nil {
		l.err = err
	}
	return err
}

// Flush flushes the buffered lines.
func (l *lockedWriter) Flush() error {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.w.Flush()
}

// problemLog prints the first traffic problems and counts the rest.
type problemLog struct {
	mu     sync.Mutex
	w      io.Writer
	prefix string
	n      int
}

func (pl *problemLog) add(p kafkawire.Problem) {
	pl.mu.Lock()
	defer pl.mu.Unlock()
	pl.n++
	switch {
	case pl.n <= maxShownProblems:
		fmt.Fprintf(pl.w, "%s%v\n", pl.prefix, p)
	case pl.n == maxShownProblems+1:
		fmt.Fprintf(pl.w, "%sfurther problems are counted, not shown\n", pl.prefix)
	}
}
