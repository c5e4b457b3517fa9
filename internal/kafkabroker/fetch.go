package kafkabroker

import (
	"context"
	"encoding/binary"
	"strconv"
	"time"

	"github.com/idemcheck/idemcheck/impl"
	"github.com/idemcheck/idemcheck/spec"
	"github.com/twmb/franz-go/pkg/kmsg"
)

// maxFetchWait bounds how long an empty fetch waits for data.
const maxFetchWait = 500 * time.Millisecond

// fetch serves stored batches with their Kafka base offsets. A fetch
// that finds nothing new waits up to its MaxWaitMillis (at most
// maxFetchWait) for data.
func (b *Broker) fetch(ctx context.Context, req *kmsg.FetchRequest) *kmsg.FetchResponse {
	wait := min(time.Duration(req.MaxWaitMillis)*time.Millisecond, maxFetchWait)
	until := time.Now().Add(wait)
	for {
		resp, any := b.fetchOnce(ctx, req)
		if any || !time.Now().Before(until) || ctx.Err() != nil {
			return resp
		}
		select {
		case <-time.After(10 * time.Millisecond):
		case <-ctx.Done():
		}
	}
}

func (b *Broker) fetchOnce(ctx context.Context, req *kmsg.FetchRequest) (*kmsg.FetchResponse, bool) {
	resp := req.ResponseKind().(*kmsg.FetchResponse)
	any := false
	for _, rt := range req.Topics {
		st := kmsg.NewFetchResponseTopic()
		st.Topic = rt.Topic
		for _, rp := range rt.Partitions {
			sp := kmsg.NewFetchResponseTopicPartition()
			sp.Partition = rp.Partition
			// An empty record set, never a null one, also with an error:
			// librdkafka reads a null set (size -1) as a broken response
			// and backs off, so kcat -C -e never reaches the end.
			sp.RecordBatches = []byte{}
			if !b.known(rt.Topic, rp.Partition) {
				sp.ErrorCode = errUnknownTopic
				st.Partitions = append(st.Partitions, sp)
				continue
			}
			name := rt.Topic + "/" + strconv.Itoa(int(rp.Partition))
			_ = b.refresh(ctx, name)
			b.mu.Lock()
			p := b.part(name)
			hw := p.end
			sp.HighWatermark, sp.LastStableOffset, sp.LogStartOffset = hw, hw, 0
			switch {
			case rp.FetchOffset < 0 || rp.FetchOffset > hw:
				sp.ErrorCode = errOffsetOutOfRange
			default:
				limit := int(rp.PartitionMaxBytes)
				for _, e := range p.entries {
					if e.Offset+spec.RecordCount(e.First, e.Last) <= rp.FetchOffset {
						continue
					}
					raw := p.raw[e.Op]
					if raw == nil || (len(sp.RecordBatches) > 0 && len(sp.RecordBatches)+len(raw) > limit) {
						break
					}
					at := len(sp.RecordBatches)
					sp.RecordBatches = append(sp.RecordBatches, raw...)
					binary.BigEndian.PutUint64(sp.RecordBatches[at:], uint64(e.Offset))
				}
			}
			b.mu.Unlock()
			any = any || len(sp.RecordBatches) > 0
			st.Partitions = append(st.Partitions, sp)
		}
		resp.Topics = append(resp.Topics, st)
	}
	return resp, any
}

// listOffsets answers earliest (0) and latest (the high watermark);
// a timestamp lookup answers the earliest offset.
func (b *Broker) listOffsets(ctx context.Context, req *kmsg.ListOffsetsRequest) *kmsg.ListOffsetsResponse {
	resp := req.ResponseKind().(*kmsg.ListOffsetsResponse)
	for _, rt := range req.Topics {
		st := kmsg.NewListOffsetsResponseTopic()
		st.Topic = rt.Topic
		for _, rp := range rt.Partitions {
			sp := kmsg.NewListOffsetsResponseTopicPartition()
			sp.Partition, sp.Timestamp, sp.LeaderEpoch = rp.Partition, -1, -1
			if !b.known(rt.Topic, rp.Partition) {
				sp.ErrorCode = errUnknownTopic
				st.Partitions = append(st.Partitions, sp)
				continue
			}
			name := rt.Topic + "/" + strconv.Itoa(int(rp.Partition))
			_ = b.refresh(ctx, name)
			b.mu.Lock()
			p := b.part(name)
			sp.Offset = 0
			if rp.Timestamp == -1 {
				sp.Offset = p.end
			}
			b.mu.Unlock()
			st.Partitions = append(st.Partitions, sp)
		}
		resp.Topics = append(resp.Topics, st)
	}
	return resp
}

// evictLoop evicts producers idle for cfg.EvictIdle from partitions'
// idempotency state.
func (b *Broker) evictLoop(ctx context.Context) {
	defer b.wg.Done()
	t := time.NewTicker(max(b.cfg.EvictIdle/4, 5*time.Millisecond))
	defer t.Stop()
	type cand struct {
		part string
		pid  int64
	}
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
		now := time.Now()
		var cands []cand
		b.mu.Lock()
		for name, p := range b.parts {
			for pid, at := range p.active {
				if p.busy[pid] == 0 && now.Sub(at) >= b.cfg.EvictIdle {
					cands = append(cands, cand{name, pid})
				}
			}
		}
		b.mu.Unlock()
		if len(cands) == 0 {
			continue
		}
		var evicted []cand
		var evictErr error
		err := b.srv.Do(ctx, func(f *impl.Frontend) {
			for _, c := range cands {
				ok, err := f.Evict(c.part, c.pid)
				if err != nil {
					evictErr = err
					return
				}
				if ok {
					evicted = append(evicted, c)
				}
			}
		})
		if err != nil {
			return
		}
		if evictErr != nil {
			// The frontend stopped (its recorder failed): every later
			// call fails the same way, so stop evicting.
			b.cfg.Logf("kafkabroker: evict: %v", evictErr)
			return
		}
		// Evicted or not evictable (unknown to the partition), an idle
		// producer is not looked at again until its next request.
		b.mu.Lock()
		for _, c := range cands {
			p := b.part(c.part)
			if p.busy[c.pid] == 0 && now.Sub(p.active[c.pid]) >= b.cfg.EvictIdle {
				delete(p.active, c.pid)
			}
		}
		for _, c := range evicted {
			delete(b.part(c.part).epochs, c.pid) // forgotten with the rest of its state
		}
		b.mu.Unlock()
		for _, c := range evicted {
			b.cfg.Logf("kafkabroker: evicted idle producer %d from %s", c.pid, c.part)
		}
	}
}
