package history

import (
	"bufio"
	"bytes"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
)

// Reader reads the events of one history file in order. Every event it
// returns has passed [Stream.Check]; the first error ends the reading and
// names the file, the line and, where there is one, the field.
type Reader interface {
	// Header returns the file's header (zero if it has none).
	Header() Header
	// Next returns the next event, or io.EOF after the last one.
	Next() (Event, error)
	// Line returns the line of the event Next returned last.
	Line() int
}

// Format is an on-disk encoding of a history.
type Format string

// Formats.
const (
	JSONL Format = "jsonl"
	YAML  Format = "yaml"
)

// NewReader detects the format of r from its content (JSON Lines when the
// first significant character is '{', YAML otherwise) and returns a
// reader of its events. JSON Lines are read as a stream; a YAML document
// is read whole, up to [MaxYAMLBytes]. gzip'd input is decompressed, a
// UTF-8 byte-order mark is skipped, and binary input is refused before
// more than a few KiB of it are read. name is used in error messages.
func NewReader(r io.Reader, name string) (Reader, error) {
	br, err := openText(r)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", name, err)
	}
	f, err := sniff(br)
	if err != nil {
		return nil, atLine(name, 1, err)
	}
	if f == JSONL {
		return newJSONLReader(br, name)
	}
	return newYAMLReader(br, name)
}

// sniff peeks at br to find the format.
func sniff(br *bufio.Reader) (Format, error) {
	for n := 512; ; n *= 2 {
		b, err := br.Peek(n)
		rest := b
		for len(rest) > 0 {
			line := rest
			if i := bytes.IndexByte(rest, '\n'); i >= 0 {
				line, rest = rest[:i], rest[i+1:]
			} else {
				rest = nil
				if err == nil {
					break // the line goes on past what was peeked
				}
			}
			t := bytes.TrimSpace(line)
			if len(t) == 0 || t[0] == '#' {
				continue
			}
			if t[0] == '{' {
				return JSONL, nil
			}
			return YAML, nil
		}
		if err != nil {
			if len(bytes.TrimSpace(b)) == 0 {
				return "", ErrEmpty
			}
			return YAML, nil
		}
		if n >= MaxLineBytes {
			return JSONL, nil // a very long first line: let the JSONL reader report it
		}
	}
}

// Decode reads a whole history from r.
func Decode(r io.Reader, name string) (History, error) {
	rd, err := NewReader(r, name)
	if err != nil {
		return History{}, err
	}
	h := History{Header: rd.Header()}
	for {
		e, err := rd.Next()
		if err == io.EOF {
			return h, nil
		}
		if err != nil {
			return History{}, err
		}
		h.Events = append(h.Events, e)
	}
}

// ReadFile reads a whole history from the named file.
func ReadFile(path string) (History, error) {
	f, err := os.Open(path)
	if err != nil {
		return History{}, fmt.Errorf("history: %w", err)
	}
	defer f.Close()
	return Decode(f, path)
}

// WriteFile writes h to path, as YAML if the name ends in .yaml or .yml
// and as JSON Lines otherwise.
func WriteFile(path string, h History) error {
	var buf bytes.Buffer
	var err error
	switch strings.ToLower(filepath.Ext(path)) {
	case ".yaml", ".yml":
		err = EncodeYAML(&buf, h)
	default:
		err = EncodeJSONL(&buf, h)
	}
	if err != nil {
		return err
	}
	return os.WriteFile(path, buf.Bytes(), 0o644)
}
