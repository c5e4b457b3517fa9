package main

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"flag"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"runtime/pprof"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/idemcheck/idemcheck/history"
	"github.com/idemcheck/idemcheck/internal/gen"
	"github.com/idemcheck/idemcheck/spec"
)

// config is the command line.
type config struct {
	out          string
	dir          string
	ops          int
	producers    int
	unknown      float64
	growth       []int
	plain        []int
	plainTimeout time.Duration
	mc           bool
	mcTimeout    time.Duration
	whitebox     bool
	// unknowns are the run lengths of the unknown-outcome rows (none:
	// no such section); before is the git revision of the checker they
	// are compared with ("": none); unknownTimeout is the CLI's
	// --timeout there.
	unknowns       []int
	before         string
	unknownTimeout time.Duration
}

func main() {
	child := flag.String("child", "", "internal: run one measured step (decode, check, check-bounded, memcheck, witness) on the file argument")
	cpuprof := flag.String("cpuprofile", "", "with -child: write a CPU profile to this file")
	var c config
	var growth, plain, unknowns string
	var big bool
	flag.StringVar(&c.out, "out", "BENCHMARKS.md", "write the table to this file")
	flag.StringVar(&c.dir, "dir", "", "directory for the generated histories (default: a new temporary directory, removed at the end)")
	flag.IntVar(&c.ops, "ops", 1000000, "operations of the rows 1, 3 and 6 histories")
	flag.IntVar(&c.producers, "producers", 1000, "producers of the generated histories")
	flag.Float64Var(&c.unknown, "unknown", 0.02, "share of operations with an unknown outcome")
	flag.StringVar(&growth, "growth", "10000,100000,1000000", "comma-separated operation counts of the growth row")
	flag.BoolVar(&big, "big", false, "add 10,000,000 operations to the growth row (about 7 GB of JSONL)")
	flag.StringVar(&plain, "plain", "100,200,500,1000,2000", "comma-separated operation counts for plain porcupine vs idemcheck (row 2)")
	flag.DurationVar(&c.plainTimeout, "plain-timeout", 2*time.Minute, "time limit of plain porcupine at each size")
	flag.BoolVar(&c.mc, "mc", true, "measure the model checker on spec/tla/*.cfg (row 4)")
	flag.DurationVar(&c.mcTimeout, "mc-timeout", 3*time.Minute, "time limit of one model-checker run")
	flag.BoolVar(&c.whitebox, "whitebox", true, "measure white-box validation (row 5)")
	flag.StringVar(&unknowns, "unknowns", "1000,10000,100000", "comma-separated lengths of the runs of unknown outcomes (section \"Unknown outcomes\"); empty: leave the section out")
	flag.StringVar(&c.before, "before", "48fe115", "git revision of the checker before issue 11, run on the unknown-outcome histories, at a larger length only if it decided the shorter one (built in a temporary git worktree); empty: not measured")
	flag.DurationVar(&c.unknownTimeout, "unknown-timeout", time.Minute, "the CLI's --timeout on the unknown-outcome histories (the process is killed 30s later)")
	flag.Parse()
	if *child != "" {
		os.Exit(runChild(*child, *cpuprof, flag.Args()))
	}
	var err error
	if c.growth, err = ints(growth); err == nil {
		c.plain, err = ints(plain)
	}
	if err == nil {
		c.unknowns, err = ints(unknowns)
	}
	if err != nil {
		fmt.Fprintln(os.Stderr, "benchtable:", err)
		os.Exit(2)
	}
	if big {
		c.growth = append(c.growth, 10000000)
	}
	if err := run(c); err != nil {
		fmt.Fprintln(os.Stderr, "benchtable:", err)
		os.Exit(1)
	}
}

func ints(s string) ([]int, error) {
	var r []int
	for _, f := range strings.Split(s, ",") {
		if f = strings.TrimSpace(f); f == "" {
			continue
		}
		n, err := strconv.Atoi(f)
		if err != nil || n <= 0 {
			return nil, fmt.Errorf("bad size %q", f)
		}
		r = append(r, n)
	}
	return r, nil
}

func runChild(name, cpuprof string, args []string) int {
	if len(args) < 1 {
		fmt.Fprintln(os.Stderr, "benchtable: -child needs a file")
		return 2
	}
	if cpuprof != "" {
		f, err := os.Create(cpuprof)
		if err != nil {
			fmt.Fprintln(os.Stderr, "benchtable:", err)
			return 1
		}
		defer f.Close()
		if err := pprof.StartCPUProfile(f); err != nil {
			fmt.Fprintln(os.Stderr, "benchtable:", err)
			return 1
		}
		defer pprof.StopCPUProfile()
	}
	var err error
	switch name {
	case "decode":
		err = childDecode(args[0])
	case "check", "check-bounded":
		err = childCheck(args[0], name == "check-bounded")
	case "memcheck":
		err = childInMemory(args[0])
	case "witness":
		err = childWitness(args[0])
	default:
		err = fmt.Errorf("unknown child %q", name)
	}
	if err != nil {
		fmt.Fprintln(os.Stderr, "benchtable:", err)
		return 1
	}
	return 0
}

// gnuTime is the path of GNU time, or "" where it is not installed.
var gnuTime = func() string {
	p, err := exec.LookPath("/usr/bin/time")
	if err != nil {
		return ""
	}
	if out, err := exec.Command(p, "-f", "%M", "true").CombinedOutput(); err != nil || len(strings.TrimSpace(string(out))) == 0 {
		return "" // not GNU time
	}
	return p
}()

// measurement is one child process run.
type measurement struct {
	wall   time.Duration
	cpu    time.Duration
	rssMB  float64
	out    string // stdout, trimmed
	err    error
	killed bool // timed out
}

func (m measurement) fields() []string { return strings.Fields(m.out) }

// measure runs name args with a time limit (0: none) and returns its
// wall time, CPU time (user+system) and peak RSS.
func measure(timeout time.Duration, name string, args ...string) measurement {
	ctx := context.Background()
	if timeout > 0 {
		var cancel context.CancelFunc
		ctx, cancel = context.WithTimeout(ctx, timeout)
		defer cancel()
	}
	// The peak RSS comes from GNU time where it is installed: Go starts
	// a child with vfork, and on Linux the rusage of such a child counts
	// the parent's resident set from before the exec, so getrusage would
	// report at least benchtable's own peak. GNU time forks a copy of
	// itself, whose peak is time's small one.
	cmdName, cmdArgs := name, args
	rssFile := ""
	if gnuTime != "" {
		f, err := os.CreateTemp("", "benchtable-rss-*")
		if err == nil {
			f.Close()
			rssFile = f.Name()
			defer os.Remove(rssFile)
			cmdName, cmdArgs = gnuTime, append([]string{"-f", "%M", "-o", rssFile, name}, args...)
		}
	}
	cmd := exec.CommandContext(ctx, cmdName, cmdArgs...)
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	start := time.Now()
	err := cmd.Run()
	m := measurement{wall: time.Since(start), out: strings.TrimSpace(stdout.String())}
	if ps := cmd.ProcessState; ps != nil {
		m.cpu = ps.UserTime() + ps.SystemTime()
		if ru, ok := ps.SysUsage().(*syscall.Rusage); ok {
			m.rssMB = float64(ru.Maxrss) / 1024
		}
	}
	if rssFile != "" {
		if b, err := os.ReadFile(rssFile); err == nil {
			// The last line: GNU time first writes "Command exited
			// with non-zero status N" when the step fails.
			lines := strings.Fields(string(b))
			if len(lines) > 0 {
				if kb, err := strconv.ParseFloat(lines[len(lines)-1], 64); err == nil {
					m.rssMB = kb / 1024
				}
			}
		}
	}
	if ctx.Err() != nil {
		m.killed = true
	}
	if err != nil {
		var ee *exec.ExitError
		// idemcheck check exits 1 for a violation: not an error here.
		if !(errors.As(err, &ee) && ee.ExitCode() == 1 && filepath.Base(name) == "idemcheck") {
			m.err = fmt.Errorf("%s %s: %v: %s", filepath.Base(name), strings.Join(args, " "), err, lastLine(stderr.String()))
		}
	}
	return m
}

func lastLine(s string) string {
	s = strings.TrimSpace(s)
	if i := strings.LastIndexByte(s, '\n'); i >= 0 {
		return s[i+1:]
	}
	return s
}

// generate writes the gen history of ops operations (batches = ops /
// producers) to dir and returns its path, reusing an existing file.
func generate(dir string, ops, producers int, unknown float64, inject gen.Bug) (string, error) {
	producers = min(producers, ops)
	o := gen.Options{Seed: 1, Partitions: 1, Producers: producers, Batches: max(1, ops/producers),
		InFlight: spec.WindowSize, UnknownRate: unknown, Retries: 1, Inject: inject}
	name := fmt.Sprintf("gen-%d-%d-%g-%s.jsonl", ops, producers, unknown, inject)
	return cachedJSONL(filepath.Join(dir, name), o.Header(), func(w *history.JSONLWriter) error {
		start := time.Now()
		st, err := gen.Generate(o, w)
		if err == nil {
			logf("generated %s: %d ops, %d events in %v", name, st.Ops, st.Events, time.Since(start).Round(time.Millisecond))
		}
		return err
	})
}

// cachedJSONL returns path, writing it first with header h and write
// unless it exists (through a temporary file, so that a failed write
// leaves none behind under that name).
func cachedJSONL(path string, h history.Header, write func(*history.JSONLWriter) error) (string, error) {
	if _, err := os.Stat(path); err == nil {
		return path, nil
	}
	f, err := os.Create(path + ".tmp")
	if err != nil {
		return "", err
	}
	defer f.Close()
	w, err := history.NewJSONLWriter(f, h)
	if err != nil {
		return "", err
	}
	err = write(w)
	if err == nil {
		err = w.Flush()
	}
	if err == nil {
		err = f.Close()
	}
	if err != nil {
		return "", err
	}
	return path, os.Rename(path+".tmp", path)
}

func logf(format string, args ...any) {
	fmt.Fprintf(os.Stderr, "benchtable: "+format+"\n", args...)
}

// machine describes the machine.
func machine() string {
	cpu := "unknown CPU"
	if f, err := os.Open("/proc/cpuinfo"); err == nil {
		sc := bufio.NewScanner(f)
		for sc.Scan() {
			if k, v, ok := strings.Cut(sc.Text(), ":"); ok && strings.TrimSpace(k) == "model name" {
				cpu = strings.TrimSpace(v)
				break
			}
		}
		f.Close()
	}
	mem := ""
	if b, err := os.ReadFile("/proc/meminfo"); err == nil {
		if f := strings.Fields(string(b)); len(f) > 1 {
			if kb, err := strconv.Atoi(f[1]); err == nil {
				mem = fmt.Sprintf(", %.0f GiB memory", float64(kb)/(1<<20))
			}
		}
	}
	load := ""
	if b, err := os.ReadFile("/proc/loadavg"); err == nil {
		load = fmt.Sprintf("; load average at the start %s (the machine is shared: wall times are noisy, CPU times less so)", strings.Join(strings.Fields(string(b))[:3], " "))
	}
	return fmt.Sprintf("%d CPUs (nproc), %s%s, %s %s/%s%s", runtime.NumCPU(), cpu, mem, runtime.Version(), runtime.GOOS, runtime.GOARCH, load)
}
