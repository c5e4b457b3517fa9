package kafkawire

import (
	"encoding/binary"
	"testing"
	"time"

	"github.com/idemcheck/idemcheck/history"
	"github.com/twmb/franz-go/pkg/kmsg"
)

// t0 is the time the tests feed at; event times are its UnixNano.
var t0 = time.Unix(1700000000, 0)

// batchBytes builds a v2 record batch header for n records with no
// record bodies (the decoder reads headers only).
func batchBytes(pid int64, epoch int16, first int32, n int32) []byte {
	b := make([]byte, batchHeaderBytes)
	binary.BigEndian.PutUint32(b[8:], uint32(batchHeaderBytes-12))
	b[16] = 2
	binary.BigEndian.PutUint32(b[23:], uint32(n-1))
	binary.BigEndian.PutUint64(b[43:], uint64(pid))
	binary.BigEndian.PutUint16(b[51:], uint16(epoch))
	binary.BigEndian.PutUint32(b[53:], uint32(first))
	binary.BigEndian.PutUint32(b[57:], uint32(n))
	return b
}

// reqFrame encodes req with a size prefix and header.
func reqFrame(corr int32, req kmsg.Request) []byte {
	return kmsg.NewRequestFormatter(kmsg.FormatterClientID("test")).AppendRequest(nil, req, corr)
}

// respFrame encodes resp with a size prefix and the response header its
// request's key and version call for.
func respFrame(corr int32, resp kmsg.Response) []byte {
	b := []byte{0, 0, 0, 0}
	b = binary.BigEndian.AppendUint32(b, uint32(corr))
	if responseHeaderVersion(resp.Key(), resp.GetVersion()) == 1 {
		b = append(b, 0)
	}
	b = resp.AppendTo(b)
	binary.BigEndian.PutUint32(b, uint32(len(b)-4))
	return b
}

// produceReq is a Produce request of version v with one batch per
// (topic, partition, batch) given.
type part struct {
	topic     string
	partition int32
	records   []byte
}

func produceReq(v int16, acks int16, parts ...part) *kmsg.ProduceRequest {
	req := kmsg.NewPtrProduceRequest()
	req.Version = v
	req.Acks = acks
	req.TimeoutMillis = 1000
	for _, p := range parts {
		var rt *kmsg.ProduceRequestTopic
		for i := range req.Topics {
			if req.Topics[i].Topic == p.topic {
				rt = &req.Topics[i]
			}
		}
		if rt == nil {
			req.Topics = append(req.Topics, kmsg.ProduceRequestTopic{Topic: p.topic})
			rt = &req.Topics[len(req.Topics)-1]
		}
		rt.Partitions = append(rt.Partitions, kmsg.ProduceRequestTopicPartition{Partition: p.partition, Records: p.records})
	}
	return req
}

type presult struct {
	topic     string
	partition int32
	code      int16
	base      int64
}

func produceResp(v int16, rs ...presult) *kmsg.ProduceResponse {
	resp := kmsg.NewPtrProduceResponse()
	resp.Version = v
	for _, r := range rs {
		var rt *kmsg.ProduceResponseTopic
		for i := range resp.Topics {
			if resp.Topics[i].Topic == r.topic {
				rt = &resp.Topics[i]
			}
		}
		if rt == nil {
			resp.Topics = append(resp.Topics, kmsg.ProduceResponseTopic{Topic: r.topic})
			rt = &resp.Topics[len(resp.Topics)-1]
		}
		p := kmsg.NewProduceResponseTopicPartition()
		p.Partition, p.ErrorCode, p.BaseOffset = r.partition, r.code, r.base
		rt.Partitions = append(rt.Partitions, p)
	}
	return resp
}

// recording collects a decoder's events (through a history.Log, which
// checks them) and problems.
type recording struct {
	log      *history.Log
	problems []Problem
	dec      *Decoder
}

func newRecording(t *testing.T) *recording {
	t.Helper()
	r := &recording{log: history.NewLog(history.Header{})}
	r.dec = New(r.log, Options{OnProblem: func(p Problem) { r.problems = append(r.problems, p) }})
	return r
}

func (r *recording) events() []history.Event { return r.log.History().Events }

func cat(bs ...[]byte) []byte {
	var out []byte
	for _, b := range bs {
		out = append(out, b...)
	}
	return out
}
