package history

import (
	"fmt"
	"strings"

	"github.com/idemcheck/idemcheck/spec"
)

// rawEvent is the on-disk shape of an event, shared by the JSONL and YAML
// codecs. Pointer fields tell a missing field from a zero one.
type rawEvent struct {
	Kind      *string `json:"kind" yaml:"kind"`
	Time      *int64  `json:"t" yaml:"t"`
	Op        *int64  `json:"op" yaml:"op"`
	Client    *int64  `json:"client" yaml:"client"`
	Partition *string `json:"partition" yaml:"partition"`
	PID       *int64  `json:"pid" yaml:"pid"`
	Epoch     *int16  `json:"epoch" yaml:"epoch"`
	First     *int32  `json:"first" yaml:"first"`
	Last      *int32  `json:"last" yaml:"last"`
	Result    *string `json:"result" yaml:"result"`
	Offset    *int64  `json:"offset" yaml:"offset"`
	Error     *int16  `json:"error" yaml:"error"`
	Decision  *string `json:"decision" yaml:"decision"`
	Term      *int64  `json:"term" yaml:"term"`
}

// rawHeader is the on-disk shape of a [Header].
type rawHeader struct {
	Format      string `json:"format,omitempty" yaml:"format,omitempty"`
	Source      string `json:"source,omitempty" yaml:"source,omitempty"`
	TicketOrder string `json:"ticket_order,omitempty" yaml:"ticket_order,omitempty"`
	Rules       string `json:"rules,omitempty" yaml:"rules,omitempty"`
	Expect      string `json:"expect,omitempty" yaml:"expect,omitempty"`
	Violation   string `json:"violation,omitempty" yaml:"violation,omitempty"`
	Description string `json:"description,omitempty" yaml:"description,omitempty"`
	Seed        int64  `json:"seed,omitempty" yaml:"seed,omitempty"`
}

// header returns the header h describes, or a *FieldError for a field
// whose value is not one the format allows.
func (h rawHeader) header() (Header, error) {
	hd := Header{Format: h.Format, Source: h.Source, TicketOrder: h.TicketOrder, Rules: h.Rules,
		Expect: h.Expect, Violation: h.Violation, Description: h.Description, Seed: h.Seed}
	return hd, checkHeader(hd)
}

// checkHeader checks the header fields whose values are a closed set.
func checkHeader(h Header) error {
	if err := checkFormat(h.Format); err != nil {
		return err
	}
	if _, ok := spec.ParseRules(h.Rules); !ok {
		return fieldErr("rules", ErrBadValue, "%q is not %q or %q", h.Rules, spec.Redpanda, spec.Kafka)
	}
	return nil
}

func toRawHeader(h Header) rawHeader {
	return rawHeader{Format: h.Format, Source: h.Source, TicketOrder: h.TicketOrder, Rules: h.Rules,
		Expect: h.Expect, Violation: h.Violation, Description: h.Description, Seed: h.Seed}
}

// field names of each kind, in the order the encoders write them.
var (
	opFields        = []string{"kind", "t", "op"}
	replicateFields = []string{"kind", "t", "op", "client", "partition", "pid", "epoch", "first", "last"}
	resultFields    = []string{"kind", "t", "op", "result"}
	logBatchFields  = []string{"kind", "t", "partition", "offset", "pid", "epoch", "first", "last"}
)

// fieldsOf returns the fields an event of kind k carries, given its
// result and decision (which decide whether offset and error appear).
func fieldsOf(k Kind, r Result, d Decision) []string {
	switch k {
	case Replicate:
		return replicateFields
	case Return:
		switch r {
		case OK:
			return []string{"kind", "t", "op", "result", "offset"}
		case Failed:
			return []string{"kind", "t", "op", "result", "error"}
		}
		return resultFields
	case StageWriteDone, UploadDone, FenceEpoch:
		return resultFields
	case RedeemTicket:
		if r != "" { // an aborted redeem says so
			return resultFields
		}
		return opFields
	case Decide:
		if d.HasOffset() {
			return []string{"kind", "t", "op", "decision", "offset"}
		}
		return []string{"kind", "t", "op", "decision"}
	case EvictProducer:
		return []string{"kind", "t", "partition", "pid"}
	case BumpEpoch:
		return []string{"kind", "t", "pid", "epoch"}
	case ChangeTerm:
		return []string{"kind", "t", "partition", "term"}
	case LogBatch:
		return logBatchFields
	}
	return opFields
}

// present returns the names of the fields set in r.
func (r *rawEvent) present() map[string]bool {
	p := make(map[string]bool, 14)
	set := func(name string, ok bool) {
		if ok {
			p[name] = true
		}
	}
	set("kind", r.Kind != nil)
	set("t", r.Time != nil)
	set("op", r.Op != nil)
	set("client", r.Client != nil)
	set("partition", r.Partition != nil)
	set("pid", r.PID != nil)
	set("epoch", r.Epoch != nil)
	set("first", r.First != nil)
	set("last", r.Last != nil)
	set("result", r.Result != nil)
	set("offset", r.Offset != nil)
	set("error", r.Error != nil)
	set("decision", r.Decision != nil)
	set("term", r.Term != nil)
	return p
}

// event turns r into an Event, checking that exactly the fields of its
// kind are present ("client" is optional on Replicate). Value ranges are
// checked by [CheckFields].
func (r *rawEvent) event() (Event, error) {
	if r.Kind == nil {
		return Event{}, fieldErr("kind", ErrMissingField, "every event needs a kind")
	}
	k := Kind(*r.Kind)
	if !KnownKind(k) {
		return Event{}, fieldErr("kind", ErrUnknownKind, "%q (known kinds: %s)", *r.Kind, kindList())
	}
	var res Result
	if r.Result != nil {
		res = Result(*r.Result)
	}
	var dec Decision
	if r.Decision != nil {
		dec = Decision(*r.Decision)
	}
	want := fieldsOf(k, res, dec)
	have := r.present()
	for _, f := range want {
		if !have[f] && !(k == Replicate && f == "client") {
			return Event{}, fieldErr(f, ErrMissingField, "a %s needs %q", k, f)
		}
		delete(have, f)
	}
	for f := range have {
		return Event{}, fieldErr(f, ErrBadValue, "a %s does not carry %q (it carries %s)", k, f, strings.Join(want, ", "))
	}
	e := Event{Kind: k, Time: *r.Time, Result: res, Decision: dec}
	deref(&e.Op, r.Op)
	deref(&e.Client, r.Client)
	deref(&e.Partition, r.Partition)
	deref(&e.PID, r.PID)
	deref(&e.Epoch, r.Epoch)
	deref(&e.First, r.First)
	deref(&e.Last, r.Last)
	deref(&e.Offset, r.Offset)
	deref(&e.Term, r.Term)
	if r.Error != nil {
		e.Error = ErrorCode(*r.Error)
	}
	return e, nil
}

func deref[T any](dst *T, src *T) {
	if src != nil {
		*dst = *src
	}
}

func kindList() string {
	var b strings.Builder
	for i, k := range append(Kinds(), Observations()...) {
		if i > 0 {
			b.WriteString(", ")
		}
		b.WriteString(string(k))
	}
	return b.String()
}

// knownField reports whether name is a field of some kind.
func knownField(name string) bool {
	switch name {
	case "kind", "t", "op", "client", "partition", "pid", "epoch", "first",
		"last", "result", "offset", "error", "decision", "term":
		return true
	}
	return false
}

// SyntaxError is a problem at one place of a history file.
type SyntaxError struct {
	File  string
	Line  int
	Field string // empty when the problem is not in one field
	Err   error
}

func (e *SyntaxError) Error() string {
	var fe *FieldError
	if asFieldError(e.Err, &fe) {
		return fmt.Sprintf("%s:%d: %s", e.File, e.Line, fe.Error())
	}
	if e.Field != "" {
		return fmt.Sprintf("%s:%d: field %q: %v", e.File, e.Line, e.Field, e.Err)
	}
	return fmt.Sprintf("%s:%d: %v", e.File, e.Line, e.Err)
}

func (e *SyntaxError) Unwrap() error { return e.Err }

func asFieldError(err error, fe **FieldError) bool {
	f, ok := err.(*FieldError)
	if ok {
		*fe = f
	}
	return ok
}

func atLine(file string, line int, err error) error {
	se := &SyntaxError{File: file, Line: line, Err: err}
	if fe, ok := err.(*FieldError); ok {
		se.Field = fe.Field
	}
	return se
}
