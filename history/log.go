package history

import (
	"fmt"
	"sync"
)

// Log is an in-memory recorder. Record checks each event with a [Stream]
// and keeps it; an inconsistent event is refused with an error and not
// kept. A Log is safe for concurrent use.
type Log struct {
	mu     sync.Mutex
	header Header
	stream Stream
	events []Event
}

// NewLog returns an empty log whose history will carry header h.
func NewLog(h Header) *Log {
	if h.Format == "" {
		h.Format = FormatV1
	}
	return &Log{header: h}
}

// Record checks e and appends it.
func (l *Log) Record(e Event) error {
	l.mu.Lock()
	defer l.mu.Unlock()
	if err := l.stream.Check(e); err != nil {
		return fmt.Errorf("history: record %s: %w", e.Kind, err)
	}
	l.events = append(l.events, e)
	return nil
}

// History returns a copy of what has been recorded so far.
func (l *Log) History() History {
	l.mu.Lock()
	defer l.mu.Unlock()
	return History{Header: l.header, Events: append([]Event(nil), l.events...)}
}
