package proxy

import (
	"context"
	"encoding/binary"
	"io"
	"net"
	"testing"
	"time"

	"github.com/idemcheck/idemcheck/history"
	"github.com/twmb/franz-go/pkg/kmsg"
)

// produceFrame is a Produce v9 request with one idempotent batch.
func produceFrame(corr int32, seq int32) []byte {
	batch := make([]byte, 61)
	binary.BigEndian.PutUint32(batch[8:], 49)
	batch[16] = 2
	binary.BigEndian.PutUint64(batch[43:], 5)
	binary.BigEndian.PutUint32(batch[53:], uint32(seq))
	binary.BigEndian.PutUint32(batch[57:], 1)
	req := kmsg.NewPtrProduceRequest()
	req.Version, req.Acks, req.TimeoutMillis = 9, -1, 1000
	req.Topics = []kmsg.ProduceRequestTopic{{Topic: "t", Partitions: []kmsg.ProduceRequestTopicPartition{{Records: batch}}}}
	return kmsg.NewRequestFormatter().AppendRequest(nil, req, corr)
}

// TestDroppedConnection checks that requests still unanswered when a
// connection ends become unknown outcomes: when the broker drops the
// connection, and when the proxy is stopped (SIGINT) with a request in
// flight. In both cases the client's connection is closed too.
func TestDroppedConnection(t *testing.T) {
	tests := []struct {
		name string
		// broker handles the upstream side of the connection.
		broker func(c net.Conn)
		// stop cancels the proxy while the request is in flight.
		stop bool
	}{
		{name: "broker drops the connection", broker: func(c net.Conn) {
			buf := make([]byte, len(produceFrame(1, 0)))
			io.ReadFull(c, buf)
			c.Close()
		}},
		{name: "proxy stopped", stop: true, broker: func(c net.Conn) {
			io.Copy(io.Discard, c) // never answers
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			up, err := net.Listen("tcp", "127.0.0.1:0")
			if err != nil {
				t.Fatal(err)
			}
			defer up.Close()
			go func() {
				c, err := up.Accept()
				if err == nil {
					tt.broker(c)
					c.Close()
				}
			}()
			log := history.NewLog(history.Header{})
			p, err := New(Options{Upstream: up.Addr().String(), Recorder: log})
			if err != nil {
				t.Fatal(err)
			}
			ln, err := net.Listen("tcp", "127.0.0.1:0")
			if err != nil {
				t.Fatal(err)
			}
			ctx, cancel := context.WithCancel(context.Background())
			defer cancel()
			served := make(chan error, 1)
			go func() { served <- p.Serve(ctx, ln) }()
			c, err := net.Dial("tcp", ln.Addr().String())
			if err != nil {
				t.Fatal(err)
			}
			defer c.Close()
			if _, err := c.Write(produceFrame(1, 0)); err != nil {
				t.Fatal(err)
			}
			if tt.stop {
				for p.Stats().Operations == 0 {
					time.Sleep(time.Millisecond)
				}
				cancel()
			}
			c.SetReadDeadline(time.Now().Add(10 * time.Second))
			if n, err := c.Read(make([]byte, 1)); err == nil {
				t.Fatalf("read %d bytes, want the connection closed", n)
			}
			if !tt.stop {
				cancel()
			}
			if err := <-served; err != nil {
				t.Fatal(err)
			}
			es := log.History().Events
			if len(es) != 2 || es[0].Kind != history.Replicate || es[1].Kind != history.Return || es[1].Result != history.Unknown {
				t.Fatalf("got events %v, want a Replicate and an unknown Return", es)
			}
		})
	}
}
