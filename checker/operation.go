package checker

import (
	"fmt"
	"math"
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
// histories through [ErrInvalidHistory].
func Operations(h history.History) []Operation {
	var ops []Operation
	for _, e := range h.Events {
		switch e.Kind {
		case history.Replicate:
			ops = append(ops, Operation{
				Op: e.Op, Client: e.Client, Call: e.Time, Return: math.MaxInt64,
				Partition: e.Partition, PID: e.PID, Epoch: e.Epoch,
				First: e.First, Last: e.Last, Result: history.Unknown,
			})
		case history.Return:
			i := findOp(ops, e.Op)
			if i < 0 {
				continue
			}
			o := &ops[i]
			switch e.Result {
			case history.OK:
				o.Return, o.Result, o.Offset = e.Time, history.OK, e.Offset
			case history.Failed:
				o.Return, o.Result, o.Error = e.Time, history.Failed, e.Error
			}
			// unknown: the request may go on inside the broker, so the
			// return time stays infinite.
		}
	}
	return ops
}

// findOp returns the index of op id in ops (sorted by op id), or -1.
func findOp(ops []Operation, id int64) int {
	i := sort.Search(len(ops), func(i int) bool { return ops[i].Op >= id })
	if i < len(ops) && ops[i].Op == id {
		return i
	}
	return -1
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

// part is the operations of one (partition, pid) in call order, with the
// derived inputs of the model.
type part struct {
	key partKey
	ops []Operation
	// in holds one model input per operation, in call order.
	in []*input
	// evictions are the times of the EvictProducer events of this part.
	evictions []int64
	// init is the set of model states before ops[0]; nil means the
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

// split groups ops by (partition, pid), sorted by key, and attaches the
// recorded EvictProducer events.
func split(h history.History, ops []Operation) []*part {
	index := make(map[partKey]int)
	var parts []*part
	for _, o := range ops {
		k := partKey{o.Partition, o.PID}
		i, ok := index[k]
		if !ok {
			i = len(parts)
			index[k] = i
			parts = append(parts, &part{key: k})
		}
		parts[i].ops = append(parts[i].ops, o)
	}
	for _, e := range h.Events {
		if e.Kind != history.EvictProducer {
			continue
		}
		if i, ok := index[partKey{e.Partition, e.PID}]; ok {
			parts[i].evictions = append(parts[i].evictions, e.Time)
		}
	}
	sort.Slice(parts, func(i, j int) bool { return parts[i].key.less(parts[j].key) })
	for _, p := range parts {
		attachInputs(p)
	}
	return parts
}

// attachInputs derives p.in from p.ops and p.evictions.
func attachInputs(p *part) {
	{
		p.in = make([]*input, len(p.ops))
		for i, o := range p.ops {
			// Evictions recorded before the call happened before the
			// decision; those recorded before the return may have.
			must := sort.Search(len(p.evictions), func(j int) bool { return p.evictions[j] >= o.Call })
			may := sort.Search(len(p.evictions), func(j int) bool { return p.evictions[j] > o.Return })
			p.in[i] = newInput(int32(i), o, int32(must), int32(may))
		}
		// The decision came before every later decision, so before the
		// return of each later call that was surely decided (see
		// opRec.decided).
		ord := int32(len(p.evictions))
		for i := len(p.in) - 1; i >= 0; i-- {
			if p.in[i].out != outAmbiguous {
				ord = min(ord, p.in[i].evictMax)
			}
			p.in[i].evictOrd = ord
		}
	}
}
