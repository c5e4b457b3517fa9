package history_test

import (
	"bytes"
	"errors"
	"testing"

	"github.com/idemcheck/idemcheck/history"
	"github.com/idemcheck/idemcheck/spec"
)

// TestHeaderRules checks that the optional header field rules takes the
// dialects of spec.ParseRules through both codecs, and that the writers
// refuse any other value as the readers do.
func TestHeaderRules(t *testing.T) {
	ev := []history.Event{{Kind: history.Replicate, Op: 1, Partition: "p0", PID: 1}}
	for _, rules := range []string{"", string(spec.Redpanda), string(spec.Kafka)} {
		h := history.History{Header: history.Header{Rules: rules}, Events: ev}
		for _, enc := range []struct {
			name string
			f    func(*bytes.Buffer, history.History) error
		}{
			{"jsonl", func(b *bytes.Buffer, h history.History) error { return history.EncodeJSONL(b, h) }},
			{"yaml", func(b *bytes.Buffer, h history.History) error { return history.EncodeYAML(b, h) }},
		} {
			var b bytes.Buffer
			if err := enc.f(&b, h); err != nil {
				t.Fatalf("%s rules=%q: %v", enc.name, rules, err)
			}
			back, err := history.Decode(&b, "in")
			if err != nil {
				t.Fatalf("%s rules=%q: %v", enc.name, rules, err)
			}
			if back.Header.Rules != rules {
				t.Errorf("%s: rules %q came back as %q", enc.name, rules, back.Header.Rules)
			}
		}
	}
	bad := history.History{Header: history.Header{Rules: "Kafka"}, Events: ev}
	var b bytes.Buffer
	if err := history.EncodeJSONL(&b, bad); !errors.Is(err, history.ErrBadValue) {
		t.Errorf("EncodeJSONL with rules %q: %v, want ErrBadValue", bad.Header.Rules, err)
	}
	if err := history.EncodeYAML(&b, bad); !errors.Is(err, history.ErrBadValue) {
		t.Errorf("EncodeYAML with rules %q: %v, want ErrBadValue", bad.Header.Rules, err)
	}
}

// TestEventStringOffsets checks that Event.String shows the offset of
// every decision that carries one, duplicate_inflight included.
func TestEventStringOffsets(t *testing.T) {
	for _, d := range []history.Decision{history.Append, history.AppendUnknown, history.Duplicate, history.DuplicateInFlight} {
		e := history.Event{Kind: history.Decide, Op: 3, Decision: d, Offset: 42}
		if got, want := e.String(), "Decide op=3 "+string(d)+" offset=42 t=0"; got != want {
			t.Errorf("%q, want %q", got, want)
		}
	}
	e := history.Event{Kind: history.Decide, Op: 3, Decision: history.OutOfOrder}
	if got, want := e.String(), "Decide op=3 out_of_order t=0"; got != want {
		t.Errorf("%q, want %q", got, want)
	}
}
