package sim

import (
	"fmt"

	"github.com/idemcheck/idemcheck/history"
	"github.com/idemcheck/idemcheck/impl"
)

// SeedPartition is the partition of [SeedScenario].
const SeedPartition = "p0"

// SeedScenario runs the regression scenario of Redpanda PR #30429 under
// the given ticket ordering and returns the finished [Sim]: one
// idempotent client (pid 1, epoch 0, not waiting for enqueued) sends
// batch A and then batch B to one partition; B's stage_write resolves
// before A's, and B's upload before A's; then everything runs in the
// fixed order of [Sim.Stabilize].
//
// If known is false the producer is unknown to the partition: A is
// seq [0,0], B is [1,1]. Pre-fix ([impl.AfterStage]) B takes the skip path,
// A gets OUT_OF_ORDER_SEQUENCE_NUMBER on every attempt until the client's
// delivery timeout and is lost; with the fix both are appended in order.
//
// If known is true the client first writes batch X [0,0] alone; A is
// [1,1] and B is [2,2]. Pre-fix B gets a retriable
// OUT_OF_ORDER_SEQUENCE_NUMBER and succeeds on retry after A; with the
// fix there is no OUT_OF_ORDER_SEQUENCE_NUMBER.
//
// The history is s.History(), the client's view s.Outcomes().
func SeedScenario(order impl.TicketOrder, known bool) (*Sim, error) {
	desc := "seed scenario (PR #30429): B's stage_write resolves before A's, producer unknown"
	if known {
		desc = "seed scenario (PR #30429): B's stage_write resolves before A's, producer known"
	}
	s, err := New(Config{TicketOrder: order, Header: history.Header{Description: desc}})
	if err != nil {
		return nil, err
	}
	c, err := s.AddClient(ClientConfig{PID: 1, DeliveryTimeout: 200})
	if err != nil {
		return nil, err
	}
	if known {
		if err := c.Produce(SeedPartition, 1); err != nil {
			return nil, err
		}
		if err := s.Stabilize(0); err != nil {
			return nil, err
		}
	}
	for i := 0; i < 2; i++ {
		if err := c.Produce(SeedPartition, 1); err != nil {
			return nil, err
		}
	}
	send := Item{Kind: SendItem, Client: c.ID(), Partition: SeedPartition}
	if err := s.Do(send); err != nil {
		return nil, fmt.Errorf("sim: seed scenario: send A: %w", err)
	}
	a := c.lastSent
	if err := s.Do(send); err != nil {
		return nil, fmt.Errorf("sim: seed scenario: send B: %w", err)
	}
	b := c.lastSent
	for _, it := range []Item{
		{Kind: StageItem, Op: b}, {Kind: StageItem, Op: a},
		{Kind: UploadItem, Op: b}, {Kind: UploadItem, Op: a},
	} {
		if err := s.Do(it); err != nil {
			return nil, fmt.Errorf("sim: seed scenario: %s: %w", it, err)
		}
	}
	if err := s.Stabilize(0); err != nil {
		return nil, err
	}
	return s, s.Err()
}
