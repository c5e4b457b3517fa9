package kafkabroker

import (
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"hash/fnv"
	"io"
	"math"
	"net"
	"sort"
	"strconv"
	"sync"
	"time"

	"github.com/twmb/franz-go/pkg/kmsg"

	"github.com/idemcheck/idemcheck/history"
	"github.com/idemcheck/idemcheck/impl"
	"github.com/idemcheck/idemcheck/impl/server"
	"github.com/idemcheck/idemcheck/internal/kafkawire"
	"github.com/idemcheck/idemcheck/spec"
)

// Kafka error codes the broker returns itself. Those of the produce path
// are spec's; the others are protocol errors outside the model.
const (
	errUnsupportedVersion int16 = 35
	errInvalidRequest           = int16(spec.InvalidRequestCode)
	errRequestTimedOut          = int16(spec.RequestTimedOut)
	errUnknownTopic       int16 = 3
	errInvalidRecord      int16 = 87
	errOffsetOutOfRange   int16 = 1
	errInvalidEpoch             = int16(spec.InvalidProducerEpoch)
)

// maxFrameBytes bounds a request (Kafka's socket.request.max.bytes).
const maxFrameBytes = 100 << 20

// versions are the API versions the broker serves.
var versions = []kmsg.ApiVersionsResponseApiKey{
	{ApiKey: 0, MinVersion: 3, MaxVersion: 12}, // Produce (v13 names topics by id)
	{ApiKey: 1, MinVersion: 4, MaxVersion: 12}, // Fetch (v13 names topics by id)
	{ApiKey: 2, MinVersion: 1, MaxVersion: 7},  // ListOffsets
	{ApiKey: 3, MinVersion: 1, MaxVersion: 12}, // Metadata
	{ApiKey: 18, MinVersion: 0, MaxVersion: 3}, // ApiVersions
	{ApiKey: 22, MinVersion: 0, MaxVersion: 4}, // InitProducerId
}

func supported(key, version int16) bool {
	for _, v := range versions {
		if v.ApiKey == key {
			return version >= v.MinVersion && version <= v.MaxVersion
		}
	}
	return false
}

// Config configures a [Broker].
type Config struct {
	// Server is the reference implementation to serve; required. The
	// broker does not close it.
	Server *server.Server
	// Pipeline drops the wait for a Produce request's enqueued stages
	// before the connection's next request is read.
	Pipeline bool
	// Partitions is the number of partitions of a topic created on first
	// mention (default 1).
	Partitions int32
	// EvictIdle, if positive, evicts producers idle for that long from a
	// partition's idempotency state.
	EvictIdle time.Duration
	// Advertise, if set, is the address host:port Metadata advertises
	// for the broker (default: the address the client connected to).
	Advertise string
	// Logf, if set, gets a line per connection and per protocol problem.
	Logf func(format string, args ...any)

	_ struct{}
}

// Broker is a Kafka listener in front of an [server.Server].
type Broker struct {
	cfg Config
	srv *server.Server

	mu      sync.Mutex
	topics  map[string]int32 // topic → partitions
	parts   map[string]*partition
	nextPID int64
	epochs  map[int64]int16
	nconns  int64

	live   sync.Mutex
	open   map[net.Conn]struct{}
	closed bool
	wg     sync.WaitGroup
}

// partition is the broker's view of one partition: the raw batches by
// op, and a prefix of the implementation's log, whose offsets are
// Kafka's (one per record).
type partition struct {
	name    string
	raw     map[int64][]byte // op → batch bytes as produced
	entries []impl.Entry     // a prefix of the implementation's log
	end     int64            // the end offset of entries (the high watermark)
	active  map[int64]time.Time
	busy    map[int64]int // pid → requests in the broker
	// epochs is each producer's epoch as the partition knows it: the
	// highest of its appended (or duplicate) batches.
	epochs map[int64]int16
}

// New returns a broker for cfg.
func New(cfg Config) (*Broker, error) {
	if cfg.Server == nil {
		return nil, errors.New("kafkabroker: no server")
	}
	if cfg.Partitions <= 0 {
		cfg.Partitions = 1
	}
	if cfg.Logf == nil {
		cfg.Logf = func(string, ...any) {}
	}
	if cfg.Advertise != "" {
		host, port, err := net.SplitHostPort(cfg.Advertise)
		if n, perr := strconv.ParseUint(port, 10, 16); err != nil || perr != nil || host == "" || n == 0 {
			return nil, fmt.Errorf("kafkabroker: advertised address %q is not HOST:PORT", cfg.Advertise)
		}
	}
	return &Broker{cfg: cfg, srv: cfg.Server, topics: make(map[string]int32), parts: make(map[string]*partition),
		nextPID: 1, epochs: make(map[int64]int16), open: make(map[net.Conn]struct{})}, nil
}

// Serve accepts connections on ln until ctx is done or ln fails, then
// closes every connection and returns (nil after a cancellation).
// Operations still running when a connection closes are recorded as
// client timeouts (unknown outcomes).
func (b *Broker) Serve(ctx context.Context, ln net.Listener) error {
	stop := context.AfterFunc(ctx, func() { ln.Close() })
	defer stop()
	if b.cfg.EvictIdle > 0 {
		evictCtx, cancel := context.WithCancel(ctx)
		defer cancel()
		b.wg.Add(1)
		go b.evictLoop(evictCtx)
	}
	var err error
	for {
		c, aerr := ln.Accept()
		if aerr != nil {
			if ctx.Err() == nil {
				err = fmt.Errorf("kafkabroker: accept: %w", aerr)
			}
			break
		}
		b.live.Lock()
		if b.closed {
			b.live.Unlock()
			c.Close()
			continue
		}
		b.open[c] = struct{}{}
		b.live.Unlock()
		b.mu.Lock()
		b.nconns++
		id := b.nconns
		b.mu.Unlock()
		b.wg.Add(1)
		go b.serveConn(ctx, c, id)
	}
	b.live.Lock()
	b.closed = true
	for c := range b.open {
		c.Close()
	}
	b.live.Unlock()
	b.wg.Wait()
	return err
}

// response is one response in a connection's write order: its bytes,
// delivered once, or nothing (acks=0 and closed connections).
type response chan []byte

// serveConn reads requests and queues their responses in order.
func (b *Broker) serveConn(ctx context.Context, c net.Conn, id int64) {
	defer b.wg.Done()
	defer func() {
		b.live.Lock()
		delete(b.open, c)
		b.live.Unlock()
		c.Close()
	}()
	b.cfg.Logf("kafkabroker: conn %d from %s", id, c.RemoteAddr())
	connDone := make(chan struct{})
	out := make(chan response, 64)
	var writer sync.WaitGroup
	writer.Add(1)
	go func() {
		defer writer.Done()
		failed := false
		for r := range out {
			bs, ok := <-r
			if !ok || failed {
				continue
			}
			if _, err := c.Write(bs); err != nil {
				failed = true
				c.Close()
			}
		}
	}()
	defer func() {
		close(connDone)
		close(out)
		writer.Wait()
	}()

	var size [4]byte
	for {
		if _, err := io.ReadFull(c, size[:]); err != nil {
			return
		}
		n := int32(binary.BigEndian.Uint32(size[:]))
		if n < 8 || n > maxFrameBytes {
			b.cfg.Logf("kafkabroker: conn %d: bad frame size %d", id, n)
			return
		}
		frame := make([]byte, n)
		if _, err := io.ReadFull(c, frame); err != nil {
			return
		}
		hdr, body, err := kafkawire.ParseRequestHeader(frame)
		if err != nil {
			b.cfg.Logf("kafkabroker: conn %d: %v", id, err)
			return
		}
		req := kmsg.RequestForKey(hdr.APIKey)
		if req == nil {
			b.cfg.Logf("kafkabroker: conn %d: unknown api key %d", id, hdr.APIKey)
			return
		}
		req.SetVersion(hdr.APIVersion)
		if hdr.APIKey != 18 && !supported(hdr.APIKey, hdr.APIVersion) {
			b.cfg.Logf("kafkabroker: conn %d: unsupported %s v%d", id, kmsg.NameForKey(hdr.APIKey), hdr.APIVersion)
			return
		}
		if err := req.ReadFrom(body); err != nil {
			b.cfg.Logf("kafkabroker: conn %d: %s v%d: %v", id, kmsg.NameForKey(hdr.APIKey), hdr.APIVersion, err)
			return
		}
		r := make(response, 1)
		switch req := req.(type) {
		case *kmsg.ProduceRequest:
			if req.Acks != 0 {
				out <- r
			}
			enqueued := b.produce(ctx, id, hdr, req, r, connDone)
			if !b.cfg.Pipeline {
				for _, e := range enqueued {
					select {
					case <-e:
					case <-ctx.Done():
						return
					}
				}
			}
		default:
			out <- r
			resp := b.handle(ctx, c, req)
			r <- encode(hdr, resp)
		}
	}
}

// encode frames resp as the response to the request with header hdr.
func encode(hdr kafkawire.RequestHeader, resp kmsg.Response) []byte {
	bs := binary.BigEndian.AppendUint32([]byte{0, 0, 0, 0}, uint32(hdr.CorrelationID))
	if resp.IsFlexible() && hdr.APIKey != 18 {
		bs = append(bs, 0) // no tagged fields
	}
	bs = resp.AppendTo(bs)
	binary.BigEndian.PutUint32(bs, uint32(len(bs)-4))
	return bs
}

// handle answers every request but Produce.
func (b *Broker) handle(ctx context.Context, c net.Conn, req kmsg.Request) kmsg.Response {
	switch req := req.(type) {
	case *kmsg.ApiVersionsRequest:
		resp := req.ResponseKind().(*kmsg.ApiVersionsResponse)
		if req.Version > 3 {
			// Answer in v0 with the versions we serve, as Kafka does.
			resp.Version = 0
			resp.ErrorCode = errUnsupportedVersion
		}
		resp.ApiKeys = append(resp.ApiKeys, versions...)
		return resp
	case *kmsg.MetadataRequest:
		return b.metadata(c, req)
	case *kmsg.InitProducerIDRequest:
		return b.initProducerID(ctx, req)
	case *kmsg.ListOffsetsRequest:
		return b.listOffsets(ctx, req)
	case *kmsg.FetchRequest:
		return b.fetch(ctx, req)
	}
	return req.ResponseKind() // not reached: other keys are refused earlier
}

// topicID derives a stable, non-zero topic id from the name.
func topicID(name string) [16]byte {
	var id [16]byte
	h := fnv.New128a()
	h.Write([]byte(name))
	copy(id[:], h.Sum(nil))
	id[0] |= 1
	return id
}

func (b *Broker) metadata(c net.Conn, req *kmsg.MetadataRequest) *kmsg.MetadataResponse {
	resp := req.ResponseKind().(*kmsg.MetadataResponse)
	addr := b.cfg.Advertise
	if addr == "" {
		addr = c.LocalAddr().String()
	}
	host, portStr, _ := net.SplitHostPort(addr)
	port, _ := strconv.Atoi(portStr)
	br := kmsg.NewMetadataResponseBroker()
	br.NodeID, br.Host, br.Port = 0, host, int32(port)
	resp.Brokers = append(resp.Brokers, br)
	cluster := "idemcheck"
	resp.ClusterID = &cluster
	resp.ControllerID = 0
	b.mu.Lock()
	var names []string
	if req.Topics == nil {
		for n := range b.topics {
			names = append(names, n)
		}
		sort.Strings(names)
	} else {
		for _, t := range req.Topics {
			if t.Topic != nil && *t.Topic != "" {
				names = append(names, *t.Topic)
			}
		}
	}
	for _, n := range names {
		if _, ok := b.topics[n]; !ok {
			b.topics[n] = b.cfg.Partitions
		}
		rt := kmsg.NewMetadataResponseTopic()
		name := n
		rt.Topic, rt.TopicID = &name, topicID(n)
		for p := int32(0); p < b.topics[n]; p++ {
			rp := kmsg.NewMetadataResponseTopicPartition()
			rp.Partition, rp.Leader = p, 0
			rp.Replicas, rp.ISR = []int32{0}, []int32{0}
			rt.Partitions = append(rt.Partitions, rp)
		}
		resp.Topics = append(resp.Topics, rt)
	}
	b.mu.Unlock()
	return resp
}

func (b *Broker) initProducerID(ctx context.Context, req *kmsg.InitProducerIDRequest) *kmsg.InitProducerIDResponse {
	resp := req.ResponseKind().(*kmsg.InitProducerIDResponse)
	if req.TransactionalID != nil {
		resp.ErrorCode = errInvalidRequest // transactions are not modelled
		return resp
	}
	b.mu.Lock()
	pid, epoch := req.ProducerID, req.ProducerEpoch
	if cur, ok := b.epochs[pid]; ok && pid >= 0 && epoch >= 0 && max(cur, epoch) < math.MaxInt16 {
		epoch = max(cur, epoch) + 1 // KIP-360: the producer bumps its epoch
	} else {
		// A new producer, or one whose epoch would pass INT16_MAX: a new
		// producer id at epoch 0, as Kafka does when the epoch is
		// exhausted.
		pid, epoch = b.nextPID, 0
		b.nextPID++
	}
	b.epochs[pid] = epoch
	b.mu.Unlock()
	var bumpErr error
	if err := b.srv.Do(ctx, func(f *impl.Frontend) { bumpErr = f.BumpEpoch(pid, epoch) }); err != nil || bumpErr != nil {
		resp.ErrorCode = errRequestTimedOut
		return resp
	}
	resp.ProducerID, resp.ProducerEpoch = pid, epoch
	return resp
}

// part returns the partition's state, creating it; the caller holds b.mu.
func (b *Broker) part(name string) *partition {
	p, ok := b.parts[name]
	if !ok {
		p = &partition{name: name, raw: make(map[int64][]byte),
			active: make(map[int64]time.Time), busy: make(map[int64]int), epochs: make(map[int64]int16)}
		b.parts[name] = p
	}
	return p
}

// known reports whether topic/partition exists, creating the topic.
func (b *Broker) known(topic string, partition int32) bool {
	b.mu.Lock()
	defer b.mu.Unlock()
	n, ok := b.topics[topic]
	if !ok {
		b.topics[topic] = b.cfg.Partitions
		n = b.cfg.Partitions
	}
	return partition >= 0 && partition < n
}

// refresh extends p's copy of the implementation's log; the caller
// must not hold b.mu.
func (b *Broker) refresh(ctx context.Context, name string) error {
	var entries []impl.Entry
	if err := b.srv.Do(ctx, func(f *impl.Frontend) { entries = f.Log(name) }); err != nil {
		return err
	}
	b.mu.Lock()
	defer b.mu.Unlock()
	p := b.part(name)
	for k := len(p.entries); k < len(entries); k++ {
		e := entries[k]
		p.entries = append(p.entries, e)
		p.end = e.Offset + spec.RecordCount(e.First, e.Last)
	}
	return nil
}

// RecordLog records the implementation's log as a reader from offset 0
// would see it: one [history.LogBatch] per batch of each partition, in
// partition and offset order, at the frontend's current time, through
// rec (the server's recorder, so that the history holds them after the
// write path's events). Call it after [Broker.Serve] returns and before
// the server is closed; the read check of package checker then judges the
// log against the clients' acks.
func (b *Broker) RecordLog(ctx context.Context, rec impl.Recorder) error {
	var err error
	if rerr := b.srv.Do(ctx, func(f *impl.Frontend) {
		now := f.Now()
		for _, p := range f.Partitions() {
			for _, e := range f.Log(p.Name) {
				if err = rec.Record(history.Event{Kind: history.LogBatch, Time: now, Partition: p.Name,
					Offset: e.Offset, PID: e.PID, Epoch: e.Epoch, First: e.First, Last: e.Last}); err != nil {
					return
				}
			}
		}
	}); rerr != nil {
		return fmt.Errorf("kafkabroker: record the log: %w", rerr)
	}
	if err != nil {
		return fmt.Errorf("kafkabroker: record the log: %w", err)
	}
	return nil
}
