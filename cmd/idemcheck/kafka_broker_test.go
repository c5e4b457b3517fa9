package main

import (
	"bytes"
	"context"
	"fmt"
	"path/filepath"
	"strings"
	"testing"

	"github.com/idemcheck/idemcheck/history"
	"github.com/twmb/franz-go/pkg/kgo"
)

// TestBrokerCLI runs "idemcheck broker" with the fix and pipelining,
// produces with an idempotent franz-go producer, stops the broker as
// SIGINT would, and checks the white-box history it wrote: every batch
// acked, and "idemcheck check" finds it Ok.
func TestBrokerCLI(t *testing.T) {
	dir := t.TempDir()
	out := filepath.Join(dir, "broker.jsonl")
	listen := freeAddr(t)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	var stderr bytes.Buffer
	done := make(chan int, 1)
	go func() {
		done <- run(ctx, &cmdEnv{stdout: &bytes.Buffer{}, stderr: &stderr},
			[]string{"broker", "--listen", listen, "--pipeline", "--history", out, "--quiet"})
	}()
	waitListening(t, listen)
	cl, err := kgo.NewClient(kgo.SeedBrokers(listen), kgo.DefaultProduceTopic("t"))
	if err != nil {
		t.Fatal(err)
	}
	const batches = 4
	for i := 0; i < batches; i++ {
		if err := cl.ProduceSync(ctx, &kgo.Record{Value: []byte(fmt.Sprint(i))}).FirstErr(); err != nil {
			t.Fatal(err)
		}
	}
	cl.Close()
	cancel()
	if code := <-done; code != exitOK {
		t.Fatalf("broker exited %d: %s", code, stderr.String())
	}
	h, err := history.ReadFile(out)
	if err != nil {
		t.Fatal(err)
	}
	var ok, internal, logged int
	for _, e := range h.Events {
		switch {
		case e.Kind == history.LogBatch:
			logged++
		case e.Kind == history.Return && e.Result == history.OK:
			ok++
		case e.Kind.Internal():
			internal++
		}
	}
	if ok != batches || internal == 0 || h.Header.TicketOrder != "before-stage" {
		t.Fatalf("got %d ok returns, %d internal events, ticket order %q; want %d, some, before-stage", ok, internal, h.Header.TicketOrder, batches)
	}
	// The broker's log at its stop: one LogBatch per appended batch, so
	// the history is read-checked.
	if logged != batches {
		t.Errorf("got %d LogBatch events; want %d, one per appended batch", logged, batches)
	}
	code, outs, errs := runCLI(t, nil, "check", out)
	if code != exitOK {
		t.Errorf("check exited %d: %s", code, errs)
	}
	if want := fmt.Sprintf("%d acked, %d in log, 0 lost, 0 duplicated, 0 unread", batches, batches); !strings.Contains(outs, want) {
		t.Errorf("check's output lacks the read-back line %q:\n%s", want, outs)
	}
}

// TestBrokerCLIUsage checks that bad flags are refused.
func TestBrokerCLIUsage(t *testing.T) {
	for _, args := range [][]string{
		{"broker", "--ticket-order", "sideways"},
		{"broker", "--partitions", "0"},
		{"broker", "extra"},
	} {
		code, _, errs := runCLI(t, nil, args...)
		if code != exitUsage || !strings.Contains(errs, "bad flags") {
			t.Errorf("%v: got exit %d, stderr %q", args, code, errs)
		}
	}
	if code, _, errs := runCLI(t, nil, "broker", "--advertise", "nohost"); code != exitUsage || !strings.Contains(errs, "not HOST:PORT") {
		t.Errorf("--advertise nohost: got exit %d, stderr %q", code, errs)
	}
}
