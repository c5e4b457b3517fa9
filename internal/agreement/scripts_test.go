package agreement

import (
	"fmt"
	"sort"
	"strconv"
	"strings"
	"testing"

	"github.com/cockroachdb/datadriven"

	"github.com/idemcheck/idemcheck/impl"
	"github.com/idemcheck/idemcheck/impl/sim"
)

// TestScripts runs the scripted interaction tests of the write path in
// testdata/scripts/*.txt with cockroachdb/datadriven: each script drives
// an impl/sim Sim (and through it an impl Frontend) step by step and
// prints what each step recorded, the frontend's state and, with sanity,
// whether the history keeps the invariants of CheckSanity. Lines starting
// with '#' are comments. Run with -rewrite to regenerate the expected
// output, and review the diff.
//
// Commands (one function each in scriptCommands):
//
//	new [order=before-stage|after-stage]        start a fresh Sim
//	produce partition=P pid=N [epoch=E] seq=F-L [client=C]   raw replicate call
//	complete-stage op=N [fail]                  resolve a stage_write
//	complete-upload op=N [fail]                 resolve an upload
//	redeem op=N [fail]                          redeem a ready ticket (fail: the fence fails)
//	timeout op=N                                client timeout (Return unknown)
//	abort op=N                                  abort signal while op waits for its ticket
//	evict partition=P pid=N                     evict a producer the partition knows
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
// Step commands print the events they recorded (without times); a
// command with nothing to print prints "ok", and a refused one "error: "
// and the reason.
func TestScripts(t *testing.T) {
	cmds := scriptCommands()
	datadriven.Walk(t, "testdata/scripts", func(t *testing.T, path string) {
		env := &scriptEnv{cmds: cmds}
		datadriven.RunTest(t, path, func(t *testing.T, d *datadriven.TestData) string {
			return env.run(d)
		})
	})
}

// scriptEnv is the state of one script: the Sim and how many of its
// events were printed.
type scriptEnv struct {
	cmds map[string]scriptCommand
	s    *sim.Sim
	seen int
}

// scriptCommand runs one command of a script and returns its output.
type scriptCommand func(e *scriptEnv, a scriptArgs) (string, error)

// scriptCommands maps each command of the scripts to its function.
func scriptCommands() map[string]scriptCommand {
	return map[string]scriptCommand{
		"new":               func(e *scriptEnv, a scriptArgs) (string, error) { return "", e.reset(a.kv["order"]) },
		"produce":           cmdProduce,
		"complete-stage":    opItem(sim.StageItem),
		"complete-upload":   opItem(sim.UploadItem),
		"redeem":            opItem(sim.RedeemItem),
		"timeout":           opStep((*sim.Sim).Timeout),
		"abort":             opStep((*sim.Sim).Abort),
		"evict":             cmdEvict,
		"change-term":       cmdChangeTerm,
		"bump-epoch":        cmdBumpEpoch,
		"client":            cmdClient,
		"client-produce":    cmdClientProduce,
		"client-bump-epoch": cmdClientBumpEpoch,
		"send":              cmdSend,
		"stabilize":         cmdStabilize,
		"pending":           cmdPending,
		"log":               cmdLog,
		"outcomes":          cmdOutcomes,
		"sanity":            cmdSanity,
		"describe":          func(e *scriptEnv, _ scriptArgs) (string, error) { return e.s.Frontend().Describe(), nil },
		"_breakpoint":       func(*scriptEnv, scriptArgs) (string, error) { return "", nil },
	}
}

// run runs the command of d and returns its output.
func (e *scriptEnv) run(d *datadriven.TestData) string {
	cmd, ok := e.cmds[d.Cmd]
	if !ok {
		return fmt.Sprintf("error: unknown command %q\n", d.Cmd)
	}
	if d.Cmd != "new" && e.s == nil {
		if err := e.reset(""); err != nil {
			return "error: " + err.Error() + "\n"
		}
	}
	out, err := cmd(e, newScriptArgs(d.CmdArgs))
	if err != nil {
		out += "error: " + err.Error() + "\n"
	}
	if out == "" {
		return "ok\n"
	}
	return out
}

func (e *scriptEnv) reset(order string) error {
	s, err := sim.New(sim.Config{TicketOrder: impl.TicketOrder(order)})
	if err != nil {
		return err
	}
	e.s, e.seen = s, 0
	return nil
}

// newEvents renders the events recorded since the last call, without
// their times.
func (e *scriptEnv) newEvents() string {
	h := e.s.History()
	var b strings.Builder
	for _, ev := range h.Events[e.seen:] {
		ev.Time = 0
		b.WriteString(strings.TrimSuffix(ev.String(), " t=0") + "\n")
	}
	e.seen = len(h.Events)
	return b.String()
}

// scriptArgs are a command's arguments: key=value pairs and bare flags.
type scriptArgs struct {
	kv    map[string]string
	flags map[string]bool
}

func newScriptArgs(args []datadriven.CmdArg) scriptArgs {
	a := scriptArgs{kv: map[string]string{}, flags: map[string]bool{}}
	for _, arg := range args {
		if len(arg.Vals) == 0 {
			a.flags[arg.Key] = true
			continue
		}
		a.kv[arg.Key] = strings.Join(arg.Vals, ",")
	}
	return a
}

// int returns the integer argument key; def < 0 makes it mandatory.
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

// opItem is the command that does the Sim item of kind on op=N.
func opItem(kind sim.ItemKind) scriptCommand {
	return func(e *scriptEnv, a scriptArgs) (string, error) {
		op, err := a.int("op", -1)
		if err != nil {
			return "", err
		}
		err = e.s.Do(sim.Item{Kind: kind, Op: op, Fail: a.flags["fail"]})
		return e.newEvents(), err
	}
}

// opStep is the command that calls step on op=N.
func opStep(step func(*sim.Sim, int64) error) scriptCommand {
	return func(e *scriptEnv, a scriptArgs) (string, error) {
		op, err := a.int("op", -1)
		if err != nil {
			return "", err
		}
		err = step(e.s, op)
		return e.newEvents(), err
	}
}

func cmdProduce(e *scriptEnv, a scriptArgs) (string, error) {
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
	_, err = e.s.Replicate(impl.Request{Client: client, Partition: a.kv["partition"],
		Batch: impl.Batch{PID: pid, Epoch: int16(epoch), First: int32(f), Last: int32(l)}})
	return e.newEvents(), err
}

func cmdEvict(e *scriptEnv, a scriptArgs) (string, error) {
	pid, err := a.int("pid", -1)
	if err != nil {
		return "", err
	}
	ok, err := e.s.Frontend().Evict(a.kv["partition"], pid)
	if err == nil && !ok {
		return "not evicted\n", nil
	}
	return e.newEvents(), err
}

func cmdChangeTerm(e *scriptEnv, a scriptArgs) (string, error) {
	err := e.s.Frontend().ChangeTerm(a.kv["partition"], 0)
	return e.newEvents(), err
}

func cmdBumpEpoch(e *scriptEnv, a scriptArgs) (string, error) {
	pid, err := a.int("pid", -1)
	if err != nil {
		return "", err
	}
	epoch, err := a.int("epoch", -1)
	if err != nil {
		return "", err
	}
	err = e.s.Frontend().BumpEpoch(pid, int16(epoch))
	return e.newEvents(), err
}

func cmdClient(e *scriptEnv, a scriptArgs) (string, error) {
	pid, err := a.int("pid", -1)
	if err != nil {
		return "", err
	}
	epoch, _ := a.int("epoch", 0)
	dt, _ := a.int("delivery-timeout", 0)
	c, err := e.s.AddClient(sim.ClientConfig{PID: pid, Epoch: int16(epoch), WaitEnqueued: a.flags["wait-enqueued"], DeliveryTimeout: dt})
	if err != nil {
		return "", err
	}
	return fmt.Sprintf("client=%d\n", c.ID()), nil
}

func cmdClientProduce(e *scriptEnv, a scriptArgs) (string, error) {
	id, err := a.int("client", -1)
	if err != nil {
		return "", err
	}
	clients := e.s.Clients()
	if id < 1 || int(id) > len(clients) {
		return "", fmt.Errorf("no client %d", id)
	}
	rec, _ := a.int("records", 1)
	n, _ := a.int("n", 1)
	for i := int64(0); i < n; i++ {
		if err := clients[id-1].Produce(a.kv["partition"], int32(rec)); err != nil {
			return "", err
		}
	}
	return "", nil
}

func cmdClientBumpEpoch(e *scriptEnv, a scriptArgs) (string, error) {
	id, err := a.int("client", -1)
	if err != nil {
		return "", err
	}
	err = e.s.BumpEpoch(int(id))
	return e.newEvents(), err
}

func cmdSend(e *scriptEnv, a scriptArgs) (string, error) {
	id, err := a.int("client", -1)
	if err != nil {
		return "", err
	}
	err = e.s.Do(sim.Item{Kind: sim.SendItem, Client: int(id), Partition: a.kv["partition"]})
	return e.newEvents(), err
}

func cmdStabilize(e *scriptEnv, _ scriptArgs) (string, error) {
	err := e.s.Stabilize(0)
	return e.newEvents(), err
}

func cmdPending(e *scriptEnv, _ scriptArgs) (string, error) {
	var b strings.Builder
	for _, it := range e.s.Pending() {
		b.WriteString(it.String() + "\n")
	}
	if b.Len() == 0 {
		return "none\n", nil
	}
	return b.String(), nil
}

func cmdLog(e *scriptEnv, a scriptArgs) (string, error) {
	var b strings.Builder
	for _, en := range e.s.Frontend().Log(a.kv["partition"]) {
		fmt.Fprintf(&b, "offset=%d op=%d pid=%d epoch=%d seq=[%d,%d] term=%d\n", en.Offset, en.Op, en.PID, en.Epoch, en.First, en.Last, en.Term)
	}
	if b.Len() == 0 {
		return "empty\n", nil
	}
	return b.String(), nil
}

func cmdOutcomes(e *scriptEnv, _ scriptArgs) (string, error) {
	var lines []string
	for _, o := range e.s.Outcomes() {
		l := fmt.Sprintf("client=%d %s pid=%d epoch=%d seq=[%d,%d] %s", o.Client, o.Partition, o.PID, o.Epoch, o.First, o.Last, o.State)
		switch o.State {
		case sim.Acked:
			l += fmt.Sprintf(" offset=%d", o.Offset)
		case sim.Lost:
			l += " error=" + o.Error.String()
		}
		l += fmt.Sprintf(" attempts=%d", len(o.Attempts))
		lines = append(lines, l)
	}
	sort.Strings(lines)
	return strings.Join(lines, "\n") + "\n", nil
}

func cmdSanity(e *scriptEnv, _ scriptArgs) (string, error) {
	if err := CheckSanity(e.s.History()); err != nil {
		return err.Error() + "\n", nil
	}
	return "ok\n", nil
}
