package gen

import (
	"errors"

	"github.com/idemcheck/idemcheck/history"
)

// Mutator turns a correct event stream into one that shows a bug, apart
// from the stream's generation, the way pebble's metamorphic tests keep
// generating operations apart from running them: [Generate] produces the
// correct history and, with [Options.Inject], passes it through the
// bug's Mutator on its way to the caller's recorder.
//
// The mutation puts the bug's episode (see the [Bug] constants) at the
// start of partition p0, played by producer ids the stream does not use,
// and moves the stream after it: every op id by the episode's number of
// ops, every time by its number of events, and every offset of p0 (of a
// Decide or an ok Return of an op on p0) by the end offset of p0's log
// after the episode. So the stream's own batches stay as correct as they
// were, in a log that starts where the episode's ends, and the one
// violation is the episode's. The stream's events must have times from
// 0 and op ids from 1, as [Generate]'s do.
//
// A Mutator is a [Recorder]. It streams: its memory grows with p0's ops
// whose offsets may still come (called and not yet answered, or timed
// out and not yet decided), not with the stream's length.
type Mutator struct {
	next    Recorder
	bug     Bug
	episode []history.Event // to write before the first event; nil once written
	ops     int64           // the episode's ops
	events  int64           // the episode's events
	end     int64           // p0's log end after the episode
	p0      map[int64]p0op  // p0's ops whose offsets may still come
	err     error
}

// p0op is what a Mutator remembers of an op on p0.
type p0op struct {
	unknown bool // its client timed out: its Decide may still come
	decided bool // its Decide has passed
}

// NewMutator returns the Mutator of bug writing to next. The episode's
// producer id is pid (and pid+1 for [LostAck]): ids the stream never
// uses, so that the stream's producers are not disturbed by it.
func NewMutator(bug Bug, pid int64, next Recorder) (*Mutator, error) {
	if _, err := ParseBug(string(bug)); err != nil || bug == "" {
		if err == nil {
			err = errors.New("gen: no bug to inject")
		}
		return nil, err
	}
	if pid < 1 {
		return nil, errors.New("gen: the episode's producer id must be positive")
	}
	evs, end, err := episode(bug, pid)
	if err != nil {
		return nil, err
	}
	m := &Mutator{next: next, bug: bug, episode: evs, end: end, events: int64(len(evs)), p0: make(map[int64]p0op)}
	for _, e := range evs {
		m.ops = max(m.ops, e.Op)
	}
	return m, nil
}

// Bug returns the bug the Mutator injects.
func (m *Mutator) Bug() Bug { return m.bug }

// start writes the episode if it is not written yet.
func (m *Mutator) start() error {
	if m.episode == nil {
		return m.err
	}
	evs := m.episode
	m.episode = nil
	for _, e := range evs {
		if err := m.next.Record(e); err != nil {
			m.err = err
			return err
		}
	}
	return nil
}

// Record writes e, moved past the episode, after the episode.
func (m *Mutator) Record(e history.Event) error {
	if err := m.start(); err != nil {
		return err
	}
	e.Time += m.events
	if e.Op != 0 {
		e.Op += m.ops
	}
	switch e.Kind {
	case history.Replicate:
		if e.Partition == "p0" {
			m.p0[e.Op] = p0op{}
		}
	case history.Decide:
		if o, ok := m.p0[e.Op]; ok {
			if e.Decision.HasOffset() {
				e.Offset += m.end
			}
			if o.unknown {
				delete(m.p0, e.Op)
			} else {
				o.decided = true
				m.p0[e.Op] = o
			}
		}
	case history.Return:
		if o, ok := m.p0[e.Op]; ok {
			switch e.Result {
			case history.OK:
				e.Offset += m.end
				delete(m.p0, e.Op)
			case history.Unknown:
				if o.decided {
					delete(m.p0, e.Op)
				} else {
					o.unknown = true
					m.p0[e.Op] = o
				}
			default:
				delete(m.p0, e.Op)
			}
		}
	}
	if err := m.next.Record(e); err != nil {
		m.err = err
		return err
	}
	return nil
}

// Close writes the episode if no event came (an empty stream still
// shows the bug) and returns the first error of the recorder.
func (m *Mutator) Close() error { return m.start() }
