package proxy

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/netip"
	"sync"
	"time"

	"github.com/idemcheck/idemcheck/internal/kafkawire"
	"github.com/idemcheck/idemcheck/internal/pcap"
)

// Options configure a [Proxy].
type Options struct {
	// Upstream is the broker's address, host:port.
	Upstream string
	// Recorder receives the history events; nil records nothing.
	Recorder kafkawire.Recorder
	// PCAP, if set, gets a capture of the traffic.
	PCAP *pcap.Writer
	// Decoder tunes the Kafka decoder (problems are reported through its
	// OnProblem).
	Decoder kafkawire.Options
	// Logf, if set, gets one line per connection event.
	Logf func(format string, args ...any)
	// DialTimeout bounds dialing the upstream (default 10s).
	DialTimeout time.Duration
	// Now is the clock (default time.Now).
	Now func() time.Time
	// Warnf, if set, gets warnings: a response that advertises a broker
	// address the proxy does not serve, once per address or reason.
	Warnf func(format string, args ...any)
	// AdvertiseHost is the host the rewritten responses advertise for
	// the proxy's listeners (default: the address the client reached the
	// proxy at).
	AdvertiseHost string
	// Listen opens the listeners in front of further brokers (default
	// net.Listen).
	Listen func(network, addr string) (net.Listener, error)

	_ struct{}
}

// Proxy is a recording proxy; see the package documentation.
type Proxy struct {
	opts Options
	dec  *kafkawire.Decoder

	mu    sync.Mutex // orders capture and decoding; guards last
	last  time.Time
	conns sync.WaitGroup

	live      sync.Mutex // guards open, closed, extra and ctx
	open      map[*conn]struct{}
	closed    bool
	extra     []net.Listener // listeners in front of further brokers
	ctx       context.Context
	listeners sync.WaitGroup

	routes routes
}

// New returns a proxy for opts.
func New(opts Options) (*Proxy, error) {
	if opts.Upstream == "" {
		return nil, errors.New("proxy: no upstream address")
	}
	if opts.DialTimeout <= 0 {
		opts.DialTimeout = 10 * time.Second
	}
	if opts.Now == nil {
		opts.Now = time.Now
	}
	if opts.Logf == nil {
		opts.Logf = func(string, ...any) {}
	}
	if opts.Warnf == nil {
		opts.Warnf = func(string, ...any) {}
	}
	if opts.Listen == nil {
		opts.Listen = net.Listen
	}
	return &Proxy{opts: opts, dec: kafkawire.New(opts.Recorder, opts.Decoder), open: make(map[*conn]struct{}),
		routes: routes{byNode: make(map[int32]*route), warned: make(map[string]bool)}}, nil
}

// Stats returns the decoder's counts.
func (p *Proxy) Stats() kafkawire.Stats { return p.dec.Stats() }

// Serve accepts connections on ln, forwarded to Options.Upstream, until
// ctx is done or ln fails, then closes every connection (their
// unanswered requests become unknown outcomes) and returns. It returns
// nil after a cancellation. Serve is called once.
//
// Brokers that responses advertise (Metadata, FindCoordinator,
// DescribeCluster) get listeners of their own on ln's host, on the
// ports after ln's or else ephemeral ports, and the responses advertise
// those instead; a broker advertised at Options.Upstream is reached
// through ln.
func (p *Proxy) Serve(ctx context.Context, ln net.Listener) error {
	host, port := "", 0
	if ta, ok := ln.Addr().(*net.TCPAddr); ok {
		host, port = ta.IP.String(), ta.Port
		if ta.IP == nil {
			host = ""
		}
	}
	first := &route{Route: Route{Node: -1, Upstream: p.opts.Upstream, Listen: ln.Addr().String()}, ln: ln, port: int32(port)}
	p.routes.mu.Lock()
	p.routes.first, p.routes.host, p.routes.nextPort = first, host, port+1
	p.routes.mu.Unlock()
	p.live.Lock()
	p.ctx = ctx
	p.live.Unlock()

	err := p.accept(ctx, first)
	p.live.Lock()
	p.closed = true
	for _, l := range p.extra {
		l.Close()
	}
	for c := range p.open {
		c.shut()
	}
	p.live.Unlock()
	p.listeners.Wait()
	p.conns.Wait()
	return err
}

// addListener serves r's listener unless the proxy is closing.
func (p *Proxy) addListener(r *route) bool {
	p.live.Lock()
	defer p.live.Unlock()
	if p.closed || p.ctx == nil {
		return false
	}
	p.extra = append(p.extra, r.ln)
	p.listeners.Add(1)
	ctx := p.ctx
	go func() {
		defer p.listeners.Done()
		if err := p.accept(ctx, r); err != nil {
			p.opts.Logf("proxy: listener for broker %d: %v", r.Node, err)
		}
	}()
	return true
}

// accept accepts connections on r's listener until ctx is done or the
// listener fails; nil after a cancellation or a close by Serve.
func (p *Proxy) accept(ctx context.Context, r *route) error {
	stop := context.AfterFunc(ctx, func() { r.ln.Close() })
	defer stop()
	for {
		c, aerr := r.ln.Accept()
		if aerr != nil {
			p.live.Lock()
			closed := p.closed
			p.live.Unlock()
			if ctx.Err() == nil && !closed {
				return fmt.Errorf("proxy: accept: %w", aerr)
			}
			return nil
		}
		p.conns.Add(1)
		go p.handle(ctx, c, r)
	}
}

// conn is one proxied connection.
type conn struct {
	p          *Proxy
	client     net.Conn
	upstream   net.Conn
	kc         *kafkawire.Conn
	pc         *pcap.ConnWriter
	once       sync.Once
	clientAddr string
	reqs       reqTracker
	resps      respRewriter
	inFlight   inFlight
}

func (c *conn) shut() {
	c.client.Close()
	if c.upstream != nil {
		c.upstream.Close()
	}
}

// now returns a time not before the last one used.
func (p *Proxy) now() time.Time {
	t := p.opts.Now()
	if t.Before(p.last) {
		t = p.last
	}
	p.last = t
	return t
}

func (p *Proxy) handle(ctx context.Context, client net.Conn, r *route) {
	defer p.conns.Done()
	c := &conn{p: p, client: client, clientAddr: client.RemoteAddr().String()}
	host := p.opts.AdvertiseHost
	if host == "" {
		host, _, _ = net.SplitHostPort(client.LocalAddr().String())
	}
	c.reqs.add = c.inFlight.add
	c.resps.take = c.inFlight.take
	c.resps.rewrite = func(frame []byte, pd pending) []byte { return p.rewriteResponse(frame, pd, host) }
	p.live.Lock()
	if p.closed {
		p.live.Unlock()
		client.Close()
		return
	}
	p.open[c] = struct{}{}
	p.live.Unlock()
	defer func() {
		p.live.Lock()
		delete(p.open, c)
		p.live.Unlock()
	}()

	d := net.Dialer{Timeout: p.opts.DialTimeout}
	upstream := p.upstreamOf(r)
	up, err := d.DialContext(ctx, "tcp", upstream)
	if err != nil {
		p.opts.Logf("proxy: %s: dial upstream %s: %v", c.clientAddr, upstream, err)
		client.Close()
		return
	}
	p.live.Lock()
	c.upstream = up
	if p.closed {
		c.shut()
	}
	p.live.Unlock()

	p.mu.Lock()
	t := p.now()
	name := c.clientAddr + "->" + up.RemoteAddr().String()
	c.kc = p.dec.Conn(name, false)
	if p.opts.PCAP != nil {
		c.pc = p.opts.PCAP.Conn(addrPort(client.RemoteAddr()), addrPort(up.RemoteAddr()), t)
	}
	p.mu.Unlock()
	p.opts.Logf("proxy: %s: open", name)

	var wg sync.WaitGroup
	wg.Add(2)
	go func() { defer wg.Done(); c.pipe(kafkawire.Requests, client, up) }()
	go func() { defer wg.Done(); c.pipe(kafkawire.Responses, up, client) }()
	wg.Wait()
	p.opts.Logf("proxy: %s: closed", name)
}

// pipe copies src to dst, recording each chunk before forwarding it.
// Requests pass unchanged; responses that advertise brokers are
// rewritten to advertise the proxy's listeners (the decoder and the
// capture see the broker's bytes).
func (c *conn) pipe(dir kafkawire.Dir, src, dst net.Conn) {
	p := c.p
	buf := make([]byte, 32<<10)
	for {
		n, err := src.Read(buf)
		if n > 0 {
			p.mu.Lock()
			t := p.now()
			if c.pc != nil {
				c.pc.Write(dir, t, buf[:n])
			}
			c.kc.Feed(dir, t, buf[:n])
			p.mu.Unlock()
			fwd := buf[:n]
			if dir == kafkawire.Requests {
				c.reqs.feed(fwd)
			} else {
				fwd = c.resps.process(fwd)
			}
			if len(fwd) > 0 {
				if _, werr := dst.Write(fwd); werr != nil {
					err = werr
				}
			}
		}
		if err != nil {
			if !errors.Is(err, io.EOF) && !errors.Is(err, net.ErrClosed) {
				p.opts.Logf("proxy: %s: %s: %v", c.clientAddr, dir, err)
			}
			c.end()
			return
		}
	}
}

// end closes both ends once and settles the connection's operations.
func (c *conn) end() {
	c.once.Do(func() {
		p := c.p
		p.mu.Lock()
		t := p.now()
		if c.pc != nil {
			c.pc.Close(t)
		}
		c.kc.Close(t)
		p.mu.Unlock()
		c.shut()
	})
}

func addrPort(a net.Addr) netip.AddrPort {
	if ta, ok := a.(*net.TCPAddr); ok {
		return ta.AddrPort()
	}
	ap, _ := netip.ParseAddrPort(a.String())
	return ap
}
