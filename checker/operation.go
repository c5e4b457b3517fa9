package checker

import (
	"cmp"
	"fmt"
	"math"
	"slices"
	"sort"

	"github.com/idemcheck/idemcheck/history"
	"github.com/idemcheck/idemcheck/spec"
)

// Operation is one client-visible replicate operation: a Replicate call
// and its Return. An operation whose Return is missing or says "unknown"
// has Result [history.Unknown] and Return = math.MaxInt64: the batch may
// or may not have been appended, at any time after the call.
type Operation struct {
	// Op is the operation id; op ids increase in call order.
	Op int64
	// Client is the caller recorded on the Replicate (pictures only).
	Client int64
	// Call and Return are the times of the Replicate and of the Return
	// (math.MaxInt64 when the outcome is unknown).
	Call, Return int64
	Partition    string
	PID          int64
	Epoch        int16
	First, Last  int32
	// Result is ok, error or unknown.
	Result history.Result
	// Offset is the acked offset when Result is ok.
	Offset int64
	// Error is the Kafka error code when Result is error.
	Error history.ErrorCode
	_     struct{}
}

// String renders the operation on one line, for witnesses and messages.
func (o Operation) String() string {
	ret := "never"
	if o.Return != math.MaxInt64 {
		ret = fmt.Sprint(o.Return)
	}
	return fmt.Sprintf("op %d: %q pid=%d epoch=%d [%d,%d] -> %s (t=%d..%s)",
		o.Op, o.Partition, o.PID, o.Epoch, o.First, o.Last, o.outcome(), o.Call, ret)
}

// outcome renders the result: "ok offset 3", "OUT_OF_ORDER_SEQUENCE_NUMBER",
// "unknown".
func (o Operation) outcome() string {
	switch o.Result {
	case history.OK:
		return fmt.Sprintf("ok at offset %d", o.Offset)
	case history.Failed:
		return o.Error.String()
	}
	return "unknown"
}

// records is the batch's record count, the log offsets it occupies.
func (o Operation) records() int64 { return spec.RecordCount(o.First, o.Last) }

// batch renders the sequence range, "[0,4]".
func (o Operation) batch() string { return fmt.Sprintf("[%d,%d]", o.First, o.Last) }

// Operations pairs every Replicate of h with its Return, in call order
// (op id order). Internal and environment events are ignored. A Return
// for an op that was never called is ignored too; [Check] reports such
// histories through [ErrInvalidHistory]. The operations are the records
// of the streaming check.
func Operations(h history.History) []Operation {
	parts, _ := split(h, Options{})
	var ops []Operation
	for _, p := range parts {
		for i := range p.recs {
			ops = append(ops, p.recs[i].operation(p.key))
		}
	}
	slices.SortStableFunc(ops, func(a, b Operation) int { return cmp.Compare(a.Op, b.Op) })
	return ops
}

// opRec is the checker's record of one operation, the one the replay,
// the model, porcupine, the explanations and the partition-level check
// all read. [Operation] is the same operation for the API's users: it
// names its part (partition and producer), which every record of a part
// would repeat, and shows none of the replay's derived fields; records
// become Operations only where a Violation names them ([opRec.operation]).
// The streaming check makes every record from the events (streamer.add),
// and the batch form of a part ([part]) is built from those records.
type opRec struct {
	op, client int64
	// call and ret are the times of the Replicate and of the Return
	// (math.MaxInt64 while open, or when the outcome is unknown).
	call, ret int64
	// off is the acked offset (res resOK).
	off         int64
	first, last int32
	// idx is the index of the call in its part's call order (in a part's
	// batch form, counted from its first record).
	idx int32
	// part tags the record with its part's index when several parts
	// share one porcupine search (pictures, the plain search); 0
	// otherwise, like the model states it is stepped with.
	part int32
	// The eviction bounds of the decision, set before the replay steps
	// the record (0 when the part has no recorded eviction): evictMin
	// counts the EvictProducer events recorded before the call, evictMax
	// those recorded before the return, and evictOrd is evictMax under
	// the call-order obligation: the least evictMax of this and every
	// later call that was surely decided, all decided after this one.
	evictMin, evictMax, evictOrd int32
	epoch                        int16
	code                         history.ErrorCode
	res                          resCode
	// closed: the Return has been seen (whatever its result).
	closed bool
}

// resCode is a history.Result in one byte.
type resCode uint8

const (
	resUnknown resCode = iota
	resOK
	resFailed
)

func (c resCode) result() history.Result {
	switch c {
	case resOK:
		return history.OK
	case resFailed:
		return history.Failed
	}
	return history.Unknown
}

// out classifies the outcome for the model.
func (r *opRec) out() outcome {
	switch r.res {
	case resOK:
		return outOK
	case resFailed:
		return outcomeOf(r.code)
	}
	return outAmbiguous
}

// decided reports whether the operation was surely decided by the
// partition before it returned: an ack or a definite error. A call whose
// outcome is ambiguous may have failed before the decision, so its return
// bounds no eviction (unless the replay takes it as appended).
func (r *opRec) decided() bool {
	return r.res == resOK || r.res == resFailed && !r.code.Ambiguous()
}

// records is the batch's record count: the log offsets it occupies.
func (r *opRec) records() int64 { return spec.RecordCount(r.first, r.last) }

// batch renders the sequence range, "[0,4]".
func (r *opRec) batch() string { return fmt.Sprintf("[%d,%d]", r.first, r.last) }

// result renders the outcome for messages: "ok at offset 3", an error
// code's name, "unknown".
func (r *opRec) result() string {
	switch r.out() {
	case outOK:
		return fmt.Sprintf("ok at offset %d", r.off)
	case outAmbiguous:
		if r.code == history.None {
			return "unknown"
		}
	}
	return r.code.String()
}

// operation returns the record as an Operation of part k.
func (r *opRec) operation(k partKey) Operation {
	return Operation{Op: r.op, Client: r.client, Call: r.call, Return: r.ret, Partition: k.partition,
		PID: k.pid, Epoch: r.epoch, First: r.first, Last: r.last, Result: r.res.result(), Offset: r.off, Error: r.code}
}

// partKey names one part: a producer on a partition.
type partKey struct {
	partition string
	pid       int64
}

func (k partKey) less(o partKey) bool {
	if k.partition != o.partition {
		return k.partition < o.partition
	}
	return k.pid < o.pid
}

// part is the batch form of one (partition, pid): its records in call
// order, for the searches (porcupine, the explanation, pictures) that
// index them at will.
type part struct {
	key partKey
	// recs are the records from the first one kept, with idx counted
	// from it and the eviction bounds set (see attachEvictions).
	recs []opRec
	// evictions are the times of the EvictProducer events of this part.
	evictions []int64
	// init is the set of model states before recs[0]; nil means the
	// initial state. A part the bounded streaming check has cut holds
	// only its later operations, and the replay's states before them.
	init []state
}

// initStates returns the model states the part starts from.
func (p *part) initStates() []state {
	if p.init != nil {
		return p.init
	}
	return []state{initState(0)}
}

// initTrail returns the part's start states as replay trails.
func (p *part) initTrail() []*trail {
	init := p.initStates()
	t := make([]*trail, len(init))
	for i, s := range init {
		t[i] = &trail{s: s}
	}
	return t
}

// operations returns the part's records with the given op ids as
// Operations, in call order.
func (p *part) operations(ids []int64) []Operation {
	var r []Operation
	for i := range p.recs {
		if slices.Contains(ids, p.recs[i].op) {
			r = append(r, p.recs[i].operation(p.key))
		}
	}
	return r
}

// split returns the parts of h in batch form,
// sorted by key, and the partition-level check's breaches: the records
// are the streaming check's, made by a streamer that only records.
func split(h history.History, opts Options) ([]*part, []*Violation) {
	st := newStreamer(opts)
	st.mode = recordOnly
	for i := range h.Events {
		st.add(&h.Events[i])
	}
	st.sortParts()
	parts := make([]*part, len(st.order))
	for i, p := range st.order {
		parts[i] = p.part(st.evictions[p.key])
	}
	return parts, st.breaches()
}

// attachEvictions sets the eviction bounds of p's records from
// p.evictions.
func attachEvictions(p *part) {
	for i := range p.recs {
		r := &p.recs[i]
		// Evictions recorded before the call happened before the
		// decision; those recorded before the return may have.
		r.evictMin = int32(sort.Search(len(p.evictions), func(j int) bool { return p.evictions[j] >= r.call }))
		r.evictMax = int32(sort.Search(len(p.evictions), func(j int) bool { return p.evictions[j] > r.ret }))
	}
	// The decision came before every later decision, so before the
	// return of each later call that was surely decided (see
	// opRec.decided).
	ord := int32(len(p.evictions))
	for i := len(p.recs) - 1; i >= 0; i-- {
		r := &p.recs[i]
		if r.out() != outAmbiguous {
			ord = min(ord, r.evictMax)
		}
		r.evictOrd = ord
	}
}
