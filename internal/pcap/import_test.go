package pcap

import (
	"bytes"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"net/netip"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/gopacket/gopacket"
	"github.com/gopacket/gopacket/layers"
	"github.com/gopacket/gopacket/pcapgo"
	"github.com/idemcheck/idemcheck/history"
	"github.com/idemcheck/idemcheck/internal/kafkawire"
	"github.com/twmb/franz-go/pkg/kmsg"
)

var t0 = time.Unix(1700000000, 0)

func batch(pid int64, seq int32) []byte {
	b := make([]byte, 61)
	binary.BigEndian.PutUint32(b[8:], 49)
	b[16] = 2
	binary.BigEndian.PutUint64(b[43:], uint64(pid))
	binary.BigEndian.PutUint32(b[53:], uint32(seq))
	binary.BigEndian.PutUint32(b[57:], 1)
	return b
}

func produce(corr int32, pid int64, seq int32) []byte {
	req := kmsg.NewPtrProduceRequest()
	req.Version, req.Acks, req.TimeoutMillis = 9, -1, 1000
	req.Topics = []kmsg.ProduceRequestTopic{{Topic: "t", Partitions: []kmsg.ProduceRequestTopicPartition{{Records: batch(pid, seq)}}}}
	return kmsg.NewRequestFormatter(kmsg.FormatterClientID("c")).AppendRequest(nil, req, corr)
}

func produceResp(corr int32, code int16, off int64) []byte {
	resp := kmsg.NewPtrProduceResponse()
	resp.Version = 9
	p := kmsg.NewProduceResponseTopicPartition()
	p.ErrorCode, p.BaseOffset = code, off
	resp.Topics = []kmsg.ProduceResponseTopic{{Topic: "t", Partitions: []kmsg.ProduceResponseTopicPartition{p}}}
	b := binary.BigEndian.AppendUint32([]byte{0, 0, 0, 0}, uint32(corr))
	b = append(b, 0) // flexible response header: no tags
	b = resp.AppendTo(b)
	binary.BigEndian.PutUint32(b, uint32(len(b)-4))
	return b
}

// chunk is bytes of one direction of one connection at one time.
type chunk struct {
	conn int
	dir  kafkawire.Dir
	data []byte
	end  bool // close the connection instead
}

// traffic is two connections of produce traffic, the second answered
// with OUT_OF_ORDER_SEQUENCE_NUMBER, each request split over two chunks.
func traffic() []chunk {
	var cs []chunk
	for i := 0; i < 3; i++ {
		for conn := 0; conn < 2; conn++ {
			req := produce(int32(i), int64(conn+1), int32(i))
			cs = append(cs, chunk{conn: conn, dir: kafkawire.Requests, data: req[:20]},
				chunk{conn: conn, dir: kafkawire.Requests, data: req[20:]})
		}
		for conn := 0; conn < 2; conn++ {
			code := int16(0)
			if conn == 1 {
				code = 45
			}
			cs = append(cs, chunk{conn: conn, dir: kafkawire.Responses, data: produceResp(int32(i), code, int64(10+i))})
		}
	}
	return append(cs, chunk{conn: 0, end: true}, chunk{conn: 1, end: true})
}

// direct decodes the chunks straight into a history, as the proxy does.
func direct(t *testing.T, cs []chunk) history.History {
	t.Helper()
	log := history.NewLog(history.Header{})
	d := kafkawire.New(log, kafkawire.Options{})
	conns := map[int]*kafkawire.Conn{}
	for i, c := range cs {
		at := t0.Add(time.Duration(i) * time.Millisecond)
		kc := conns[c.conn]
		if kc == nil {
			kc = d.Conn(fmt.Sprint(c.conn), false)
			conns[c.conn] = kc
		}
		if c.end {
			kc.Close(at)
			continue
		}
		kc.Feed(c.dir, at, c.data)
	}
	return log.History()
}

// capture writes the chunks as a pcap with Writer.
func capture(t *testing.T, cs []chunk) []byte {
	t.Helper()
	var buf bytes.Buffer
	w, err := NewWriter(&buf)
	if err != nil {
		t.Fatal(err)
	}
	conns := map[int]*ConnWriter{}
	server := netip.MustParseAddrPort("127.0.0.1:9092")
	for i, c := range cs {
		at := t0.Add(time.Duration(i) * time.Millisecond)
		cw := conns[c.conn]
		if cw == nil {
			cw = w.Conn(netip.AddrPortFrom(server.Addr(), uint16(40000+c.conn)), server, at)
			conns[c.conn] = cw
		}
		if c.end {
			cw.Close(at)
			continue
		}
		cw.Write(c.dir, at, c.data)
	}
	if err := w.Err(); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

type packet struct {
	ci   gopacket.CaptureInfo
	data []byte
}

func packets(t *testing.T, pcap []byte) []packet {
	t.Helper()
	r, err := pcapgo.NewReader(bytes.NewReader(pcap))
	if err != nil {
		t.Fatal(err)
	}
	var ps []packet
	for {
		data, ci, err := r.ReadPacketData()
		if err == io.EOF {
			return ps
		}
		if err != nil {
			t.Fatal(err)
		}
		ps = append(ps, packet{ci, data})
	}
}

func rewrite(t *testing.T, ps []packet, ng bool) []byte {
	t.Helper()
	return rewriteLink(t, ps, ng, layers.LinkTypeEthernet)
}

// rewriteLink writes ps (Ethernet frames) as a capture of link type
// link: Ethernet, raw IP, or Linux cooked (tcpdump -i any).
func rewriteLink(t *testing.T, ps []packet, ng bool, link layers.LinkType) []byte {
	t.Helper()
	var out []packet
	for _, p := range ps {
		ip := p.data[14:]
		var data []byte
		switch link {
		case layers.LinkTypeEthernet:
			data = p.data
		case layers.LinkTypeRaw:
			data = append([]byte(nil), ip...)
		case layers.LinkTypeLinuxSLL:
			data = append([]byte{0, 0, 0, 1, 0, 6, 2, 0, 0, 0, 0, 1, 0, 0, 0x08, 0x00}, ip...)
		default:
			t.Fatalf("link type %v", link)
		}
		ci := p.ci
		ci.CaptureLength, ci.Length = len(data), len(data)
		out = append(out, packet{ci, data})
	}
	ps = out
	var buf bytes.Buffer
	if ng {
		w, err := pcapgo.NewNgWriter(&buf, link)
		if err != nil {
			t.Fatal(err)
		}
		for _, p := range ps {
			if err := w.WritePacket(p.ci, p.data); err != nil {
				t.Fatal(err)
			}
		}
		if err := w.Flush(); err != nil {
			t.Fatal(err)
		}
		return buf.Bytes()
	}
	w := pcapgo.NewWriterNanos(&buf)
	if err := w.WriteFileHeader(65536, link); err != nil {
		t.Fatal(err)
	}
	for _, p := range ps {
		if err := w.WritePacket(p.ci, p.data); err != nil {
			t.Fatal(err)
		}
	}
	return buf.Bytes()
}

func payloadLen(t *testing.T, p packet) int {
	pkt := gopacket.NewPacket(p.data, layers.LinkTypeEthernet, gopacket.Default)
	tcp, _ := pkt.Layer(layers.LayerTypeTCP).(*layers.TCP)
	if tcp == nil {
		t.Fatalf("not a TCP packet")
	}
	return len(tcp.Payload)
}

func importBytes(t *testing.T, b []byte) (history.History, Report) {
	t.Helper()
	log := history.NewLog(history.Header{})
	rep, err := Import(bytes.NewReader(b), log, Options{Port: 9092})
	if err != nil {
		t.Fatalf("import: %v", err)
	}
	return log.History(), rep
}

func render(es []history.Event) string {
	var b strings.Builder
	for _, e := range es {
		fmt.Fprintf(&b, "%s client=%d\n", e, e.Client)
	}
	return b.String()
}

// TestImportEqualsDirect checks that a capture of traffic imports to
// exactly the history (times included) that decoding the same bytes
// directly gives, for pcap and pcapng files, Ethernet, raw IP and Linux
// cooked link types, and also when segments are retransmitted
// (duplicated packets are dropped by the reassembly).
func TestImportEqualsDirect(t *testing.T) {
	cs := traffic()
	want := direct(t, cs)
	if len(want.Events) != 12 {
		t.Fatalf("direct decoding gave %d events, want 12:\n%s", len(want.Events), render(want.Events))
	}
	pcap := capture(t, cs)
	ps := packets(t, pcap)
	var dup []packet
	for _, p := range ps {
		dup = append(dup, p)
		if payloadLen(t, p) > 0 {
			dup = append(dup, p) // retransmission
		}
	}
	tests := []struct {
		name        string
		file        []byte
		wantOverlap bool
	}{
		{name: "pcap", file: pcap},
		{name: "pcapng", file: rewrite(t, ps, true)},
		{name: "raw IP", file: rewriteLink(t, ps, false, layers.LinkTypeRaw)},
		{name: "linux cooked (tcpdump -i any)", file: rewriteLink(t, ps, true, layers.LinkTypeLinuxSLL)},
		{name: "retransmissions", file: rewrite(t, dup, false), wantOverlap: true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, rep := importBytes(t, tt.file)
			if !reflect.DeepEqual(got.Events, want.Events) {
				t.Errorf("import gave\n%swant\n%s", render(got.Events), render(want.Events))
			}
			if rep.Conns != 2 || rep.MidStream != 0 || len(rep.Problems) != 0 {
				t.Errorf("got report %+v", rep)
			}
			if (rep.OverlapBytes > 0) != tt.wantOverlap {
				t.Errorf("got %d overlapping bytes, want overlap %v", rep.OverlapBytes, tt.wantOverlap)
			}
		})
	}
}

// TestImportCaptureFlaws checks that a missing segment and a capture
// that starts mid-connection are reported, not fatal: the cut request is
// lost, the rest is decoded, and a request whose response is lost
// becomes an unknown outcome.
func TestImportCaptureFlaws(t *testing.T) {
	cs := traffic()
	ps := packets(t, capture(t, cs))
	// Data packets in order: conn0 req0 (2 packets), conn1 req0 (2), ...
	var data []int
	for i, p := range ps {
		if payloadLen(t, p) > 0 {
			data = append(data, i)
		}
	}
	drop := func(skip ...int) []packet {
		var out []packet
		for i, p := range ps {
			keep := true
			for _, s := range skip {
				if i == s {
					keep = false
				}
			}
			if keep {
				out = append(out, p)
			}
		}
		return out
	}
	t.Run("missing segment", func(t *testing.T) {
		// The second half of connection 0's first request is lost.
		got, rep := importBytes(t, rewrite(t, drop(data[1]), false))
		var ops []string
		for _, e := range got.Events {
			ops = append(ops, e.String())
		}
		if rep.Decoder.MissingBytes == 0 {
			t.Errorf("no missing bytes reported: %+v", rep)
		}
		var gap, unpaired bool
		for _, p := range rep.Problems {
			gap = gap || errors.Is(p, kafkawire.ErrGap)
			unpaired = unpaired || errors.Is(p, kafkawire.ErrUnpaired)
		}
		if !gap || !unpaired {
			t.Errorf("got problems %v, want a gap and the response to the lost request unpaired", rep.Problems)
		}
		if rep.Decoder.Operations != 5 {
			t.Errorf("got %d operations, want 5 (one request lost):\n%s", rep.Decoder.Operations, strings.Join(ops, "\n"))
		}
	})
	t.Run("mid-connection start", func(t *testing.T) {
		// The capture starts after connection 0's handshake and the first
		// half of its first request.
		var skip []int
		for i := 0; i <= data[0]; i++ {
			skip = append(skip, i)
		}
		got, rep := importBytes(t, rewrite(t, drop(skip...), false))
		if rep.MidStream != 1 || rep.Conns != 2 {
			t.Errorf("got %d connections, %d mid-stream, want 2 and 1", rep.Conns, rep.MidStream)
		}
		// The start is reported with the connection and the offset, as
		// every other flaw of the capture is.
		var mid []kafkawire.Problem
		for _, p := range rep.Problems {
			if errors.Is(p, kafkawire.ErrMidStream) {
				mid = append(mid, p)
			}
		}
		if len(mid) != 1 || mid[0].Conn == "" {
			t.Errorf("mid-stream problems %v, want one naming its connection", mid)
		}
		if rep.Decoder.Operations != 5 {
			t.Errorf("got %d operations, want 5:\n%s", rep.Decoder.Operations, render(got.Events))
		}
	})
	t.Run("capture cut short", func(t *testing.T) {
		// tcpdump killed mid-write: the file ends inside the packet of
		// the first response, and the connections never close, so both
		// requests sent so far end unknown.
		pcap := capture(t, cs)
		at := 24 // pcap file header
		for _, p := range ps[:data[4]] {
			at += 16 + len(p.data) // record header + packet
		}
		cut := pcap[:at+16+10]
		got, rep := importBytes(t, cut)
		var unknown int
		for _, e := range got.Events {
			if e.Kind == history.Return && e.Result == history.Unknown {
				unknown++
			}
		}
		if rep.Decoder.Operations != 2 || unknown != 2 || rep.Decoder.Unknown != 2 {
			t.Errorf("got %d operations, %d unknown returns (decoder counts %d); want 2 and 2:\n%s",
				rep.Decoder.Operations, unknown, rep.Decoder.Unknown, render(got.Events))
		}
	})
	t.Run("lost response", func(t *testing.T) {
		// Connection 0's first response is lost: its operation becomes
		// unknown when the second response arrives.
		respIdx := data[4]
		got, rep := importBytes(t, rewrite(t, drop(respIdx), false))
		var unknown int
		for _, e := range got.Events {
			if e.Kind == history.Return && e.Result == history.Unknown {
				unknown++
			}
		}
		if unknown != 1 || rep.Decoder.Unknown != 1 {
			t.Errorf("got %d unknown returns, want 1:\n%s", unknown, render(got.Events))
		}
	})
}

// TestImportNotACapture checks that other files are refused with
// ErrFormat.
func TestImportNotACapture(t *testing.T) {
	for _, in := range []string{"", "{\"kind\":\"Replicate\"}\n", "\x0a\x0d\x0d\x0agarbage"} {
		_, err := Import(strings.NewReader(in), history.NewLog(history.Header{}), Options{})
		if !errors.Is(err, ErrFormat) {
			t.Errorf("input %q: got %v, want ErrFormat", in, err)
		}
	}
}

// TestImportMixedLinkTypes checks a pcapng capture whose interfaces have
// different link types (tcpdump -i any -i lo, mergecap): every packet is
// decoded with its own interface's link type, and the history equals the
// one from the traffic itself.
func TestImportMixedLinkTypes(t *testing.T) {
	cs := traffic()
	want := direct(t, cs)
	ps := packets(t, capture(t, cs))
	var buf bytes.Buffer
	w, err := pcapgo.NewNgWriter(&buf, layers.LinkTypeEthernet)
	if err != nil {
		t.Fatal(err)
	}
	sll, err := w.AddInterface(pcapgo.NgInterface{LinkType: layers.LinkTypeLinuxSLL, SnapLength: 0})
	if err != nil {
		t.Fatal(err)
	}
	for i, p := range ps {
		ci, data := p.ci, p.data
		if i%2 == 1 { // every other packet on the Linux cooked interface
			data = append([]byte{0, 0, 0, 1, 0, 6, 2, 0, 0, 0, 0, 1, 0, 0, 0x08, 0x00}, p.data[14:]...)
			ci.InterfaceIndex = sll
		}
		ci.CaptureLength, ci.Length = len(data), len(data)
		if err := w.WritePacket(ci, data); err != nil {
			t.Fatal(err)
		}
	}
	if err := w.Flush(); err != nil {
		t.Fatal(err)
	}
	got, rep := importBytes(t, buf.Bytes())
	if rep.Undecodable != 0 || rep.Kafka != len(ps) {
		t.Errorf("%d undecodable packets, %d of %d Kafka packets read", rep.Undecodable, rep.Kafka, len(ps))
	}
	if render(got.Events) != render(want.Events) {
		t.Errorf("import differs from the traffic:\n%s\nwant:\n%s", render(got.Events), render(want.Events))
	}
}

// TestImportSnapLength checks that a capture whose snap length cut the
// Kafka packets (tcpdump -s 96) is refused with ErrSnapLen and the
// remedy, not imported as if bytes were merely missing.
func TestImportSnapLength(t *testing.T) {
	ps := packets(t, capture(t, traffic()))
	var buf bytes.Buffer
	w := pcapgo.NewWriterNanos(&buf)
	if err := w.WriteFileHeader(96, layers.LinkTypeEthernet); err != nil {
		t.Fatal(err)
	}
	for _, p := range ps {
		ci, data := p.ci, p.data
		if len(data) > 96 {
			data = data[:96]
		}
		ci.CaptureLength = len(data)
		if err := w.WritePacket(ci, data); err != nil {
			t.Fatal(err)
		}
	}
	log := history.NewLog(history.Header{})
	rep, err := Import(bytes.NewReader(buf.Bytes()), log, Options{Port: 9092})
	if !errors.Is(err, ErrSnapLen) || rep.Snapped == 0 || rep.SnapLen != 96 {
		t.Fatalf("err %v, %d packets snapped at %d bytes; want ErrSnapLen at 96", err, rep.Snapped, rep.SnapLen)
	}
	if !strings.Contains(err.Error(), "tcpdump -s 0") {
		t.Errorf("the message lacks the remedy: %v", err)
	}
}
