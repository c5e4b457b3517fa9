package pcap_test

import (
	"bytes"
	"encoding/binary"
	"fmt"
	"net/netip"
	"time"

	"github.com/idemcheck/idemcheck/history"
	"github.com/idemcheck/idemcheck/internal/kafkawire"
	"github.com/idemcheck/idemcheck/internal/pcap"
	"github.com/twmb/franz-go/pkg/kmsg"
)

// Example writes a capture of one connection carrying an idempotent
// Produce request and its response, then imports it.
func Example() {
	batch := make([]byte, 61) // v2 batch header: producer 4, sequences 0..1
	binary.BigEndian.PutUint32(batch[8:], 49)
	batch[16] = 2
	binary.BigEndian.PutUint32(batch[23:], 1)
	binary.BigEndian.PutUint64(batch[43:], 4)
	binary.BigEndian.PutUint32(batch[57:], 2)
	req := kmsg.NewPtrProduceRequest()
	req.Version, req.Acks = 7, -1
	req.Topics = []kmsg.ProduceRequestTopic{{Topic: "orders",
		Partitions: []kmsg.ProduceRequestTopicPartition{{Partition: 3, Records: batch}}}}
	resp := kmsg.NewPtrProduceResponse()
	resp.Version = 7
	p := kmsg.NewProduceResponseTopicPartition()
	p.Partition, p.ErrorCode = 3, 45 // OUT_OF_ORDER_SEQUENCE_NUMBER
	resp.Topics = []kmsg.ProduceResponseTopic{{Topic: "orders", Partitions: []kmsg.ProduceResponseTopicPartition{p}}}
	respBytes := resp.AppendTo(binary.BigEndian.AppendUint32([]byte{0, 0, 0, 0}, 9))
	binary.BigEndian.PutUint32(respBytes, uint32(len(respBytes)-4))

	var capture bytes.Buffer
	w, _ := pcap.NewWriter(&capture)
	t0 := time.Unix(1700000000, 0)
	c := w.Conn(netip.MustParseAddrPort("10.1.1.1:50123"), netip.MustParseAddrPort("10.1.1.2:9092"), t0)
	c.Write(kafkawire.Requests, t0.Add(time.Millisecond), kmsg.NewRequestFormatter().AppendRequest(nil, req, 9))
	c.Write(kafkawire.Responses, t0.Add(3*time.Millisecond), respBytes)
	c.Close(t0.Add(4 * time.Millisecond))

	log := history.NewLog(history.Header{Source: "import"})
	rep, err := pcap.Import(&capture, log, pcap.Options{Port: 9092})
	if err != nil {
		fmt.Println(err)
		return
	}
	fmt.Printf("%d packets, %d connection, %d operation\n", rep.Packets, rep.Conns, rep.Decoder.Operations)
	for _, e := range log.History().Events {
		fmt.Println(e) // times are the packets' capture times, in ns
	}
	// Output:
	// 8 packets, 1 connection, 1 operation
	// Replicate op=1 partition="orders/3" pid=4 epoch=0 seq=[0,1] t=1700000000001000000
	// Return op=1 error=OUT_OF_ORDER_SEQUENCE_NUMBER t=1700000000003000000
}
