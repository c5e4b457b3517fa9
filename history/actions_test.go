package history

import (
	"reflect"
	"testing"

	"github.com/idemcheck/idemcheck/spec"
)

// TestFromActions checks the mapping of spec actions to events: times
// 1, 2, … in the given partition, a Replicate's client is its producer,
// a Decide carries an offset only for a decision that has one, and the
// result passes the recorder's checks.
func TestFromActions(t *testing.T) {
	acts := []spec.Action{
		{Name: spec.Replicate, Op: 1, PID: 7, Epoch: 0, First: 0, Last: 2},
		{Name: spec.Decide, Op: 1, Decision: spec.OutOfOrder, Offset: 99},
		{Name: spec.Return, Op: 1, Result: spec.Failed, Error: spec.OutOfOrderSequenceNumber, Offset: 99},
		{Name: spec.Replicate, Op: 2, PID: 7, Epoch: 0, First: 0, Last: 2},
		{Name: spec.Decide, Op: 2, Decision: spec.Append, Offset: 4},
		{Name: spec.Return, Op: 2, Result: spec.OK, Offset: 4},
		{Name: spec.EvictProducer, PID: 7},
	}
	h := FromActions(Header{Format: FormatV1, Source: "mc"}, "orders/0", acts)
	want := []Event{
		{Kind: Replicate, Time: 1, Op: 1, Client: 7, Partition: "orders/0", PID: 7, First: 0, Last: 2},
		{Kind: Decide, Time: 2, Op: 1, Decision: spec.OutOfOrder},
		{Kind: Return, Time: 3, Op: 1, Result: Failed, Error: spec.OutOfOrderSequenceNumber},
		{Kind: Replicate, Time: 4, Op: 2, Client: 7, Partition: "orders/0", PID: 7, First: 0, Last: 2},
		{Kind: Decide, Time: 5, Op: 2, Decision: spec.Append, Offset: 4},
		{Kind: Return, Time: 6, Op: 2, Result: OK, Offset: 4},
		{Kind: EvictProducer, Time: 7, Partition: "orders/0", PID: 7},
	}
	if !reflect.DeepEqual(h.Events, want) {
		t.Fatalf("events\n%+v\nwant\n%+v", h.Events, want)
	}
	if h.Header.Source != "mc" {
		t.Errorf("header %+v", h.Header)
	}
	log := NewLog(h.Header)
	for _, e := range h.Events {
		if err := log.Record(e); err != nil {
			t.Fatalf("%+v refused: %v", e, err)
		}
	}
}
