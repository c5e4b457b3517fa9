package history

import (
	"bufio"
	"bytes"
	"compress/gzip"
	"errors"
	"fmt"
	"io"
)

// Limits of the readers. Together they bound a reader's memory for any
// input: a JSON Lines reader holds one line ([MaxLineBytes]) and a YAML
// reader one document ([MaxYAMLBytes], decoded whole); no string field
// is longer than [MaxNameBytes].
const (
	// MaxYAMLBytes is the largest YAML history a reader accepts. YAML is
	// for small, hand-written traces; write big histories as JSON Lines,
	// which are read as a stream.
	MaxYAMLBytes = 16 << 20
	// MaxNameBytes is the longest partition name a reader accepts
	// (Kafka's topic names are at most 249 characters).
	MaxNameBytes = 1 << 10
)

// Errors of the input as a whole.
var (
	// ErrBinary is returned for input that is not text: a NUL byte, or
	// the magic number of a format that is not a history.
	ErrBinary = errors.New("binary input, not a history")
	// ErrTooBig is returned for a YAML history over MaxYAMLBytes.
	ErrTooBig = fmt.Errorf("YAML history larger than %d MiB (write big histories as JSON Lines)", MaxYAMLBytes>>20)
	// ErrManyDocuments is returned for a YAML stream with more than one
	// document: a file holds one history.
	ErrManyDocuments = errors.New("more than one YAML document (a file holds one history)")
	// ErrFormatVersion is returned for a header whose format is not one
	// this package reads.
	ErrFormatVersion = errors.New("unsupported format version")
)

// magic numbers of inputs that are not histories, with a hint for each.
var notHistories = []struct {
	magic []byte
	hint  string
}{
	{[]byte{0x28, 0xb5, 0x2f, 0xfd}, "zstd-compressed: decompress it first (zstd -dc FILE | idemcheck check -)"},
	{[]byte("BZh"), "bzip2-compressed: decompress it first (bzip2 -dc FILE | idemcheck check -)"},
	{[]byte{0xfd, '7', 'z', 'X', 'Z', 0}, "xz-compressed: decompress it first (xz -dc FILE | idemcheck check -)"},
	{[]byte{0xd4, 0xc3, 0xb2, 0xa1}, "a packet capture: turn it into a history with idemcheck import"},
	{[]byte{0xa1, 0xb2, 0xc3, 0xd4}, "a packet capture: turn it into a history with idemcheck import"},
	{[]byte{0x4d, 0x3c, 0xb2, 0xa1}, "a packet capture: turn it into a history with idemcheck import"},
	{[]byte{0xa1, 0xb2, 0x3c, 0x4d}, "a packet capture: turn it into a history with idemcheck import"},
	{[]byte{0x0a, 0x0d, 0x0d, 0x0a}, "a packet capture (pcapng): turn it into a history with idemcheck import"},
}

var (
	gzipMagic = []byte{0x1f, 0x8b}
	utf8BOM   = []byte{0xef, 0xbb, 0xbf}
)

// sniffLen is how much of the input is looked at before its lines are
// read: enough to find a binary file at once.
const sniffLen = 4096

// openText returns a buffered reader of the text of r: gzip'd input is
// decompressed (by its magic number, whatever the file's name), a UTF-8
// byte-order mark is skipped, and input that is not text (a NUL byte in
// its first 4 KiB, or the magic number of a compressed file or a packet
// capture) is refused at once, before anything else is read.
func openText(r io.Reader) (*bufio.Reader, error) {
	br := bufio.NewReaderSize(r, MaxLineBytes+1)
	if head, _ := br.Peek(len(gzipMagic)); bytes.Equal(head, gzipMagic) {
		gz, err := gzip.NewReader(br)
		if err != nil {
			return nil, fmt.Errorf("gzip: %w", err)
		}
		br = bufio.NewReaderSize(gz, MaxLineBytes+1)
	}
	head, err := br.Peek(sniffLen)
	if err != nil && err != io.EOF && err != bufio.ErrBufferFull {
		return nil, fmt.Errorf("read: %w", err)
	}
	for _, nh := range notHistories {
		if bytes.HasPrefix(head, nh.magic) {
			return nil, fmt.Errorf("%w: %s", ErrBinary, nh.hint)
		}
	}
	if bytes.HasPrefix(head, utf8BOM) {
		if _, err := br.Discard(len(utf8BOM)); err != nil {
			return nil, fmt.Errorf("read: %w", err)
		}
		head = head[len(utf8BOM):]
	}
	if i := bytes.IndexByte(head, 0); i >= 0 {
		return nil, fmt.Errorf("%w: NUL byte at offset %d", ErrBinary, i)
	}
	return br, nil
}

// checkFormat checks a header's format version.
func checkFormat(format string) error {
	if format == "" || format == FormatV1 {
		return nil
	}
	return fieldErr("format", ErrFormatVersion, "%q (this idemcheck reads %q)", format, FormatV1)
}
