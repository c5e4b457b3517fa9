package kafkawire

import (
	"encoding/binary"
	"testing"
	"time"

	"github.com/idemcheck/idemcheck/history"
	"github.com/twmb/franz-go/pkg/kmsg"
)

// seedStreams returns valid request and response streams to seed the
// fuzzers: produce, InitProducerId and Fetch traffic (Fetch v4 and the
// flexible v12, whose responses hold record batches at log offsets).
func seedStreams() (reqs, resps []byte) {
	ip := kmsg.NewPtrInitProducerIDRequest()
	ip.Version = 4
	ipr := kmsg.NewPtrInitProducerIDResponse()
	ipr.Version = 4
	ipr.ProducerID = 3
	f4, fr4 := fetchPair(4, [16]byte{}, 0, cat(logBatchBytes(10, 3, 0, 0, 2), logBatchBytes(12, 3, 0, 2, 1)))
	f12, fr12 := fetchPair(12, [16]byte{}, 1, cat(logBatchBytes(0, 3, 0, 0, 1), logBatchBytes(1, 3, 0, 1, 1)[:30]))
	reqs = cat(reqFrame(1, ip),
		reqFrame(2, produceReq(9, -1, part{"t", 0, cat(batchBytes(3, 0, 0, 2), batchBytes(3, 0, 2, 1))})),
		reqFrame(3, produceReq(7, -1, part{"t", 1, batchBytes(3, 0, 0, 1)})),
		reqFrame(4, f4), reqFrame(5, f12))
	resps = cat(respFrame(1, ipr),
		respFrame(2, produceResp(9, presult{"t", 0, 0, 10})),
		respFrame(3, produceResp(7, presult{"t", 1, 45, -1})),
		respFrame(4, fr4), respFrame(5, fr12))
	return reqs, resps
}

// FuzzDecodeStream feeds arbitrary request and response streams, cut
// into chunks and interleaved, with optional gaps, to a decoder: it must
// not panic, and every event it records must be accepted by a
// history.Log (consistent op ids, times and returns).
func FuzzDecodeStream(f *testing.F) {
	reqs, resps := seedStreams()
	f.Add(reqs, resps, uint16(7), uint16(0), false)
	f.Add(reqs, resps, uint16(1000), uint16(30), true)
	f.Add(reqs[5:], resps[3:], uint16(13), uint16(0), true)
	f.Add([]byte{0, 0, 0, 8, 0, 0, 0, 0, 0, 0, 0, 1}, []byte{0, 0, 0, 4, 0, 0, 0, 1}, uint16(3), uint16(0), false)
	f.Fuzz(func(t *testing.T, reqs, resps []byte, chunk, gapAt uint16, mid bool) {
		log := history.NewLog(history.Header{})
		var recordErr error
		d := New(log, Options{MaxFrameBytes: 1 << 20, ResyncMaxFrameBytes: 1 << 16, OnProblem: func(p Problem) {
			if p.Err != nil && recordErr == nil && isRecordErr(p) {
				recordErr = p
			}
		}})
		c := d.Conn("fuzz", mid)
		n := int(chunk%512) + 1
		at := time.Unix(0, 1)
		for i := 0; len(reqs) > 0 || len(resps) > 0; i++ {
			if len(reqs) > 0 {
				k := min(n, len(reqs))
				c.Feed(Requests, at, reqs[:k])
				reqs = reqs[k:]
			}
			if gapAt != 0 && i == int(gapAt%16) {
				c.Gap(Requests, at, int(gapAt))
			}
			if len(resps) > 0 {
				k := min(n, len(resps))
				c.Feed(Responses, at, resps[:k])
				resps = resps[k:]
			}
			at = at.Add(1)
		}
		d.CloseAll(at)
		if recordErr != nil {
			t.Fatalf("decoder produced an inconsistent history: %v", recordErr)
		}
		if st := d.Stats(); (st.Operations > 0 || st.LogBatches > 0) && log.History().Events == nil {
			t.Fatalf("stats count %d operations but nothing was recorded", st.Operations)
		}
	})
}

func isRecordErr(p Problem) bool {
	for err := p.Err; err != nil; {
		if err == ErrRecord {
			return true
		}
		u, ok := err.(interface{ Unwrap() error })
		if !ok {
			return false
		}
		err = u.Unwrap()
	}
	return false
}

// FuzzParseRequestHeader checks that request header parsing never
// panics and that a parsed header's body is a suffix of the frame.
func FuzzParseRequestHeader(f *testing.F) {
	reqs, _ := seedStreams()
	f.Add(reqs[4:])
	f.Add([]byte{0, 0, 0, 9, 0, 0, 0, 1, 0, 1, 'x', 1, 3, 2, 'a', 'b', 42})
	f.Fuzz(func(t *testing.T, frame []byte) {
		_, body, err := ParseRequestHeader(frame)
		if err == nil && len(body) > len(frame)-8 {
			t.Fatalf("body of %d bytes from a frame of %d", len(body), len(frame))
		}
	})
}

// FuzzParseResponseHeader checks response header parsing for any API
// key and version.
func FuzzParseResponseHeader(f *testing.F) {
	_, resps := seedStreams()
	f.Add(resps[4:], int16(22), int16(4))
	f.Add([]byte{0, 0, 0, 3, 1, 0, 1, 7, 9}, int16(0), int16(9))
	f.Fuzz(func(t *testing.T, frame []byte, key, version int16) {
		h, body, err := ParseResponseHeader(frame, key, version)
		if err == nil && (len(body) > len(frame)-4 || h.CorrelationID != int32(binary.BigEndian.Uint32(frame))) {
			t.Fatalf("got header %+v body %d from a frame of %d", h, len(body), len(frame))
		}
	})
}

// FuzzBatches checks record batch parsing never panics and never
// returns a batch it did not read.
func FuzzBatches(f *testing.F) {
	f.Add(cat(batchBytes(1, 0, 0, 2), batchBytes(1, 0, 2, 1)))
	f.Add(batchBytes(-1, -1, -1, 3)[:30])
	f.Fuzz(func(t *testing.T, records []byte) {
		bs, _ := Batches(records)
		if len(bs)*17 > len(records) {
			t.Fatalf("%d batches from %d bytes", len(bs), len(records))
		}
	})
}
