package gen

import (
	"testing"

	"github.com/idemcheck/idemcheck/history"
)

// sizeProbe records nothing and notes, at every event, the largest spec
// state of the driver's partitions.
type sizeProbe struct {
	d            *driver
	events       int
	maxOps       int
	maxLog       int
	maxProducers int
}

func (p *sizeProbe) Record(history.Event) error {
	p.events++
	for _, pt := range p.d.parts {
		p.maxOps = max(p.maxOps, len(pt.state.Ops))
		p.maxLog = max(p.maxLog, len(pt.state.Log))
		p.maxProducers = max(p.maxProducers, len(pt.state.Producers))
	}
	return nil
}

// TestDriverStateBounded checks that the spec states the driver keeps
// grow with what is in flight, not with the history: a history ten
// times longer keeps states of the same size, because finished ops are
// retired (and the log entries no idempotency window refers to with
// them).
func TestDriverStateBounded(t *testing.T) {
	sizes := func(batches int) sizeProbe {
		o, err := Options{Seed: 3, Partitions: 2, Producers: 4, Batches: batches, UnknownRate: 0.1, Retries: 2, EpochBumps: 2}.withDefaults()
		if err != nil {
			t.Fatal(err)
		}
		p := &sizeProbe{}
		p.d = newDriver(o, p)
		if err := p.d.run(); err != nil {
			t.Fatal(err)
		}
		return *p
	}
	short, long := sizes(300), sizes(3000)
	if long.events < 9*short.events {
		t.Fatalf("the long history has %d events, the short one %d", long.events, short.events)
	}
	// Live ops per partition: at most 4 producers × 5 in flight, and
	// their retries; Retire runs at twice the live ops (at least 64).
	const bound = 256
	for _, p := range []sizeProbe{short, long} {
		if p.maxOps > bound || p.maxLog > bound || p.maxProducers > 4 {
			t.Errorf("%d events: a spec state held up to %d ops, %d log entries and %d producers, want at most %d, %d and 4",
				p.events, p.maxOps, p.maxLog, p.maxProducers, bound, bound)
		}
	}
	t.Logf("short: %d events, up to %d ops and %d log entries; long: %d events, up to %d ops and %d log entries",
		short.events, short.maxOps, short.maxLog, long.events, long.maxOps, long.maxLog)
}
