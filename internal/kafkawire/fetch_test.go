package kafkawire

import (
	"encoding/binary"
	"testing"
	"time"

	"github.com/idemcheck/idemcheck/history"
	"github.com/stretchr/testify/require"
	"github.com/twmb/franz-go/pkg/kmsg"
)

// logBatchBytes is a record batch header at base offset off.
func logBatchBytes(off, pid int64, epoch int16, first, n int32) []byte {
	b := batchBytes(pid, epoch, first, n)
	binary.BigEndian.PutUint64(b, uint64(off))
	return b
}

// fetchPair is a Fetch request and its response of version v, for
// topic "t" partition p (topic id id from v13 on) with records.
func fetchPair(v int16, id [16]byte, p int32, records []byte) (*kmsg.FetchRequest, *kmsg.FetchResponse) {
	req := kmsg.NewPtrFetchRequest()
	req.Version = v
	rt := kmsg.NewFetchRequestTopic()
	rt.Topic, rt.TopicID = "t", id
	rp := kmsg.NewFetchRequestTopicPartition()
	rp.Partition = p
	rt.Partitions = append(rt.Partitions, rp)
	req.Topics = append(req.Topics, rt)
	resp := kmsg.NewPtrFetchResponse()
	resp.Version = v
	st := kmsg.NewFetchResponseTopic()
	st.Topic, st.TopicID = "t", id
	sp := kmsg.NewFetchResponseTopicPartition()
	sp.Partition, sp.RecordBatches = p, records
	st.Partitions = append(st.Partitions, sp)
	resp.Topics = append(resp.Topics, st)
	return req, resp
}

// TestFetchLogBatches: the idempotent data batches of Fetch responses
// become LogBatch events, for the versions clients use (v4..v12 by topic
// name, v12 flexible, v13+ by topic id named through Metadata);
// non-idempotent batches, transaction markers and a partial last batch
// are left out.
func TestFetchLogBatches(t *testing.T) {
	id := [16]byte{1, 2, 3}
	control := logBatchBytes(9, 4, 0, 0, 1)
	binary.BigEndian.PutUint16(control[21:], 0x30)
	records := cat(logBatchBytes(5, 4, 1, 0, 2), logBatchBytes(7, -1, -1, -1, 1), logBatchBytes(8, 4, 1, 2, 1), control,
		logBatchBytes(10, 4, 1, 3, 1)[:40])
	for _, v := range []int16{4, 7, 11, 12, 13, 16} {
		r := newRecording(t)
		c := r.dec.Conn("c", false)
		at := time.Unix(0, 1)
		if v >= 13 {
			md := kmsg.NewPtrMetadataRequest()
			md.Version = 12
			mr := kmsg.NewPtrMetadataResponse()
			mr.Version = 12
			mt := kmsg.NewMetadataResponseTopic()
			name := "t"
			mt.Topic, mt.TopicID = &name, id
			mr.Topics = append(mr.Topics, mt)
			c.Feed(Requests, at, reqFrame(1, md))
			c.Feed(Responses, at, respFrame(1, mr))
		}
		req, resp := fetchPair(v, id, 3, records)
		c.Feed(Requests, at, reqFrame(2, req))
		c.Feed(Responses, at.Add(1), respFrame(2, resp))
		require.Empty(t, r.problems, "v%d", v)
		require.Equal(t, []history.Event{
			{Kind: history.LogBatch, Time: 2, Partition: "t/3", Offset: 5, PID: 4, Epoch: 1, First: 0, Last: 1},
			{Kind: history.LogBatch, Time: 2, Partition: "t/3", Offset: 8, PID: 4, Epoch: 1, First: 2, Last: 2},
		}, r.events(), "v%d", v)
		require.Equal(t, 2, r.dec.Stats().LogBatches)
	}
}
