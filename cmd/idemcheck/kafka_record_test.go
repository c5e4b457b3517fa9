package main

import (
	"bytes"
	"context"
	"fmt"
	"net"
	"net/netip"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/idemcheck/idemcheck/history"
	"github.com/twmb/franz-go/pkg/kfake"
	"github.com/twmb/franz-go/pkg/kgo"
)

// freeAddr returns a loopback address with a port free a moment ago.
func freeAddr(t *testing.T) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	ln.Close()
	return addr
}

// waitListening dials addr until it accepts.
func waitListening(t *testing.T, addr string) {
	t.Helper()
	for i := 0; i < 200; i++ {
		c, err := net.Dial("tcp", addr)
		if err == nil {
			c.Close()
			return
		}
		time.Sleep(10 * time.Millisecond)
	}
	t.Fatalf("nothing listens on %s", addr)
}

// TestRecordAndImportCLI runs "idemcheck record" (with --pcap) between
// an idempotent franz-go producer and kfake, stops it as SIGINT would
// (context cancellation), and checks that the flushed history has one
// ok operation per batch, that "idemcheck check" finds it Ok, and that
// "idemcheck import" of the capture writes the same events.
func TestRecordAndImportCLI(t *testing.T) {
	cluster, err := kfake.NewCluster(kfake.NumBrokers(1), kfake.SeedTopics(1, "t"))
	if err != nil {
		t.Fatal(err)
	}
	defer cluster.Close()
	upstream := cluster.ListenAddrs()[0]
	dir := t.TempDir()
	out, pcap, imported := filepath.Join(dir, "rec.jsonl"), filepath.Join(dir, "rec.pcap"), filepath.Join(dir, "imp.jsonl")
	listen := freeAddr(t)

	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	var stderr bytes.Buffer
	done := make(chan int, 1)
	go func() {
		done <- run(ctx, &cmdEnv{stdout: &bytes.Buffer{}, stderr: &stderr},
			[]string{"record", "--listen", listen, "--upstream", upstream, "--out", out, "--pcap", pcap, "--quiet"})
	}()
	waitListening(t, listen)

	var d net.Dialer
	cl, err := kgo.NewClient(kgo.SeedBrokers(listen), kgo.DefaultProduceTopic("t"),
		kgo.Dialer(func(ctx context.Context, network, _ string) (net.Conn, error) {
			return d.DialContext(ctx, network, listen)
		}))
	if err != nil {
		t.Fatal(err)
	}
	const batches = 5
	for i := 0; i < batches; i++ {
		if err := cl.ProduceSync(ctx, &kgo.Record{Value: []byte(fmt.Sprint(i))}).FirstErr(); err != nil {
			t.Fatal(err)
		}
	}
	cl.Close()
	cancel()
	if code := <-done; code != exitOK {
		t.Fatalf("record exited %d: %s", code, stderr.String())
	}
	h, err := history.ReadFile(out)
	if err != nil {
		t.Fatal(err)
	}
	var ok int
	for _, e := range h.Events {
		if e.Kind == history.Return && e.Result == history.OK {
			ok++
		}
	}
	if ok != batches || h.Header.Source != "record" {
		t.Fatalf("got %d ok returns (source %q), want %d:\n%v", ok, h.Header.Source, batches, h.Events)
	}
	if code, _, errs := runCLI(t, nil, "check", out); code != exitOK {
		t.Errorf("check exited %d: %s", code, errs)
	}

	port := netip.MustParseAddrPort(upstream).Port()
	code, _, errs := runCLI(t, nil, "import", pcap, "--port", fmt.Sprint(port), "--out", imported)
	if code != exitOK {
		t.Fatalf("import exited %d: %s", code, errs)
	}
	if !strings.Contains(errs, fmt.Sprintf("%d operations (0 unknown)", batches)) {
		t.Errorf("import summary: %s", errs)
	}
	hi, err := history.ReadFile(imported)
	if err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(hi.Events, h.Events) {
		t.Errorf("import differs from record:\n%v\n%v", hi.Events, h.Events)
	}

	// A wrong port imports nothing and leaves no file behind.
	wrong := filepath.Join(dir, "wrong.jsonl")
	code, _, errs = runCLI(t, nil, "import", pcap, "--port", fmt.Sprint(port+1), "--out", wrong)
	if _, err := os.Stat(wrong); code != exitUsage || !strings.Contains(errs, "wrong --port?") || err == nil {
		t.Errorf("wrong port: exit %d, file stat error %v, stderr:\n%s", code, err, errs)
	}
	// A capture cut short is imported up to the cut, with a warning.
	data, err := os.ReadFile(pcap)
	if err != nil {
		t.Fatal(err)
	}
	cut := filepath.Join(dir, "cut.pcap")
	if err := os.WriteFile(cut, data[:len(data)-7], 0o644); err != nil {
		t.Fatal(err)
	}
	code, _, errs = runCLI(t, nil, "import", cut, "--port", fmt.Sprint(port), "--out", filepath.Join(dir, "cut.jsonl"))
	if code != exitOK || !strings.Contains(errs, "warning: the capture ends in a partial packet") {
		t.Errorf("cut capture: exit %d, stderr:\n%s", code, errs)
	}
}

// TestImportCLIErrors checks the import command's refusals: not a
// capture, no Kafka traffic on the port, missing flags.
func TestImportCLIErrors(t *testing.T) {
	dir := t.TempDir()
	notPcap := filepath.Join(dir, "x.pcap")
	writeKafkaTestFile(t, notPcap, "hello")
	tests := []struct {
		args []string
		want string
	}{
		{[]string{"import", notPcap, "--out", filepath.Join(dir, "o.jsonl")}, "not a pcap or pcapng file"},
		{[]string{"import", notPcap}, "--out"},
		{[]string{"import", "--out", "x"}, "one capture file"},
		{[]string{"import", filepath.Join(dir, "missing.pcap"), "--out", filepath.Join(dir, "o.jsonl")}, "no such file"},
	}
	for _, tt := range tests {
		code, _, errs := runCLI(t, nil, tt.args...)
		if code != exitUsage || !strings.Contains(errs, tt.want) {
			t.Errorf("%v: got exit %d, stderr %q; want exit %d mentioning %q", tt.args, code, errs, exitUsage, tt.want)
		}
	}
}

func writeKafkaTestFile(t *testing.T, path, content string) {
	t.Helper()
	if err := os.WriteFile(path, []byte(content), 0o644); err != nil {
		t.Fatal(err)
	}
}
