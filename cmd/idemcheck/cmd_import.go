package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"os"

	"github.com/idemcheck/idemcheck/history"
	"github.com/idemcheck/idemcheck/internal/kafkawire"
	"github.com/idemcheck/idemcheck/internal/pcap"
)

// runImport turns a packet capture of Kafka traffic into a history.
func runImport(ctx context.Context, env *cmdEnv, args []string) int {
	fs := flag.NewFlagSet("import", flag.ContinueOnError)
	fs.SetOutput(env.stderr)
	port := fs.Uint("port", 9092, "the broker's TCP port in the capture")
	out := fs.String("out", "", "history file to write, JSON Lines (required; - for stdout)")
	fs.Usage = func() {
		fmt.Fprintln(fs.Output(), `usage: idemcheck import FILE.pcap|FILE.pcapng --port 9092 --out FILE

Reassembles the TCP connections to or from the broker port in a capture
(tcpdump -w, Wireshark) and records one operation per idempotent record batch
of every Produce request, as 'idemcheck record' does. Retransmissions,
missing segments and connections whose start is not in the capture are
reported, not fatal. Check the result with 'idemcheck check FILE'.

Example:
  tcpdump -i lo -s 0 -w trace.pcap port 9092      # while the clients run
  idemcheck import trace.pcap --port 9092 --out trace.jsonl

Exit codes: 0 imported; 2 bad usage, or a capture that cannot be read.

flags:`)
		fs.PrintDefaults()
	}
	// Flags may come before or after the capture file.
	var files []string
	for {
		if err := fs.Parse(args); err != nil {
			if errors.Is(err, flag.ErrHelp) {
				return exitOK
			}
			return exitUsage
		}
		if fs.NArg() == 0 {
			break
		}
		files = append(files, fs.Arg(0))
		args = fs.Args()[1:]
	}
	if len(files) != 1 || *out == "" || *port == 0 || *port > 65535 {
		fmt.Fprintln(env.stderr, "idemcheck import: one capture file, --out and a --port in 1..65535 are required")
		fs.Usage()
		return exitUsage
	}
	in, err := os.Open(files[0])
	if err != nil {
		fmt.Fprintf(env.stderr, "idemcheck import: %v\n", err)
		return exitUsage
	}
	defer in.Close()
	w := env.stdout
	if *out != "-" {
		f, err := os.Create(*out)
		if err != nil {
			fmt.Fprintf(env.stderr, "idemcheck import: %v\n", err)
			return exitUsage
		}
		defer f.Close()
		w = f
	}
	rec, err := newLockedWriter(w, history.Header{Source: "import",
		Description: fmt.Sprintf("Kafka traffic imported by idemcheck import from %s, broker port %d", files[0], *port)})
	if err != nil {
		fmt.Fprintf(env.stderr, "idemcheck import: %v\n", err)
		return exitUsage
	}
	probs := &problemLog{w: env.stderr, prefix: "idemcheck import: "}
	rep, ierr := pcap.Import(in, rec, pcap.Options{Port: uint16(*port),
		Decoder: kafkawire.Options{OnProblem: probs.add}})
	if err := rec.Flush(); err != nil {
		fmt.Fprintf(env.stderr, "idemcheck import: %v\n", err)
		return exitUsage
	}
	if ierr != nil {
		fmt.Fprintf(env.stderr, "idemcheck import: %v\n", ierr)
		if errors.Is(ierr, pcap.ErrFormat) {
			return exitUsage
		}
	}
	st := rep.Decoder
	fmt.Fprintf(env.stderr, "idemcheck import: %d packets (%d to or from port %d), %d connections (%d without their start), %d retransmitted bytes dropped, %d bytes missing\n",
		rep.Packets, rep.Kafka, *port, rep.Conns, rep.MidStream, rep.OverlapBytes, st.MissingBytes)
	fmt.Fprintf(env.stderr, "idemcheck import: %d operations (%d unknown), %d non-idempotent batches skipped, %d traffic problems; wrote %s\n",
		st.Operations, st.Unknown, st.Skipped, st.Problems, *out)
	if rec.err != nil {
		fmt.Fprintf(env.stderr, "idemcheck import: the history is incomplete: %v\n", rec.err)
		return exitUsage
	}
	if st.Operations == 0 {
		fmt.Fprintf(env.stderr, "idemcheck import: no idempotent produce traffic on port %d (wrong --port?)\n", *port)
		return exitUsage
	}
	if ierr != nil {
		return exitUsage
	}
	return exitOK
}
