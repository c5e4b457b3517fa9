package history

import (
	"bufio"
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"strconv"
	"strings"
	"unicode/utf8"

	"gopkg.in/yaml.v3"
)

// EncodeYAML writes h as a YAML document with a header mapping and an
// events sequence, one flow mapping per event and line.
func EncodeYAML(w io.Writer, h History) error {
	var s Stream
	bw := bufio.NewWriter(w)
	hd := h.Header
	if hd.Format == "" {
		hd.Format = FormatV1
	}
	if err := checkHeader(hd); err != nil {
		return fmt.Errorf("history: header: %w", err)
	}
	hb, err := yaml.Marshal(struct {
		Header rawHeader `yaml:"header"`
	}{toRawHeader(hd)})
	if err != nil {
		return fmt.Errorf("history: encode header: %w", err)
	}
	bw.Write(hb)
	bw.WriteString("events:\n")
	var buf []byte
	for _, e := range h.Events {
		if err := s.Check(e); err != nil {
			return fmt.Errorf("history: encode %s: %w", e.Kind, err)
		}
		buf = appendYAMLEvent(buf[:0], e)
		bw.Write(buf)
	}
	return bw.Flush()
}

func appendYAMLEvent(buf []byte, e Event) []byte {
	// The JSON encoding with bare keys is a YAML flow mapping.
	j := AppendJSON(nil, e)
	buf = append(buf, "  - {"...)
	inner := string(j[1 : len(j)-1])
	first := true
	for len(inner) > 0 {
		// inner is "key":value,"key":value...; keys never hold quotes or commas.
		end := strings.IndexByte(inner[1:], '"') + 1
		key := inner[1:end]
		rest := inner[end+2:]
		vend := valueEnd(rest)
		if !first {
			buf = append(buf, ", "...)
		}
		first = false
		buf = append(buf, key...)
		buf = append(buf, ": "...)
		buf = appendYAMLScalar(buf, rest[:vend])
		inner = rest[vend:]
		if len(inner) > 0 && inner[0] == ',' {
			inner = inner[1:]
		}
	}
	return append(buf, "}\n"...)
}

// appendYAMLScalar appends the JSON scalar v as a YAML scalar. Strings
// are re-quoted with ASCII-only escapes: JSON leaves DEL and the C1
// control characters raw, and YAML refuses them raw but accepts every
// escape strconv.QuoteToASCII writes.
func appendYAMLScalar(buf []byte, v string) []byte {
	if v == "" || v[0] != '"' {
		return append(buf, v...)
	}
	var s string
	if err := json.Unmarshal([]byte(v), &s); err != nil {
		return append(buf, v...) // AppendJSON wrote it: cannot happen
	}
	return strconv.AppendQuoteToASCII(buf, s)
}

// valueEnd returns the length of the JSON scalar at the start of s.
func valueEnd(s string) int {
	if s[0] != '"' {
		if i := strings.IndexByte(s, ','); i >= 0 {
			return i
		}
		return len(s)
	}
	for i := 1; i < len(s); i++ {
		switch s[i] {
		case '\\':
			i++
		case '"':
			return i + 1
		}
	}
	return len(s)
}

// yamlReader serves the events of a decoded YAML document.
type yamlReader struct {
	name   string
	header Header
	items  []*yaml.Node
	i      int
	line   int
	stream Stream
	done   bool
}

func newYAMLReader(r io.Reader, name string) (*yamlReader, error) {
	data, err := io.ReadAll(io.LimitReader(r, MaxYAMLBytes+1))
	if err != nil {
		return nil, fmt.Errorf("%s: read: %w", name, err)
	}
	if len(data) > MaxYAMLBytes {
		return nil, fmt.Errorf("%s: %w", name, ErrTooBig)
	}
	if !utf8.Valid(data) {
		line := 1 + strings.Count(string(data[:firstInvalidUTF8(data)]), "\n")
		return nil, atLine(name, line, ErrInvalidUTF8)
	}
	dec := yaml.NewDecoder(bytes.NewReader(data))
	var doc yaml.Node
	if err := dec.Decode(&doc); err != nil {
		if err == io.EOF {
			return nil, atLine(name, 1, ErrEmpty)
		}
		return nil, atLine(name, yamlErrLine(err), fmt.Errorf("%w: %v", ErrSyntax, trimYAMLErr(err)))
	}
	var second yaml.Node
	if err := dec.Decode(&second); err != io.EOF {
		line := second.Line
		if err != nil {
			line = yamlErrLine(err)
		}
		return nil, atLine(name, line, ErrManyDocuments)
	}
	if len(doc.Content) == 0 {
		return nil, atLine(name, 1, ErrEmpty)
	}
	root := doc.Content[0]
	if root.Kind != yaml.MappingNode {
		return nil, atLine(name, root.Line, fmt.Errorf("%w: expected a mapping with header and events", ErrSyntax))
	}
	yr := &yamlReader{name: name, line: root.Line}
	var events *yaml.Node
	for i := 0; i+1 < len(root.Content); i += 2 {
		k, v := root.Content[i], root.Content[i+1]
		switch k.Value {
		case "header":
			var h rawHeader
			if err := decodeStrict(v, &h, []string{"format", "source", "ticket_order", "rules", "expect", "violation", "description", "seed"}); err != nil {
				return nil, atLine(name, v.Line, err)
			}
			hd, err := h.header()
			if err != nil {
				return nil, atLine(name, v.Line, err)
			}
			yr.header = hd
		case "events":
			if v.Kind != yaml.SequenceNode {
				return nil, atLine(name, v.Line, fieldErr("events", ErrBadValue, "expected a sequence of events"))
			}
			events = v
		default:
			return nil, atLine(name, k.Line, fieldErr(k.Value, ErrBadValue, "unknown top-level key (expected header and events)"))
		}
	}
	if events == nil || len(events.Content) == 0 {
		return nil, atLine(name, root.Line, ErrEmpty)
	}
	yr.items = events.Content
	return yr, nil
}

func firstInvalidUTF8(b []byte) int {
	for i := 0; i < len(b); {
		r, n := utf8.DecodeRune(b[i:])
		if r == utf8.RuneError && n <= 1 {
			return i
		}
		i += n
	}
	return len(b)
}

// decodeStrict decodes mapping node n into v, refusing keys not in known.
func decodeStrict(n *yaml.Node, v any, known []string) error {
	if n.Kind != yaml.MappingNode {
		return fmt.Errorf("%w: expected a mapping", ErrSyntax)
	}
	for i := 0; i+1 < len(n.Content); i += 2 {
		k := n.Content[i].Value
		ok := false
		for _, kk := range known {
			ok = ok || kk == k
		}
		if !ok {
			return fieldErr(k, ErrBadValue, "unknown field")
		}
	}
	if err := n.Decode(v); err != nil {
		return fmt.Errorf("%w: %v", ErrSyntax, trimYAMLErr(err))
	}
	return nil
}

func (yr *yamlReader) Header() Header { return yr.header }
func (yr *yamlReader) Line() int      { return yr.line }

func (yr *yamlReader) Next() (Event, error) {
	if yr.done || yr.i >= len(yr.items) {
		yr.done = true
		return Event{}, io.EOF
	}
	n := yr.items[yr.i]
	yr.i++
	yr.line = n.Line
	e, err := decodeYAMLEvent(n)
	if err == nil {
		err = yr.stream.Check(e)
	}
	if err != nil {
		yr.done = true
		return Event{}, atLine(yr.name, yr.line, err)
	}
	return e, nil
}

func decodeYAMLEvent(n *yaml.Node) (Event, error) {
	if n.Kind != yaml.MappingNode {
		return Event{}, fmt.Errorf("%w: an event must be a mapping", ErrSyntax)
	}
	var raw rawEvent
	for i := 0; i+1 < len(n.Content); i += 2 {
		k, v := n.Content[i], n.Content[i+1]
		if !knownField(k.Value) {
			return Event{}, fieldErr(k.Value, ErrBadValue, "unknown field")
		}
		// Decode one field at a time so a type error names its field.
		single := &yaml.Node{Kind: yaml.MappingNode, Content: []*yaml.Node{k, v}}
		if err := single.Decode(&raw); err != nil {
			return Event{}, fieldErr(k.Value, ErrBadValue, "%q is not a valid value", v.Value)
		}
	}
	return raw.event()
}

func yamlErrLine(err error) int {
	msg := err.Error()
	if i := strings.Index(msg, "line "); i >= 0 {
		rest := msg[i+5:]
		j := strings.IndexFunc(rest, func(r rune) bool { return r < '0' || r > '9' })
		if j > 0 {
			if n, err := strconv.Atoi(rest[:j]); err == nil {
				return n
			}
		}
	}
	return 1
}

func trimYAMLErr(err error) string {
	var te *yaml.TypeError
	if errors.As(err, &te) {
		return strings.Join(te.Errors, "; ")
	}
	return strings.TrimPrefix(err.Error(), "yaml: ")
}
