package proxy

import (
	"bytes"
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"net"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/idemcheck/idemcheck/history"
	"github.com/twmb/franz-go/pkg/kfake"
	"github.com/twmb/franz-go/pkg/kgo"
	"github.com/twmb/franz-go/pkg/kmsg"
)

// fakeListener is a listener that accepts nothing until closed.
type fakeListener struct {
	addr *net.TCPAddr
	once sync.Once
	done chan struct{}
}

func (l *fakeListener) Accept() (net.Conn, error) { <-l.done; return nil, net.ErrClosed }
func (l *fakeListener) Close() error              { l.once.Do(func() { close(l.done) }); return nil }
func (l *fakeListener) Addr() net.Addr            { return l.addr }

// rewriteProxy returns a proxy set up as Serve would with its first
// listener at 127.0.0.1:9192 in front of upstream, whose further
// listeners are fake (ports 9193, ...), and its warnings.
func rewriteProxy(t testing.TB, upstream string) (*Proxy, *[]string) {
	var warnings []string
	var mu sync.Mutex
	p, err := New(Options{Upstream: upstream,
		Warnf: func(format string, args ...any) {
			mu.Lock()
			warnings = append(warnings, fmt.Sprintf(format, args...))
			mu.Unlock()
		},
		Listen: func(_, addr string) (net.Listener, error) {
			ta, err := net.ResolveTCPAddr("tcp", addr)
			if err != nil {
				return nil, err
			}
			return &fakeListener{addr: ta, done: make(chan struct{})}, nil
		}})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	t.Cleanup(func() { cancel(); p.listeners.Wait() })
	first := &route{Route: Route{Node: -1, Upstream: upstream, Listen: "127.0.0.1:9192"}, port: 9192}
	p.routes.first, p.routes.host, p.routes.nextPort = first, "127.0.0.1", 9193
	p.ctx = ctx
	return p, &warnings
}

// frameOf encodes resp as a response frame with correlation id corr.
func frameOf(resp kmsg.Response, corr int32) []byte {
	bs := binary.BigEndian.AppendUint32([]byte{0, 0, 0, 0}, uint32(corr))
	if resp.IsFlexible() {
		bs = append(bs, 0)
	}
	bs = resp.AppendTo(bs)
	binary.BigEndian.PutUint32(bs, uint32(len(bs)-4))
	return bs
}

// through feeds frames cut into chunks of size step to a fresh
// connection's rewriter, after registering req as request corr.
func through(p *Proxy, key, version int16, corr int32, stream []byte, step int) []byte {
	c := &conn{}
	c.inFlight.add(corr-1, pending{key: 0, version: 3}) // an acks=0 produce: no response
	c.inFlight.add(corr, pending{key: key, version: version})
	c.inFlight.add(corr+1, pending{key: 0, version: 3})
	c.resps.take = c.inFlight.take
	c.resps.rewrite = func(frame []byte, pd pending) []byte { return p.rewriteResponse(frame, pd, "proxyhost") }
	var out []byte
	for len(stream) > 0 {
		n := min(step, len(stream))
		out = append(out, c.resps.process(stream[:n])...)
		stream = stream[n:]
	}
	return out
}

// TestRewriteMetadata rewrites Metadata responses of every version, cut
// at every chunk size from one byte: the seed broker is advertised at
// the first listener, the other broker at a listener of its own, the
// rest of the response is unchanged, and a response that follows
// (not registered) passes as it is.
func TestRewriteMetadata(t *testing.T) {
	for v := int16(0); v <= kmsg.NewPtrMetadataResponse().MaxVersion(); v++ {
		resp := kmsg.NewPtrMetadataResponse()
		resp.Version = v
		for i, port := range []int32{9092, 9093} {
			b := kmsg.NewMetadataResponseBroker()
			b.NodeID, b.Host, b.Port = int32(i), "broker", port
			resp.Brokers = append(resp.Brokers, b)
		}
		tp := kmsg.NewMetadataResponseTopic()
		name := "t"
		tp.Topic = &name
		resp.Topics = append(resp.Topics, tp)
		other := frameOf(kmsg.NewPtrProduceResponse(), 8)
		for _, step := range []int{1, 3, 7, 1 << 20} {
			p, warnings := rewriteProxy(t, "broker:9092")
			stream := append(frameOf(resp, 7), other...)
			out := through(p, keyMetadata, v, 7, stream, step)
			size := int(binary.BigEndian.Uint32(out))
			if !bytes.Equal(out[4+size:], other) {
				t.Fatalf("v%d step %d: the next response changed", v, step)
			}
			got := kmsg.NewPtrMetadataResponse()
			got.Version = v
			body := out[8 : 4+size]
			if got.IsFlexible() {
				body = body[1:]
			}
			if err := got.ReadFrom(body); err != nil {
				t.Fatalf("v%d step %d: %v", v, step, err)
			}
			want := []string{"proxyhost:9192", "proxyhost:9193"}
			for i, b := range got.Brokers {
				if a := fmt.Sprintf("%s:%d", b.Host, b.Port); a != want[i] {
					t.Errorf("v%d step %d: broker %d advertised at %s, want %s", v, step, b.NodeID, a, want[i])
				}
			}
			if len(got.Topics) != 1 || *got.Topics[0].Topic != "t" || len(*warnings) != 0 {
				t.Errorf("v%d: topics %v, warnings %v", v, got.Topics, *warnings)
			}
			rs := p.Routes()
			if len(rs) != 2 || rs[1].Node != 1 || rs[1].Upstream != "broker:9093" || rs[1].Listen != "127.0.0.1:9193" {
				t.Errorf("v%d: routes %+v", v, rs)
			}
		}
	}
}

// TestRewriteFindCoordinator rewrites the coordinator's address in the
// single-coordinator (v0-v3) and batched (v4+) forms.
func TestRewriteFindCoordinator(t *testing.T) {
	for v := int16(0); v <= kmsg.NewPtrFindCoordinatorResponse().MaxVersion(); v++ {
		p, _ := rewriteProxy(t, "broker:9092")
		resp := kmsg.NewPtrFindCoordinatorResponse()
		resp.Version = v
		if v < 4 {
			resp.NodeID, resp.Host, resp.Port = 2, "broker", 9094
		} else {
			c := kmsg.NewFindCoordinatorResponseCoordinator()
			c.Key, c.NodeID, c.Host, c.Port = "g", 2, "broker", 9094
			resp.Coordinators = append(resp.Coordinators, c)
		}
		out := through(p, keyFindCoordinator, v, 1, frameOf(resp, 1), 5)
		got := kmsg.NewPtrFindCoordinatorResponse()
		got.Version = v
		body := out[8:]
		if got.IsFlexible() {
			body = body[1:]
		}
		if err := got.ReadFrom(body); err != nil {
			t.Fatalf("v%d: %v", v, err)
		}
		host, port := got.Host, got.Port
		if v >= 4 {
			host, port = got.Coordinators[0].Host, got.Coordinators[0].Port
		}
		if host != "proxyhost" || port != 9193 {
			t.Errorf("v%d: coordinator advertised at %s:%d, want proxyhost:9193", v, host, port)
		}
	}
}

// TestRewriteLeaderHint checks that the new leader's address that
// Produce responses of v10+ and Fetch responses of v16+ carry (KIP-951)
// is rewritten, a Fetch response's record data kept byte for byte, and
// that a response without one is passed on byte for byte (the record
// data is never re-encoded needlessly).
func TestRewriteLeaderHint(t *testing.T) {
	records := []byte("record batches stand here, opaque to the proxy")
	tests := []struct {
		name string
		key  int16
		from int16
		// make returns a response of version v, with a leader hint at
		// broker:9095 (node 3) when hint.
		make func(v int16, hint bool) kmsg.Response
		// brokers returns the advertised brokers and, for Fetch, the
		// record data of a decoded response.
		brokers func(r kmsg.Response) ([]string, []byte)
	}{
		{"produce", keyProduce, 10,
			func(v int16, hint bool) kmsg.Response {
				r := kmsg.NewPtrProduceResponse()
				r.Version = v
				if hint {
					b := kmsg.NewProduceResponseBroker()
					b.NodeID, b.Host, b.Port = 3, "broker", 9095
					r.Brokers = append(r.Brokers, b)
				}
				return r
			},
			func(r kmsg.Response) ([]string, []byte) {
				var out []string
				for _, b := range r.(*kmsg.ProduceResponse).Brokers {
					out = append(out, fmt.Sprintf("%s:%d", b.Host, b.Port))
				}
				return out, records
			}},
		{"fetch", keyFetch, 16,
			func(v int16, hint bool) kmsg.Response {
				r := kmsg.NewPtrFetchResponse()
				r.Version = v
				topic := kmsg.NewFetchResponseTopic()
				topic.Topic = "t"
				part := kmsg.NewFetchResponseTopicPartition()
				part.RecordBatches = records
				topic.Partitions = append(topic.Partitions, part)
				r.Topics = append(r.Topics, topic)
				if hint {
					b := kmsg.NewFetchResponseBroker()
					b.NodeID, b.Host, b.Port = 3, "broker", 9095
					r.Brokers = append(r.Brokers, b)
				}
				return r
			},
			func(r kmsg.Response) ([]string, []byte) {
				f := r.(*kmsg.FetchResponse)
				var out []string
				for _, b := range f.Brokers {
					out = append(out, fmt.Sprintf("%s:%d", b.Host, b.Port))
				}
				if len(f.Topics) != 1 || len(f.Topics[0].Partitions) != 1 {
					return out, nil
				}
				return out, f.Topics[0].Partitions[0].RecordBatches
			}},
	}
	for _, tt := range tests {
		for v := tt.from; v <= tt.make(0, false).MaxVersion(); v++ {
			p, _ := rewriteProxy(t, "broker:9092")
			plain := frameOf(tt.make(v, false), 4)
			if out := through(p, tt.key, v, 4, plain, 3); !bytes.Equal(out, plain) {
				t.Errorf("%s v%d: a response without a leader hint changed", tt.name, v)
			}
			out := through(p, tt.key, v, 4, frameOf(tt.make(v, true), 4), 3)
			got := tt.make(v, false)
			if err := got.ReadFrom(out[9:]); err != nil {
				t.Fatalf("%s v%d: %v", tt.name, v, err)
			}
			brokers, data := tt.brokers(got)
			if len(brokers) != 1 || brokers[0] != "proxyhost:9193" {
				t.Errorf("%s v%d: leader hint %v, want proxyhost:9193", tt.name, v, brokers)
			}
			if !bytes.Equal(data, records) {
				t.Errorf("%s v%d: record data changed: %q", tt.name, v, data)
			}
		}
	}
	// Below v16 a Fetch response is never buffered to be rewritten.
	if rewrites(keyFetch, 15) || !rewrites(keyFetch, 16) {
		t.Errorf("rewrites(Fetch, 15) = %v, rewrites(Fetch, 16) = %v", rewrites(keyFetch, 15), rewrites(keyFetch, 16))
	}
}

// TestRewriteUnservedWarns checks that a broker the proxy cannot listen
// for is left as advertised, with one warning naming its address.
func TestRewriteUnservedWarns(t *testing.T) {
	p, warnings := rewriteProxy(t, "broker:9092")
	p.opts.Listen = func(string, string) (net.Listener, error) { return nil, errors.New("no ports") }
	resp := kmsg.NewPtrMetadataResponse()
	resp.Version = 12
	b := kmsg.NewMetadataResponseBroker()
	b.NodeID, b.Host, b.Port = 5, "far", 9099
	resp.Brokers = append(resp.Brokers, b)
	in := frameOf(resp, 3)
	for i := 0; i < 2; i++ {
		if out := through(p, keyMetadata, 12, 3, in, 1<<20); !bytes.Equal(out, in) {
			t.Errorf("the response changed")
		}
	}
	if len(*warnings) != 1 || !strings.Contains((*warnings)[0], "far:9099") {
		t.Errorf("warnings %q; want one naming far:9099", *warnings)
	}
}

// FuzzRewrite feeds malformed Metadata, FindCoordinator,
// DescribeCluster and Produce responses to the rewriter: it never panics, a
// response it cannot decode passes unchanged (with a warning), and one
// it changes is a well-framed response that decodes.
func FuzzRewrite(f *testing.F) {
	keys := []int16{keyMetadata, keyFindCoordinator, keyDescribeCluster, keyProduce}
	seed := func(k uint8, resp kmsg.Response) {
		fr := frameOf(resp, 1)
		f.Add(k, resp.GetVersion(), fr[8:])
		f.Add(k, resp.GetVersion(), fr[8:len(fr)-1])
	}
	for _, v := range []int16{0, 1, 7, 9, 12} {
		resp := kmsg.NewPtrMetadataResponse()
		resp.Version = v
		b := kmsg.NewMetadataResponseBroker()
		b.NodeID, b.Host, b.Port = 1, "broker", 9093
		resp.Brokers = append(resp.Brokers, b)
		seed(0, resp)
	}
	for _, v := range []int16{2, 4} {
		resp := kmsg.NewPtrFindCoordinatorResponse()
		resp.Version = v
		resp.NodeID, resp.Host, resp.Port = 1, "broker", 9093
		c := kmsg.NewFindCoordinatorResponseCoordinator()
		c.NodeID, c.Host, c.Port = 1, "broker", 9093
		resp.Coordinators = append(resp.Coordinators, c)
		seed(1, resp)
	}
	dc := kmsg.NewPtrDescribeClusterResponse()
	b := kmsg.NewDescribeClusterResponseBroker()
	b.NodeID, b.Host, b.Port = 1, "broker", 9093
	dc.Brokers = append(dc.Brokers, b)
	seed(2, dc)
	pr := kmsg.NewPtrProduceResponse()
	pr.Version = 12
	pb := kmsg.NewProduceResponseBroker()
	pb.NodeID, pb.Host, pb.Port = 1, "broker", 9093
	pr.Brokers = append(pr.Brokers, pb)
	seed(3, pr)
	f.Add(uint8(0), int16(12), []byte{0xff, 0xff, 0xff, 0xff, 0x0f})
	f.Fuzz(func(t *testing.T, k uint8, v int16, body []byte) {
		key := keys[int(k)%len(keys)]
		p, warnings := rewriteProxy(t, "broker:9092")
		in := binary.BigEndian.AppendUint32(binary.BigEndian.AppendUint32(nil, uint32(len(body)+4)), 1)
		in = append(in, body...)
		out := through(p, key, v, 1, in, 1<<20)
		if bytes.Equal(out, in) {
			return
		}
		if len(*warnings) != 0 {
			t.Fatalf("changed a response and warned %q", *warnings)
		}
		if int(binary.BigEndian.Uint32(out)) != len(out)-4 {
			t.Fatalf("frame size %d for %d bytes", binary.BigEndian.Uint32(out), len(out)-4)
		}
		req := kmsg.RequestForKey(key)
		req.SetVersion(v)
		got := req.ResponseKind()
		got.SetVersion(v)
		rest := out[8:]
		if got.IsFlexible() {
			n, err := skipTags(rest)
			if err != nil {
				t.Fatal(err)
			}
			rest = rest[n:]
		}
		if err := got.ReadFrom(rest); err != nil {
			t.Fatalf("the rewritten response does not decode: %v", err)
		}
	})
}

// TestTwoBrokers puts the proxy in front of a two-broker kfake cluster
// and produces to two partitions led by different brokers with a
// franz-go client that follows Metadata (no dialer of its own): the
// second broker gets a listener of its own, and every batch is recorded.
func TestTwoBrokers(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	cluster, err := kfake.NewCluster(kfake.NumBrokers(2), kfake.SeedTopics(2, "t"))
	if err != nil {
		t.Fatal(err)
	}
	defer cluster.Close()
	for pt := int32(0); pt < 2; pt++ {
		if err := cluster.MoveTopicPartition("t", pt, pt); err != nil {
			t.Fatal(err)
		}
	}
	if l0, l1 := cluster.LeaderFor("t", 0), cluster.LeaderFor("t", 1); l0 != 0 || l1 != 1 {
		t.Fatalf("leaders %d and %d, want 0 and 1", l0, l1)
	}
	addrs := cluster.ListenAddrs()
	log := history.NewLog(history.Header{Source: "record"})
	var warned []string
	p, err := New(Options{Upstream: addrs[0], Recorder: log,
		Warnf: func(format string, args ...any) { warned = append(warned, fmt.Sprintf(format, args...)) }})
	if err != nil {
		t.Fatal(err)
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	pctx, stop := context.WithCancel(ctx)
	served := make(chan error, 1)
	go func() { served <- p.Serve(pctx, ln) }()

	cl, err := kgo.NewClient(kgo.SeedBrokers(ln.Addr().String()), kgo.DefaultProduceTopic("t"),
		kgo.RecordPartitioner(kgo.ManualPartitioner()))
	if err != nil {
		t.Fatal(err)
	}
	const records = 10
	for i := 0; i < records; i++ {
		r := &kgo.Record{Value: []byte(fmt.Sprint(i)), Partition: int32(i % 2)}
		if err := cl.ProduceSync(ctx, r).FirstErr(); err != nil {
			t.Fatal(err)
		}
	}
	cl.Close()
	stop()
	if err := <-served; err != nil {
		t.Fatal(err)
	}
	rs := p.Routes()
	if len(rs) != 2 || rs[0].Upstream != addrs[0] || rs[1].Upstream != addrs[1] || rs[1].Listen == rs[0].Listen {
		t.Fatalf("routes %+v; want the first listener for %s and another for %s", rs, addrs[0], addrs[1])
	}
	parts := map[string]int{}
	h := log.History()
	calls := map[int64]string{}
	for _, e := range h.Events {
		if e.Kind == history.Replicate {
			calls[e.Op] = e.Partition
		}
		if e.Kind == history.Return && e.Result == history.OK {
			parts[calls[e.Op]]++
		}
	}
	if parts["t/0"] != records/2 || parts["t/1"] != records/2 || len(warned) != 0 {
		t.Errorf("ok returns by partition %v (want %d each), warnings %q", parts, records/2, warned)
	}
}
