package kafkabroker

import (
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"math/rand/v2"
	"net"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kgo"
	"github.com/twmb/franz-go/pkg/kmsg"

	"github.com/idemcheck/idemcheck/history"
	"github.com/idemcheck/idemcheck/impl/server"
)

// served is a broker on a loopback listener with its log lines.
type served struct {
	b     *Broker
	addr  string
	cl    *kgo.Client
	mu    sync.Mutex
	lines []string
}

func (s *served) logged() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return strings.Join(s.lines, "\n")
}

// serve starts a broker with cfg (Server and Logf set here) and a
// franz-go client for raw requests; both stop when the test ends.
func serve(t *testing.T, cfg Config) *served {
	t.Helper()
	log := history.NewLog(history.Header{Source: "impl"})
	srv, err := server.New(server.Config{Recorder: log, Clock: func() int64 { return time.Now().UnixNano() },
		Rand: rand.New(rand.NewPCG(1, 2))})
	if err != nil {
		t.Fatal(err)
	}
	s := &served{}
	cfg.Server = srv
	cfg.Logf = func(format string, args ...any) {
		s.mu.Lock()
		s.lines = append(s.lines, fmt.Sprintf(format, args...))
		s.mu.Unlock()
	}
	if s.b, err = New(cfg); err != nil {
		t.Fatal(err)
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	s.addr = ln.Addr().String()
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- s.b.Serve(ctx, ln) }()
	if s.cl, err = kgo.NewClient(kgo.SeedBrokers(s.addr)); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		s.cl.Close()
		cancel()
		if err := <-done; err != nil {
			t.Error(err)
		}
		if err := srv.Close(); err != nil {
			t.Error(err)
		}
	})
	return s
}

func initPID(t *testing.T, s *served, pid int64, epoch int16) (int64, int16) {
	t.Helper()
	req := kmsg.NewPtrInitProducerIDRequest()
	req.Version, req.ProducerID, req.ProducerEpoch = 4, pid, epoch
	resp, err := req.RequestWith(context.Background(), s.cl)
	if err != nil || resp.ErrorCode != 0 {
		t.Fatalf("InitProducerId(%d, %d): %v, code %d", pid, epoch, err, resp.ErrorCode)
	}
	return resp.ProducerID, resp.ProducerEpoch
}

// TestInitProducerIDEpochBound checks that a producer's epoch is bumped
// up to INT16_MAX and that the request that would pass it gets a new
// producer id at epoch 0 (never a negative epoch).
func TestInitProducerIDEpochBound(t *testing.T) {
	s := serve(t, Config{})
	pid, epoch := initPID(t, s, -1, -1)
	if pid != 1 || epoch != 0 {
		t.Fatalf("new producer: %d/%d, want 1/0", pid, epoch)
	}
	if pid, epoch = initPID(t, s, 1, 32766); pid != 1 || epoch != 32767 {
		t.Fatalf("bump from 32766: %d/%d, want 1/32767", pid, epoch)
	}
	if pid, epoch = initPID(t, s, 1, 32767); pid != 2 || epoch != 0 {
		t.Fatalf("bump from 32767: %d/%d, want a new producer id 2 at epoch 0", pid, epoch)
	}
}

// batchHeader is a v2 record batch header for n records of producer
// pid at epoch, from sequence first, with no record bodies.
func batchHeader(pid int64, epoch int16, first, n int32, magic int8) []byte {
	b := make([]byte, 61)
	binary.BigEndian.PutUint32(b[8:], 61-12)
	b[16] = byte(magic)
	binary.BigEndian.PutUint32(b[23:], uint32(n-1))
	binary.BigEndian.PutUint64(b[43:], uint64(pid))
	binary.BigEndian.PutUint16(b[51:], uint16(epoch))
	binary.BigEndian.PutUint32(b[53:], uint32(first))
	binary.BigEndian.PutUint32(b[57:], uint32(n))
	return b
}

func produceRaw(t *testing.T, s *served, records []byte) int16 {
	t.Helper()
	req := kmsg.NewPtrProduceRequest()
	req.Version, req.Acks, req.TimeoutMillis = 9, -1, 5000
	rt := kmsg.NewProduceRequestTopic()
	rt.Topic = "t"
	rp := kmsg.NewProduceRequestTopicPartition()
	rp.Records = records
	rt.Partitions = append(rt.Partitions, rp)
	req.Topics = append(req.Topics, rt)
	resp, err := req.RequestWith(context.Background(), s.cl)
	if err != nil {
		t.Fatal(err)
	}
	return resp.Topics[0].Partitions[0].ErrorCode
}

// TestStaleEpoch checks the produce path's epoch rule, Kafka's
// ProducerStateManager check: once a partition appended a producer's
// batch at epoch 1, a batch at epoch 0 gets INVALID_PRODUCER_EPOCH (47,
// what Kafka answers on Produce of every version since KAFKA-10687).
func TestStaleEpoch(t *testing.T) {
	s := serve(t, Config{})
	pid, _ := initPID(t, s, -1, -1)
	_, epoch := initPID(t, s, pid, 0)
	if code := produceRaw(t, s, batchHeader(pid, epoch, 0, 1, 2)); code != 0 {
		t.Fatalf("epoch %d: code %d, want 0", epoch, code)
	}
	if code := produceRaw(t, s, batchHeader(pid, epoch-1, 1, 1, 2)); code != kerr.InvalidProducerEpoch.Code {
		t.Fatalf("epoch %d after %d: code %d, want %d", epoch-1, epoch, code, kerr.InvalidProducerEpoch.Code)
	}
}

// TestNonIdempotentRefusedAndLogged checks that a batch without a
// producer id gets INVALID_RECORD and a line in the broker's log that
// says why.
func TestNonIdempotentRefusedAndLogged(t *testing.T) {
	s := serve(t, Config{})
	if code := produceRaw(t, s, batchHeader(-1, -1, -1, 1, 2)); code != errInvalidRecord {
		t.Fatalf("code %d, want INVALID_RECORD", code)
	}
	cl, err := kgo.NewClient(kgo.SeedBrokers(s.addr), kgo.DefaultProduceTopic("t"), kgo.DisableIdempotentWrite())
	if err != nil {
		t.Fatal(err)
	}
	defer cl.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	err = cl.ProduceSync(ctx, &kgo.Record{Value: []byte("x")}).FirstErr()
	if !errors.Is(err, kerr.InvalidRecord) {
		t.Errorf("franz-go without idempotence: %v, want INVALID_RECORD", err)
	}
	if got := s.logged(); strings.Count(got, "non-idempotent batch") < 2 {
		t.Errorf("log does not say why, twice:\n%s", got)
	}
}

// TestFetchEmptyRecordSet checks that a Fetch of an empty partition, and
// of an unknown one, answers an empty record set, never a null one
// (librdkafka backs off on a null set).
func TestFetchEmptyRecordSet(t *testing.T) {
	s := serve(t, Config{Partitions: 1})
	req := kmsg.NewPtrFetchRequest()
	req.Version = 11
	rt := kmsg.NewFetchRequestTopic()
	rt.Topic = "t"
	for _, p := range []int32{0, 5} {
		rp := kmsg.NewFetchRequestTopicPartition()
		rp.Partition = p
		rt.Partitions = append(rt.Partitions, rp)
	}
	req.Topics = append(req.Topics, rt)
	resp, _ := s.b.fetchOnce(context.Background(), req)
	for _, sp := range resp.Topics[0].Partitions {
		if sp.RecordBatches == nil || len(sp.RecordBatches) != 0 {
			t.Errorf("partition %d (code %d): record set %v, want empty and not null", sp.Partition, sp.ErrorCode, sp.RecordBatches)
		}
	}
	// Encoded, the set's length is 0, not -1.
	enc := resp.AppendTo(nil)
	dec := kmsg.NewPtrFetchResponse()
	dec.Version = 11
	if err := dec.ReadFrom(enc); err != nil || dec.Topics[0].Partitions[0].RecordBatches == nil {
		t.Errorf("decoded: %v, set %v", err, dec.Topics[0].Partitions[0].RecordBatches)
	}
}

// TestAdvertise checks that Metadata advertises Config.Advertise, and
// that a malformed one is refused.
func TestAdvertise(t *testing.T) {
	s := serve(t, Config{Advertise: "proxy.example:19092"})
	req := kmsg.NewPtrMetadataRequest()
	req.Version = 9
	resp, err := req.RequestWith(context.Background(), s.cl)
	if err != nil {
		t.Fatal(err)
	}
	if len(resp.Brokers) != 1 || resp.Brokers[0].Host != "proxy.example" || resp.Brokers[0].Port != 19092 {
		t.Errorf("brokers %+v, want proxy.example:19092", resp.Brokers)
	}
	for _, bad := range []string{"nohost", ":9092", "h:0", "h:70000", "h:x"} {
		if _, err := New(Config{Server: s.b.srv, Advertise: bad}); err == nil {
			t.Errorf("advertise %q accepted", bad)
		}
	}
}
