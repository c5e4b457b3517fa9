package pcap

import (
	"bufio"
	"bytes"
	"errors"
	"fmt"
	"io"
	"net/netip"
	"time"

	"github.com/gopacket/gopacket"
	"github.com/gopacket/gopacket/layers"
	"github.com/gopacket/gopacket/pcapgo"
	"github.com/gopacket/gopacket/reassembly"
	"github.com/idemcheck/idemcheck/internal/kafkawire"
)

// ErrFormat is returned when the input is neither pcap nor pcapng.
var ErrFormat = errors.New("pcap: not a pcap or pcapng file")

// Options tune [Import].
type Options struct {
	// Port is the broker's TCP port (default 9092): segments to it are
	// requests, segments from it responses.
	Port uint16
	// Decoder tunes the Kafka decoder; its OnProblem, if set, is called
	// as well as problems being collected in the [Report].
	Decoder kafkawire.Options
	// MaxProblems bounds the problems kept in the [Report] (default 100);
	// all are counted.
	MaxProblems int

	_ struct{}
}

// Report says what an import saw.
type Report struct {
	// Packets read; Kafka counts the TCP segments to or from the port;
	// Undecodable counts packets whose layers did not decode.
	Packets     int
	Kafka       int
	Undecodable int
	// Conns is the number of TCP connections; MidStream those whose
	// handshake is not in the capture.
	Conns     int
	MidStream int
	// OverlapBytes and OverlapPackets count retransmitted or overlapping
	// data dropped by the reassembly.
	OverlapBytes   int
	OverlapPackets int
	// Decoder is the decoder's counts (operations, unknown outcomes,
	// missing and skipped bytes, problems).
	Decoder kafkawire.Stats
	// Problems are the first MaxProblems problems.
	Problems []kafkawire.Problem
	// Truncated is set when the capture ends in a partial packet (the
	// capturing process was killed, or the file was cut): what was read
	// before it is imported.
	Truncated bool
	// Snapped counts the packets to or from the port that the capture's
	// snap length cut short (captured fewer bytes than were sent), and
	// SnapLen is the most bytes such a packet kept: their payload is
	// lost, so the history would be wrong (capture with -s 0).
	Snapped int
	SnapLen int
	// UndecodableByLink counts the undecodable packets by link type, so
	// that a capture of an unsupported link type says which.
	UndecodableByLink map[layers.LinkType]int
}

// ErrSnapLen is returned when the capture's snap length cut packets of
// the Kafka traffic: their bytes are missing, so no history is trusted.
var ErrSnapLen = errors.New("pcap: packets cut by the capture's snap length")

// Import reads a pcap or pcapng capture from r and records the Kafka
// produce history it holds to rec. The error is for unreadable input
// (not a capture, or a read failure before the end); flaws of the
// captured traffic are in the report.
func Import(r io.Reader, rec kafkawire.Recorder, opts Options) (Report, error) {
	if opts.Port == 0 {
		opts.Port = 9092
	}
	if opts.MaxProblems <= 0 {
		opts.MaxProblems = 100
	}
	var rep Report
	user := opts.Decoder.OnProblem
	opts.Decoder.OnProblem = func(p kafkawire.Problem) {
		if len(rep.Problems) < opts.MaxProblems {
			rep.Problems = append(rep.Problems, p)
		}
		if user != nil {
			user(p)
		}
	}
	src, defaultLink, err := open(r)
	if err != nil {
		return rep, err
	}
	dec := kafkawire.New(rec, opts.Decoder)
	f := &factory{dec: dec, port: layers.TCPPort(opts.Port), rep: &rep, onProblem: opts.Decoder.OnProblem}
	asm := reassembly.NewAssembler(reassembly.NewStreamPool(f))
	// Wait for at most ~4 MiB of out-of-order data per connection before
	// declaring the missing segment lost.
	asm.MaxBufferedPagesPerConnection = 2048
	var last time.Time
	var readErr error
	for {
		data, ci, err := src.ReadPacketData()
		if err == io.EOF {
			break
		}
		if err != nil {
			// A capture cut short (tcpdump killed) ends in a partial
			// packet: keep what was read.
			if errors.Is(err, io.ErrUnexpectedEOF) {
				rep.Truncated = true
				break
			}
			readErr = fmt.Errorf("pcap: packet %d: %w", rep.Packets+1, err)
			break
		}
		rep.Packets++
		if ci.Timestamp.After(last) {
			last = ci.Timestamp
		}
		// A pcapng capture may mix interfaces of several link types
		// (tcpdump -i any -i lo, mergecap): each packet carries its own.
		link := defaultLink
		if len(ci.AncillaryData) > 0 {
			if lt, ok := ci.AncillaryData[0].(layers.LinkType); ok {
				link = lt
			}
		}
		pkt := gopacket.NewPacket(data, link, gopacket.DecodeOptions{Lazy: true, NoCopy: true})
		tcp, _ := pkt.Layer(layers.LayerTypeTCP).(*layers.TCP)
		if tcp == nil || pkt.NetworkLayer() == nil {
			if pkt.ErrorLayer() != nil {
				rep.Undecodable++
				if rep.UndecodableByLink == nil {
					rep.UndecodableByLink = map[layers.LinkType]int{}
				}
				rep.UndecodableByLink[link]++
			}
			continue
		}
		if tcp.SrcPort != f.port && tcp.DstPort != f.port {
			continue
		}
		rep.Kafka++
		if ci.CaptureLength < ci.Length {
			rep.Snapped++
			rep.SnapLen = max(rep.SnapLen, ci.CaptureLength)
		}
		asm.AssembleWithContext(pkt.NetworkLayer().NetworkFlow(), tcp, &context{ci: ci})
	}
	// Deliver what waits behind missing segments and end every stream:
	// requests of connections still open at the end of the capture
	// become unknown outcomes.
	f.final = last
	asm.FlushAll()
	dec.CloseAll(last)
	rep.Decoder = dec.Stats()
	if readErr == nil && rep.Snapped > 0 {
		readErr = fmt.Errorf("%w: %d packets to or from port %d kept at most %d bytes each, so their Kafka bytes are missing; capture again with a snap length of 0 (tcpdump -s 0)", ErrSnapLen, rep.Snapped, opts.Port, rep.SnapLen)
	}
	return rep, readErr
}

// packetSource is what pcapgo's two readers share.
type packetSource interface {
	ReadPacketData() ([]byte, gopacket.CaptureInfo, error)
}

// open detects pcap or pcapng from the magic number.
func open(r io.Reader) (packetSource, layers.LinkType, error) {
	br := bufio.NewReaderSize(r, 1<<16)
	magic, err := br.Peek(4)
	if err != nil {
		return nil, 0, fmt.Errorf("%w: %v", ErrFormat, err)
	}
	if bytes.Equal(magic, []byte{0x0a, 0x0d, 0x0d, 0x0a}) {
		opts := pcapgo.DefaultNgReaderOptions
		opts.WantMixedLinkType = true
		ng, err := pcapgo.NewNgReader(br, opts)
		if err != nil {
			return nil, 0, fmt.Errorf("%w: %v", ErrFormat, err)
		}
		return ng, ng.LinkType(), nil
	}
	pr, err := pcapgo.NewReader(br)
	if err != nil {
		return nil, 0, fmt.Errorf("%w: %v", ErrFormat, err)
	}
	return pr, pr.LinkType(), nil
}

type context struct{ ci gopacket.CaptureInfo }

func (c *context) GetCaptureInfo() gopacket.CaptureInfo { return c.ci }

// factory makes one stream per TCP connection.
type factory struct {
	dec   *kafkawire.Decoder
	port  layers.TCPPort
	rep   *Report
	final time.Time // end of the capture, for streams flushed at the end
	// onProblem reports a problem the importer finds itself (a
	// connection whose start is not in the capture) where the decoder's
	// go.
	onProblem func(kafkawire.Problem)
}

func (f *factory) New(netFlow, tcpFlow gopacket.Flow, tcp *layers.TCP, ac reassembly.AssemblerContext) reassembly.Stream {
	// The stream's "client to server" direction is that of its first
	// packet; the broker port says which one carries requests.
	toBroker := tcp.DstPort == f.port
	src, dst := netFlow.Endpoints()
	client := endpoint(src.Raw(), uint16(tcp.SrcPort))
	server := endpoint(dst.Raw(), uint16(tcp.DstPort))
	if !toBroker {
		client, server = server, client
	}
	s := &stream{f: f, name: client.String() + "->" + server.String(), firstToBroker: toBroker,
		last: ac.GetCaptureInfo().Timestamp}
	if tcp.SYN {
		// A connection seen from its handshake; a connection without one
		// is opened at its first data, so that stray packets (the last
		// ACK after both FINs, say) make no connection.
		s.open(false)
	}
	return s
}

// open starts decoding the connection.
func (s *stream) open(mid bool) {
	s.f.rep.Conns++
	if mid {
		s.f.rep.MidStream++
		s.f.onProblem(kafkawire.Problem{Conn: s.name, Dir: kafkawire.Requests, Offset: 0,
			Err: fmt.Errorf("%w: its handshake is not in the capture; decoding starts at the first frame found in each direction", kafkawire.ErrMidStream)})
	}
	s.conn = s.f.dec.Conn(s.name, mid)
}

func endpoint(raw []byte, port uint16) netip.AddrPort {
	a, _ := netip.AddrFromSlice(raw)
	return netip.AddrPortFrom(a.Unmap(), port)
}

// stream feeds one reassembled connection to the decoder.
type stream struct {
	f             *factory
	name          string
	conn          *kafkawire.Conn // nil until the connection is opened
	firstToBroker bool
	last          time.Time // capture time of the latest packet seen
}

func (s *stream) Accept(tcp *layers.TCP, ci gopacket.CaptureInfo, dir reassembly.TCPFlowDirection, nextSeq reassembly.Sequence, start *bool, ac reassembly.AssemblerContext) bool {
	if ci.Timestamp.After(s.last) {
		s.last = ci.Timestamp
	}
	// Accept a connection whose handshake was not captured.
	*start = true
	return true
}

func (s *stream) dir(d reassembly.TCPFlowDirection) kafkawire.Dir {
	if (d == reassembly.TCPDirClientToServer) == s.firstToBroker {
		return kafkawire.Requests
	}
	return kafkawire.Responses
}

func (s *stream) ReassembledSG(sg reassembly.ScatterGather, ac reassembly.AssemblerContext) {
	d, _, _, skip := sg.Info()
	st := sg.Stats()
	s.f.rep.OverlapBytes += st.OverlapBytes
	s.f.rep.OverlapPackets += st.OverlapPackets
	t := s.last
	if ac != nil {
		t = ac.GetCaptureInfo().Timestamp
	} else if !s.f.final.IsZero() {
		t = s.f.final
	}
	dir := s.dir(d)
	n, _ := sg.Lengths()
	if s.conn == nil {
		if n == 0 {
			return
		}
		s.open(true)
		skip = 0 // the search for a frame covers what came before
	}
	if skip > 0 {
		s.conn.Gap(dir, t, skip)
	}
	if n > 0 {
		s.conn.Feed(dir, t, sg.Fetch(n))
	}
}

func (s *stream) ReassemblyComplete(ac reassembly.AssemblerContext) bool {
	t := s.last
	if ac != nil {
		t = ac.GetCaptureInfo().Timestamp
	}
	if s.conn != nil {
		s.conn.Close(t)
	}
	return true
}
