package proxy

import (
	"bytes"
	"context"
	"fmt"
	"net"
	"net/netip"
	"reflect"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/idemcheck/idemcheck/checker"
	"github.com/idemcheck/idemcheck/history"
	"github.com/idemcheck/idemcheck/internal/kafkawire"
	"github.com/idemcheck/idemcheck/internal/pcap"
	"github.com/twmb/franz-go/pkg/kfake"
	"github.com/twmb/franz-go/pkg/kgo"
	"github.com/twmb/franz-go/pkg/kmsg"
	"github.com/twmb/franz-go/pkg/kversion"
)

// run is one loopback run: a kfake broker, the proxy in front of it
// (also writing a pcap), and an idempotent kgo producer writing records
// through the proxy.
type run struct {
	history  history.History
	pcap     []byte
	problems []kafkawire.Problem
	results  []error // per record, in produce order
	lost     int     // data-loss hook calls
	fetched  []string
	// upstream is kfake's port, the broker port of the capture.
	upstream uint16
}

type scenario struct {
	records int
	// kfake options and a hook to add control functions.
	kfakeOpts []kfake.Opt
	control   func(c *kfake.Cluster)
	kgoOpts   []kgo.Opt
}

func runScenario(t *testing.T, sc scenario) run {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	opts := append([]kfake.Opt{kfake.NumBrokers(1), kfake.SeedTopics(1, "t")}, sc.kfakeOpts...)
	cluster, err := kfake.NewCluster(opts...)
	if err != nil {
		t.Fatal(err)
	}
	defer cluster.Close()
	if sc.control != nil {
		sc.control(cluster)
	}
	var r run
	up, err := netip.ParseAddrPort(cluster.ListenAddrs()[0])
	if err != nil {
		t.Fatal(err)
	}
	r.upstream = up.Port()

	log := history.NewLog(history.Header{Source: "record"})
	var capture bytes.Buffer
	pw, err := pcap.NewWriter(&capture)
	if err != nil {
		t.Fatal(err)
	}
	var pmu sync.Mutex
	p, err := New(Options{Upstream: cluster.ListenAddrs()[0], Recorder: log, PCAP: pw,
		Decoder: kafkawire.Options{OnProblem: func(pr kafkawire.Problem) {
			pmu.Lock()
			r.problems = append(r.problems, pr)
			pmu.Unlock()
		}}})
	if err != nil {
		t.Fatal(err)
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	pctx, stopProxy := context.WithCancel(context.Background())
	served := make(chan error, 1)
	go func() { served <- p.Serve(pctx, ln) }()

	// kfake advertises its own address in Metadata; the proxy rewrites
	// it, so the client needs no dialer of its own.
	via := ln.Addr().String()
	kopts := append([]kgo.Opt{
		kgo.SeedBrokers(via),
		kgo.DefaultProduceTopic("t"),
		kgo.ProducerBatchMaxBytes(512),
		kgo.ProducerLinger(0),
		kgo.RetryBackoffFn(func(int) time.Duration { return 10 * time.Millisecond }),
		kgo.MetadataMinAge(10 * time.Millisecond), // retries refresh metadata; do not wait 5s for it
		kgo.ProducerOnDataLossDetected(func(string, int32) { r.lost++ }),
	}, sc.kgoOpts...)
	cl, err := kgo.NewClient(kopts...)
	if err != nil {
		t.Fatal(err)
	}
	r.results = make([]error, sc.records)
	var wg sync.WaitGroup
	for i := 0; i < sc.records; i++ {
		wg.Add(1)
		rec := &kgo.Record{Value: []byte(fmt.Sprintf("record-%03d-%s", i, strings.Repeat("x", 80)))}
		cl.Produce(ctx, rec, func(_ *kgo.Record, err error) {
			r.results[i] = err
			wg.Done()
		})
	}
	wg.Wait()
	cl.Close()

	// Read the partition back directly from the broker.
	cons, err := kgo.NewClient(kgo.SeedBrokers(cluster.ListenAddrs()[0]), kgo.ConsumeTopics("t"),
		kgo.ConsumeResetOffset(kgo.NewOffset().AtStart()))
	if err != nil {
		t.Fatal(err)
	}
	// Read until a second passes without new records (some runs lose
	// records, so the count is not known).
	for {
		pctx, cancel := context.WithTimeout(ctx, time.Second)
		fs := cons.PollFetches(pctx)
		cancel()
		n := len(r.fetched)
		fs.EachRecord(func(rec *kgo.Record) { r.fetched = append(r.fetched, string(rec.Value[:10])) })
		if len(r.fetched) == n || len(r.fetched) >= sc.records || ctx.Err() != nil {
			break
		}
	}
	cons.Close()

	stopProxy()
	if err := <-served; err != nil {
		t.Fatal(err)
	}
	if err := pw.Err(); err != nil {
		t.Fatal(err)
	}
	r.history = log.History()
	r.pcap = capture.Bytes()
	return r
}

// okReturns counts operations that returned ok.
func okReturns(h history.History) int {
	n := 0
	for _, e := range h.Events {
		if e.Kind == history.Return && e.Result == history.OK {
			n++
		}
	}
	return n
}

func returnsWith(h history.History, code history.ErrorCode) int {
	n := 0
	for _, e := range h.Events {
		if e.Kind == history.Return && e.Result == history.Failed && e.Error == code {
			n++
		}
	}
	return n
}

func describe(h history.History) string {
	var b strings.Builder
	for _, e := range h.Events {
		b.WriteString(e.String())
		b.WriteByte('\n')
	}
	return b.String()
}

// TestRecordKfake runs an idempotent franz-go producer through the proxy
// to kfake, plain and with kfake's request control used to fail or
// reorder produce requests, and checks the recorded history with the
// checker. Each case says why its verdict is the right one.
func TestRecordKfake(t *testing.T) {
	const records = 40
	tests := []struct {
		name    string
		sc      scenario
		verdict checker.Verdict
		// violation, when Illegal.
		violation string
		check     func(t *testing.T, r run)
	}{
		{
			// Nothing interferes: every batch is appended once, in
			// order, and acked with its offset.
			name:    "plain",
			sc:      scenario{records: records},
			verdict: checker.Ok,
			check: func(t *testing.T, r run) {
				if r.lost != 0 || returnsWith(r.history, 45) != 0 {
					t.Errorf("data loss hook %d, OOOSN returns %d; want none", r.lost, returnsWith(r.history, 45))
				}
			},
		},
		{
			// The broker answers the first two produce requests with
			// REQUEST_TIMED_OUT without appending them. The client
			// retries with the same sequences; a timeout is ambiguous
			// to the checker (persisted or lost), and the retries are
			// appended in order: Ok.
			name:    "failed requests",
			sc:      failScenario(records, 1, 7, 2),
			verdict: checker.Ok,
			check: func(t *testing.T, r run) {
				if got := returnsWith(r.history, 7); got < 2 {
					t.Errorf("got %d REQUEST_TIMED_OUT returns, want at least 2", got)
				}
			},
		},
		{
			// The broker answers the second produce request, whose batch
			// is next in sequence, with OUT_OF_ORDER_SEQUENCE_NUMBER
			// without appending it: the symptom of the seed bug. (kfake,
			// like Kafka, handles one connection's requests one at a
			// time, so its request control cannot reorder a producer's
			// requests; the impl broker test reorders them.) franz-go
			// treats the error as data loss, bumps the epoch and re-sends
			// from that batch on, so the log stays in order, but an
			// in-sequence batch was refused: Illegal,
			// NoSpuriousOutOfOrder.
			name:      "spurious out-of-order",
			sc:        failScenario(records, 2, 45, 1),
			verdict:   checker.Illegal,
			violation: checker.NoSpuriousOutOfOrder,
			check: func(t *testing.T, r run) {
				if r.lost == 0 {
					t.Errorf("franz-go's data-loss hook did not fire")
				}
				if !inOrder(r.fetched) || len(r.fetched) != records {
					t.Errorf("got log %v, want all %d records in order", r.fetched, records)
				}
			},
		},
		{
			// The broker acks the first batch without appending it. The
			// next batch is then appended by a broker that never saw the
			// producer (Kafka >= 2.5 accepts any first sequence from an
			// unknown producer; kfake is capped at 4.0 so that the
			// KAFKA-15591 check does not apply) at the offset the first
			// was acked with, so the producer's offsets do not increase:
			// Illegal, ContiguousAppends.
			name:      "ack without append",
			sc:        fakeAckScenario(records),
			verdict:   checker.Illegal,
			violation: checker.ContiguousAppends,
			check: func(t *testing.T, r run) {
				if len(r.fetched) >= records {
					t.Errorf("fetched %d records, want the first batch missing", len(r.fetched))
				}
			},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := runScenario(t, tt.sc)
			for i, err := range r.results {
				if err != nil {
					t.Errorf("record %d: %v", i, err)
				}
			}
			if len(r.problems) != 0 {
				t.Errorf("decoder problems: %v", r.problems)
			}
			if okReturns(r.history) == 0 {
				t.Fatalf("no ok returns recorded:\n%s", describe(r.history))
			}
			res := checker.Check(r.history, checker.Options{Timeout: 20 * time.Second})
			if res.Verdict != tt.verdict {
				t.Errorf("got verdict %s, want %s: %s\n%s", res.Verdict, tt.verdict, res.Summary(), describe(r.history))
			}
			if tt.violation != "" && !hasViolation(res, tt.violation) {
				t.Errorf("got violations %v, want %s", res.Violations, tt.violation)
			}
			if tt.check != nil {
				tt.check(t, r)
			}
			// The capture the proxy wrote imports to the same history.
			imported := history.NewLog(history.Header{Source: "record"})
			if _, err := pcap.Import(bytes.NewReader(r.pcap), imported, pcap.Options{Port: r.upstream}); err != nil {
				t.Fatal(err)
			}
			if got := imported.History(); !reflect.DeepEqual(got.Events, r.history.Events) {
				t.Errorf("pcap import differs from the proxy's history:\nimport:\n%s\nproxy:\n%s", describe(got), describe(r.history))
			}
		})
	}
}

// failScenario makes kfake answer count produce requests from the
// from-th on with code, without handling them.
func failScenario(records, from int, code int16, count int) scenario {
	sc := scenario{records: records}
	sc.control = func(c *kfake.Cluster) {
		n := 0
		c.ControlKey(int16(kmsg.Produce), func(req kmsg.Request) (kmsg.Response, error, bool) {
			n++
			switch {
			case n < from:
				c.KeepControl()
				return nil, nil, false
			case n < from+count-1:
				c.KeepControl()
			case n >= from+count:
				c.DropControl()
				return nil, nil, false
			}
			return produceError(req.(*kmsg.ProduceRequest), code), nil, true
		})
	}
	return sc
}

// fakeAckScenario makes kfake (capped at Kafka 4.0) ack the first
// produce request with offset 0 without appending it.
func fakeAckScenario(records int) scenario {
	sc := scenario{records: records,
		kfakeOpts: []kfake.Opt{kfake.MaxVersions(kversion.V4_0_0())},
		kgoOpts:   []kgo.Opt{kgo.MaxVersions(kversion.V4_0_0())}}
	sc.control = func(c *kfake.Cluster) {
		c.ControlKey(int16(kmsg.Produce), func(req kmsg.Request) (kmsg.Response, error, bool) {
			return produceError(req.(*kmsg.ProduceRequest), 0), nil, true
		})
	}
	return sc
}

// produceError answers every partition of req with code.
func produceError(req *kmsg.ProduceRequest, code int16) *kmsg.ProduceResponse {
	resp := req.ResponseKind().(*kmsg.ProduceResponse)
	for _, rt := range req.Topics {
		st := kmsg.NewProduceResponseTopic()
		st.Topic, st.TopicID = rt.Topic, rt.TopicID
		for _, rp := range rt.Partitions {
			sp := kmsg.NewProduceResponseTopicPartition()
			sp.Partition, sp.ErrorCode = rp.Partition, code
			st.Partitions = append(st.Partitions, sp)
		}
		resp.Topics = append(resp.Topics, st)
	}
	return resp
}

func inOrder(vals []string) bool {
	for i := 1; i < len(vals); i++ {
		if vals[i] < vals[i-1] {
			return false
		}
	}
	return true
}

func hasViolation(res checker.Result, name string) bool {
	for _, v := range res.Violations {
		if v.Name == name {
			return true
		}
	}
	return false
}
