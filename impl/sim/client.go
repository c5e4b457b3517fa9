package sim

import (
	"fmt"
	"math"
	"sort"

	"github.com/idemcheck/idemcheck/history"
	"github.com/idemcheck/idemcheck/impl"
)

// ClientConfig configures an idempotent producer client inside a [Sim].
type ClientConfig struct {
	// PID and Epoch are the producer id and its epoch.
	PID   int64
	Epoch int16
	// MaxInFlight bounds the batches in flight per partition (Java's
	// max.in.flight.requests.per.connection); 0 means 5.
	MaxInFlight int
	// DeliveryTimeout is Java's delivery.timeout.ms in ticks of the
	// frontend's logical clock (events recorded), counted from the
	// batch's first send; a batch that needs a retry after it is reported
	// lost. 0 means 500.
	DeliveryTimeout int64
	// WaitEnqueued makes the client wait for the enqueued stage of its
	// previous send before it sends the next batch (one Kafka connection).
	WaitEnqueued bool

	_ struct{}
}

// BatchState is what the client knows about one of its batches.
type BatchState string

// Batch states.
const (
	// Queued: not sent yet.
	Queued BatchState = "queued"
	// InFlight: an attempt is outstanding.
	InFlight BatchState = "in-flight"
	// Retrying: the last attempt failed with a retriable error; it will
	// be sent again with the same sequences.
	Retrying BatchState = "retrying"
	// Acked: an attempt returned an offset.
	Acked BatchState = "acked"
	// Lost: the delivery timeout expired, or a non-retriable error came
	// back; the application is told the batch failed.
	Lost BatchState = "lost"
)

// Outcome is one client batch as the application sees it.
type Outcome struct {
	Client    int
	Partition string
	PID       int64
	Epoch     int16
	First     int32
	Last      int32
	State     BatchState
	// Offset is the acked offset (State Acked).
	Offset int64
	// Error is the last Kafka error the batch got (State Lost).
	Error history.ErrorCode
	// Attempts lists the ops of every attempt, in order.
	Attempts []int64
}

type clientBatch struct {
	Outcome
	deadline int64 // set on first send
	op       int64 // current attempt, 0 if none
}

type clientPartition struct {
	name      string
	batches   []*clientBatch
	lo        int // batches before lo are acked or lost
	nextSeq   int32
	lastAcked int64 // last sequence of the latest acked batch, -1 if none
}

// Client is an idempotent producer with the Kafka Java client's semantics:
// sequences per partition from 0, at most MaxInFlight
// batches in flight per partition, retries keep their sequences (each
// retry is a new replicate operation), REQUEST_TIMED_OUT, a client-side
// timeout and an OUT_OF_ORDER_SEQUENCE_NUMBER for a batch that is not next
// after the last acked one are retried, and a batch that still needs a
// retry after its delivery timeout is lost. OUT_OF_ORDER_SEQUENCE_NUMBER
// for a batch that is next after the last acked one, and any other error,
// lose the batch at once (the Java client would bump the epoch; that is
// not modelled). An epoch bump ([Sim.BumpEpoch]) is only taken when the
// client has no attempt outstanding. A Client lives in a [Sim] and is
// driven by its steps.
type Client struct {
	id       int
	cfg      ClientConfig
	parts    map[string]*clientPartition
	names    []string
	lastSent int64 // op of the last send, for WaitEnqueued
	enqueued map[int64]bool
}

// ID returns the client's index in its Sim (also its history client id).
func (c *Client) ID() int { return c.id }

// PID returns the client's producer id.
func (c *Client) PID() int64 { return c.cfg.PID }

// Produce appends a batch of records records (at least 1) for partition
// to the client's accumulator; it gets the next sequences.
func (c *Client) Produce(partition string, records int32) error {
	if records < 1 {
		return fmt.Errorf("sim: client %d: batch of %d records", c.id, records)
	}
	if partition == "" {
		return fmt.Errorf("sim: client %d: empty partition", c.id)
	}
	cp, ok := c.parts[partition]
	if !ok {
		cp = &clientPartition{name: partition, lastAcked: -1}
		c.parts[partition] = cp
		c.names = append(c.names, partition)
		sort.Strings(c.names)
	}
	b := &clientBatch{Outcome: Outcome{Client: c.id, Partition: partition, PID: c.cfg.PID, Epoch: c.cfg.Epoch,
		First: cp.nextSeq, Last: cp.nextSeq + records - 1, State: Queued}, deadline: -1}
	cp.nextSeq += records
	cp.batches = append(cp.batches, b)
	return nil
}

// sendable returns the batch partition would send next, if any.
func (c *Client) sendable(cp *clientPartition) *clientBatch {
	if c.cfg.WaitEnqueued && c.lastSent != 0 && !c.enqueued[c.lastSent] {
		return nil
	}
	for cp.lo < len(cp.batches) && (cp.batches[cp.lo].State == Acked || cp.batches[cp.lo].State == Lost) {
		cp.lo++
	}
	inflight := 0
	var next *clientBatch
	for _, b := range cp.batches[cp.lo:] {
		switch b.State {
		case InFlight:
			inflight++
		case Queued, Retrying:
			if next == nil {
				next = b
			}
		}
		if b.State == Queued {
			break // batches are sent in order: every later one is queued too
		}
	}
	if next == nil || inflight >= c.cfg.MaxInFlight {
		return nil
	}
	return next
}

// Outcomes returns the client's batches, by partition and sequence.
func (c *Client) Outcomes() []Outcome {
	var out []Outcome
	for _, n := range c.names {
		for _, b := range c.parts[n].batches {
			o := b.Outcome
			o.Attempts = append([]int64(nil), b.Attempts...)
			out = append(out, o)
		}
	}
	return out
}

// respond handles the result of attempt op of b.
func (c *Client) respond(cp *clientPartition, b *clientBatch, r impl.Result, now int64) {
	b.op = 0
	if r.Err == impl.Success {
		b.State, b.Offset, b.Error = Acked, r.Offset, history.None
		if int64(b.Last) > cp.lastAcked {
			cp.lastAcked = int64(b.Last)
		}
		return
	}
	code := r.Kafka()
	b.Error = code
	retriable := false
	switch code {
	case history.RequestTimedOut:
		retriable = true
	case history.OutOfOrderSequenceNumber:
		// Retry unchanged when the batch is not next after the last acked one.
		retriable = int64(b.First) != cp.lastAcked+1
	}
	c.retryOrLose(b, retriable, now)
}

// timedOut handles a client-side request timeout of b's current attempt.
func (c *Client) timedOut(b *clientBatch, now int64) {
	b.op = 0
	b.Error = history.RequestTimedOut
	c.retryOrLose(b, true, now)
}

func (c *Client) retryOrLose(b *clientBatch, retriable bool, now int64) {
	if retriable && now < b.deadline {
		b.State = Retrying
		return
	}
	b.State = Lost
}

// idle reports whether the client has no attempt outstanding.
func (c *Client) idle() bool {
	for _, cp := range c.parts {
		for _, b := range cp.batches {
			if b.State == InFlight {
				return false
			}
		}
	}
	return true
}

// bumpEpoch moves the client to the next epoch (InitProducerId):
// sequences restart at 0 on every partition and the batches not yet acked
// or lost are re-sequenced, in order, with the new epoch. It reports
// false when the epoch cannot grow.
func (c *Client) bumpEpoch() bool {
	if c.cfg.Epoch == math.MaxInt16 {
		return false
	}
	c.cfg.Epoch++
	for _, n := range c.names {
		cp := c.parts[n]
		cp.nextSeq, cp.lastAcked = 0, -1
		for _, b := range cp.batches {
			if b.State != Queued && b.State != Retrying {
				continue
			}
			records := b.Last - b.First + 1
			b.Epoch, b.First, b.Last = c.cfg.Epoch, cp.nextSeq, cp.nextSeq+records-1
			cp.nextSeq += records
		}
	}
	return true
}
