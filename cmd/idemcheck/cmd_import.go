package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"strings"

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
	// The history goes to a temporary file beside --out, renamed into
	// place only when the import succeeds: a failed import (wrong port,
	// unreadable capture) leaves no file that looks like a history.
	w := env.stdout
	var tmp *os.File
	if *out != "-" {
		tmp, err = os.CreateTemp(filepath.Dir(*out), ".idemcheck-import-*.jsonl")
		if err != nil {
			fmt.Fprintf(env.stderr, "idemcheck import: %v\n", err)
			return exitUsage
		}
		defer func() {
			tmp.Close()
			os.Remove(tmp.Name())
		}()
		w = tmp
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
		if errors.Is(ierr, pcap.ErrFormat) || errors.Is(ierr, pcap.ErrSnapLen) {
			fmt.Fprintf(env.stderr, "idemcheck import: %s not written\n", *out)
			return exitUsage
		}
	}
	st := rep.Decoder
	fmt.Fprintf(env.stderr, "idemcheck import: %d packets (%d to or from port %d), %d connections (%d without their start), %d retransmitted bytes dropped, %d bytes missing\n",
		rep.Packets, rep.Kafka, *port, rep.Conns, rep.MidStream, rep.OverlapBytes, st.MissingBytes)
	fmt.Fprintf(env.stderr, "idemcheck import: %d operations (%d unknown), %d non-idempotent batches skipped, %d batches read back (Fetch), %d traffic problems\n",
		st.Operations, st.Unknown, st.Skipped, st.LogBatches, st.Problems)
	if rec.err != nil {
		fmt.Fprintf(env.stderr, "idemcheck import: the history is incomplete: %v\n", rec.err)
		return exitUsage
	}
	if rep.Undecodable > 0 {
		var links []string
		for lt, n := range rep.UndecodableByLink {
			links = append(links, fmt.Sprintf("%d of link type %v (%d)", n, lt, int(lt)))
		}
		sort.Strings(links)
		fmt.Fprintf(env.stderr, "idemcheck import: %d packets could not be decoded: %s; import reads Ethernet, raw IP and Linux cooked (v1, v2) captures\n",
			rep.Undecodable, strings.Join(links, ", "))
	}
	if rep.Truncated {
		fmt.Fprintf(env.stderr, "idemcheck import: warning: the capture ends in a partial packet (cut short, or tcpdump killed?): imported the %d packets before it\n", rep.Packets)
	}
	if st.Operations == 0 {
		fmt.Fprintf(env.stderr, "idemcheck import: no idempotent produce traffic on port %d (wrong --port?); %s not written\n", *port, *out)
		return exitUsage
	}
	if ierr != nil {
		return exitUsage
	}
	if tmp != nil {
		if err := tmp.Chmod(0o644); err != nil {
			fmt.Fprintf(env.stderr, "idemcheck import: %v\n", err)
			return exitUsage
		}
		if err := tmp.Close(); err != nil {
			fmt.Fprintf(env.stderr, "idemcheck import: %v\n", err)
			return exitUsage
		}
		if err := os.Rename(tmp.Name(), *out); err != nil {
			fmt.Fprintf(env.stderr, "idemcheck import: %v\n", err)
			return exitUsage
		}
		fmt.Fprintf(env.stderr, "idemcheck import: wrote %s\n", *out)
	}
	return exitOK
}
