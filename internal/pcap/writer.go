package pcap

import (
	"fmt"
	"io"
	"net"
	"net/netip"
	"sync"
	"time"

	"github.com/gopacket/gopacket"
	"github.com/gopacket/gopacket/layers"
	"github.com/gopacket/gopacket/pcapgo"
	"github.com/idemcheck/idemcheck/internal/kafkawire"
)

// maxSegment is the largest TCP payload of one synthesized packet.
const maxSegment = 32 << 10

// Writer writes a pcap file (nanosecond timestamps, Ethernet link type)
// of synthesized TCP connections. It is safe for concurrent use; packets
// are written in the order of the calls.
type Writer struct {
	mu  sync.Mutex
	w   *pcapgo.Writer
	buf gopacket.SerializeBuffer
	err error
}

// NewWriter writes the pcap file header to w.
func NewWriter(w io.Writer) (*Writer, error) {
	pw := pcapgo.NewWriterNanos(w)
	if err := pw.WriteFileHeader(65536, layers.LinkTypeEthernet); err != nil {
		return nil, fmt.Errorf("pcap: write header: %w", err)
	}
	return &Writer{w: pw, buf: gopacket.NewSerializeBuffer()}, nil
}

// Err returns the first write error, if any; later packets are dropped
// after one.
func (w *Writer) Err() error {
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.err
}

// ConnWriter is one synthesized TCP connection of a [Writer].
type ConnWriter struct {
	w              *Writer
	client, server netip.AddrPort
	seq            [2]uint32 // next sequence number per direction
	closed         bool
}

// Conn starts a connection from client to server at time t: it writes
// the three-way handshake. Addresses that are not IPv4 are replaced by
// 10.0.0.1 (client) and 10.0.0.2 (server), keeping the ports.
func (w *Writer) Conn(client, server netip.AddrPort, t time.Time) *ConnWriter {
	if !client.Addr().Unmap().Is4() {
		client = netip.AddrPortFrom(netip.AddrFrom4([4]byte{10, 0, 0, 1}), client.Port())
	}
	if !server.Addr().Unmap().Is4() {
		server = netip.AddrPortFrom(netip.AddrFrom4([4]byte{10, 0, 0, 2}), server.Port())
	}
	c := &ConnWriter{w: w, client: client, server: server, seq: [2]uint32{1000, 5000}}
	w.mu.Lock()
	defer w.mu.Unlock()
	c.packet(kafkawire.Requests, t, flags{syn: true}, nil)
	c.packet(kafkawire.Responses, t, flags{syn: true, ack: true}, nil)
	c.packet(kafkawire.Requests, t, flags{ack: true}, nil)
	return c
}

// Write writes b, bytes of direction dir seen at time t, as one or more
// segments. Writing to a closed connection does nothing.
func (c *ConnWriter) Write(dir kafkawire.Dir, t time.Time, b []byte) {
	c.w.mu.Lock()
	defer c.w.mu.Unlock()
	if c.closed {
		return
	}
	for len(b) > 0 {
		n := min(len(b), maxSegment)
		c.packet(dir, t, flags{ack: true, psh: true}, b[:n])
		b = b[n:]
	}
}

// Close writes FINs from both ends at time t and the last ACK.
func (c *ConnWriter) Close(t time.Time) {
	c.w.mu.Lock()
	defer c.w.mu.Unlock()
	if c.closed {
		return
	}
	c.closed = true
	c.packet(kafkawire.Requests, t, flags{fin: true, ack: true}, nil)
	c.packet(kafkawire.Responses, t, flags{fin: true, ack: true}, nil)
	c.packet(kafkawire.Requests, t, flags{ack: true}, nil)
}

type flags struct{ syn, ack, psh, fin bool }

// packet writes one segment; the caller holds w.mu.
func (c *ConnWriter) packet(dir kafkawire.Dir, t time.Time, f flags, payload []byte) {
	w := c.w
	if w.err != nil {
		return
	}
	src, dst := c.client, c.server
	srcMAC, dstMAC := net.HardwareAddr{2, 0, 0, 0, 0, 1}, net.HardwareAddr{2, 0, 0, 0, 0, 2}
	if dir == kafkawire.Responses {
		src, dst = dst, src
		srcMAC, dstMAC = dstMAC, srcMAC
	}
	eth := &layers.Ethernet{SrcMAC: srcMAC, DstMAC: dstMAC, EthernetType: layers.EthernetTypeIPv4}
	sa, da := src.Addr().Unmap().As4(), dst.Addr().Unmap().As4()
	ip := &layers.IPv4{Version: 4, TTL: 64, Protocol: layers.IPProtocolTCP, SrcIP: sa[:], DstIP: da[:]}
	tcp := &layers.TCP{SrcPort: layers.TCPPort(src.Port()), DstPort: layers.TCPPort(dst.Port()),
		Seq: c.seq[dir], Ack: c.seq[1-dir], SYN: f.syn, ACK: f.ack, PSH: f.psh, FIN: f.fin, Window: 65535}
	if err := tcp.SetNetworkLayerForChecksum(ip); err != nil {
		w.err = fmt.Errorf("pcap: %w", err)
		return
	}
	if err := gopacket.SerializeLayers(w.buf, gopacket.SerializeOptions{FixLengths: true, ComputeChecksums: true},
		eth, ip, tcp, gopacket.Payload(payload)); err != nil {
		w.err = fmt.Errorf("pcap: serialize: %w", err)
		return
	}
	data := w.buf.Bytes()
	ci := gopacket.CaptureInfo{Timestamp: t, CaptureLength: len(data), Length: len(data)}
	if err := w.w.WritePacket(ci, data); err != nil {
		w.err = fmt.Errorf("pcap: write packet: %w", err)
		return
	}
	c.seq[dir] += uint32(len(payload))
	if f.syn || f.fin {
		c.seq[dir]++
	}
}
