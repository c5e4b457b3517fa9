package history

import (
	"bytes"
	"errors"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"
)

// TestLogBatchRoundTrip: a LogBatch observation, which belongs to no
// operation, goes through JSON Lines and YAML unchanged and may come
// after every operation has returned.
func TestLogBatchRoundTrip(t *testing.T) {
	h := History{Header: Header{Format: FormatV1}, Events: []Event{
		{Kind: Replicate, Time: 1, Op: 1, Client: 1, Partition: "p0", PID: 7, Epoch: 0, First: 0, Last: 2},
		{Kind: Return, Time: 2, Op: 1, Result: OK, Offset: 0},
		{Kind: LogBatch, Time: 3, Partition: "p0", Offset: 0, PID: 7, Epoch: 0, First: 0, Last: 2},
		{Kind: LogBatch, Time: 3, Partition: "p0", Offset: 0, PID: 7, Epoch: 0, First: 0, Last: 2},
	}}
	var buf bytes.Buffer
	require.NoError(t, EncodeJSONL(&buf, h))
	require.Contains(t, buf.String(), `{"kind":"LogBatch","t":3,"partition":"p0","offset":0,"pid":7,"epoch":0,"first":0,"last":2}`)
	got, err := Decode(bytes.NewReader(buf.Bytes()), "h.jsonl")
	require.NoError(t, err)
	require.Equal(t, h.Events, got.Events)

	yml := "events:\n  - {kind: LogBatch, t: 0, partition: p0, offset: 5, pid: 1, epoch: 2, first: 3, last: 4}\n"
	hy, err := Decode(strings.NewReader(yml), "h.yaml")
	require.NoError(t, err)
	require.Equal(t, []Event{{Kind: LogBatch, Partition: "p0", Offset: 5, PID: 1, Epoch: 2, First: 3, Last: 4}}, hy.Events)
}

// TestLogBatchFields: a LogBatch carries no op and needs its offset.
func TestLogBatchFields(t *testing.T) {
	for _, line := range []string{
		`{"kind":"LogBatch","t":3,"op":1,"partition":"p0","offset":0,"pid":7,"epoch":0,"first":0,"last":2}`,
		`{"kind":"LogBatch","t":3,"partition":"p0","pid":7,"epoch":0,"first":0,"last":2}`,
		`{"kind":"LogBatch","t":3,"partition":"p0","offset":0,"pid":7,"epoch":0,"first":3,"last":2}`,
		`{"kind":"LogBatch","t":3,"partition":"p0","offset":-1,"pid":7,"epoch":0,"first":0,"last":2}`,
	} {
		_, err := Decode(strings.NewReader(line+"\n"), "h.jsonl")
		require.Error(t, err, line)
		require.True(t, errors.Is(err, ErrBadValue) || errors.Is(err, ErrMissingField), "%s: %v", line, err)
	}
}
