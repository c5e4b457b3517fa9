package proxy

import (
	"encoding/binary"
	"errors"
	"fmt"
	"net"
	"strconv"
	"sync"

	"github.com/twmb/franz-go/pkg/kmsg"
)

// API keys of the responses that advertise broker addresses.
const (
	keyProduce         int16 = 0 // v10+: the new leader's address (KIP-951)
	keyFetch           int16 = 1 // v16+: the new leader's address (KIP-951)
	keyMetadata        int16 = 3
	keyFindCoordinator int16 = 10
	keyDescribeCluster int16 = 60
)

// maxRewriteBytes bounds a response frame the proxy buffers to rewrite;
// a larger one passes through unchanged, with a warning.
const maxRewriteBytes = 64 << 20

// portTries bounds the ports after the first listener's that a new
// listener tries before it takes an ephemeral port.
const portTries = 32

// Route is one upstream broker and the proxy's listener in front of it.
type Route struct {
	// Node is the broker's node id; -1 for the first listener (the
	// seed broker, Options.Upstream), which also serves every node that
	// advertises the Upstream address itself.
	Node int32
	// Upstream is the broker's address, host:port, as the cluster
	// advertises it.
	Upstream string
	// Listen is the listener's address.
	Listen string
}

// route is a Route with its listener.
type route struct {
	Route
	ln   net.Listener
	port int32
}

// pending is a request whose response the proxy rewrites.
type pending struct {
	key, version int16
}

// rewrites reports whether responses to requests with key and version
// carry broker addresses the proxy rewrites.
func rewrites(key, version int16) bool {
	return key == keyMetadata || key == keyFindCoordinator || key == keyDescribeCluster ||
		key == keyProduce && version >= 10 || key == keyFetch && version >= 16
}

// inFlight is a connection's requests awaiting responses, in request
// order. A Kafka broker answers a connection's requests in order, so
// requests before the one a response answers got none (acks=0 produce
// requests) and are dropped.
type inFlight struct {
	mu   sync.Mutex
	reqs []sent
}

// sent is one request: its correlation id, key and version.
type sent struct {
	corr int32
	pending
}

func (f *inFlight) add(corr int32, p pending) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.reqs = append(f.reqs, sent{corr: corr, pending: p})
}

// take returns the request a response with corr answers, if the proxy
// rewrites its response.
func (f *inFlight) take(corr int32) (pending, bool) {
	f.mu.Lock()
	defer f.mu.Unlock()
	for i, r := range f.reqs {
		if r.corr == corr {
			f.reqs = f.reqs[i+1:]
			return r.pending, rewrites(r.key, r.version)
		}
	}
	return pending{}, false
}

// reqTracker follows a connection's request frames and registers each
// request before it is forwarded.
type reqTracker struct {
	hdr    []byte // the frame's first 12 bytes: size, key, version, correlation id
	skip   int64  // bytes of the current frame still to pass
	broken bool
	add    func(corr int32, p pending)
}

// feed reads the chunk's frame headers.
func (r *reqTracker) feed(in []byte) {
	for len(in) > 0 && !r.broken {
		if r.skip > 0 {
			n := int(min(r.skip, int64(len(in))))
			r.skip -= int64(n)
			in = in[n:]
			continue
		}
		n := min(12-len(r.hdr), len(in))
		r.hdr = append(r.hdr, in[:n]...)
		in = in[n:]
		if len(r.hdr) < 12 {
			continue
		}
		size := int32(binary.BigEndian.Uint32(r.hdr))
		if size < 8 {
			r.broken = true // the decoder reports the bad frame
			return
		}
		key := int16(binary.BigEndian.Uint16(r.hdr[4:]))
		version := int16(binary.BigEndian.Uint16(r.hdr[6:]))
		corr := int32(binary.BigEndian.Uint32(r.hdr[8:]))
		r.add(corr, pending{key: key, version: version})
		r.skip = int64(size) - 8
		r.hdr = r.hdr[:0]
	}
}

// respRewriter cuts a connection's response stream into frames, passes
// most through as they come, and buffers and rewrites the responses of
// registered requests.
type respRewriter struct {
	hdr     []byte // the frame's first 8 bytes: size, correlation id
	skip    int64  // bytes of the current frame still to pass
	frame   []byte // the frame being buffered, with its size
	want    int
	pend    pending
	broken  bool
	take    func(corr int32) (pending, bool)
	rewrite func(frame []byte, p pending) []byte
}

// process returns the bytes to forward for the chunk in.
func (r *respRewriter) process(in []byte) []byte {
	if r.broken {
		return in
	}
	out := make([]byte, 0, len(in)+8)
	for len(in) > 0 {
		switch {
		case r.skip > 0:
			n := int(min(r.skip, int64(len(in))))
			out = append(out, in[:n]...)
			r.skip -= int64(n)
			in = in[n:]
		case r.frame != nil:
			n := min(r.want-len(r.frame), len(in))
			r.frame = append(r.frame, in[:n]...)
			in = in[n:]
			out = r.complete(out)
		default:
			n := min(8-len(r.hdr), len(in))
			r.hdr = append(r.hdr, in[:n]...)
			in = in[n:]
			if len(r.hdr) < 8 {
				continue
			}
			size := int32(binary.BigEndian.Uint32(r.hdr))
			corr := int32(binary.BigEndian.Uint32(r.hdr[4:]))
			if size < 4 {
				r.broken = true // the decoder reports the bad frame
				out = append(out, r.hdr...)
				return append(out, in...)
			}
			p, ok := r.take(corr)
			if ok && size <= maxRewriteBytes {
				r.frame = append(make([]byte, 0, 4+int(size)), r.hdr...)
				r.want, r.pend = 4+int(size), p
				out = r.complete(out)
			} else {
				if ok {
					r.rewrite(nil, p) // warns: too large to rewrite
				}
				out = append(out, r.hdr...)
				r.skip = int64(size) - 4
			}
			r.hdr = r.hdr[:0]
		}
	}
	return out
}

// complete appends the buffered frame, rewritten, once it is whole.
func (r *respRewriter) complete(out []byte) []byte {
	if len(r.frame) < r.want {
		return out
	}
	out = append(out, r.rewrite(r.frame, r.pend)...)
	r.frame = nil
	return out
}

// routes is the proxy's table of listeners, one per upstream broker.
type routes struct {
	mu       sync.Mutex
	first    *route
	byNode   map[int32]*route
	nextPort int
	host     string // the listeners' host
	warned   map[string]bool
}

// errTooLarge is the reason a response too large to buffer is passed on.
var errTooLarge = errors.New("response too large to rewrite")

// rewriteResponse returns frame with every advertised broker address
// replaced by the proxy listener in front of it, advertised as host.
// A response it cannot decode passes unchanged, with a warning.
func (p *Proxy) rewriteResponse(frame []byte, pd pending, host string) []byte {
	name := fmt.Sprintf("%s v%d", kmsg.NameForKey(pd.key), pd.version)
	if frame == nil {
		p.warnOnce("large "+name, "%s response: %v; passed on unchanged, so clients may reach brokers bypassing the proxy", name, errTooLarge)
		return nil
	}
	out, err := p.rewriteFrame(frame, pd, host)
	if err != nil {
		p.warnOnce("bad "+name, "cannot rewrite a %s response (%v); passed on unchanged, so clients may reach brokers bypassing the proxy", name, err)
		return frame
	}
	return out
}

// rewriteFrame decodes, rewrites and encodes one response frame.
func (p *Proxy) rewriteFrame(frame []byte, pd pending, host string) ([]byte, error) {
	req := kmsg.RequestForKey(pd.key)
	if req == nil {
		return nil, errors.New("unknown api key")
	}
	req.SetVersion(pd.version)
	resp := req.ResponseKind()
	resp.SetVersion(pd.version)
	if pd.version < 0 || pd.version > resp.MaxVersion() {
		return nil, fmt.Errorf("unknown version (max %d)", resp.MaxVersion())
	}
	body := frame[8:]
	hdrEnd := 8
	if resp.IsFlexible() {
		n, err := skipTags(body)
		if err != nil {
			return nil, err
		}
		body = body[n:]
		hdrEnd += n
	}
	if err := resp.ReadFrom(body); err != nil {
		return nil, err
	}
	changed := false
	advertise := func(node int32, h *string, port *int32) {
		if node < 0 || *h == "" {
			return
		}
		up := net.JoinHostPort(*h, strconv.Itoa(int(*port)))
		lp, ok := p.routeFor(node, up)
		if !ok {
			return
		}
		*h, *port, changed = host, lp, true
	}
	switch r := resp.(type) {
	case *kmsg.ProduceResponse:
		for i := range r.Brokers {
			b := &r.Brokers[i]
			advertise(b.NodeID, &b.Host, &b.Port)
		}
	case *kmsg.FetchResponse:
		for i := range r.Brokers {
			b := &r.Brokers[i]
			advertise(b.NodeID, &b.Host, &b.Port)
		}
	case *kmsg.MetadataResponse:
		for i := range r.Brokers {
			b := &r.Brokers[i]
			advertise(b.NodeID, &b.Host, &b.Port)
		}
	case *kmsg.FindCoordinatorResponse:
		if pd.version < 4 {
			if r.ErrorCode == 0 {
				advertise(r.NodeID, &r.Host, &r.Port)
			}
		}
		for i := range r.Coordinators {
			c := &r.Coordinators[i]
			if c.ErrorCode == 0 {
				advertise(c.NodeID, &c.Host, &c.Port)
			}
		}
	case *kmsg.DescribeClusterResponse:
		for i := range r.Brokers {
			b := &r.Brokers[i]
			advertise(b.NodeID, &b.Host, &b.Port)
		}
	}
	if !changed {
		return frame, nil
	}
	out := append([]byte(nil), frame[:hdrEnd]...)
	out = resp.AppendTo(out)
	if len(out)-4 > maxRewriteBytes {
		return nil, errTooLarge
	}
	binary.BigEndian.PutUint32(out, uint32(len(out)-4))
	return out, nil
}

// skipTags returns the length of a tagged-fields section at the start of b.
func skipTags(b []byte) (int, error) {
	errTags := errors.New("bad tagged fields in the response header")
	n, k := binary.Uvarint(b)
	if k <= 0 || n > uint64(len(b)) {
		return 0, errTags
	}
	off := k
	for i := uint64(0); i < n; i++ {
		if _, k = binary.Uvarint(b[off:]); k <= 0 {
			return 0, errTags
		}
		off += k
		size, k := binary.Uvarint(b[off:])
		if k <= 0 || size > uint64(len(b)-off-k) {
			return 0, errTags
		}
		off += k + int(size)
	}
	return off, nil
}

// routeFor returns the port of the listener in front of broker node at
// upstream, opening one if needed; false if none could be opened.
func (p *Proxy) routeFor(node int32, upstream string) (int32, bool) {
	rs := &p.routes
	rs.mu.Lock()
	defer rs.mu.Unlock()
	if rs.first == nil {
		return 0, false // not serving
	}
	if upstream == rs.first.Upstream {
		return rs.first.port, true
	}
	if r, ok := rs.byNode[node]; ok {
		if r.Upstream != upstream {
			p.opts.Logf("proxy: broker %d moved from %s to %s", node, r.Upstream, upstream)
			r.Upstream = upstream
		}
		return r.port, true
	}
	ln, err := p.listenNext()
	if err != nil {
		p.warnLocked(upstream, "broker %d at %s is advertised but not served by the proxy (%v): clients that follow Metadata reach it directly, unrecorded", node, upstream, err)
		return 0, false
	}
	r := &route{Route: Route{Node: node, Upstream: upstream, Listen: ln.Addr().String()}, ln: ln, port: int32(ln.Addr().(*net.TCPAddr).Port)}
	if !p.addListener(r) {
		ln.Close()
		return 0, false
	}
	rs.byNode[node] = r
	p.opts.Logf("proxy: broker %d at %s is reached through %s", node, upstream, r.Listen)
	return r.port, true
}

// listenNext opens a listener on the first listener's host, on the next
// free port after it or else an ephemeral port; p.routes.mu is held.
func (p *Proxy) listenNext() (net.Listener, error) {
	rs := &p.routes
	for i := 0; i < portTries && rs.nextPort > 0 && rs.nextPort < 65536; i++ {
		port := rs.nextPort
		rs.nextPort++
		if ln, err := p.opts.Listen("tcp", net.JoinHostPort(rs.host, strconv.Itoa(port))); err == nil {
			return ln, nil
		}
	}
	return p.opts.Listen("tcp", net.JoinHostPort(rs.host, "0"))
}

// Routes returns the proxy's listeners: the first one, then one per
// broker node seen in a response, by node id.
func (p *Proxy) Routes() []Route {
	rs := &p.routes
	rs.mu.Lock()
	defer rs.mu.Unlock()
	var out []Route
	if rs.first != nil {
		out = append(out, rs.first.Route)
	}
	var nodes []*route
	for _, r := range rs.byNode {
		nodes = append(nodes, r)
	}
	for i := 1; i < len(nodes); i++ {
		for j := i; j > 0 && nodes[j].Node < nodes[j-1].Node; j-- {
			nodes[j], nodes[j-1] = nodes[j-1], nodes[j]
		}
	}
	for _, r := range nodes {
		out = append(out, r.Route)
	}
	return out
}

// upstreamOf returns the address r's connections dial now.
func (p *Proxy) upstreamOf(r *route) string {
	p.routes.mu.Lock()
	defer p.routes.mu.Unlock()
	return r.Upstream
}

// warnOnce passes a warning to Options.Warnf once per key.
func (p *Proxy) warnOnce(key, format string, args ...any) {
	p.routes.mu.Lock()
	defer p.routes.mu.Unlock()
	p.warnLocked(key, format, args...)
}

func (p *Proxy) warnLocked(key, format string, args ...any) {
	if p.routes.warned[key] {
		return
	}
	p.routes.warned[key] = true
	p.opts.Warnf(format, args...)
}
