package history

import (
	"bufio"
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"strconv"
	"unicode/utf8"
)

// MaxLineBytes is the longest JSONL line a reader accepts.
const MaxLineBytes = 1 << 20

// Errors of the file as a whole.
var (
	ErrEmpty       = errors.New("history has no events")
	ErrLineTooLong = fmt.Errorf("line longer than %d bytes", MaxLineBytes)
	ErrInvalidUTF8 = errors.New("invalid UTF-8")
	ErrTruncated   = errors.New("truncated last line")
	ErrSyntax      = errors.New("invalid syntax")
)

// AppendJSON appends e as one JSON object (no newline) to buf. Fields are
// written in a fixed order, only those of e's kind.
func AppendJSON(buf []byte, e Event) []byte {
	buf = append(buf, '{')
	for i, f := range fieldsOf(e.Kind, e.Result, e.Decision) {
		if i > 0 {
			buf = append(buf, ',')
		}
		buf = append(buf, '"')
		buf = append(buf, f...)
		buf = append(buf, '"', ':')
		switch f {
		case "kind":
			buf = strconv.AppendQuote(buf, string(e.Kind))
		case "t":
			buf = strconv.AppendInt(buf, e.Time, 10)
		case "op":
			buf = strconv.AppendInt(buf, e.Op, 10)
		case "client":
			buf = strconv.AppendInt(buf, e.Client, 10)
		case "partition":
			buf = appendJSONString(buf, e.Partition)
		case "pid":
			buf = strconv.AppendInt(buf, e.PID, 10)
		case "epoch":
			buf = strconv.AppendInt(buf, int64(e.Epoch), 10)
		case "first":
			buf = strconv.AppendInt(buf, int64(e.First), 10)
		case "last":
			buf = strconv.AppendInt(buf, int64(e.Last), 10)
		case "result":
			buf = strconv.AppendQuote(buf, string(e.Result))
		case "offset":
			buf = strconv.AppendInt(buf, e.Offset, 10)
		case "error":
			buf = strconv.AppendInt(buf, int64(e.Error), 10)
		case "decision":
			buf = strconv.AppendQuote(buf, string(e.Decision))
		case "term":
			buf = strconv.AppendInt(buf, e.Term, 10)
		}
	}
	return append(buf, '}')
}

func appendJSONString(buf []byte, s string) []byte {
	b, _ := json.Marshal(s) // a string always marshals
	return append(buf, b...)
}

// JSONLWriter writes a history as JSON Lines: an optional header line
// {"header":{...}} and then one event per line. It checks every event with
// a [Stream] before writing it, so it is also a recorder.
type JSONLWriter struct {
	w      *bufio.Writer
	stream Stream
	buf    []byte
}

// NewJSONLWriter writes the header line to w and returns a writer for the
// events. Call Flush when done.
func NewJSONLWriter(w io.Writer, h Header) (*JSONLWriter, error) {
	jw := &JSONLWriter{w: bufio.NewWriterSize(w, 64<<10)}
	if h.Format == "" {
		h.Format = FormatV1
	}
	if err := checkHeader(h); err != nil {
		return nil, fmt.Errorf("history: header: %w", err)
	}
	line, err := json.Marshal(struct {
		Header rawHeader `json:"header"`
	}{toRawHeader(h)})
	if err != nil {
		return nil, fmt.Errorf("history: encode header: %w", err)
	}
	jw.w.Write(line)
	if err := jw.w.WriteByte('\n'); err != nil {
		return nil, fmt.Errorf("history: write header: %w", err)
	}
	return jw, nil
}

// Record checks e and writes it as one line.
func (jw *JSONLWriter) Record(e Event) error {
	if err := jw.stream.Check(e); err != nil {
		return fmt.Errorf("history: record %s: %w", e.Kind, err)
	}
	jw.buf = AppendJSON(jw.buf[:0], e)
	jw.buf = append(jw.buf, '\n')
	if _, err := jw.w.Write(jw.buf); err != nil {
		return fmt.Errorf("history: write: %w", err)
	}
	return nil
}

// Flush writes buffered lines to the underlying writer.
func (jw *JSONLWriter) Flush() error { return jw.w.Flush() }

// EncodeJSONL writes h as JSON Lines.
func EncodeJSONL(w io.Writer, h History) error {
	jw, err := NewJSONLWriter(w, h.Header)
	if err != nil {
		return err
	}
	for _, e := range h.Events {
		if err := jw.Record(e); err != nil {
			return err
		}
	}
	return jw.Flush()
}

// jsonlReader reads JSON Lines one event at a time.
type jsonlReader struct {
	name   string
	r      *bufio.Reader
	line   int
	header Header
	stream Stream
	events int
	peeked []byte // first line, read to find the header
	done   bool
	fast   fastScanner
}

func newJSONLReader(r *bufio.Reader, name string) (*jsonlReader, error) {
	jr := &jsonlReader{name: name, r: r}
	line, err := jr.readLine()
	if err == io.EOF {
		return nil, atLine(name, 1, ErrEmpty)
	}
	if err != nil {
		return nil, err
	}
	trimmed := bytes.TrimSpace(line)
	if bytes.HasPrefix(trimmed, []byte(`{"header"`)) {
		var hl struct {
			Header *rawHeader `json:"header"`
		}
		var inner struct {
			Header json.RawMessage `json:"header"`
		}
		err := checkJSONKeys(trimmed, isHeaderLineField)
		if err == nil && json.Unmarshal(trimmed, &inner) == nil {
			err = checkJSONKeys(inner.Header, isHeaderField)
		}
		if err != nil {
			return nil, atLine(name, jr.line, err)
		}
		dec := json.NewDecoder(bytes.NewReader(trimmed))
		dec.DisallowUnknownFields()
		if err := dec.Decode(&hl); err != nil || hl.Header == nil {
			return nil, atLine(name, jr.line, jsonError(err, "header"))
		}
		if jr.header, err = hl.Header.header(); err != nil {
			return nil, atLine(name, jr.line, err)
		}
		return jr, nil
	}
	jr.peeked = line
	return jr, nil
}

// readLine returns the next non-blank, non-comment line without its newline.
func (jr *jsonlReader) readLine() ([]byte, error) {
	for {
		line, err := jr.r.ReadSlice('\n')
		if err == bufio.ErrBufferFull {
			// Stop here: the rest of the line may never end (/dev/zero).
			jr.line++
			return nil, atLine(jr.name, jr.line, ErrLineTooLong)
		}
		if err == io.EOF && len(line) == 0 {
			return nil, io.EOF
		}
		if err != nil && err != io.EOF {
			return nil, fmt.Errorf("%s: read: %w", jr.name, err)
		}
		jr.line++
		last := err == io.EOF
		if !utf8.Valid(line) {
			return nil, atLine(jr.name, jr.line, ErrInvalidUTF8)
		}
		t := bytes.TrimSpace(line)
		if len(t) == 0 || t[0] == '#' {
			if last {
				return nil, io.EOF
			}
			continue
		}
		if last && !json.Valid(t) {
			return nil, atLine(jr.name, jr.line, fmt.Errorf("%w (no newline at end and not a complete JSON object)", ErrTruncated))
		}
		return t, nil
	}
}

func (jr *jsonlReader) Header() Header { return jr.header }
func (jr *jsonlReader) Line() int      { return jr.line }

func (jr *jsonlReader) Next() (Event, error) {
	if jr.done {
		return Event{}, io.EOF
	}
	var line []byte
	if jr.peeked != nil {
		line, jr.peeked = jr.peeked, nil
	} else {
		var err error
		line, err = jr.readLine()
		if err == io.EOF {
			jr.done = true
			if jr.events == 0 {
				return Event{}, atLine(jr.name, jr.line+1, ErrEmpty)
			}
			return Event{}, io.EOF
		}
		if err != nil {
			jr.done = true
			return Event{}, err
		}
	}
	e, ok := jr.fast.decode(line)
	var err error
	if !ok {
		e, err = decodeJSONEvent(line)
	}
	if err == nil {
		err = jr.stream.Check(e)
	}
	if err != nil {
		jr.done = true
		return Event{}, atLine(jr.name, jr.line, err)
	}
	jr.events++
	return e, nil
}

func decodeJSONEvent(line []byte) (Event, error) {
	if err := checkJSONKeys(line, isEventField); err != nil {
		return Event{}, err
	}
	var raw rawEvent
	dec := json.NewDecoder(bytes.NewReader(line))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&raw); err != nil {
		return Event{}, jsonError(err, "")
	}
	if dec.More() {
		return Event{}, fmt.Errorf("%w: more than one JSON value on the line", ErrSyntax)
	}
	return raw.event()
}

// isEventField and isHeaderField tell the JSON field names of an event
// and of the header, exactly as spelt.
func isEventField(name string) bool {
	switch name {
	case "kind", "t", "op", "client", "partition", "pid", "epoch", "first", "last",
		"result", "offset", "error", "decision", "term":
		return true
	}
	return false
}

func isHeaderField(name string) bool {
	switch name {
	case "format", "source", "ticket_order", "rules", "expect", "violation", "description", "seed":
		return true
	}
	return false
}

func isHeaderLineField(name string) bool { return name == "header" }

// checkJSONKeys refuses a field of the JSON object obj that is not in
// allowed as spelt (encoding/json would match "Partition" or
// "pArtition" to "partition") or that is repeated (encoding/json would
// keep the last). What is not an object is left to the decoder's own
// error.
func checkJSONKeys(obj []byte, allowed func(string) bool) error {
	dec := json.NewDecoder(bytes.NewReader(obj))
	if t, err := dec.Token(); err != nil || t != json.Delim('{') {
		return nil
	}
	var seen []string
	for dec.More() {
		t, err := dec.Token()
		if err != nil {
			return nil
		}
		name, _ := t.(string)
		if !allowed(name) {
			return fieldErr(name, ErrBadValue, "unknown field")
		}
		for _, s := range seen {
			if s == name {
				return fieldErr(name, ErrBadValue, "field given twice")
			}
		}
		seen = append(seen, name)
		var skip json.RawMessage
		if err := dec.Decode(&skip); err != nil {
			return nil
		}
	}
	return nil
}

// jsonError turns an encoding/json error into a FieldError where it names
// a field.
func jsonError(err error, within string) error {
	if err == nil {
		return fmt.Errorf("%w: expected {\"%s\": {...}}", ErrSyntax, within)
	}
	var te *json.UnmarshalTypeError
	if errors.As(err, &te) {
		return fieldErr(te.Field, ErrBadValue, "%s is not a valid %s", te.Value, te.Type)
	}
	var se *json.SyntaxError
	if errors.As(err, &se) {
		return fmt.Errorf("%w: %v (at byte %d)", ErrSyntax, se, se.Offset)
	}
	msg := err.Error()
	const unknown = "json: unknown field "
	if len(msg) > len(unknown) && msg[:len(unknown)] == unknown {
		name, _ := strconv.Unquote(msg[len(unknown):])
		return fieldErr(name, ErrBadValue, "unknown field")
	}
	return fmt.Errorf("%w: %v", ErrSyntax, err)
}

// DecodeEventLine decodes one JSON Lines event line on its own: its kind,
// its fields and their values, but none of the checks that need the
// events before it (op ids, open operations, times), which a [Reader] or
// a [Stream] adds. It exists for readers that go on past a bad line and
// report it, such as the distributed check of the beam module.
func DecodeEventLine(line []byte) (Event, error) {
	line = bytes.TrimSpace(line)
	var fs fastScanner
	if e, ok := fs.decode(line); ok {
		return e, nil
	}
	return decodeJSONEvent(line)
}
