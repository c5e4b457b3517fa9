package history_test

import (
	"bytes"
	"testing"

	"github.com/idemcheck/idemcheck/history"
	"github.com/idemcheck/idemcheck/spec"
)

// TestRedeemAbortedRoundTrip checks the one optional result of the
// format: a RedeemTicket carries result "error" when the call was
// aborted while it waited in redeem, and none otherwise ("ok" is read as
// no result). Both encodings write and read back exactly that, and
// FromAction keeps it.
func TestRedeemAbortedRoundTrip(t *testing.T) {
	acts := []spec.Action{
		{Name: spec.Replicate, Op: 1, PID: 1},
		{Name: spec.ReserveTicket, Op: 1},
		{Name: spec.StageWriteStart, Op: 1},
		{Name: spec.StageWriteDone, Op: 1, Result: spec.OK},
		{Name: spec.UploadDone, Op: 1, Result: spec.OK},
		{Name: spec.RedeemTicket, Op: 1, Result: spec.Failed},
	}
	h := history.FromActions(history.Header{Format: "idemcheck/v1"}, "p0", acts)
	if got := h.Events[5].String(); got != "RedeemTicket op=1 error t=6" {
		t.Fatalf("aborted redeem renders as %q", got)
	}
	for _, enc := range []struct {
		name string
		fn   func(*bytes.Buffer, history.History) error
	}{
		{"in.jsonl", func(b *bytes.Buffer, h history.History) error { return history.EncodeJSONL(b, h) }},
		{"in.yaml", func(b *bytes.Buffer, h history.History) error { return history.EncodeYAML(b, h) }},
	} {
		var b bytes.Buffer
		if err := enc.fn(&b, h); err != nil {
			t.Fatal(err)
		}
		back, err := history.Decode(bytes.NewReader(b.Bytes()), enc.name)
		if err != nil {
			t.Fatalf("%s: %v\n%s", enc.name, err, b.String())
		}
		if got := back.Events[5]; got.Kind != spec.RedeemTicket || got.Result != spec.Failed {
			t.Errorf("%s: read back %s", enc.name, got)
		}
	}
	plain := `{"kind":"Replicate","t":0,"op":1,"partition":"p0","pid":1,"epoch":0,"first":0,"last":0}` + "\n" +
		`{"kind":"RedeemTicket","t":1,"op":1,"result":"ok"}` + "\n"
	back, err := history.Decode(bytes.NewReader([]byte(plain)), "ok.jsonl")
	if err != nil {
		t.Fatal(err)
	}
	if got := back.Events[1]; got.Result != spec.OK || got.String() != "RedeemTicket op=1 t=1" {
		t.Errorf("RedeemTicket with result ok read as %+v (%s)", got, got)
	}
}
