package kafkawire

import (
	"encoding/binary"
	"errors"
	"fmt"

	"github.com/twmb/franz-go/pkg/kmsg"
)

// Sentinel errors; every [Problem] wraps one of them.
var (
	// ErrFrameSize: a frame's size prefix is negative, too small for a
	// header, or larger than [Options.MaxFrameBytes].
	ErrFrameSize = errors.New("kafkawire: bad frame size")
	// ErrHeader: a request or response header does not parse.
	ErrHeader = errors.New("kafkawire: bad header")
	// ErrBody: a Produce, InitProducerId or Metadata body does not decode,
	// or holds values no event can hold (an InitProducerId answer with a
	// negative producer id or epoch: not recorded, reported).
	ErrBody = errors.New("kafkawire: bad body")
	// ErrBatch: a record batch inside a Produce request does not parse.
	ErrBatch = errors.New("kafkawire: bad record batch")
	// ErrUnpaired: a response whose correlation id no request awaits.
	ErrUnpaired = errors.New("kafkawire: response without a request")
	// ErrLostResponse: a request answered by no response although a later
	// request of the same connection was answered.
	ErrLostResponse = errors.New("kafkawire: response lost")
	// ErrTruncated: the stream ended inside a frame.
	ErrTruncated = errors.New("kafkawire: truncated frame")
	// ErrGap: bytes are missing from the stream (a capture gap).
	ErrGap = errors.New("kafkawire: bytes missing")
	// ErrResync: bytes were skipped to find the next frame.
	ErrResync = errors.New("kafkawire: bytes skipped")
	// ErrMidStream: the capture of a connection starts after its first
	// byte (its handshake was not captured): decoding starts at the
	// first frame found.
	ErrMidStream = errors.New("kafkawire: capture starts mid-connection")
	// ErrRecord: the recorder refused an event.
	ErrRecord = errors.New("kafkawire: record")
)

// API keys this package decodes.
const (
	keyProduce        int16 = 0
	keyFetch          int16 = 1
	keyMetadata       int16 = 3
	keyApiVersions    int16 = 18
	keyInitProducerID int16 = 22
)

// RequestHeader is the header of one Kafka request.
type RequestHeader struct {
	// APIKey and APIVersion name the request type and its version.
	APIKey     int16
	APIVersion int16
	// CorrelationID pairs the request with its response.
	CorrelationID int32
	// ClientID is the client's id; nil when null or absent (header v0).
	ClientID *string
	// Version is the header version: 0, 1 or 2 (2 is flexible, with
	// tagged fields).
	Version int8
}

// ResponseHeader is the header of one Kafka response.
type ResponseHeader struct {
	// CorrelationID is the id of the request this response answers.
	CorrelationID int32
	// Version is the header version: 0, or 1 (flexible, with tagged fields).
	Version int8
}

// requestHeaderVersion returns the request header version of key at
// version v, and whether the key is known to kmsg.
func requestHeaderVersion(key, v int16) (int8, bool) {
	req := kmsg.RequestForKey(key)
	if req == nil {
		return 1, false
	}
	if key == 7 && v == 0 { // ControlledShutdown v0 has no client id.
		return 0, true
	}
	req.SetVersion(v)
	if req.IsFlexible() {
		return 2, true
	}
	return 1, true
}

// responseHeaderVersion returns the response header version for a
// request of key at version v. ApiVersions responses always use header
// v0 so that a client can read them whatever version it asked for.
func responseHeaderVersion(key, v int16) int8 {
	if key == keyApiVersions {
		return 0
	}
	req := kmsg.RequestForKey(key)
	if req == nil {
		return 0
	}
	req.SetVersion(v)
	if req.IsFlexible() {
		return 1
	}
	return 0
}

// ParseRequestHeader parses the header at the start of a request frame
// (the bytes after the 4-byte size) and returns it with the body that
// follows. Unknown API keys parse as header v1; their body is returned
// undecoded.
func ParseRequestHeader(frame []byte) (RequestHeader, []byte, error) {
	var h RequestHeader
	if len(frame) < 8 {
		return h, nil, fmt.Errorf("%w: %d bytes, need at least 8", ErrHeader, len(frame))
	}
	h.APIKey = int16(binary.BigEndian.Uint16(frame[0:]))
	h.APIVersion = int16(binary.BigEndian.Uint16(frame[2:]))
	h.CorrelationID = int32(binary.BigEndian.Uint32(frame[4:]))
	if h.APIKey < 0 || h.APIVersion < 0 {
		return h, nil, fmt.Errorf("%w: api key %d version %d", ErrHeader, h.APIKey, h.APIVersion)
	}
	h.Version, _ = requestHeaderVersion(h.APIKey, h.APIVersion)
	rest := frame[8:]
	if h.Version == 0 {
		return h, rest, nil
	}
	if len(rest) < 2 {
		return h, nil, fmt.Errorf("%w: client id length missing", ErrHeader)
	}
	n := int16(binary.BigEndian.Uint16(rest))
	rest = rest[2:]
	switch {
	case n == -1:
	case n < -1 || int(n) > len(rest):
		return h, nil, fmt.Errorf("%w: client id length %d with %d bytes left", ErrHeader, n, len(rest))
	default:
		s := string(rest[:n])
		h.ClientID = &s
		rest = rest[n:]
	}
	if h.Version == 2 {
		var err error
		if rest, err = skipTags(rest); err != nil {
			return h, nil, err
		}
	}
	return h, rest, nil
}

// ParseResponseHeader parses the header at the start of a response frame
// that answers a request of apiKey at apiVersion, and returns it with the
// body that follows.
func ParseResponseHeader(frame []byte, apiKey, apiVersion int16) (ResponseHeader, []byte, error) {
	var h ResponseHeader
	if len(frame) < 4 {
		return h, nil, fmt.Errorf("%w: %d bytes, need at least 4", ErrHeader, len(frame))
	}
	h.CorrelationID = int32(binary.BigEndian.Uint32(frame))
	h.Version = responseHeaderVersion(apiKey, apiVersion)
	rest := frame[4:]
	if h.Version == 1 {
		var err error
		if rest, err = skipTags(rest); err != nil {
			return h, nil, err
		}
	}
	return h, rest, nil
}

// skipTags skips a KIP-482 tagged-field section: a count, then per field
// a tag, a size and that many bytes.
func skipTags(b []byte) ([]byte, error) {
	n, b, err := uvarint(b)
	if err != nil {
		return nil, err
	}
	for i := uint64(0); i < n; i++ {
		if _, b, err = uvarint(b); err != nil { // tag
			return nil, err
		}
		var size uint64
		if size, b, err = uvarint(b); err != nil {
			return nil, err
		}
		if size > uint64(len(b)) {
			return nil, fmt.Errorf("%w: tagged field of %d bytes with %d left", ErrHeader, size, len(b))
		}
		b = b[size:]
	}
	return b, nil
}

func uvarint(b []byte) (uint64, []byte, error) {
	v, n := binary.Uvarint(b)
	if n <= 0 || n > 5 {
		return 0, nil, fmt.Errorf("%w: bad unsigned varint", ErrHeader)
	}
	return v, b[n:], nil
}
