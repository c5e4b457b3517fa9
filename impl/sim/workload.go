package sim

import (
	"fmt"
	"math/rand/v2"

	"github.com/idemcheck/idemcheck/history"
	"github.com/idemcheck/idemcheck/impl"
)

// WorkloadConfig describes a random workload for [RandomWorkload] and
// [RunWorkload]. Zero fields take the defaults given.
type WorkloadConfig struct {
	// TicketOrder is the frontend's ordering; "" is [impl.BeforeStage].
	TicketOrder impl.TicketOrder
	// Producers is the number of idempotent clients, pids 1..Producers
	// (default 2).
	Producers int
	// Partitions is the number of partitions, "p0", "p1", ... (default 2).
	Partitions int
	// Batches is the number of batches per producer, each to a random
	// partition (default 4).
	Batches int
	// MaxRecords bounds the records per batch (default 3).
	MaxRecords int32
	// WaitEnqueued makes clients wait for the enqueued stage before the
	// next send.
	WaitEnqueued bool
	// DeliveryTimeout is the clients' delivery timeout in clock ticks
	// (default 300).
	DeliveryTimeout int64
	// Faults gives the probabilities of failures and client timeouts.
	Faults Faults
	// MaxSteps bounds the run (default 100000 plus 200 per batch).
	MaxSteps int
	// Header is the recorded history's header (Source and TicketOrder
	// are filled in when empty; set Seed to record the seed).
	Header history.Header

	_ struct{}
}

// DefaultFaults are the fault probabilities of the package's random tests:
// some failed uploads and fences, client timeouts and term changes, no
// evictions.
func DefaultFaults() Faults {
	return Faults{StageFail: 0.03, UploadFail: 0.08, FenceFail: 0.03, Timeout: 0.04, ChangeTerm: 0.01}
}

// RunWorkload builds a [Sim] with cfg's clients and batches and runs it to
// the end with random choices from rng. It returns the finished Sim
// (history, outcomes, logs).
func RunWorkload(rng *rand.Rand, cfg WorkloadConfig) (*Sim, error) {
	if rng == nil {
		return nil, fmt.Errorf("sim: nil rand")
	}
	if cfg.Producers <= 0 {
		cfg.Producers = 2
	}
	if cfg.Partitions <= 0 {
		cfg.Partitions = 2
	}
	if cfg.Batches <= 0 {
		cfg.Batches = 4
	}
	if cfg.MaxRecords <= 0 {
		cfg.MaxRecords = 3
	}
	if cfg.DeliveryTimeout <= 0 {
		cfg.DeliveryTimeout = 300
	}
	s, err := New(Config{TicketOrder: cfg.TicketOrder, Header: cfg.Header})
	if err != nil {
		return nil, err
	}
	for i := 0; i < cfg.Producers; i++ {
		c, err := s.AddClient(ClientConfig{PID: int64(i + 1), WaitEnqueued: cfg.WaitEnqueued, DeliveryTimeout: cfg.DeliveryTimeout})
		if err != nil {
			return nil, err
		}
		for j := 0; j < cfg.Batches; j++ {
			part := fmt.Sprintf("p%d", rng.IntN(cfg.Partitions))
			if err := c.Produce(part, 1+rng.Int32N(cfg.MaxRecords)); err != nil {
				return nil, err
			}
		}
	}
	if cfg.MaxSteps <= 0 {
		cfg.MaxSteps = 100000 + 200*cfg.Producers*cfg.Batches
	}
	if err := s.Run(rng, cfg.Faults, cfg.MaxSteps); err != nil {
		return s, err
	}
	return s, s.Err()
}

// RandomWorkload runs a random workload (see [RunWorkload]) and returns
// its recorded history. The same rng state and cfg give the same history.
func RandomWorkload(rng *rand.Rand, cfg WorkloadConfig) (history.History, error) {
	s, err := RunWorkload(rng, cfg)
	if err != nil {
		return history.History{}, err
	}
	return s.History(), nil
}
