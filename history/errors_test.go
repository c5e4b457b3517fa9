package history_test

import (
	"bytes"
	"errors"
	"strings"
	"testing"

	"github.com/idemcheck/idemcheck/history"
)

const (
	rep0 = `{"kind":"Replicate","t":0,"op":1,"partition":"p0","pid":1,"epoch":0,"first":0,"last":0}` + "\n"
	ret0 = `{"kind":"Return","t":1,"op":1,"result":"ok","offset":0}` + "\n"
)

func TestDecodeErrorClasses(t *testing.T) {
	// Every malformed-input class is a *SyntaxError with the right line
	// and field, wrapping the sentinel a caller can test with errors.Is;
	// JSON Lines and YAML agree where both can express the problem.
	tests := []struct {
		name  string
		input string
		want  error
		line  int
		field string
	}{
		{"empty", "", history.ErrEmpty, 1, ""},
		{"header only", `{"header":{}}` + "\n", history.ErrEmpty, 2, ""},
		{"yaml no events", "header: {format: idemcheck/v1}\nevents: []\n", history.ErrEmpty, 1, ""},
		{"truncated", rep0 + `{"kind":"Ret`, history.ErrTruncated, 2, ""},
		{"json syntax", rep0 + "{kind}\n", history.ErrSyntax, 2, ""},
		{"yaml syntax", "events:\n\t- {}\n", history.ErrSyntax, 2, ""},
		{"unknown kind", `{"kind":"X","t":0,"op":1}` + "\n", history.ErrUnknownKind, 1, "kind"},
		{"yaml unknown kind", "events:\n  - {kind: X, t: 0, op: 1}\n", history.ErrUnknownKind, 2, "kind"},
		{"missing field", `{"kind":"Replicate","t":0,"op":1,"partition":"p0","pid":1,"epoch":0,"first":0}` + "\n", history.ErrMissingField, 1, "last"},
		{"yaml missing field", "events:\n  - {kind: Replicate, t: 0, op: 1, partition: p0, pid: 1, epoch: 0, first: 0}\n", history.ErrMissingField, 2, "last"},
		{"mistyped", strings.Replace(rep0, `"pid":1`, `"pid":true`, 1), history.ErrBadValue, 1, "pid"},
		{"field name case", strings.Replace(rep0, `"partition"`, `"pArtition"`, 1), history.ErrBadValue, 1, "pArtition"},
		{"yaml field name case", "events:\n  - {kind: Replicate, t: 0, op: 1, Partition: p0, pid: 1, epoch: 0, first: 0, last: 0}\n", history.ErrBadValue, 2, "Partition"},
		{"field twice", strings.Replace(rep0, `"pid":1`, `"pid":1,"pid":2`, 1), history.ErrBadValue, 1, "pid"},
		{"header field name case", `{"header":{"Format":"idemcheck/v1"}}` + "\n" + rep0, history.ErrBadValue, 1, "Format"},
		{"unknown rules", `{"header":{"rules":"kafak"}}` + "\n" + rep0, history.ErrBadValue, 1, "rules"},
		{"yaml unknown rules", "header:\n  rules: kafak\nevents:\n  - {kind: Return, t: 1, op: 1, result: ok, offset: 0}\n", history.ErrBadValue, 2, "rules"},
		{"header line key case", `{"Header":{"format":"idemcheck/v1"}}` + "\n" + rep0, history.ErrBadValue, 1, "Header"},
		{"negative seq", strings.Replace(rep0, `"first":0`, `"first":-2`, 1), history.ErrBadValue, 1, "first"},
		{"int32 overflow", strings.Replace(rep0, `"last":0`, `"last":4294967296`, 1), history.ErrBadValue, 1, "last"},
		{"yaml int32 overflow", "events:\n  - {kind: Replicate, t: 0, op: 1, partition: p0, pid: 1, epoch: 0, first: 0, last: 4294967296}\n", history.ErrBadValue, 2, "last"},
		{"negative offset", rep0 + strings.Replace(ret0, `"offset":0`, `"offset":-1`, 1), history.ErrBadValue, 2, "offset"},
		{"first > last", strings.Replace(rep0, `"first":0`, `"first":3`, 1), history.ErrBadValue, 1, "first"},
		{"return without call", ret0, history.ErrReturnNoCall, 1, "op"},
		{"yaml return without call", "events:\n  - {kind: Return, t: 1, op: 1, result: ok, offset: 0}\n", history.ErrReturnNoCall, 2, "op"},
		{"duplicate op", rep0 + strings.Replace(rep0, `"t":0`, `"t":1`, 1), history.ErrDuplicateOp, 2, "op"},
		{"time backwards", strings.Replace(rep0, `"t":0`, `"t":9`, 1) + ret0, history.ErrTimeBackwards, 2, "t"},
		{"unknown op", rep0 + `{"kind":"RedeemTicket","t":1,"op":2}` + "\n", history.ErrUnknownOperation, 2, "op"},
		{"redeem result", rep0 + `{"kind":"RedeemTicket","t":1,"op":1,"result":"unknown"}` + "\n", history.ErrBadValue, 2, "result"},
		{"long line", rep0 + `{"kind":"Replicate","t":1,"op":2,"partition":"` + strings.Repeat("p", history.MaxLineBytes) + `","pid":1,"epoch":0,"first":0,"last":0}` + "\n", history.ErrLineTooLong, 2, ""},
		{"invalid utf-8", rep0 + "{\"kind\":\"Return\xc3\x28\"}\n", history.ErrInvalidUTF8, 2, ""},
		{"yaml invalid utf-8", "events:\n  - {kind: \"\xff\"}\n", history.ErrInvalidUTF8, 2, ""},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			_, err := history.Decode(bytes.NewReader([]byte(tc.input)), "in")
			if !errors.Is(err, tc.want) {
				t.Fatalf("got %v, want errors.Is %v", err, tc.want)
			}
			var se *history.SyntaxError
			if !errors.As(err, &se) {
				t.Fatalf("got %T, want *history.SyntaxError", err)
			}
			if se.File != "in" || se.Line != tc.line || se.Field != tc.field {
				t.Errorf("at %s:%d field %q, want in:%d field %q (%v)", se.File, se.Line, se.Field, tc.line, tc.field, err)
			}
		})
	}
}
