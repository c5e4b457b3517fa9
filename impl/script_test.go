package impl

import (
	"bufio"
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"sort"
	"strconv"
	"strings"
	"testing"
)

var rewrite = flag.Bool("rewrite", false, "rewrite the expected output of impl/testdata scripts")

// TestScripts runs the scripted interaction tests in testdata/*.txt, in
// the datadriven format: a command line, "----", the expected output, and
// a blank line. Lines starting with '#' before a command are comments.
// Run with -rewrite to regenerate the expected output, and review the diff.
//
// Commands (one handler each in scriptEnv.run):
//
//	new [order=before-stage|after-stage]        start a fresh Sim
//	produce partition=P pid=N [epoch=E] seq=F-L [client=C]   raw replicate call
//	complete-stage op=N [fail]                  resolve a stage_write
//	complete-upload op=N [fail]                 resolve an upload
//	redeem op=N [fail]                          redeem a ready ticket (fail: the fence fails)
//	timeout op=N                                client timeout (Return unknown)
//	abort op=N                                  abort signal while op waits for its ticket
//	evict partition=P pid=N                     evict an idle producer
//	change-term partition=P                     next term
//	bump-epoch pid=N epoch=E                    record an epoch bump
//	client pid=N [epoch=E] [wait-enqueued] [delivery-timeout=T]   add an idempotent client
//	client-produce client=C partition=P [records=R] [n=K]        queue K batches
//	client-bump-epoch client=C                  the client moves to its next epoch
//	send client=C partition=P                   the client sends its next batch
//	stabilize                                   run pending items in their fixed order
//	pending                                     list the pending items
//	log partition=P                             print a partition log
//	outcomes                                    print the clients' batches
//	sanity                                      run CheckSanity on the history
//	describe                                    print the frontend's state (Frontend.Describe)
//	_breakpoint                                 no-op, a place for a debugger breakpoint
//
// Step commands print the events they recorded (without times).
func TestScripts(t *testing.T) {
	files, err := filepath.Glob("testdata/*.txt")
	if err != nil {
		t.Fatal(err)
	}
	if len(files) == 0 {
		t.Fatal("no scripts in testdata")
	}
	for _, file := range files {
		t.Run(filepath.Base(file), func(t *testing.T) { runScript(t, file) })
	}
}

type scriptCase struct {
	comments []string
	cmd      string
	line     int
	want     []string
}

func parseScript(path string) ([]scriptCase, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	var cases []scriptCase
	var cur *scriptCase
	var comments []string
	inOutput := false
	sc := bufio.NewScanner(f)
	n := 0
	for sc.Scan() {
		n++
		line := sc.Text()
		switch {
		case inOutput && line == "":
			inOutput = false
			cur = nil
		case inOutput:
			cur.want = append(cur.want, line)
		case line == "----":
			if cur == nil {
				return nil, fmt.Errorf("%s:%d: ---- without a command", path, n)
			}
			inOutput = true
		case line == "":
		case strings.HasPrefix(line, "#"):
			comments = append(comments, line)
		default:
			if cur != nil {
				return nil, fmt.Errorf("%s:%d: command without ----", path, n)
			}
			cases = append(cases, scriptCase{comments: comments, cmd: line, line: n})
			cur = &cases[len(cases)-1]
			comments = nil
		}
	}
	return cases, sc.Err()
}

func runScript(t *testing.T, path string) {
	cases, err := parseScript(path)
	if err != nil {
		t.Fatal(err)
	}
	env := &scriptEnv{}
	var out strings.Builder
	for i := range cases {
		c := &cases[i]
		got := env.run(c.cmd)
		gotLines := strings.Split(strings.TrimRight(got, "\n"), "\n")
		if got == "" {
			gotLines = []string{"ok"}
		}
		if *rewrite {
			c.want = gotLines
		} else if strings.Join(gotLines, "\n") != strings.Join(c.want, "\n") {
			t.Errorf("%s:%d: %s\ngot:\n%s\nwant:\n%s", path, c.line, c.cmd, strings.Join(gotLines, "\n"), strings.Join(c.want, "\n"))
		}
		for _, cm := range c.comments {
			out.WriteString(cm + "\n")
		}
		out.WriteString(c.cmd + "\n----\n" + strings.Join(c.want, "\n") + "\n\n")
	}
	if *rewrite {
		if err := os.WriteFile(path, []byte(strings.TrimRight(out.String(), "\n")+"\n"), 0o644); err != nil {
			t.Fatal(err)
		}
	}
}

type scriptEnv struct {
	s    *Sim
	seen int // events already printed
}

type scriptArgs struct {
	kv    map[string]string
	flags map[string]bool
}

func parseArgs(fields []string) scriptArgs {
	a := scriptArgs{kv: map[string]string{}, flags: map[string]bool{}}
	for _, f := range fields {
		if k, v, ok := strings.Cut(f, "="); ok {
			a.kv[k] = v
		} else {
			a.flags[f] = true
		}
	}
	return a
}

func (a scriptArgs) int(key string, def int64) (int64, error) {
	v, ok := a.kv[key]
	if !ok {
		if def < 0 {
			return 0, fmt.Errorf("missing %s=", key)
		}
		return def, nil
	}
	n, err := strconv.ParseInt(v, 10, 64)
	if err != nil {
		return 0, fmt.Errorf("bad %s=%q", key, v)
	}
	return n, nil
}

var timeRE = regexp.MustCompile(` t=\d+`)

// newEvents renders the events recorded since the last call.
func (e *scriptEnv) newEvents() string {
	h := e.s.History()
	var b strings.Builder
	for _, ev := range h.Events[e.seen:] {
		b.WriteString(timeRE.ReplaceAllString(ev.String(), "") + "\n")
	}
	e.seen = len(h.Events)
	return b.String()
}

func (e *scriptEnv) run(cmd string) string {
	fields := strings.Fields(cmd)
	name, a := fields[0], parseArgs(fields[1:])
	if name != "new" && e.s == nil {
		if err := e.reset(""); err != nil {
			return "error: " + err.Error()
		}
	}
	out, err := e.handle(name, a)
	if err != nil {
		return out + "error: " + err.Error() + "\n"
	}
	return out
}

func (e *scriptEnv) reset(order string) error {
	s, err := NewSim(SimConfig{TicketOrder: TicketOrder(order)})
	if err != nil {
		return err
	}
	e.s, e.seen = s, 0
	return nil
}

func (e *scriptEnv) opItem(kind ItemKind, a scriptArgs) (string, error) {
	op, err := a.int("op", -1)
	if err != nil {
		return "", err
	}
	err = e.s.Do(Item{Kind: kind, Op: op, Fail: a.flags["fail"]})
	return e.newEvents(), err
}

func (e *scriptEnv) handle(name string, a scriptArgs) (string, error) {
	s := e.s
	switch name {
	case "new":
		return "", e.reset(a.kv["order"])
	case "produce":
		pid, err := a.int("pid", -1)
		if err != nil {
			return "", err
		}
		epoch, _ := a.int("epoch", 0)
		client, _ := a.int("client", 0)
		first, last, ok := strings.Cut(a.kv["seq"], "-")
		if !ok {
			return "", fmt.Errorf("want seq=F-L")
		}
		f, err1 := strconv.ParseInt(first, 10, 32)
		l, err2 := strconv.ParseInt(last, 10, 32)
		if err1 != nil || err2 != nil {
			return "", fmt.Errorf("bad seq=%q", a.kv["seq"])
		}
		_, err = s.Replicate(Request{Client: client, Partition: a.kv["partition"],
			Batch: Batch{PID: pid, Epoch: int16(epoch), First: int32(f), Last: int32(l)}})
		return e.newEvents(), err
	case "complete-stage":
		return e.opItem(StageItem, a)
	case "complete-upload":
		return e.opItem(UploadItem, a)
	case "redeem":
		return e.opItem(RedeemItem, a)
	case "timeout":
		op, err := a.int("op", -1)
		if err != nil {
			return "", err
		}
		err = s.Timeout(op)
		return e.newEvents(), err
	case "abort":
		op, err := a.int("op", -1)
		if err != nil {
			return "", err
		}
		err = s.Abort(op)
		return e.newEvents(), err
	case "evict":
		pid, err := a.int("pid", -1)
		if err != nil {
			return "", err
		}
		if !s.Frontend().Evict(a.kv["partition"], pid) {
			return "not evicted\n", nil
		}
		return e.newEvents(), nil
	case "change-term":
		err := s.Frontend().ChangeTerm(a.kv["partition"], 0)
		return e.newEvents(), err
	case "bump-epoch":
		pid, err := a.int("pid", -1)
		if err != nil {
			return "", err
		}
		epoch, err := a.int("epoch", -1)
		if err != nil {
			return "", err
		}
		s.Frontend().BumpEpoch(pid, int16(epoch))
		return e.newEvents(), nil
	case "client":
		pid, err := a.int("pid", -1)
		if err != nil {
			return "", err
		}
		epoch, _ := a.int("epoch", 0)
		dt, _ := a.int("delivery-timeout", 0)
		c, err := s.AddClient(ClientConfig{PID: pid, Epoch: int16(epoch), WaitEnqueued: a.flags["wait-enqueued"], DeliveryTimeout: dt})
		if err != nil {
			return "", err
		}
		return fmt.Sprintf("client=%d\n", c.ID()), nil
	case "client-produce":
		id, err := a.int("client", -1)
		if err != nil {
			return "", err
		}
		if id < 1 || int(id) > len(s.clients) {
			return "", fmt.Errorf("no client %d", id)
		}
		rec, _ := a.int("records", 1)
		n, _ := a.int("n", 1)
		for i := int64(0); i < n; i++ {
			if err := s.clients[id-1].Produce(a.kv["partition"], int32(rec)); err != nil {
				return "", err
			}
		}
		return "", nil
	case "client-bump-epoch":
		id, err := a.int("client", -1)
		if err != nil {
			return "", err
		}
		err = s.BumpEpoch(int(id))
		return e.newEvents(), err
	case "send":
		id, err := a.int("client", -1)
		if err != nil {
			return "", err
		}
		err = s.Do(Item{Kind: SendItem, Client: int(id), Partition: a.kv["partition"]})
		return e.newEvents(), err
	case "stabilize":
		err := s.Stabilize(0)
		return e.newEvents(), err
	case "pending":
		var b strings.Builder
		for _, it := range s.Pending() {
			b.WriteString(it.String() + "\n")
		}
		if b.Len() == 0 {
			return "none\n", nil
		}
		return b.String(), nil
	case "log":
		var b strings.Builder
		for _, en := range s.Frontend().Log(a.kv["partition"]) {
			fmt.Fprintf(&b, "offset=%d op=%d pid=%d epoch=%d seq=[%d,%d] term=%d\n", en.Offset, en.Op, en.PID, en.Epoch, en.First, en.Last, en.Term)
		}
		if b.Len() == 0 {
			return "empty\n", nil
		}
		return b.String(), nil
	case "outcomes":
		var lines []string
		for _, o := range s.Outcomes() {
			l := fmt.Sprintf("client=%d %s pid=%d epoch=%d seq=[%d,%d] %s", o.Client, o.Partition, o.PID, o.Epoch, o.First, o.Last, o.State)
			switch o.State {
			case Acked:
				l += fmt.Sprintf(" offset=%d", o.Offset)
			case Lost:
				l += " error=" + o.Error.String()
			}
			l += fmt.Sprintf(" attempts=%d", len(o.Attempts))
			lines = append(lines, l)
		}
		sort.Strings(lines)
		return strings.Join(lines, "\n") + "\n", nil
	case "sanity":
		if err := CheckSanity(s.History()); err != nil {
			return err.Error() + "\n", nil
		}
		return "ok\n", nil
	case "describe":
		return s.Frontend().Describe(), nil
	case "_breakpoint":
		return "", nil
	}
	return "", fmt.Errorf("unknown command %q", name)
}
