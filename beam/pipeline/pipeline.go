package pipeline

import (
	"bufio"
	"bytes"
	"cmp"
	"compress/gzip"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/apache/beam/sdks/v2/go/pkg/beam"
	"github.com/apache/beam/sdks/v2/go/pkg/beam/io/fileio"
	"github.com/apache/beam/sdks/v2/go/pkg/beam/io/filesystem"
	_ "github.com/apache/beam/sdks/v2/go/pkg/beam/io/filesystem/local" // local files
	"github.com/apache/beam/sdks/v2/go/pkg/beam/register"

	"github.com/idemcheck/idemcheck/checker"
	"github.com/idemcheck/idemcheck/checker/report"
	"github.com/idemcheck/idemcheck/history"
	"github.com/idemcheck/idemcheck/spec"
)

func init() {
	register.DoFn6x1[context.Context, fileio.ReadableFile, func(string, Rec), func(string, Rec), func(string), func(Info), error](&parseFn{})
	register.DoFn4x0[string, func(*Rec) bool, func(string, Rec), func(string)](&joinFn{})
	register.DoFn4x1[string, func(*Rec) bool, func(*Info) bool, func(PartOut), error](&checkFn{})
	register.DoFn4x1[string, func(*Rec) bool, func(*Info) bool, func(PartOut), error](&validateFn{})
	register.DoFn5x1[context.Context, []byte, func(*PartOut) bool, func(*string) bool, func(*Info) bool, error](&writeFn{})
	register.Emitter2[string, Rec]()
	register.Emitter1[string]()
	register.Emitter1[Info]()
	register.Emitter1[PartOut]()
	register.Iter1[Rec]()
	register.Iter1[Info]()
	register.Iter1[PartOut]()
	register.Iter1[string]()
}

// Config is what a pipeline checks and where it writes its report.
type Config struct {
	// Input is a glob of history files (JSON Lines, gzip'd or not), in
	// any file system Beam's Go SDK knows (local here; gs:// and others
	// when their packages are linked in).
	Input string
	// Output is the path of the JSON report.
	Output string
	// Rules is the broker dialect: "redpanda", "kafka", or "" for the
	// one the files' headers name (redpanda when none does).
	Rules string
	// Start is when the check started (Unix nanoseconds), for the
	// report's "seconds"; 0 leaves it 0.
	Start int64
	// Validate runs the white-box validation (checker/validate) of each
	// partition instead of the black-box check, and writes the report
	// of "idemcheck validate --json" ([Validation]). The parse step then
	// ships the write path's internal events too.
	Validate bool
}

// Rec is one event of a source, as the pipeline ships it: where it was
// read, what keys it needs, and the event as its JSON line. A Rec with
// Taint set carries no event: it marks its partition undecided.
type Rec struct {
	Source    string
	Line      int64
	Kind      string
	Op        int64
	Partition string
	Event     []byte
	Taint     string
}

// Info is what the parse step learnt of one file as a whole.
type Info struct {
	File        string
	Events      int64
	Rules       string
	TicketOrder string
	// Internal is the number of the write path's internal events.
	Internal int64
}

// PartOut is one partition's report, as JSON of a [report.Partition], or
// the partition's problem in Err.
type PartOut struct {
	Partition string
	Report    []byte
	// Witness is JSON of the [report.Witness] of the partition's first
	// violation ([checker.Shrink] on the partition's history), when the
	// partition is Illegal; the writer keeps the one of the report's
	// first violation.
	Witness []byte
	// Validation is JSON of the partition's [PartValidation] (validate
	// mode).
	Validation []byte
	Err        string
}

// Build adds the pipeline that checks cfg.Input and writes cfg.Output to
// s.
func Build(s beam.Scope, cfg Config) error {
	if cfg.Rules != "" {
		if _, ok := spec.ParseRules(cfg.Rules); !ok {
			return fmt.Errorf("rules %q is not %s or %s", cfg.Rules, spec.Redpanda, spec.Kafka)
		}
	}
	s = s.Scope("idemcheck")
	files := fileio.ReadMatches(s, fileio.MatchFiles(s, cfg.Input, fileio.MatchEmptyDisallow()), fileio.ReadAutoCompression())
	outs := beam.ParDoN(s, &parseFn{Internal: cfg.Validate}, files)
	opEvents, partEvents, badParse, infos := outs[0], outs[1], outs[2], outs[3]
	joined, badJoin := beam.ParDo2(s, &joinFn{}, beam.GroupByKey(s, opEvents))
	byPart := beam.GroupByKey(s, beam.Flatten(s, joined, partEvents))
	var results beam.PCollection
	if cfg.Validate {
		results = beam.ParDo(s, &validateFn{}, byPart, beam.SideInput{Input: infos})
	} else {
		results = beam.ParDo(s, &checkFn{Rules: cfg.Rules}, byPart, beam.SideInput{Input: infos})
	}
	bad := beam.Flatten(s, badParse, badJoin)
	beam.ParDo0(s, &writeFn{Config: cfg}, beam.Impulse(s),
		beam.SideInput{Input: results}, beam.SideInput{Input: bad}, beam.SideInput{Input: infos})
	return nil
}

// parseFn reads one file line by line and emits its operations' events
// keyed by (source, op), its partition-wide events and taints keyed by
// partition, its bad lines, and its Info. With Internal it ships the
// write path's internal events too (validate mode).
type parseFn struct {
	Internal bool
}

// opKey is the key of an operation of a source.
func opKey(source string, op int64) string { return source + "\x00" + strconv.FormatInt(op, 10) }

func (f *parseFn) ProcessElement(ctx context.Context, file fileio.ReadableFile, ops func(string, Rec), parts func(string, Rec), bad func(string), infos func(Info)) error {
	name := file.Metadata.Path
	rc, err := file.Open(ctx)
	if err != nil {
		bad(fmt.Sprintf("%s: %v", name, err))
		infos(Info{File: name})
		return nil
	}
	defer rc.Close()
	info, taints := parseLines(name, rc, f.Internal, ops, parts, bad)
	for _, t := range taints {
		parts(t.Partition, t)
	}
	infos(info)
	return nil
}

// parseLines reads the history file r and emits as parseFn says; it
// returns the file's Info and, when a bad line's partition is not known,
// a taint of every partition of the file.
func parseLines(name string, r io.Reader, internal bool, ops func(string, Rec), parts func(string, Rec), bad func(string)) (Info, []Rec) {
	info := Info{File: name}
	br := bufio.NewReaderSize(r, 1<<16)
	if head, _ := br.Peek(2); bytes.Equal(head, []byte{0x1f, 0x8b}) {
		gz, err := gzip.NewReader(br)
		if err != nil {
			bad(fmt.Sprintf("%s: gzip: %v", name, err))
			return info, nil
		}
		defer gz.Close()
		br = bufio.NewReaderSize(gz, 1<<16)
	}
	sc := bufio.NewScanner(br)
	sc.Buffer(make([]byte, 0, 1<<16), history.MaxLineBytes+1)
	var st history.Stream
	seen := map[string]bool{} // the file's partitions
	lost := ""                // the first bad line whose partition is unknown
	badLine := func(line int, err error, partition string, known bool) {
		msg := fmt.Sprintf("%s:%d: %v", name, line, err)
		bad(msg)
		switch {
		case known:
			parts(partition, Rec{Source: name, Line: int64(line), Partition: partition, Taint: msg})
		case lost == "":
			lost = msg
		}
	}
	opPart := map[int64]string{}            // open operations' partitions
	pidParts := map[int64]map[string]bool{} // validate mode: each producer's partitions
	var bumps []Rec                         // validate mode: BumpEpoch events
	line, first := 0, true
	for sc.Scan() {
		line++
		t := bytes.TrimSpace(sc.Bytes())
		if len(t) == 0 || t[0] == '#' {
			continue
		}
		if first && bytes.HasPrefix(t, []byte(`{"header"`)) {
			first = false
			rd, err := history.NewReader(bytes.NewReader(t), name)
			if err != nil {
				badLine(line, err, "", false)
				continue
			}
			info.Rules, info.TicketOrder = rd.Header().Rules, rd.Header().TicketOrder
			continue
		}
		first = false
		e, err := history.DecodeEventLine(t)
		if err != nil {
			p, op, ok := partitionOf(t)
			if ok && op > 0 {
				opPart[op] = p // the operation's later events concern p too
			}
			badLine(line, err, p, ok)
			continue
		}
		partition, known := e.Partition, e.Partition != ""
		if !known {
			partition, known = opPart[e.Op]
		}
		if err := st.Check(e); err != nil {
			badLine(line, err, partition, known && e.Kind != history.BumpEpoch)
			continue
		}
		info.Events++
		switch e.Kind {
		case history.Replicate:
			opPart[e.Op] = e.Partition
			seen[e.Partition] = true
			if internal {
				if pidParts[e.PID] == nil {
					pidParts[e.PID] = map[string]bool{}
				}
				pidParts[e.PID][e.Partition] = true
			}
		case history.Return:
			delete(opPart, e.Op)
		}
		// The black-box check reads only the calls, their returns, the
		// evictions and the log's observed batches: the internal events
		// are counted, not shipped (they would multiply the shuffle
		// by five on a recorded history, and neither the verdict nor
		// the witness's operations depend on them).
		if e.Kind.Internal() {
			info.Internal++
		}
		if internal {
			switch {
			case e.Kind.Internal():
				ops(opKey(name, e.Op), Rec{Source: name, Line: int64(line), Kind: string(e.Kind), Op: e.Op, Partition: partition, Event: history.AppendJSON(nil, e)})
				continue
			case e.Kind == history.BumpEpoch:
				bumps = append(bumps, Rec{Source: name, Line: int64(line), Kind: string(e.Kind), Event: history.AppendJSON(nil, e)})
				continue
			case e.Kind == history.ChangeTerm && e.Partition != "":
				seen[e.Partition] = true
				parts(e.Partition, Rec{Source: name, Line: int64(line), Kind: string(e.Kind), Partition: partition, Event: history.AppendJSON(nil, e)})
				continue
			}
		}
		switch e.Kind {
		case history.EvictProducer, history.LogBatch:
			seen[e.Partition] = true
			parts(e.Partition, Rec{Source: name, Line: int64(line), Kind: string(e.Kind), Partition: partition, Event: history.AppendJSON(nil, e)})
		case history.Replicate, history.Return:
			ops(opKey(name, e.Op), Rec{Source: name, Line: int64(line), Kind: string(e.Kind), Op: e.Op, Partition: partition, Event: history.AppendJSON(nil, e)})
		}
	}
	if err := sc.Err(); err != nil {
		if errors.Is(err, bufio.ErrTooLong) {
			err = history.ErrLineTooLong
		}
		badLine(line+1, fmt.Errorf("%w (the rest of the file is not read)", err), "", false)
	}
	// A BumpEpoch names a producer, no partition: it goes to every
	// partition the producer called in this source. That is sound for
	// validation, whose state is per partition: each partition's replay
	// needs the producer's epoch, and a partition the producer never
	// called in has no state for it.
	for _, b := range bumps {
		e, _ := history.DecodeEventLine(b.Event)
		for p := range pidParts[e.PID] {
			b.Partition = p
			parts(p, b)
		}
	}
	if lost == "" {
		return info, nil
	}
	var taints []Rec
	for p := range seen {
		taints = append(taints, Rec{Source: name, Partition: p, Taint: lost})
	}
	return info, taints
}

// partitionOf reads the partition of a line that is not a valid event,
// when it is a JSON object with a string field "partition", and its op
// id when it has a numeric "op" (0 if not).
func partitionOf(line []byte) (string, int64, bool) {
	var v struct {
		Partition *string `json:"partition"`
	}
	if json.Unmarshal(line, &v) != nil || v.Partition == nil {
		return "", 0, false
	}
	var o struct {
		Op int64 `json:"op"`
	}
	if json.Unmarshal(line, &o) != nil {
		o.Op = 0
	}
	return *v.Partition, o.Op, true
}

// joinFn puts the events of one operation of one source, its Replicate's
// partition known, under that partition.
type joinFn struct{}

func (f *joinFn) ProcessElement(key string, recs func(*Rec) bool, emit func(string, Rec), bad func(string)) {
	var all []Rec
	partition, found := "", false
	var r Rec
	for recs(&r) {
		if r.Kind == string(history.Replicate) {
			partition, found = r.Partition, true
		}
		all = append(all, r)
	}
	for _, r := range all {
		if !found {
			// The parse step checks that every event of an operation
			// follows its Replicate, in the same file: not reached.
			bad(fmt.Sprintf("%s:%d: operation %d has no Replicate", r.Source, r.Line, r.Op))
			continue
		}
		r.Partition = partition
		emit(partition, r)
	}
}

// rulesOf is the dialect of the check: the configured one, else the one
// the files' headers agree on, else redpanda; with headers that
// disagree, an error.
func rulesOf(configured string, infos []Info) (spec.Rules, error) {
	if configured != "" {
		r, _ := spec.ParseRules(configured)
		return r, nil
	}
	named := ""
	for _, in := range infos {
		if in.Rules == "" {
			continue
		}
		if named != "" && in.Rules != named {
			return spec.Redpanda, fmt.Errorf("the files' headers name different rules (%s and %s); give --rules", named, in.Rules)
		}
		named = in.Rules
	}
	r, _ := spec.ParseRules(named)
	if r == "" {
		r = spec.Redpanda
	}
	return r, nil
}

// collectInfos reads the Info side input, sorted by file.
func collectInfos(infos func(*Info) bool) []Info {
	var out []Info
	var in Info
	for infos(&in) {
		out = append(out, in)
	}
	slices.SortFunc(out, func(a, b Info) int { return cmp.Compare(a.File, b.File) })
	return out
}

// checkFn checks the history of one partition.
type checkFn struct {
	Rules string
}

func (f *checkFn) ProcessElement(partition string, recs func(*Rec) bool, infos func(*Info) bool, emit func(PartOut)) error {
	rules, _ := rulesOf(f.Rules, collectInfos(infos)) // the writer reports a disagreement
	var all []Rec
	var taints []string
	var r Rec
	for recs(&r) {
		if r.Taint != "" {
			taints = append(taints, r.Taint)
			continue
		}
		all = append(all, r)
	}
	h, orig, err := partitionHistory(all, rules)
	if err != nil {
		emit(PartOut{Partition: partition, Err: fmt.Sprintf("partition %q: %v", partition, err)})
		return nil
	}
	var res checker.Result
	if len(h.Events) > 0 {
		res = checker.Check(h, checker.Options{Rules: rules})
	}
	rep := report.FromPartition(partition, res)
	if res.Err != nil && len(taints) == 0 {
		emit(PartOut{Partition: partition, Err: fmt.Sprintf("partition %q: %v", partition, res.Err)})
		return nil
	}
	for i := range rep.Violations {
		for k, op := range rep.Violations[i].Ops {
			rep.Violations[i].Ops[k] = orig(op)
		}
	}
	if len(taints) > 0 {
		place := regexp.MustCompile(`^(.*?):([0-9]+): `)
		slices.SortFunc(taints, func(a, b string) int { return compareBad(place, a, b) })
		reason := "input lost: " + taints[0]
		if len(taints) > 1 {
			reason += fmt.Sprintf(" (and %d more bad lines)", len(taints)-1)
		}
		rep.Violations, rep.PartitionLevel, rep.ReadLevel, rep.Reads = nil, 0, 0, nil
		for i := range rep.Parts {
			rep.Parts[i].Verdict, rep.Parts[i].Violation, rep.Parts[i].Reason = string(checker.Unknown), "", reason
		}
		if len(rep.Parts) == 0 {
			rep.Parts = []report.Part{{Partition: partition, Verdict: string(checker.Unknown), Reason: reason}}
		}
	}
	b, err := json.Marshal(rep)
	if err != nil {
		return err
	}
	out := PartOut{Partition: partition, Report: b}
	if res.Verdict == checker.Illegal && len(taints) == 0 {
		wh := checker.Shrink(h, checker.Options{Rules: rules})
		w := report.Witness{Ops: len(checker.Operations(wh)), Events: len(wh.Events), Text: checker.FormatWitness(wh)}
		if out.Witness, err = json.Marshal(w); err != nil {
			return err
		}
	}
	emit(out)
	return nil
}

// partitionHistory puts the events of one partition in time order (ties
// by source and line) and numbers the operations again in call order
// when their op ids do not increase so; orig gives an op id of h its
// original one.
func partitionHistory(recs []Rec, rules spec.Rules) (h history.History, orig func(int64) int64, err error) {
	evs, idx, err := inTimeOrder(recs)
	if err != nil {
		return h, nil, err
	}
	h.Header = history.Header{Format: history.FormatV1, Rules: string(rules)}
	h.Events = make([]history.Event, 0, len(evs))
	increasing, last := true, int64(0)
	for _, i := range idx {
		e := evs[i]
		if e.Kind == history.Replicate {
			increasing = increasing && e.Op > last
			last = e.Op
		}
		h.Events = append(h.Events, e)
	}
	if increasing {
		return h, func(op int64) int64 { return op }, nil
	}
	type srcOp struct {
		source string
		op     int64
	}
	renum := map[srcOp]int64{}
	var back []int64
	for k, i := range idx {
		key := srcOp{recs[i].Source, recs[i].Op}
		if h.Events[k].Kind == history.Replicate {
			back = append(back, h.Events[k].Op)
			renum[key] = int64(len(back))
		}
		if hasOp(h.Events[k].Kind) {
			h.Events[k].Op = renum[key]
		}
	}
	return h, func(op int64) int64 {
		if op >= 1 && op <= int64(len(back)) {
			return back[op-1]
		}
		return op
	}, nil
}

// inTimeOrder sorts recs by source and line and decodes their events;
// idx lists the indexes of recs (and evs) in time order, ties in source
// and line order.
func inTimeOrder(recs []Rec) (evs []history.Event, idx []int, err error) {
	slices.SortFunc(recs, func(a, b Rec) int {
		return cmp.Or(cmp.Compare(a.Source, b.Source), cmp.Compare(a.Line, b.Line))
	})
	evs = make([]history.Event, len(recs))
	for i, r := range recs {
		if evs[i], err = history.DecodeEventLine(r.Event); err != nil {
			return nil, nil, err
		}
	}
	idx = make([]int, len(recs))
	for i := range idx {
		idx[i] = i
	}
	slices.SortStableFunc(idx, func(a, b int) int { return cmp.Compare(evs[a].Time, evs[b].Time) })
	return evs, idx, nil
}

// writeFn writes the report from every partition's result, the bad
// lines and the files' Infos.
type writeFn struct {
	Config Config
}

func (f *writeFn) ProcessElement(ctx context.Context, _ []byte, results func(*PartOut) bool, bads func(*string) bool, infos func(*Info) bool) error {
	var rep any
	if f.Config.Validate {
		rep = AssembleValidation(f.Config, results, bads, infos)
	} else {
		rep = Assemble(f.Config, results, bads, infos)
	}
	b, err := json.MarshalIndent(rep, "", "  ")
	if err != nil {
		return err
	}
	return writeFile(ctx, f.Config.Output, append(b, '\n'))
}

// Assemble builds the report of the check from the partitions' results,
// the bad lines and the files' Infos (side inputs of the last step).
func Assemble(cfg Config, results func(*PartOut) bool, bads func(*string) bool, infos func(*Info) bool) report.Check {
	ins := collectInfos(infos)
	rules, rerr := rulesOf(cfg.Rules, ins)
	var badLines []string
	var s string
	for bads(&s) {
		badLines = append(badLines, s)
	}
	if rerr != nil {
		badLines = append(badLines, rerr.Error())
	}
	var ps []report.Partition
	witnesses := map[string][]byte{}
	var po PartOut
	for results(&po) {
		if po.Err != "" {
			badLines = append(badLines, po.Err)
			continue
		}
		var p report.Partition
		if err := json.Unmarshal(po.Report, &p); err != nil {
			badLines = append(badLines, fmt.Sprintf("partition %q: %v", po.Partition, err))
			continue
		}
		ps = append(ps, p)
		if po.Witness != nil {
			witnesses[p.Partition] = po.Witness
		}
	}
	place := regexp.MustCompile(`^(.*?):([0-9]+): `)
	slices.SortFunc(badLines, func(a, b string) int { return compareBad(place, a, b) })
	file := report.File{File: cfg.Input, Rules: string(rules), BadLines: badLines}
	for _, in := range ins {
		file.Events += in.Events
	}
	file.Fill(report.Merge(ps))
	if file.Verdict == string(checker.Illegal) && len(file.Violations) > 0 {
		// The command's witness is that of res.Violations[0], the first
		// of the merged violations: its partition's witness.
		if b := witnesses[file.Violations[0].Partition]; b != nil {
			var w report.Witness
			if err := json.Unmarshal(b, &w); err == nil {
				file.Witness = &w
			}
		}
	}
	code := report.Code(file.Verdict)
	if len(badLines) > 0 {
		code = report.Combine([]int{code, report.ExitUsage})
	}
	if len(ps) == 0 {
		file.Verdict, file.Error = "Error", "no operations"
		code = report.ExitUsage
	}
	if cfg.Start != 0 {
		file.Seconds = time.Since(time.Unix(0, cfg.Start)).Seconds()
	}
	return report.Check{Verdict: report.Overall(code), ExitCode: code, Files: []report.File{file}}
}

// compareBad orders bad lines by file, then line number, then text;
// place matches the FILE:LINE: that starts a bad line's message.
func compareBad(place *regexp.Regexp, a, b string) int {
	ma, mb := place.FindStringSubmatch(a), place.FindStringSubmatch(b)
	if ma == nil || mb == nil || ma[1] != mb[1] {
		return strings.Compare(a, b)
	}
	la, _ := strconv.Atoi(ma[2])
	lb, _ := strconv.Atoi(mb[2])
	return cmp.Or(cmp.Compare(la, lb), strings.Compare(a, b))
}

// writeFile writes b to path in its file system.
func writeFile(ctx context.Context, path string, b []byte) error {
	fs, err := filesystem.New(ctx, path)
	if err != nil {
		return err
	}
	defer fs.Close()
	w, err := fs.OpenWrite(ctx, path)
	if err != nil {
		return err
	}
	if _, err := w.Write(b); err != nil {
		w.Close()
		return err
	}
	return w.Close()
}

// hasOp tells the kinds of events that belong to an operation.
func hasOp(k history.Kind) bool {
	return k != history.EvictProducer && k != history.ChangeTerm && k != history.BumpEpoch && k != history.LogBatch
}
