package kafkawire_test

import (
	"encoding/binary"
	"fmt"
	"time"

	"github.com/idemcheck/idemcheck/history"
	"github.com/idemcheck/idemcheck/internal/kafkawire"
	"github.com/twmb/franz-go/pkg/kmsg"
)

// Example decodes one idempotent Produce request and its response into
// an operation: a Replicate and its Return.
func Example() {
	// A v2 record batch header: producer 7, epoch 0, sequences 0..2.
	batch := make([]byte, 61)
	binary.BigEndian.PutUint32(batch[8:], 49)
	batch[16] = 2
	binary.BigEndian.PutUint32(batch[23:], 2)
	binary.BigEndian.PutUint64(batch[43:], 7)
	binary.BigEndian.PutUint32(batch[57:], 3)

	req := kmsg.NewPtrProduceRequest()
	req.Version, req.Acks = 7, -1
	req.Topics = []kmsg.ProduceRequestTopic{{Topic: "orders",
		Partitions: []kmsg.ProduceRequestTopicPartition{{Partition: 0, Records: batch}}}}

	resp := kmsg.NewPtrProduceResponse()
	resp.Version = 7
	p := kmsg.NewProduceResponseTopicPartition()
	p.BaseOffset = 41
	resp.Topics = []kmsg.ProduceResponseTopic{{Topic: "orders", Partitions: []kmsg.ProduceResponseTopicPartition{p}}}
	respBytes := binary.BigEndian.AppendUint32([]byte{0, 0, 0, 0}, 1) // size, correlation id 1
	respBytes = resp.AppendTo(respBytes)
	binary.BigEndian.PutUint32(respBytes, uint32(len(respBytes)-4))

	log := history.NewLog(history.Header{Source: "record"})
	d := kafkawire.New(log, kafkawire.Options{})
	c := d.Conn("127.0.0.1:50000->127.0.0.1:9092", false)
	c.Feed(kafkawire.Requests, time.Unix(0, 100), kmsg.NewRequestFormatter().AppendRequest(nil, req, 1))
	c.Feed(kafkawire.Responses, time.Unix(0, 250), respBytes)
	for _, e := range log.History().Events {
		fmt.Println(e)
	}
	// Output:
	// Replicate op=1 partition="orders/0" pid=7 epoch=0 seq=[0,2] t=100
	// Return op=1 ok offset=41 t=250
}
