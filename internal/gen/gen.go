package gen

import (
	"errors"
	"fmt"
	"math"
	"strings"

	"github.com/idemcheck/idemcheck/history"
	"github.com/idemcheck/idemcheck/spec"
)

// Recorder takes the generated events one at a time. *history.Log and
// *history.JSONLWriter are Recorders.
type Recorder interface {
	Record(history.Event) error
}

// Bug names a catalogue bug that [Generate] can inject.
type Bug string

// Injectable bugs. Each is a scripted episode at the start of partition
// "p0" that a [Mutator] puts in front of a correct stream, played by a
// producer id the stream does not use (two for LostAck); the
// client-visible outcome is what a black-box checker sees.
const (
	// ReorderUnknown is the seed race (redpanda PR #30429): for a producer
	// the partition does not know, batch B (seq 2) overtakes batch A (seq
	// 0..1) in the pre-fix ordering, is accepted through the unknown
	// producer path, and A gets OUT_OF_ORDER_SEQUENCE_NUMBER.
	ReorderUnknown Bug = "reorder-unknown"
	// ReorderKnown is the same overtaking for a known producer: B gets a
	// spurious OUT_OF_ORDER_SEQUENCE_NUMBER although A, called before it,
	// is appended; the retry of B then succeeds.
	ReorderKnown Bug = "reorder-known"
	// DuplicateAppend appends a concurrent retry of a batch a second time,
	// at a new offset, instead of answering it with the original offset.
	DuplicateAppend Bug = "duplicate-append"
	// LostAck acknowledges a batch of another producer at the offset of an
	// acknowledged batch, so the first acknowledged batch is not in the log.
	LostAck Bug = "lost-ack"
	// NonmonotonicOffset gives a producer's later batch a lower offset than
	// its earlier one.
	NonmonotonicOffset Bug = "nonmonotonic-offset"
	// GapAccept accepts a batch whose first sequence leaves a gap after the
	// producer's last batch.
	GapAccept Bug = "gap-accept"
)

// Bugs lists every injectable bug.
func Bugs() []Bug {
	return []Bug{ReorderUnknown, ReorderKnown, DuplicateAppend, LostAck, NonmonotonicOffset, GapAccept}
}

// ParseBug returns the bug named s; "" and "none" mean no bug.
func ParseBug(s string) (Bug, error) {
	if s == "" || s == "none" {
		return "", nil
	}
	for _, b := range Bugs() {
		if string(b) == s {
			return b, nil
		}
	}
	names := make([]string, 0, len(Bugs()))
	for _, b := range Bugs() {
		names = append(names, string(b))
	}
	return "", fmt.Errorf("gen: unknown bug %q (known: %s)", s, strings.Join(names, ", "))
}

// Options configure [Generate]. The zero value of a field means its
// default.
type Options struct {
	// Seed seeds the generator; the same options give the same history.
	Seed int64
	// Partitions is the number of partitions, named "p0", "p1", ...
	// (default 1).
	Partitions int
	// Producers is the number of producers, with producer ids 1, 2, ...
	// (default 1). Every producer writes to every partition.
	Producers int
	// Batches is the number of batches each producer sends to each
	// partition, retries not counted (default 10).
	Batches int
	// InFlight is the most requests a producer has outstanding per
	// partition, 1 to spec.WindowSize (the default).
	InFlight int
	// UnknownRate is the probability, 0 to 1, that the client times out on
	// an attempt: its Return is unknown while the request goes on.
	UnknownRate float64
	// Retries is how often a timed-out batch is retried with the same
	// sequence range. The last allowed retry never times out; with 0 a
	// timed-out batch is left unknown.
	Retries int
	// EpochBumps is how many times each producer bumps its epoch, at
	// seeded points; it first waits for its requests to finish.
	EpochBumps int
	// StartSeq is the first sequence of every producer on every partition
	// in epoch 0 (a producer the partition does not know may start above
	// 0); sequences wrap from INT32_MAX to 0.
	StartSeq int32
	// Inject, if not empty, injects one bug: the correct history passes
	// through the bug's [Mutator] (see [Bug]).
	Inject Bug

	_ struct{}
}

func (o Options) withDefaults() (Options, error) {
	if o.Partitions == 0 {
		o.Partitions = 1
	}
	if o.Producers == 0 {
		o.Producers = 1
	}
	if o.Batches == 0 {
		o.Batches = 10
	}
	if o.InFlight == 0 {
		o.InFlight = spec.WindowSize
	}
	switch {
	case o.Partitions < 0 || o.Producers < 0 || o.Batches < 0:
		return o, errors.New("gen: partitions, producers and batches must not be negative")
	case o.InFlight < 1 || o.InFlight > spec.WindowSize:
		// An idempotent producer keeps at most as many batches in
		// flight as the partition's window remembers.
		return o, fmt.Errorf("gen: in-flight %d is not between 1 and %d", o.InFlight, spec.WindowSize)
	case o.UnknownRate < 0 || o.UnknownRate > 1 || math.IsNaN(o.UnknownRate):
		return o, fmt.Errorf("gen: unknown rate %v is not between 0 and 1", o.UnknownRate)
	case o.Retries < 0:
		return o, fmt.Errorf("gen: retries %d is negative", o.Retries)
	case o.EpochBumps < 0 || o.EpochBumps > math.MaxInt16:
		return o, fmt.Errorf("gen: epoch bumps %d out of range", o.EpochBumps)
	case o.StartSeq < 0:
		return o, fmt.Errorf("gen: start sequence %d is negative", o.StartSeq)
	}
	if _, err := ParseBug(string(o.Inject)); err != nil {
		return o, err
	}
	return o, nil
}

// Header returns the header of the history o generates: source "gen",
// ticket order "before-stage", the seed, and the expected verdict
// ("Illegal" when a bug is injected, "Ok" otherwise).
func (o Options) Header() history.Header {
	if d, err := o.withDefaults(); err == nil {
		o = d
	}
	h := history.Header{Format: history.FormatV1, Source: "gen", TicketOrder: "before-stage", Seed: o.Seed, Expect: "Ok"}
	h.Description = fmt.Sprintf("synthetic: %d partitions, %d producers, %d batches each, in-flight %d, unknown rate %g, retries %d, epoch bumps %d",
		o.Partitions, o.Producers, o.Batches, o.InFlight, o.UnknownRate, o.Retries, o.EpochBumps)
	if o.Inject != "" {
		h.Expect = "Illegal"
		h.Description += ", injected bug " + string(o.Inject)
	}
	return h
}

// Stats counts what [Generate] produced.
type Stats struct {
	Events int64 // events recorded
	Ops    int64 // Replicate calls (operations)
}

// Generate drives the spec's step function with the workload that o
// describes and records every step to rec as an event, in time order; with
// [Options.Inject] set, the events pass through the bug's [Mutator] on
// their way. It stops at the first error of rec.
func Generate(o Options, rec Recorder) (Stats, error) {
	o, err := o.withDefaults()
	if err != nil {
		return Stats{}, err
	}
	c := &counter{next: rec}
	if o.Inject == "" {
		err := generate(o, c)
		return c.stats, err
	}
	m, err := NewMutator(o.Inject, int64(o.Producers)+1, c)
	if err != nil {
		return Stats{}, err
	}
	if err := generate(o, m); err != nil {
		return c.stats, err
	}
	return c.stats, m.Close()
}

// History generates the history o describes in memory, with
// [Options.Header] as its header.
func History(o Options) (history.History, error) {
	l := history.NewLog(o.Header())
	if _, err := Generate(o, l); err != nil {
		return history.History{}, err
	}
	return l.History(), nil
}

// counter counts the events on their way to the caller's recorder.
type counter struct {
	next  Recorder
	stats Stats
}

func (c *counter) Record(e history.Event) error {
	c.stats.Events++
	if e.Kind == history.Replicate {
		c.stats.Ops++
	}
	return c.next.Record(e)
}
