package kafkawire

import (
	"encoding/base64"
	"encoding/binary"
	"fmt"
	"strconv"
	"sync"
	"time"

	"github.com/idemcheck/idemcheck/history"
	"github.com/twmb/franz-go/pkg/kmsg"
)

// Recorder receives the events a [Decoder] produces. [history.Log] and
// [history.JSONLWriter] are Recorders. The decoder calls Record with its
// lock held, one event at a time, so a Recorder needs no lock of its own
// when only one decoder writes to it.
type Recorder interface {
	Record(history.Event) error
}

// Dir is one direction of a connection.
type Dir int8

// Directions.
const (
	// Requests is the client-to-broker stream.
	Requests Dir = iota
	// Responses is the broker-to-client stream.
	Responses
)

// String returns "requests" or "responses".
func (d Dir) String() string {
	if d == Responses {
		return "responses"
	}
	return "requests"
}

// Problem is something wrong in the traffic: where it is and what.
type Problem struct {
	// Conn is the connection's name as given to [Decoder.Conn].
	Conn string
	// Dir is the stream the problem is in.
	Dir Dir
	// Offset is the byte offset in that stream (from the first byte the
	// decoder was given, gaps included) where the problem starts.
	Offset int64
	// Err wraps one of the package's sentinel errors.
	Err error
}

// Error renders the problem with its place.
func (p Problem) Error() string {
	return fmt.Sprintf("conn %q %s at byte %d: %v", p.Conn, p.Dir, p.Offset, p.Err)
}

// Unwrap returns Err.
func (p Problem) Unwrap() error { return p.Err }

// Options tune a [Decoder]. The zero value is ready to use.
type Options struct {
	// MaxFrameBytes is the largest frame accepted; a larger size prefix is
	// garbage. Default 100 MiB (Kafka's socket.request.max.bytes).
	MaxFrameBytes int32
	// ResyncMaxFrameBytes is the largest frame the search for the next
	// frame (after garbage, a gap or a mid-stream start) considers.
	// Default 8 MiB.
	ResyncMaxFrameBytes int32
	// OnProblem, if set, is called for every problem, with the decoder's
	// lock held; it must not call back into the decoder.
	OnProblem func(Problem)

	_ struct{}
}

// Stats counts what a [Decoder] has seen.
type Stats struct {
	Conns     int // connections opened
	Requests  int // request frames with a valid header
	Responses int // response frames paired with a request
	// Operations is the number of idempotent batches recorded as
	// operations; Skipped counts the non-idempotent batches left out.
	Operations int
	Skipped    int
	// Unknown counts operations closed with an unknown outcome.
	Unknown int
	// BumpEpochs counts InitProducerId responses recorded as BumpEpoch.
	BumpEpochs int
	// LogBatches counts the idempotent batches of Fetch responses
	// recorded as LogBatch observations.
	LogBatches int
	// Problems counts reported problems; SkippedBytes the bytes passed
	// over while searching for a frame, and MissingBytes the bytes
	// reported missing by [Conn.Gap].
	Problems     int
	SkippedBytes int64
	MissingBytes int64
}

// Decoder turns the traffic of any number of connections into one
// history. It is safe for concurrent use; events are recorded in the
// order the decoder is fed.
type Decoder struct {
	mu     sync.Mutex
	rec    Recorder
	opts   Options
	nextOp int64
	lastT  int64
	nconns int64
	open   []*Conn
	topics map[[16]byte]string
	stats  Stats
}

// New returns a decoder that records to rec.
func New(rec Recorder, opts Options) *Decoder {
	if opts.MaxFrameBytes <= 0 {
		opts.MaxFrameBytes = 100 << 20
	}
	if opts.ResyncMaxFrameBytes <= 0 {
		opts.ResyncMaxFrameBytes = 8 << 20
	}
	if opts.ResyncMaxFrameBytes > opts.MaxFrameBytes {
		opts.ResyncMaxFrameBytes = opts.MaxFrameBytes
	}
	return &Decoder{rec: rec, opts: opts, nextOp: 1, topics: make(map[[16]byte]string)}
}

// Stats returns the counts so far.
func (d *Decoder) Stats() Stats {
	d.mu.Lock()
	defer d.mu.Unlock()
	return d.stats
}

// Conn starts decoding a new connection. name is used in problems (an
// address pair, for example). If midStream is true the traffic does not
// start at the connection's first byte, and both directions first search
// for a frame.
func (d *Decoder) Conn(name string, midStream bool) *Conn {
	d.mu.Lock()
	defer d.mu.Unlock()
	d.nconns++
	d.stats.Conns++
	c := &Conn{d: d, name: name, id: d.nconns, byCorr: make(map[int32]*pending)}
	c.halves[Requests].resync = midStream
	c.halves[Responses].resync = midStream
	d.open = append(d.open, c)
	return c
}

// CloseAll closes every connection still open, in the order they were
// opened, as [Conn.Close] does.
func (d *Decoder) CloseAll(t time.Time) {
	d.mu.Lock()
	defer d.mu.Unlock()
	for len(d.open) > 0 {
		d.open[0].closeLocked(t)
	}
}

func (d *Decoder) stamp(t time.Time) int64 {
	ns := t.UnixNano()
	if t.IsZero() || ns < d.lastT {
		ns = d.lastT
	}
	if ns < 0 {
		ns = 0
	}
	d.lastT = ns
	return ns
}

func (d *Decoder) problem(p Problem) {
	d.stats.Problems++
	if d.opts.OnProblem != nil {
		d.opts.OnProblem(p)
	}
}

// Conn is one connection of a [Decoder]: two byte streams and the
// requests awaiting a response.
type Conn struct {
	d       *Decoder
	name    string
	id      int64
	halves  [2]half
	pending []*pending // awaiting a response, in request order
	byCorr  map[int32]*pending
	closed  bool
}

// half is one direction's unframed bytes.
type half struct {
	buf      []byte
	start    int     // buf[start:] is not yet framed
	off      int64   // stream offset of buf[start]
	resync   bool    // searching for a frame
	skipFrom int64   // where the current search started
	scanned  int64   // stream offset up to which a search judged positions
	maybes   []int64 // undecided frame starts (stream offsets) of a search
}

func (h *half) data() []byte { return h.buf[h.start:] }

func (h *half) consume(n int) {
	h.start += n
	h.off += int64(n)
	if h.start == len(h.buf) {
		h.buf, h.start = h.buf[:0], 0
	}
}

func (h *half) push(b []byte) {
	if h.start > 0 && h.start >= len(h.buf)/2 {
		n := copy(h.buf, h.buf[h.start:])
		h.buf, h.start = h.buf[:n], 0
	}
	h.buf = append(h.buf, b...)
}

// pending is a request awaiting its response.
type pending struct {
	corr    int32
	key     int16
	version int16
	off     int64 // request's offset in the request stream
	ops     []pendingOp
}

// pendingOp is one produce operation awaiting its partition's result.
type pendingOp struct {
	op        int64
	topic     string // name, or "id:" + topic id for Produce v13+
	partition int32
	delta     int64 // offset of the batch within the partition's records
}

// Name returns the connection's name.
func (c *Conn) Name() string { return c.name }

// Feed decodes b, the next bytes of direction dir, seen at time t.
func (c *Conn) Feed(dir Dir, t time.Time, b []byte) {
	if dir != Requests && dir != Responses {
		return
	}
	d := c.d
	d.mu.Lock()
	defer d.mu.Unlock()
	if c.closed {
		return
	}
	h := &c.halves[dir]
	h.push(b)
	c.drain(dir, t)
}

// Gap tells the decoder that n bytes of direction dir are missing (a
// capture lost them). The frame they were part of is dropped and the
// direction searches for the next frame.
func (c *Conn) Gap(dir Dir, t time.Time, n int) {
	if (dir != Requests && dir != Responses) || n <= 0 {
		return
	}
	d := c.d
	d.mu.Lock()
	defer d.mu.Unlock()
	if c.closed {
		return
	}
	h := &c.halves[dir]
	d.stats.MissingBytes += int64(n)
	d.problem(Problem{Conn: c.name, Dir: dir, Offset: h.off + int64(len(h.data())),
		Err: fmt.Errorf("%w: %d bytes", ErrGap, n)})
	// The buffered bytes belong to a frame cut by the gap.
	if k := len(h.data()); k > 0 {
		d.stats.SkippedBytes += int64(k)
		h.consume(k)
	}
	h.off += int64(n)
	h.resync = true
	h.skipFrom = h.off
	h.maybes, h.scanned = h.maybes[:0], 0
}

// Close ends the connection at time t: requests still unanswered become
// unknown outcomes, and a frame cut short is reported as truncated.
// Feeding a closed connection does nothing.
func (c *Conn) Close(t time.Time) {
	d := c.d
	d.mu.Lock()
	defer d.mu.Unlock()
	c.closeLocked(t)
}

func (c *Conn) closeLocked(t time.Time) {
	d := c.d
	if c.closed {
		return
	}
	c.closed = true
	for i, o := range d.open {
		if o == c {
			d.open = append(d.open[:i], d.open[i+1:]...)
			break
		}
	}
	for dir := Requests; dir <= Responses; dir++ {
		h := &c.halves[dir]
		rest := h.data()
		if len(rest) == 0 {
			continue
		}
		if h.resync {
			d.stats.SkippedBytes += int64(len(rest))
			d.problem(Problem{Conn: c.name, Dir: dir, Offset: h.skipFrom,
				Err: fmt.Errorf("%w: %d bytes without a frame before the end", ErrResync, h.off+int64(len(rest))-h.skipFrom)})
			continue
		}
		msg := fmt.Sprintf("%d bytes at the end", len(rest))
		if len(rest) >= 4 {
			msg = fmt.Sprintf("%d of %d bytes at the end", len(rest)-4, int32(binary.BigEndian.Uint32(rest)))
		}
		d.problem(Problem{Conn: c.name, Dir: dir, Offset: h.off, Err: fmt.Errorf("%w: %s", ErrTruncated, msg)})
	}
	ts := d.stamp(t)
	for _, p := range c.pending {
		c.settleUnknown(p, ts)
	}
	c.pending, c.byCorr = nil, nil
}

// drain frames and handles what h holds.
func (c *Conn) drain(dir Dir, t time.Time) {
	d := c.d
	h := &c.halves[dir]
	minSize := int32(8)
	if dir == Responses {
		minSize = 4
	}
	for {
		if h.resync {
			if !c.search(dir, h) {
				return
			}
			h.resync = false
			if skipped := h.off - h.skipFrom; skipped > 0 {
				d.problem(Problem{Conn: c.name, Dir: dir, Offset: h.skipFrom,
					Err: fmt.Errorf("%w: %d bytes before the next frame", ErrResync, skipped)})
			}
		}
		data := h.data()
		if len(data) < 4 {
			return
		}
		size := int32(binary.BigEndian.Uint32(data))
		if size < minSize || size > d.opts.MaxFrameBytes {
			d.problem(Problem{Conn: c.name, Dir: dir, Offset: h.off,
				Err: fmt.Errorf("%w: %d (want %d..%d)", ErrFrameSize, size, minSize, d.opts.MaxFrameBytes)})
			h.resync = true
			h.skipFrom = h.off
			d.stats.SkippedBytes++
			h.consume(1)
			continue
		}
		if int64(len(data))-4 < int64(size) {
			return
		}
		frame := data[4 : 4+size]
		off := h.off
		ts := d.stamp(t)
		if dir == Requests {
			c.request(frame, off, ts)
		} else {
			c.response(frame, off, ts)
		}
		h.consume(4 + int(size))
	}
}

// search looks for a plausible frame start in h's bytes. It drops the
// bytes that cannot start a frame and reports whether a complete
// plausible frame now starts the buffer.
//
// The first complete plausible frame wins, even after a position that
// might start a frame once more bytes arrive: a frame cut by a gap often
// holds byte runs that look like the start of a long frame, while a
// complete frame must decode and re-encode to exactly its own length.
// Without a complete frame, the bytes from the first undecided position
// on are kept; the undecided positions are remembered, so that bytes
// already judged are not scanned again.
func (c *Conn) search(dir Dir, h *half) bool {
	d := c.d
	data := h.data()
	base := h.off
	drop := func(to int64) {
		if n := to - h.off; n > 0 {
			d.stats.SkippedBytes += n
			h.consume(int(n))
		}
	}
	maybes := h.maybes[:0]
	for _, at := range h.maybes {
		switch c.plausible(dir, data[at-base:]) {
		case yes:
			h.maybes, h.scanned = h.maybes[:0], 0
			drop(at)
			return true
		case maybe:
			maybes = append(maybes, at)
		}
	}
	from := max(h.scanned, base)
	for at := from; at+4 <= base+int64(len(data)); at++ {
		switch c.plausible(dir, data[at-base:]) {
		case yes:
			h.maybes, h.scanned = h.maybes[:0], 0
			drop(at)
			return true
		case maybe:
			if len(maybes) < maxMaybes {
				maybes = append(maybes, at)
			}
		}
		from = at + 1
	}
	h.maybes, h.scanned = maybes, from
	if len(maybes) > 0 {
		drop(maybes[0])
	} else {
		drop(from)
	}
	return false
}

// maxMaybes bounds the undecided positions a search remembers.
const maxMaybes = 256

type verdict int8

const (
	no verdict = iota
	maybe
	yes
)

// plausible judges whether data starts with a frame of direction dir.
func (c *Conn) plausible(dir Dir, data []byte) verdict {
	d := c.d
	size := int32(binary.BigEndian.Uint32(data))
	if size < 8 || size > d.opts.ResyncMaxFrameBytes {
		return no
	}
	if len(data) < 12 {
		return maybe
	}
	if dir == Requests {
		key := int16(binary.BigEndian.Uint16(data[4:]))
		version := int16(binary.BigEndian.Uint16(data[6:]))
		req := kmsg.RequestForKey(key)
		if req == nil || version < 0 || version > req.MaxVersion() {
			return no
		}
		if int64(len(data))-4 < int64(size) {
			return maybe
		}
		hdr, body, err := ParseRequestHeader(data[4 : 4+size])
		if err != nil {
			return no
		}
		req.SetVersion(hdr.APIVersion)
		if req.ReadFrom(body) != nil || len(req.AppendTo(nil)) != len(body) {
			return no
		}
		return yes
	}
	p, ok := c.byCorr[int32(binary.BigEndian.Uint32(data[4:]))]
	if !ok {
		return no
	}
	if int64(len(data))-4 < int64(size) {
		return maybe
	}
	_, body, err := ParseResponseHeader(data[4:4+size], p.key, p.version)
	if err != nil {
		return no
	}
	resp := kmsg.ResponseForKey(p.key)
	if resp == nil {
		return yes
	}
	resp.SetVersion(p.version)
	if resp.ReadFrom(body) != nil || len(resp.AppendTo(nil)) != len(body) {
		return no
	}
	return yes
}

// request handles one request frame.
func (c *Conn) request(frame []byte, off int64, ts int64) {
	d := c.d
	hdr, body, err := ParseRequestHeader(frame)
	if err != nil {
		d.problem(Problem{Conn: c.name, Dir: Requests, Offset: off, Err: err})
		return
	}
	d.stats.Requests++
	p := &pending{corr: hdr.CorrelationID, key: hdr.APIKey, version: hdr.APIVersion, off: off}
	if hdr.APIKey == keyProduce {
		acks0 := c.produceRequest(p, body, off, ts)
		if acks0 {
			// acks=0: the broker sends no response.
			c.settleUnknown(p, ts)
			return
		}
	}
	if old, dup := c.byCorr[hdr.CorrelationID]; dup {
		d.problem(Problem{Conn: c.name, Dir: Requests, Offset: off,
			Err: fmt.Errorf("%w: correlation id %d reused while the request at byte %d awaits its response", ErrHeader, hdr.CorrelationID, old.off)})
	}
	c.byCorr[hdr.CorrelationID] = p
	c.pending = append(c.pending, p)
}

// produceRequest records a Replicate per idempotent batch and reports
// whether the request has acks=0.
func (c *Conn) produceRequest(p *pending, body []byte, off int64, ts int64) bool {
	d := c.d
	req := kmsg.ProduceRequest{Version: p.version}
	if err := req.ReadFrom(body); err != nil {
		d.problem(Problem{Conn: c.name, Dir: Requests, Offset: off,
			Err: fmt.Errorf("%w: produce v%d: %v", ErrBody, p.version, err)})
		return false
	}
	for _, rt := range req.Topics {
		key, name := c.topicOf(p.version, rt.Topic, rt.TopicID)
		for _, rp := range rt.Partitions {
			batches, err := Batches(rp.Records)
			if err != nil {
				d.problem(Problem{Conn: c.name, Dir: Requests, Offset: off,
					Err: fmt.Errorf("partition %s/%d: %w", name, rp.Partition, err)})
			}
			var delta int64
			for _, b := range batches {
				here := delta
				delta += b.Offsets()
				if !b.Idempotent() {
					d.stats.Skipped++
					continue
				}
				last, ok := b.LastSequence()
				if !ok {
					d.stats.Skipped++
					d.problem(Problem{Conn: c.name, Dir: Requests, Offset: off,
						Err: fmt.Errorf("%w: partition %s/%d: sequence %d+%d wraps past INT32_MAX; batch left out", ErrBatch, name, rp.Partition, b.FirstSequence, b.LastOffsetDelta)})
					continue
				}
				op := d.nextOp
				d.nextOp++
				d.stats.Operations++
				c.record(Requests, off, history.Event{Kind: history.Replicate, Time: ts, Op: op, Client: c.id,
					Partition: name + "/" + strconv.Itoa(int(rp.Partition)),
					PID:       b.ProducerID, Epoch: b.ProducerEpoch, First: b.FirstSequence, Last: last})
				p.ops = append(p.ops, pendingOp{op: op, topic: key, partition: rp.Partition, delta: here})
			}
		}
	}
	return req.Acks == 0
}

// topicOf returns the key a produce topic is matched by and its name.
func (c *Conn) topicOf(version int16, topic string, id [16]byte) (key, name string) {
	if version < 13 {
		return topic, topic
	}
	key = "id:" + base64.RawURLEncoding.EncodeToString(id[:])
	if n, ok := c.d.topics[id]; ok {
		return key, n
	}
	return key, key
}

// response handles one response frame.
func (c *Conn) response(frame []byte, off int64, ts int64) {
	d := c.d
	corr := int32(binary.BigEndian.Uint32(frame))
	p, ok := c.byCorr[corr]
	if !ok {
		d.problem(Problem{Conn: c.name, Dir: Responses, Offset: off,
			Err: fmt.Errorf("%w: correlation id %d", ErrUnpaired, corr)})
		return
	}
	// Responses come in request order: earlier requests lost theirs.
	for len(c.pending) > 0 && c.pending[0] != p {
		lost := c.pending[0]
		c.pending = c.pending[1:]
		delete(c.byCorr, lost.corr)
		d.problem(Problem{Conn: c.name, Dir: Responses, Offset: off,
			Err: fmt.Errorf("%w: %s request with correlation id %d (at request byte %d) answered by none before correlation id %d",
				ErrLostResponse, kmsg.NameForKey(lost.key), lost.corr, lost.off, corr)})
		c.settleUnknown(lost, ts)
	}
	if len(c.pending) > 0 {
		c.pending = c.pending[1:]
	}
	delete(c.byCorr, corr)
	d.stats.Responses++
	_, body, err := ParseResponseHeader(frame, p.key, p.version)
	if err != nil {
		d.problem(Problem{Conn: c.name, Dir: Responses, Offset: off, Err: err})
		c.settleUnknown(p, ts)
		return
	}
	bad := func(err error) {
		d.problem(Problem{Conn: c.name, Dir: Responses, Offset: off,
			Err: fmt.Errorf("%w: %s v%d response: %v", ErrBody, kmsg.NameForKey(p.key), p.version, err)})
		c.settleUnknown(p, ts)
	}
	switch p.key {
	case keyProduce:
		resp := kmsg.ProduceResponse{Version: p.version}
		if err := resp.ReadFrom(body); err != nil {
			bad(err)
			return
		}
		c.produceResponse(p, &resp, off, ts)
	case keyInitProducerID:
		resp := kmsg.InitProducerIDResponse{Version: p.version}
		if err := resp.ReadFrom(body); err != nil {
			bad(err)
			return
		}
		switch {
		case resp.ErrorCode != 0:
		case resp.ProducerID >= 0 && resp.ProducerEpoch >= 0:
			d.stats.BumpEpochs++
			c.record(Responses, off, history.Event{Kind: history.BumpEpoch, Time: ts, PID: resp.ProducerID, Epoch: resp.ProducerEpoch})
		default:
			// A broker bug (an epoch past INT16_MAX wraps negative): said,
			// not dropped silently.
			d.problem(Problem{Conn: c.name, Dir: Responses, Offset: off,
				Err: fmt.Errorf("%w: InitProducerId v%d answers producer id %d epoch %d; no BumpEpoch recorded", ErrBody, p.version, resp.ProducerID, resp.ProducerEpoch)})
		}
	case keyFetch:
		resp := kmsg.FetchResponse{Version: p.version}
		if err := resp.ReadFrom(body); err != nil {
			bad(err)
			return
		}
		c.fetchResponse(p, &resp, off, ts)
	case keyMetadata:
		resp := kmsg.MetadataResponse{Version: p.version}
		if err := resp.ReadFrom(body); err != nil {
			bad(err)
			return
		}
		for _, t := range resp.Topics {
			if t.Topic != nil && t.TopicID != ([16]byte{}) {
				d.topics[t.TopicID] = *t.Topic
			}
		}
	}
}

type partResult struct {
	code int16
	base int64
}

type partKey struct {
	topic     string
	partition int32
}

// produceResponse records the Return of each operation of p.
func (c *Conn) produceResponse(p *pending, resp *kmsg.ProduceResponse, off int64, ts int64) {
	results := make(map[partKey]partResult)
	for _, rt := range resp.Topics {
		key, _ := c.topicOf(p.version, rt.Topic, rt.TopicID)
		for _, rp := range rt.Partitions {
			results[partKey{key, rp.Partition}] = partResult{rp.ErrorCode, rp.BaseOffset}
		}
	}
	for _, o := range p.ops {
		e := history.Event{Kind: history.Return, Time: ts, Op: o.op, Result: history.Unknown}
		if r, ok := results[partKey{o.topic, o.partition}]; ok {
			switch {
			case r.code != 0:
				e.Result, e.Error = history.Failed, history.ErrorCode(r.code)
			case r.base >= 0:
				e.Result, e.Offset = history.OK, r.base+o.delta
			}
		}
		if e.Result == history.Unknown {
			c.d.stats.Unknown++
		}
		c.record(Responses, off, e)
	}
	p.ops = nil
}

// fetchResponse records a LogBatch per idempotent data batch of a Fetch
// response: what the consumer was shown of the log. A broker may end a
// partition's records with a partial batch (it cuts at the fetch's byte
// limit); that tail is not a problem and is left out, as are
// non-idempotent batches and transaction markers.
func (c *Conn) fetchResponse(p *pending, resp *kmsg.FetchResponse, off int64, ts int64) {
	d := c.d
	for _, rt := range resp.Topics {
		_, name := c.topicOf(p.version, rt.Topic, rt.TopicID)
		for _, rp := range rt.Partitions {
			if rp.ErrorCode != 0 {
				continue
			}
			batches, _ := Batches(rp.RecordBatches) // (a partial last batch ends the list)
			for _, b := range batches {
				if !b.Idempotent() || b.Control || b.BaseOffset < 0 {
					continue
				}
				last, ok := b.LastSequence()
				if !ok {
					continue
				}
				d.stats.LogBatches++
				c.record(Responses, off, history.Event{Kind: history.LogBatch, Time: ts,
					Partition: name + "/" + strconv.Itoa(int(rp.Partition)), Offset: b.BaseOffset,
					PID: b.ProducerID, Epoch: b.ProducerEpoch, First: b.FirstSequence, Last: last})
			}
		}
	}
}

// settleUnknown records an unknown Return for every operation of p.
func (c *Conn) settleUnknown(p *pending, ts int64) {
	for _, o := range p.ops {
		c.d.stats.Unknown++
		c.record(Responses, p.off, history.Event{Kind: history.Return, Time: ts, Op: o.op, Result: history.Unknown})
	}
	p.ops = nil
}

func (c *Conn) record(dir Dir, off int64, e history.Event) {
	if c.d.rec == nil {
		return
	}
	if err := c.d.rec.Record(e); err != nil {
		c.d.problem(Problem{Conn: c.name, Dir: dir, Offset: off, Err: fmt.Errorf("%w: %v", ErrRecord, err)})
	}
}
