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

	_ struct{}
}

// Proxy is a recording proxy; see the package documentation.
type Proxy struct {
	opts Options
	dec  *kafkawire.Decoder

	mu    sync.Mutex // orders capture and decoding; guards last
	last  time.Time
	conns sync.WaitGroup

	live   sync.Mutex // guards open
	open   map[*conn]struct{}
	closed bool
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
	return &Proxy{opts: opts, dec: kafkawire.New(opts.Recorder, opts.Decoder), open: make(map[*conn]struct{})}, nil
}

// Stats returns the decoder's counts.
func (p *Proxy) Stats() kafkawire.Stats { return p.dec.Stats() }

// Serve accepts connections on ln until ctx is done or ln fails, then
// closes every connection (their unanswered requests become unknown
// outcomes) and returns. It returns nil after a cancellation.
func (p *Proxy) Serve(ctx context.Context, ln net.Listener) error {
	stop := context.AfterFunc(ctx, func() { ln.Close() })
	defer stop()
	var err error
	for {
		c, aerr := ln.Accept()
		if aerr != nil {
			if ctx.Err() == nil {
				err = fmt.Errorf("proxy: accept: %w", aerr)
			}
			break
		}
		p.conns.Add(1)
		go p.handle(ctx, c)
	}
	p.live.Lock()
	p.closed = true
	for c := range p.open {
		c.shut()
	}
	p.live.Unlock()
	p.conns.Wait()
	return err
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

func (p *Proxy) handle(ctx context.Context, client net.Conn) {
	defer p.conns.Done()
	c := &conn{p: p, client: client, clientAddr: client.RemoteAddr().String()}
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
	up, err := d.DialContext(ctx, "tcp", p.opts.Upstream)
	if err != nil {
		p.opts.Logf("proxy: %s: dial upstream %s: %v", c.clientAddr, p.opts.Upstream, err)
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
			if _, werr := dst.Write(buf[:n]); werr != nil {
				err = werr
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
