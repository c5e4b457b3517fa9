package kafkawire

import (
	"encoding/binary"
	"errors"
	"fmt"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/idemcheck/idemcheck/history"
	"github.com/twmb/franz-go/pkg/kmsg"
)

var ns = t0.UnixNano()

// render lists events one per line for comparisons.
func render(es []history.Event) string {
	var b strings.Builder
	for _, e := range es {
		fmt.Fprintf(&b, "%s client=%d\n", e, e.Client)
	}
	return b.String()
}

// TestDecodeProduce checks the central mapping: one operation per
// idempotent batch, Replicate when the request is decoded, Return with
// the partition's error code or ok + offset (base offset plus the batch's
// place within the partition) when the response is decoded, for several
// produce versions, whatever the chunking of the streams.
func TestDecodeProduce(t *testing.T) {
	for _, v := range []int16{3, 7, 8, 9, 12} {
		req := produceReq(v, -1,
			part{"orders", 0, cat(batchBytes(1, 0, 0, 2), batchBytes(1, 0, 2, 3))},
			part{"orders", 1, batchBytes(1, 0, 5, 1)},
			part{"audit", 0, batchBytes(-1, -1, -1, 4)}, // not idempotent: skipped
		)
		resp := produceResp(v,
			presult{"orders", 0, 0, 100},
			presult{"orders", 1, 45, -1},
			presult{"audit", 0, 0, 7},
		)
		reqs := reqFrame(11, req)
		resps := respFrame(11, resp)
		want := []history.Event{
			{Kind: history.Replicate, Time: ns, Op: 1, Client: 1, Partition: "orders/0", PID: 1, Epoch: 0, First: 0, Last: 1},
			{Kind: history.Replicate, Time: ns, Op: 2, Client: 1, Partition: "orders/0", PID: 1, Epoch: 0, First: 2, Last: 4},
			{Kind: history.Replicate, Time: ns, Op: 3, Client: 1, Partition: "orders/1", PID: 1, Epoch: 0, First: 5, Last: 5},
			{Kind: history.Return, Time: ns + 1, Op: 1, Result: history.OK, Offset: 100},
			{Kind: history.Return, Time: ns + 1, Op: 2, Result: history.OK, Offset: 102},
			{Kind: history.Return, Time: ns + 1, Op: 3, Result: history.Failed, Error: history.OutOfOrderSequenceNumber},
		}
		for _, chunk := range []int{1, 3, 64, 1 << 20} {
			t.Run(fmt.Sprintf("v%d/chunk%d", v, chunk), func(t *testing.T) {
				r := newRecording(t)
				c := r.dec.Conn("c1", false)
				feedChunks(c, Requests, t0, reqs, chunk)
				feedChunks(c, Responses, t0.Add(1), resps, chunk)
				if got := r.events(); !reflect.DeepEqual(got, want) {
					t.Errorf("got\n%swant\n%s", render(got), render(want))
				}
				if len(r.problems) != 0 {
					t.Errorf("got problems %v", r.problems)
				}
				st := r.dec.Stats()
				if st.Operations != 3 || st.Skipped != 1 || st.Requests != 1 || st.Responses != 1 {
					t.Errorf("got stats %+v", st)
				}
			})
		}
	}
}

func feedChunks(c *Conn, dir Dir, t time.Time, b []byte, chunk int) {
	for len(b) > 0 {
		n := min(chunk, len(b))
		c.Feed(dir, t, b[:n])
		b = b[n:]
	}
}

// TestDecodeInitProducerID checks that a successful InitProducerId
// response becomes a BumpEpoch, a failed one nothing, and a successful
// one with a negative epoch (a wrapped INT16) a problem, not a silent
// drop.
func TestDecodeInitProducerID(t *testing.T) {
	r := newRecording(t)
	c := r.dec.Conn("c1", false)
	for i, a := range []struct{ code, epoch int16 }{{0, 3}, {15, 3}, {0, -32768}} {
		req := kmsg.NewPtrInitProducerIDRequest()
		req.Version = 4
		resp := kmsg.NewPtrInitProducerIDResponse()
		resp.Version = 4
		resp.ProducerID, resp.ProducerEpoch, resp.ErrorCode = 77, a.epoch, a.code
		c.Feed(Requests, t0, reqFrame(int32(i), req))
		c.Feed(Responses, t0, respFrame(int32(i), resp))
	}
	want := []history.Event{{Kind: history.BumpEpoch, Time: ns, PID: 77, Epoch: 3}}
	if got := r.events(); !reflect.DeepEqual(got, want) {
		t.Errorf("got\n%swant\n%s", render(got), render(want))
	}
	if len(r.problems) != 1 || !errors.Is(r.problems[0].Err, ErrBody) || !strings.Contains(r.problems[0].Err.Error(), "epoch -32768") {
		t.Errorf("problems %v; want one ErrBody naming epoch -32768", r.problems)
	}
}

// TestDecodeOutcomes checks the operations that end without a response:
// a closed connection, acks=0, a response lost before a later one (Kafka
// answers a connection's requests in order), a partition missing from
// the response and an ok without an offset.
func TestDecodeOutcomes(t *testing.T) {
	b := func(seq int32) []byte { return batchBytes(9, 0, seq, 1) }
	unknown := func(op int64, t int64) history.Event {
		return history.Event{Kind: history.Return, Time: t, Op: op, Result: history.Unknown}
	}
	repl := func(op int64, seq int32) history.Event {
		return history.Event{Kind: history.Replicate, Time: ns, Op: op, Client: 1, Partition: "t/0", PID: 9, First: seq, Last: seq}
	}
	tests := []struct {
		name     string
		run      func(c *Conn)
		want     []history.Event
		problems []error
	}{
		{
			name: "closed connection",
			run: func(c *Conn) {
				c.Feed(Requests, t0, reqFrame(1, produceReq(9, -1, part{"t", 0, b(0)})))
				c.Close(t0.Add(5))
			},
			want: []history.Event{repl(1, 0), unknown(1, ns+5)},
		},
		{
			name: "acks=0",
			run: func(c *Conn) {
				c.Feed(Requests, t0, reqFrame(1, produceReq(9, 0, part{"t", 0, b(0)})))
				c.Feed(Requests, t0, reqFrame(2, produceReq(9, -1, part{"t", 0, b(1)})))
				c.Feed(Responses, t0, respFrame(2, produceResp(9, presult{"t", 0, 0, 1})))
			},
			want: []history.Event{repl(1, 0), unknown(1, ns), repl(2, 1),
				{Kind: history.Return, Time: ns, Op: 2, Result: history.OK, Offset: 1}},
		},
		{
			name: "lost response",
			run: func(c *Conn) {
				c.Feed(Requests, t0, reqFrame(1, produceReq(9, -1, part{"t", 0, b(0)})))
				c.Feed(Requests, t0, reqFrame(2, produceReq(9, -1, part{"t", 0, b(1)})))
				c.Feed(Responses, t0.Add(2), respFrame(2, produceResp(9, presult{"t", 0, 0, 1})))
			},
			want: []history.Event{repl(1, 0), repl(2, 1), unknown(1, ns+2),
				{Kind: history.Return, Time: ns + 2, Op: 2, Result: history.OK, Offset: 1}},
			problems: []error{ErrLostResponse},
		},
		{
			name: "partition missing and negative offset",
			run: func(c *Conn) {
				c.Feed(Requests, t0, reqFrame(1, produceReq(9, -1, part{"t", 0, b(0)}, part{"t", 1, b(0)})))
				c.Feed(Responses, t0, respFrame(1, produceResp(9, presult{"t", 1, 0, -1})))
			},
			want: []history.Event{repl(1, 0),
				{Kind: history.Replicate, Time: ns, Op: 2, Client: 1, Partition: "t/1", PID: 9},
				unknown(1, ns), unknown(2, ns)},
		},
		{
			name: "response without request",
			run: func(c *Conn) {
				c.Feed(Responses, t0, respFrame(4, produceResp(9, presult{"t", 0, 0, 1})))
			},
			problems: []error{ErrUnpaired},
		},
		{
			name: "truncated at close",
			run: func(c *Conn) {
				f := reqFrame(1, produceReq(9, -1, part{"t", 0, b(0)}))
				c.Feed(Requests, t0, f[:len(f)-1])
				c.Close(t0)
			},
			problems: []error{ErrTruncated},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := newRecording(t)
			tt.run(r.dec.Conn("c1", false))
			if got := r.events(); !reflect.DeepEqual(got, tt.want) {
				t.Errorf("got\n%swant\n%s", render(got), render(tt.want))
			}
			if len(r.problems) != len(tt.problems) {
				t.Fatalf("got problems %v, want %v", r.problems, tt.problems)
			}
			for i, p := range r.problems {
				if !errors.Is(p, tt.problems[i]) {
					t.Errorf("problem %d: got %v, want %v", i, p, tt.problems[i])
				}
			}
		})
	}
}

// TestDecodeGarbage checks that garbage, gaps and mid-stream starts are
// reported with the connection, direction and byte offset, and that
// decoding goes on at the next real frame.
func TestDecodeGarbage(t *testing.T) {
	f1 := reqFrame(1, produceReq(9, -1, part{"t", 0, batchBytes(3, 0, 0, 1)}))
	f2 := reqFrame(2, produceReq(9, -1, part{"t", 0, batchBytes(3, 0, 1, 1)}))
	r2 := respFrame(2, produceResp(9, presult{"t", 0, 0, 8}))
	garbage := []byte{0xff, 0xff, 0xff, 0xf0, 1, 2, 3, 4, 5, 6, 7}
	tests := []struct {
		name      string
		mid       bool
		run       func(c *Conn)
		wantOps   []int32 // first sequences of the Replicates
		wantProbs []string
	}{
		{
			name: "garbage between frames",
			run: func(c *Conn) {
				c.Feed(Requests, t0, cat(f1, garbage, f2))
			},
			wantOps: []int32{0, 1},
			wantProbs: []string{
				fmt.Sprintf(`conn "c" requests at byte %d: kafkawire: bad frame size`, len(f1)),
				fmt.Sprintf(`conn "c" requests at byte %d: kafkawire: bytes skipped: %d bytes before the next frame`, len(f1), len(garbage)),
			},
		},
		{
			name: "mid-stream start",
			mid:  true,
			run: func(c *Conn) {
				c.Feed(Requests, t0, cat(f1[7:], f2))
				c.Feed(Responses, t0, cat(respFrame(1, produceResp(9, presult{"t", 0, 0, 7}))[3:], r2))
			},
			wantOps: []int32{1},
			wantProbs: []string{
				fmt.Sprintf(`conn "c" requests at byte 0: kafkawire: bytes skipped: %d bytes before the next frame`, len(f1)-7),
				`conn "c" responses at byte 0: kafkawire: bytes skipped`,
			},
		},
		{
			name: "gap inside a frame",
			run: func(c *Conn) {
				c.Feed(Requests, t0, f1[:20])
				c.Gap(Requests, t0, 10)
				c.Feed(Requests, t0, cat(f1[30:], f2))
			},
			wantOps: []int32{1},
			wantProbs: []string{
				`conn "c" requests at byte 20: kafkawire: bytes missing: 10 bytes`,
				fmt.Sprintf(`conn "c" requests at byte 30: kafkawire: bytes skipped: %d bytes before the next frame`, len(f1)-30),
			},
		},
		{
			name: "garbage body",
			run: func(c *Conn) {
				bad := cat(f1[:4+8+2+4], []byte{0, 0, 0, 9, 1}) // produce header, then a broken body
				binary.BigEndian.PutUint32(bad, uint32(len(bad)-4))
				c.Feed(Requests, t0, cat(bad, f2))
			},
			wantOps:   []int32{1},
			wantProbs: []string{`conn "c" requests at byte 0: kafkawire: bad body: produce v9`},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := newRecording(t)
			tt.run(r.dec.Conn("c", tt.mid))
			var ops []int32
			for _, e := range r.events() {
				if e.Kind == history.Replicate {
					ops = append(ops, e.First)
				}
			}
			if !reflect.DeepEqual(ops, tt.wantOps) {
				t.Errorf("got operations with first sequences %v, want %v\n%s", ops, tt.wantOps, render(r.events()))
			}
			if len(r.problems) != len(tt.wantProbs) {
				t.Fatalf("got problems %v, want %q", r.problems, tt.wantProbs)
			}
			for i, p := range r.problems {
				if !strings.HasPrefix(p.Error(), tt.wantProbs[i]) {
					t.Errorf("problem %d: got %q, want prefix %q", i, p.Error(), tt.wantProbs[i])
				}
			}
		})
	}
}

// TestDecodeTopicIDs checks Produce v13, which names topics by id: the
// name comes from an earlier Metadata response on any connection.
func TestDecodeTopicIDs(t *testing.T) {
	id := [16]byte{1, 2, 3}
	r := newRecording(t)
	meta := r.dec.Conn("meta", false)
	mreq := kmsg.NewPtrMetadataRequest()
	mreq.Version = 12
	mresp := kmsg.NewPtrMetadataResponse()
	mresp.Version = 12
	name := "orders"
	mt := kmsg.NewMetadataResponseTopic()
	mt.Topic, mt.TopicID = &name, id
	mresp.Topics = append(mresp.Topics, mt)
	meta.Feed(Requests, t0, reqFrame(1, mreq))
	meta.Feed(Responses, t0, respFrame(1, mresp))

	prod := r.dec.Conn("produce", false)
	req := produceReq(13, -1)
	req.Topics = []kmsg.ProduceRequestTopic{{TopicID: id, Partitions: []kmsg.ProduceRequestTopicPartition{{Partition: 4, Records: batchBytes(2, 0, 0, 1)}}}}
	resp := produceResp(13)
	rp := kmsg.NewProduceResponseTopicPartition()
	rp.Partition, rp.BaseOffset = 4, 12
	resp.Topics = []kmsg.ProduceResponseTopic{{TopicID: id, Partitions: []kmsg.ProduceResponseTopicPartition{rp}}}
	prod.Feed(Requests, t0, reqFrame(1, req))
	prod.Feed(Responses, t0, respFrame(1, resp))
	want := []history.Event{
		{Kind: history.Replicate, Time: ns, Op: 1, Client: 2, Partition: "orders/4", PID: 2},
		{Kind: history.Return, Time: ns, Op: 1, Result: history.OK, Offset: 12},
	}
	if got := r.events(); !reflect.DeepEqual(got, want) {
		t.Errorf("got\n%swant\n%s", render(got), render(want))
	}
}

// TestDecodeTimesNeverDecrease checks that times fed out of order are
// raised so that the history stays consistent (history.Log refuses
// events whose time goes back; a refusal would be an ErrRecord problem).
func TestDecodeTimesNeverDecrease(t *testing.T) {
	r := newRecording(t)
	c1 := r.dec.Conn("c1", false)
	c2 := r.dec.Conn("c2", false)
	c1.Feed(Requests, t0.Add(time.Second), reqFrame(1, produceReq(9, -1, part{"t", 0, batchBytes(1, 0, 0, 1)})))
	c2.Feed(Requests, t0, reqFrame(1, produceReq(9, -1, part{"t", 0, batchBytes(2, 0, 0, 1)})))
	r.dec.CloseAll(time.Time{})
	if len(r.problems) != 0 {
		t.Fatalf("got problems %v", r.problems)
	}
	es := r.events()
	if len(es) != 4 {
		t.Fatalf("got %d events, want 4:\n%s", len(es), render(es))
	}
	for _, e := range es {
		if e.Time != ns+int64(time.Second) {
			t.Errorf("got t=%d, want %d: %s", e.Time, ns+int64(time.Second), e)
		}
	}
}
