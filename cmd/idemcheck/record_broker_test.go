package main

import (
	"bytes"
	"context"
	"fmt"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/IBM/sarama"
	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/idemcheck/idemcheck/history"
)

// recordedBroker is "idemcheck broker" with "idemcheck record" in front
// of it, both run as the CLI runs them.
type recordedBroker struct {
	proxy string // the address clients are given
	out   string // the record's history file
	stop  func() (recordErr, brokerErr string)
}

// startRecordedBroker starts "idemcheck broker" with brokerArgs and
// "idemcheck record" in front of it, with no other flags: the broker
// advertises its own address and the proxy rewrites it.
func startRecordedBroker(t *testing.T, brokerArgs ...string) *recordedBroker {
	t.Helper()
	dir := t.TempDir()
	blisten, plisten := freeAddr(t), freeAddr(t)
	out := filepath.Join(dir, "rec.jsonl")
	bctx, bcancel := context.WithCancel(context.Background())
	pctx, pcancel := context.WithCancel(context.Background())
	var berr, perr bytes.Buffer
	bdone, pdone := make(chan int, 1), make(chan int, 1)
	go func() {
		bdone <- run(bctx, &cmdEnv{stdout: &bytes.Buffer{}, stderr: &berr},
			append([]string{"broker", "--listen", blisten, "--quiet"}, brokerArgs...))
	}()
	waitListening(t, blisten)
	go func() {
		pdone <- run(pctx, &cmdEnv{stdout: &bytes.Buffer{}, stderr: &perr},
			[]string{"record", "--listen", plisten, "--upstream", blisten, "--out", out, "--quiet"})
	}()
	waitListening(t, plisten)
	stopped := false
	rb := &recordedBroker{proxy: plisten, out: out}
	rb.stop = func() (string, string) {
		if !stopped {
			stopped = true
			pcancel()
			if code := <-pdone; code != exitOK {
				t.Errorf("record exited %d: %s", code, perr.String())
			}
			bcancel()
			if code := <-bdone; code != exitOK {
				t.Errorf("broker exited %d: %s", code, berr.String())
			}
		}
		return perr.String(), berr.String()
	}
	t.Cleanup(func() { rb.stop() })
	return rb
}

// recordedOps counts the history's operations and ok returns.
func recordedOps(t *testing.T, path string) (ops, ok int) {
	t.Helper()
	h, err := history.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	for _, e := range h.Events {
		switch {
		case e.Kind == history.Replicate:
			ops++
		case e.Kind == history.Return && e.Result == history.OK:
			ok++
		}
	}
	return ops, ok
}

// TestRecordInFrontOfBroker runs "idemcheck record" in front of
// "idemcheck broker" with nothing but --upstream: a franz-go producer
// given only the proxy's address, with no dialer of its own, follows
// Metadata and reaches the broker through the proxy, so the history
// holds its batches. With the fix the history is Ok. Pre-fix (after-stage
// ticket order, pipelined requests, producers evicted when idle), each
// attempt is a new producer that writes one record, pauses until it is
// evicted, then pipelines a burst, until franz-go reports the data loss
// the seed bug causes: the history is Illegal. A franz-go consumer then
// reads the log back through the proxy; pre-fix, the check names the hole
// from those Fetch responses: the batch rejected as out of order and the
// acked batch after it.
func TestRecordInFrontOfBroker(t *testing.T) {
	tests := []struct {
		name     string
		args     []string
		attempts int
		want     int // exit code of idemcheck check
	}{
		{"fix", []string{"--pipeline", "--evict-idle", "40ms"}, 2, exitOK},
		{"pre-fix", []string{"--ticket-order", "after-stage", "--pipeline", "--evict-idle", "40ms"}, 30, exitViolation},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			rb := startRecordedBroker(t, tt.args...)
			ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
			defer cancel()
			var mu sync.Mutex
			lost, failed, produced := 0, 0, 0
			attempts := 0
			for attempts < tt.attempts && (tt.want == exitOK || lost == 0) {
				attempts++
				cl, err := kgo.NewClient(kgo.SeedBrokers(rb.proxy), kgo.DefaultProduceTopic("t"),
					kgo.ProducerBatchMaxBytes(512), kgo.ProducerLinger(0),
					kgo.RetryBackoffFn(func(int) time.Duration { return 5 * time.Millisecond }),
					kgo.MetadataMinAge(10*time.Millisecond),
					kgo.ProducerOnDataLossDetected(func(string, int32) { mu.Lock(); lost++; mu.Unlock() }))
				if err != nil {
					t.Fatal(err)
				}
				burst := func(from, n int) {
					var wg sync.WaitGroup
					for i := from; i < from+n; i++ {
						wg.Add(1)
						produced++
						r := &kgo.Record{Value: []byte(fmt.Sprintf("%02d-%03d-%s", attempts, i, strings.Repeat("v", 60)))}
						cl.Produce(ctx, r, func(_ *kgo.Record, err error) {
							if err != nil {
								mu.Lock()
								failed++
								mu.Unlock()
							}
							wg.Done()
						})
					}
					wg.Wait()
				}
				burst(0, 1)
				time.Sleep(100 * time.Millisecond)
				burst(1, 30)
				cl.Close()
			}
			// A consumer reads the log back through the proxy: its Fetch
			// responses become LogBatch events.
			cons, err := kgo.NewClient(kgo.SeedBrokers(rb.proxy), kgo.ConsumeTopics("t"),
				kgo.ConsumeResetOffset(kgo.NewOffset().AtStart()), kgo.FetchMaxWait(100*time.Millisecond))
			if err != nil {
				t.Fatal(err)
			}
			read := 0
			for {
				pctx, pcancel := context.WithTimeout(ctx, 500*time.Millisecond)
				fs := cons.PollFetches(pctx)
				pcancel()
				n := read
				fs.EachRecord(func(*kgo.Record) { read++ })
				if read == n || ctx.Err() != nil {
					break
				}
			}
			cons.Close()
			perr, _ := rb.stop()
			ops, ok := recordedOps(t, rb.out)
			code, stdout, cerr := runCLI(t, nil, "check", rb.out)
			t.Logf("%d attempts, %d records produced (%d failed, %d data-loss reports); record: %d operations, %d ok; check exit %d: %s",
				attempts, produced, failed, lost, ops, ok, code, strings.TrimSpace(stdout+cerr))
			// At least two batches per attempt (the lone record and the
			// burst); a client that bypassed the proxy leaves only the
			// first attempt's bootstrap traffic, if anything.
			if ops < 2*attempts || ok == 0 {
				t.Errorf("the history has %d operations, %d ok, for %d attempts: traffic bypassed the proxy?\n%s", ops, ok, attempts, perr)
			}
			if strings.Contains(perr, "warning") {
				t.Errorf("record warned:\n%s", perr)
			}
			if code != tt.want {
				t.Errorf("check exited %d, want %d:\n%s%s", code, tt.want, stdout, cerr)
			}
			// The read check: the consumer's records are in the history,
			// and pre-fix the log it read has the hole the lost batch left,
			// named with the acked batch after it.
			if !strings.Contains(stdout, "read back: ") || read == 0 {
				t.Errorf("the consumer read %d records; no read-back counts in the check:\n%s", read, stdout)
			}
			if tt.want == exitOK && (strings.Contains(stdout, "lost") && !strings.Contains(stdout, " 0 lost") || strings.Contains(stdout, "violation")) {
				t.Errorf("fix: the read check found something:\n%s", stdout)
			}
			// Pre-fix, whether the consumer sees a hole depends on the
			// race and on what franz-go does after it (it may bump its
			// epoch and resend the rejected batch), so only the verdict
			// is asserted here; internal/agreement's
			// TestReadBackSeedScenario shows the hole named, every time.
			if tt.want == exitViolation && !strings.Contains(stdout, "violation LogInSequence") {
				t.Logf("pre-fix: this run's read back shows no hole (the verdict came from the write path)")
			}
			for _, line := range strings.Split(stdout, "\n") {
				if strings.Contains(line, "read back:") || strings.Contains(line, "hole in the log") {
					t.Log(strings.TrimSpace(line))
				}
			}
		})
	}
}

// kcatProduce runs one kcat idempotent producer (librdkafka) through
// addr: one record, a pause of pause, then n records, one batch each
// with up to five requests in flight.
func kcatProduce(t *testing.T, kcat, addr string, attempt, n int, pause time.Duration) string {
	t.Helper()
	cmd := exec.Command(kcat, "-P", "-b", addr, "-t", "t", "-X", "enable.idempotence=true",
		"-X", "batch.num.messages=1", "-X", "linger.ms=0", "-X", "retry.backoff.ms=5")
	in, err := cmd.StdinPipe()
	if err != nil {
		t.Fatal(err)
	}
	var errb bytes.Buffer
	cmd.Stderr = &errb
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	fmt.Fprintf(in, "%02d-000\n", attempt)
	time.Sleep(pause)
	for i := 1; i <= n; i++ {
		fmt.Fprintf(in, "%02d-%03d-%s\n", attempt, i, strings.Repeat("v", 60))
	}
	in.Close()
	if err := cmd.Wait(); err != nil {
		t.Logf("kcat -P: %v: %s", err, errb.String())
	}
	return errb.String()
}

// TestRecordKcat is TestRecordInFrontOfBroker with kcat (librdkafka),
// which follows Metadata like every client: given only the proxy's
// address it is recorded, the history is Ok with the fix, and kcat -C
// -e reads every record back through the proxy and ends. Pre-fix, kcat
// producers run until the history is Illegal (librdkafka pipelines from
// its first batch). Skipped when kcat is not installed.
func TestRecordKcat(t *testing.T) {
	kcat, err := exec.LookPath("kcat")
	if err != nil {
		t.Skip("kcat is not installed (apt-get install -y kcat): ", err)
	}
	tests := []struct {
		name     string
		args     []string
		attempts int
		want     int
	}{
		{"fix", []string{"--pipeline", "--evict-idle", "40ms"}, 2, exitOK},
		{"pre-fix", []string{"--ticket-order", "after-stage", "--pipeline", "--evict-idle", "40ms"}, 10, exitViolation},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			rb := startRecordedBroker(t, tt.args...)
			for a := 0; a < tt.attempts; a++ {
				kcatProduce(t, kcat, rb.proxy, a, 30, 100*time.Millisecond)
			}
			var read int
			if tt.want == exitOK {
				ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
				out, err := exec.CommandContext(ctx, kcat, "-C", "-b", rb.proxy, "-t", "t", "-e", "-q", "-o", "beginning").Output()
				cancel()
				if err != nil {
					t.Fatalf("kcat -C -e: %v", err)
				}
				read = strings.Count(string(out), "\n")
			}
			perr, _ := rb.stop()
			ops, ok := recordedOps(t, rb.out)
			code, stdout, cerr := runCLI(t, nil, "check", rb.out)
			t.Logf("kcat, %d producers: record: %d operations, %d ok; read back %d; check exit %d: %s",
				tt.attempts, ops, ok, read, code, strings.TrimSpace(stdout+cerr))
			if ops < 2*tt.attempts || strings.Contains(perr, "warning") {
				t.Errorf("%d operations for %d producers: traffic bypassed the proxy?\n%s", ops, tt.attempts, perr)
			}
			if tt.want == exitOK && read != 31*tt.attempts {
				t.Errorf("kcat -C read %d records, want %d", read, 31*tt.attempts)
			}
			if code != tt.want {
				t.Errorf("check exited %d, want %d:\n%s%s", code, tt.want, stdout, cerr)
			}
		})
	}
}

// TestRecordSarama is TestRecordInFrontOfBroker with Sarama's idempotent
// producer, given only the proxy's address: it follows Metadata through
// the proxy and every batch is recorded. Sarama requires
// Net.MaxOpenRequests = 1 for an idempotent producer, so it never has two
// batches of a producer in flight on a connection and cannot reach the
// seed bug: the history is Ok with either ticket order.
func TestRecordSarama(t *testing.T) {
	for _, order := range []string{"before-stage", "after-stage"} {
		t.Run(order, func(t *testing.T) {
			rb := startRecordedBroker(t, "--ticket-order", order, "--pipeline", "--evict-idle", "40ms")
			cfg := sarama.NewConfig()
			cfg.Version = sarama.V2_8_0_0
			cfg.Producer.Idempotent = true
			cfg.Producer.RequiredAcks = sarama.WaitForAll
			cfg.Producer.Return.Successes = true
			cfg.Producer.Retry.Backoff = 5 * time.Millisecond
			cfg.Producer.Flush.MaxMessages = 1 // one batch per record
			cfg.Net.MaxOpenRequests = 1
			const attempts, burst = 2, 30
			sent := 0
			for a := 0; a < attempts; a++ {
				p, err := sarama.NewSyncProducer([]string{rb.proxy}, cfg)
				if err != nil {
					t.Fatal(err)
				}
				if _, _, err := p.SendMessage(&sarama.ProducerMessage{Topic: "t", Value: sarama.StringEncoder("first")}); err != nil {
					t.Fatal(err)
				}
				time.Sleep(100 * time.Millisecond)
				var msgs []*sarama.ProducerMessage
				for i := 0; i < burst; i++ {
					msgs = append(msgs, &sarama.ProducerMessage{Topic: "t", Value: sarama.StringEncoder(fmt.Sprintf("%02d-%03d", a, i))})
				}
				if err := p.SendMessages(msgs); err != nil {
					t.Fatal(err)
				}
				sent += 1 + burst
				if err := p.Close(); err != nil {
					t.Fatal(err)
				}
			}
			perr, _ := rb.stop()
			ops, ok := recordedOps(t, rb.out)
			code, stdout, cerr := runCLI(t, nil, "check", rb.out)
			t.Logf("sarama, %d producers, %d records: record: %d operations, %d ok; check exit %d: %s",
				attempts, sent, ops, ok, code, strings.TrimSpace(stdout+cerr))
			if ops < 2*attempts || ok != ops || strings.Contains(perr, "warning") {
				t.Errorf("%d operations, %d ok, for %d producers: traffic bypassed the proxy?\n%s", ops, ok, attempts, perr)
			}
			if code != exitOK {
				t.Errorf("check exited %d, want %d:\n%s%s", code, exitOK, stdout, cerr)
			}
		})
	}
}
