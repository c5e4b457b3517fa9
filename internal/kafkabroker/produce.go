package kafkabroker

import (
	"context"
	"encoding/binary"
	"fmt"
	"strconv"
	"time"

	"github.com/twmb/franz-go/pkg/kmsg"

	"github.com/idemcheck/idemcheck/impl"
	"github.com/idemcheck/idemcheck/impl/server"
	"github.com/idemcheck/idemcheck/internal/kafkawire"
)

// call is one replicate call of a Produce request.
type call struct {
	ti, pi int // topic and partition index in the request
	part   string
	pid    int64
	epoch  int16
	st     server.Stages
	res    impl.Result
	done   bool
}

// produce starts a replicate call per batch of req and a goroutine that
// answers on r once they finish (or the request times out, or the
// connection closes). It returns the calls' enqueued stages.
func (b *Broker) produce(ctx context.Context, conn int64, hdr kafkawire.RequestHeader, req *kmsg.ProduceRequest, r response, connDone <-chan struct{}) []<-chan struct{} {
	resp := req.ResponseKind().(*kmsg.ProduceResponse)
	var calls []*call
	var enqueued []<-chan struct{}
	for ti, rt := range req.Topics {
		st := kmsg.NewProduceResponseTopic()
		st.Topic = rt.Topic
		for pi, rp := range rt.Partitions {
			sp := kmsg.NewProduceResponseTopicPartition()
			sp.Partition = rp.Partition
			sp.LogAppendTime, sp.LogStartOffset = -1, 0
			st.Partitions = append(st.Partitions, sp)
			name := rt.Topic + "/" + strconv.Itoa(int(rp.Partition))
			if !b.known(rt.Topic, rp.Partition) {
				st.Partitions[pi].ErrorCode = errUnknownTopic
				continue
			}
			batches, raws, why := split(rp.Records)
			if why != "" {
				// Said, not silent: the client only sees INVALID_RECORD.
				b.cfg.Logf("kafkabroker: conn %d: produce to %s refused with INVALID_RECORD: %s", conn, name, why)
				st.Partitions[pi].ErrorCode = errInvalidRecord
				continue
			}
			for i, bt := range batches {
				b.mu.Lock()
				cur, seen := b.part(name).epochs[bt.ProducerID]
				b.mu.Unlock()
				if seen && bt.ProducerEpoch < cur {
					// Kafka's ProducerStateManager check: a batch older than
					// the producer's epoch on the partition is refused with
					// INVALID_PRODUCER_EPOCH (every Produce version since
					// KAFKA-10687), before the write path sees it.
					b.cfg.Logf("kafkabroker: conn %d: produce to %s refused with INVALID_PRODUCER_EPOCH: producer %d epoch %d, the partition knows epoch %d",
						conn, name, bt.ProducerID, bt.ProducerEpoch, cur)
					st.Partitions[pi].ErrorCode = errInvalidEpoch
					break
				}
				last, _ := bt.LastSequence()
				stg, err := b.srv.Replicate(ctx, impl.Request{Client: conn, Partition: name,
					Batch: impl.Batch{PID: bt.ProducerID, Epoch: bt.ProducerEpoch, First: bt.FirstSequence, Last: last}})
				if err != nil {
					st.Partitions[pi].ErrorCode = errRequestTimedOut
					break
				}
				b.mu.Lock()
				p := b.part(name)
				p.raw[stg.Op] = raws[i]
				p.busy[bt.ProducerID]++
				p.active[bt.ProducerID] = time.Now()
				b.mu.Unlock()
				calls = append(calls, &call{ti: ti, pi: pi, part: name, pid: bt.ProducerID, epoch: bt.ProducerEpoch, st: stg})
				enqueued = append(enqueued, stg.Enqueued)
			}
		}
		resp.Topics = append(resp.Topics, st)
	}
	timeout := time.Duration(req.TimeoutMillis) * time.Millisecond
	if timeout <= 0 {
		timeout = 30 * time.Second
	}
	go b.finish(ctx, hdr, req.Acks, resp, calls, timeout, r, connDone)
	return enqueued
}

// split parses the batches of a partition's records and cuts out each
// batch's bytes. Every batch must be an idempotent v2 batch; otherwise
// why says what is wrong.
func split(records []byte) (batches []kafkawire.Batch, raws [][]byte, why string) {
	batches, err := kafkawire.Batches(records)
	switch {
	case err != nil:
		return nil, nil, err.Error()
	case len(batches) == 0:
		return nil, nil, "no record batch"
	}
	raws = make([][]byte, 0, len(batches))
	for _, bt := range batches {
		if !bt.Idempotent() {
			return nil, nil, fmt.Sprintf("a non-idempotent batch (magic %d, producer id %d, epoch %d, sequence %d): the reference implementation models idempotent producers only",
				bt.Magic, bt.ProducerID, bt.ProducerEpoch, bt.FirstSequence)
		}
		if _, ok := bt.LastSequence(); !ok {
			return nil, nil, fmt.Sprintf("sequence %d+%d wraps past INT32_MAX", bt.FirstSequence, bt.LastOffsetDelta)
		}
		n := 12 + int(binary.BigEndian.Uint32(records[8:]))
		raws = append(raws, records[:n:n])
		records = records[n:]
	}
	return batches, raws, ""
}

// finish waits for the calls and answers.
func (b *Broker) finish(ctx context.Context, hdr kafkawire.RequestHeader, acks int16, resp *kmsg.ProduceResponse, calls []*call, timeout time.Duration, r response, connDone <-chan struct{}) {
	deadline := time.NewTimer(timeout)
	defer deadline.Stop()
	gaveUp, closed := false, false
	for _, c := range calls {
		if !gaveUp {
			select {
			case res, ok := <-c.st.Finished:
				c.res, c.done = res, ok
				continue
			case <-deadline.C:
				gaveUp = true
			case <-connDone:
				gaveUp, closed = true, true
			case <-ctx.Done():
				gaveUp, closed = true, true
			}
		}
		select {
		case res, ok := <-c.st.Finished:
			c.res, c.done = res, ok
		default:
			// The client gets no result: a client-side timeout, recorded
			// as an unknown outcome; the request goes on in the broker.
			tctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
			_ = b.srv.Timeout(tctx, c.st.Op) // fails only if the server closed
			cancel()
		}
	}
	now := time.Now()
	for _, c := range calls {
		sp := &resp.Topics[c.ti].Partitions[c.pi]
		b.mu.Lock()
		p := b.part(c.part)
		p.busy[c.pid]--
		p.active[c.pid] = now
		if c.done && c.res.Err == impl.Success {
			if cur, ok := p.epochs[c.pid]; !ok || c.epoch > cur {
				p.epochs[c.pid] = c.epoch
			}
		}
		b.mu.Unlock()
		code := int16(0)
		switch {
		case !c.done:
			code = errRequestTimedOut
		case c.res.Err != impl.Success:
			code = int16(c.res.Kafka())
		case c.firstOf(calls):
			// A partition's base offset is its first batch's: the
			// implementation's log offset, which is Kafka's (one per
			// record), or the original's for a duplicate.
			sp.BaseOffset = c.res.Offset
		}
		if sp.ErrorCode == 0 && code != 0 {
			sp.ErrorCode, sp.BaseOffset = code, -1
		}
	}
	if closed || acks == 0 {
		close(r)
		return
	}
	r <- encode(hdr, resp)
}

// firstOf reports whether c is the first call of its partition.
func (c *call) firstOf(calls []*call) bool {
	for _, o := range calls {
		if o.ti == c.ti && o.pi == c.pi {
			return o == c
		}
	}
	return false
}
