package history

import (
	"errors"
	"testing"
)

func TestDecodeEventLine(t *testing.T) {
	e, err := DecodeEventLine([]byte(`{"kind":"Return","t":10,"op":1,"result":"ok","offset":0}`))
	if err != nil || e.Kind != Return || e.Op != 1 || e.Time != 10 || e.Result != OK {
		t.Fatalf("got %v, %v", e, err)
	}
	if _, err := DecodeEventLine([]byte(`{"kind":"Return","t":10,"op":1,"result":"ok"`)); err == nil {
		t.Fatal("a truncated line decoded")
	}
	if _, err := DecodeEventLine([]byte(`{"kind":"Nope","t":1}`)); !errors.Is(err, ErrUnknownKind) {
		t.Fatalf("unknown kind: %v", err)
	}
}
