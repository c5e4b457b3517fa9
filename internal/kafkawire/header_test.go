package kafkawire

import (
	"errors"
	"testing"

	"github.com/twmb/franz-go/pkg/kmsg"
)

// TestParseRequestHeader checks request header versions 0, 1 and 2
// (client id, null client id, tagged fields) and the malformed cases.
func TestParseRequestHeader(t *testing.T) {
	produce9 := kmsg.NewPtrProduceRequest()
	produce9.Version = 9
	produce3 := kmsg.NewPtrProduceRequest()
	produce3.Version = 3
	shutdown0 := kmsg.NewPtrControlledShutdownRequest()
	shutdown0.Version = 0
	tests := []struct {
		name       string
		frame      []byte // without size
		key, ver   int16
		corr       int32
		clientID   string // "" with nilClient for null
		nilClient  bool
		headerVer  int8
		bodyPrefix int // body length expected, -1 to skip
		err        error
	}{
		{name: "v1 produce v3", frame: reqFrame(7, produce3)[4:], key: 0, ver: 3, corr: 7, clientID: "test", headerVer: 1, bodyPrefix: -1},
		{name: "v2 flexible produce v9", frame: reqFrame(8, produce9)[4:], key: 0, ver: 9, corr: 8, clientID: "test", headerVer: 2, bodyPrefix: -1},
		{name: "v0 controlled shutdown v0", frame: reqFrame(9, shutdown0)[4:], key: 7, ver: 0, corr: 9, nilClient: true, headerVer: 0, bodyPrefix: -1},
		{name: "null client id", frame: []byte{0, 3, 0, 1, 0, 0, 0, 5, 0xff, 0xff}, key: 3, ver: 1, corr: 5, nilClient: true, headerVer: 1, bodyPrefix: 0},
		{name: "tagged fields skipped", frame: []byte{0, 0, 0, 9, 0, 0, 0, 1, 0, 1, 'x', 1, 3, 2, 'a', 'b', 42}, key: 0, ver: 9, corr: 1, clientID: "x", headerVer: 2, bodyPrefix: 1},
		{name: "unknown key parses as v1", frame: []byte{0x7f, 0, 0, 0, 0, 0, 0, 2, 0, 0, 1, 2}, key: 0x7f00, ver: 0, corr: 2, clientID: "", headerVer: 1, bodyPrefix: 2},
		{name: "short", frame: []byte{0, 0, 0}, err: ErrHeader},
		{name: "negative key", frame: []byte{0xff, 0xff, 0, 0, 0, 0, 0, 1, 0, 0}, err: ErrHeader},
		{name: "client id too long", frame: []byte{0, 3, 0, 1, 0, 0, 0, 5, 0, 9, 'a'}, err: ErrHeader},
		{name: "client id length missing", frame: []byte{0, 3, 0, 1, 0, 0, 0, 5, 0}, err: ErrHeader},
		{name: "tag size beyond frame", frame: []byte{0, 0, 0, 9, 0, 0, 0, 1, 0, 0, 1, 3, 9, 'a'}, err: ErrHeader},
		{name: "bad varint", frame: []byte{0, 0, 0, 9, 0, 0, 0, 1, 0, 0, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff}, err: ErrHeader},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			h, body, err := ParseRequestHeader(tt.frame)
			if tt.err != nil {
				if !errors.Is(err, tt.err) {
					t.Fatalf("got error %v, want %v", err, tt.err)
				}
				return
			}
			if err != nil {
				t.Fatalf("got error %v", err)
			}
			if h.APIKey != tt.key || h.APIVersion != tt.ver || h.CorrelationID != tt.corr || h.Version != tt.headerVer {
				t.Errorf("got key %d v%d corr %d header v%d, want key %d v%d corr %d header v%d",
					h.APIKey, h.APIVersion, h.CorrelationID, h.Version, tt.key, tt.ver, tt.corr, tt.headerVer)
			}
			switch {
			case tt.nilClient && h.ClientID != nil:
				t.Errorf("got client id %q, want null", *h.ClientID)
			case !tt.nilClient && (h.ClientID == nil || *h.ClientID != tt.clientID):
				t.Errorf("got client id %v, want %q", h.ClientID, tt.clientID)
			}
			if tt.bodyPrefix >= 0 && len(body) != tt.bodyPrefix {
				t.Errorf("got body of %d bytes, want %d", len(body), tt.bodyPrefix)
			}
		})
	}
}

// TestRequestBodyFollowsHeader checks that the body returned after the
// header is exactly what kmsg encoded, for flexible and non-flexible
// versions, so that it decodes again.
func TestRequestBodyFollowsHeader(t *testing.T) {
	for v := int16(3); v <= 13; v++ {
		req := produceReq(v, -1, part{"orders", 2, batchBytes(5, 1, 10, 3)})
		h, body, err := ParseRequestHeader(reqFrame(42, req)[4:])
		if err != nil {
			t.Fatalf("v%d: %v", v, err)
		}
		got := kmsg.ProduceRequest{Version: h.APIVersion}
		if err := got.ReadFrom(body); err != nil {
			t.Fatalf("v%d: body does not decode: %v", v, err)
		}
		if len(got.Topics) != 1 || len(got.Topics[0].Partitions) != 1 || got.Topics[0].Partitions[0].Partition != 2 {
			t.Fatalf("v%d: got %+v", v, got.Topics)
		}
	}
}

// TestParseResponseHeader checks the response header version rule:
// flexible requests get header v1 with tagged fields, except ApiVersions,
// whose response header is always v0.
func TestParseResponseHeader(t *testing.T) {
	tests := []struct {
		name     string
		frame    []byte
		key, ver int16
		want     int8
		body     int
		err      error
	}{
		{name: "produce v8 header v0", frame: []byte{0, 0, 0, 3, 9}, key: 0, ver: 8, want: 0, body: 1},
		{name: "produce v9 header v1", frame: []byte{0, 0, 0, 3, 0, 9}, key: 0, ver: 9, want: 1, body: 1},
		{name: "produce v9 with a tag", frame: []byte{0, 0, 0, 3, 1, 0, 1, 7, 9}, key: 0, ver: 9, want: 1, body: 1},
		{name: "api versions v3 header v0", frame: []byte{0, 0, 0, 3, 0, 9}, key: 18, ver: 3, want: 0, body: 2},
		{name: "unknown key header v0", frame: []byte{0, 0, 0, 3}, key: 999, ver: 0, want: 0, body: 0},
		{name: "short", frame: []byte{0, 0}, key: 0, ver: 0, err: ErrHeader},
		{name: "tags missing", frame: []byte{0, 0, 0, 3}, key: 0, ver: 9, err: ErrHeader},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			h, body, err := ParseResponseHeader(tt.frame, tt.key, tt.ver)
			if tt.err != nil {
				if !errors.Is(err, tt.err) {
					t.Fatalf("got error %v, want %v", err, tt.err)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if h.CorrelationID != 3 || h.Version != tt.want || len(body) != tt.body {
				t.Errorf("got corr %d header v%d body %d, want corr 3 header v%d body %d", h.CorrelationID, h.Version, len(body), tt.want, tt.body)
			}
		})
	}
}

// TestBatches checks record batch header parsing: sequence ranges,
// non-idempotent and old-format batches, and malformed input.
func TestBatches(t *testing.T) {
	msgSet := make([]byte, 12+14)
	msgSet[11] = 14
	msgSet[16] = 1
	short := batchBytes(1, 0, 0, 1)[:40]
	tests := []struct {
		name    string
		records []byte
		want    []Batch
		err     error
	}{
		{name: "one batch", records: batchBytes(7, 2, 10, 5),
			want: []Batch{{Magic: 2, ProducerID: 7, ProducerEpoch: 2, FirstSequence: 10, LastOffsetDelta: 4, NumRecords: 5}}},
		{name: "two batches", records: cat(batchBytes(7, 0, 0, 1), batchBytes(7, 0, 1, 2)),
			want: []Batch{{Magic: 2, ProducerID: 7, FirstSequence: 0, NumRecords: 1}, {Magic: 2, ProducerID: 7, FirstSequence: 1, LastOffsetDelta: 1, NumRecords: 2}}},
		{name: "not idempotent", records: batchBytes(-1, -1, -1, 3),
			want: []Batch{{Magic: 2, ProducerID: -1, ProducerEpoch: -1, FirstSequence: -1, LastOffsetDelta: 2, NumRecords: 3}}},
		{name: "message set v1", records: msgSet, want: []Batch{{Magic: 1, ProducerID: -1, FirstSequence: -1}}},
		{name: "empty", records: nil, want: nil},
		{name: "length beyond data", records: short, err: ErrBatch},
		{name: "trailing bytes", records: cat(batchBytes(1, 0, 0, 1), []byte{1, 2, 3}), err: ErrBatch,
			want: []Batch{{Magic: 2, ProducerID: 1, NumRecords: 1}}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := Batches(tt.records)
			if !errors.Is(err, tt.err) {
				t.Fatalf("got error %v, want %v", err, tt.err)
			}
			if len(got) != len(tt.want) {
				t.Fatalf("got %d batches %+v, want %d", len(got), got, len(tt.want))
			}
			for i := range got {
				if got[i] != tt.want[i] {
					t.Errorf("batch %d: got %+v, want %+v", i, got[i], tt.want[i])
				}
			}
		})
	}
}

// TestBatchLastSequence checks the sequence range of a batch and that a
// range wrapping past INT32_MAX is refused.
func TestBatchLastSequence(t *testing.T) {
	tests := []struct {
		first, delta int32
		want         int32
		ok           bool
	}{
		{0, 0, 0, true},
		{10, 4, 14, true},
		{1<<31 - 3, 2, 1<<31 - 1, true},
		{1<<31 - 3, 3, 0, false},
		{5, -1, 0, false},
	}
	for _, tt := range tests {
		got, ok := Batch{FirstSequence: tt.first, LastOffsetDelta: tt.delta}.LastSequence()
		if got != tt.want || ok != tt.ok {
			t.Errorf("first %d delta %d: got %d %v, want %d %v", tt.first, tt.delta, got, ok, tt.want, tt.ok)
		}
	}
}
