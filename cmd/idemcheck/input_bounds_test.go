package main

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"math/rand/v2"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"
)

// runMainEnv, when set in the environment of this test binary, makes it
// run the idemcheck command line on its arguments instead of the tests,
// so that a test can measure the command in a process of its own.
const runMainEnv = "IDEMCHECK_TEST_RUN_MAIN"

// hwmFileEnv names a file where such a run writes its peak resident set
// (VmHWM of /proc/self/status) before it exits. The rusage of a child
// would not do: on Linux it counts the parent's resident set from before
// the exec.
const hwmFileEnv = "IDEMCHECK_TEST_HWM_FILE"

func TestMain(m *testing.M) {
	if os.Getenv(runMainEnv) == "1" {
		env := &cmdEnv{stdin: os.Stdin, stdout: os.Stdout, stderr: os.Stderr}
		code := run(context.Background(), env, os.Args[1:])
		if path := os.Getenv(hwmFileEnv); path != "" {
			if status, err := os.ReadFile("/proc/self/status"); err == nil {
				for _, line := range strings.Split(string(status), "\n") {
					if strings.HasPrefix(line, "VmHWM:") {
						_ = os.WriteFile(path, []byte(strings.TrimSpace(strings.TrimPrefix(line, "VmHWM:"))), 0o644)
					}
				}
			}
		}
		os.Exit(code)
	}
	os.Exit(m.Run())
}

// maxBigInputRSS is the peak resident set that refusing any big input
// may take: the program itself, a 1 MiB line buffer and at most a 16 MiB
// YAML document.
const maxBigInputRSS = 64 << 20

// bigInput is an endless or huge input given to "check -".
type bigInput struct {
	class string
	show  string // what the input is, for docs/INPUT-ERRORS.md
	src   func() io.Reader
	want  string // the message on stderr
}

func bigInputs() []bigInput {
	longNames := `{"kind":"Replicate","t":0,"op":1,"partition":"` + strings.Repeat("x", 1000000) + `","pid":1,"epoch":0,"first":0,"last":0}` + "\n"
	return []bigInput{
		{"endless zero bytes", "`/dev/zero`", func() io.Reader { return repeat("\x00") },
			"idemcheck check: <stdin>: binary input, not a history: NUL byte at offset 0"},
		{"1 GB of random bytes", "`head -c 1G /dev/urandom`", func() io.Reader {
			return io.LimitReader(randomReader{rand.NewChaCha8([32]byte{7})}, 1<<30)
		}, "idemcheck check: <stdin>: binary input, not a history: NUL byte at offset 228"},
		{"200 MB of 1 MB partition names", "200 Replicate lines, each with a 1 MB partition name",
			func() io.Reader { return io.LimitReader(repeat(longNames), 200*int64(len(longNames))) },
			`idemcheck check: <stdin>:1: field "partition": bad value: name of 1000000 bytes (at most 1024)`},
		{"one endless line", "`{\"kind\":\"` and then `a` for ever", func() io.Reader {
			return io.MultiReader(strings.NewReader(`{"kind":"`), repeat("a"))
		}, "idemcheck check: <stdin>:1: line longer than 1048576 bytes"},
		{"endless text that is not JSON", "`yes 'events: text'`", func() io.Reader { return repeat("events: text\n") },
			"idemcheck check: <stdin>: YAML history larger than 16 MiB (write big histories as JSON Lines)"},
	}
}

// repeat is s for ever.
func repeat(s string) io.Reader { return &repeater{s: []byte(s)} }

type repeater struct {
	s   []byte
	off int
}

func (r *repeater) Read(p []byte) (int, error) {
	n := 0
	for n < len(p) {
		c := copy(p[n:], r.s[r.off:])
		n += c
		r.off = (r.off + c) % len(r.s)
	}
	return n, nil
}

type randomReader struct{ r *rand.ChaCha8 }

func (rr randomReader) Read(p []byte) (int, error) { return rr.r.Read(p) }

// TestBigInputBounded pipes each endless or huge input into "check -" in
// a process of its own and checks that it is refused with exit code 2
// and its message, at once, with a peak resident set under
// maxBigInputRSS: the reader never reads more than a bounded amount
// past a limit, whatever comes after.
func TestBigInputBounded(t *testing.T) {
	for _, tc := range bigInputs() {
		t.Run(tc.class, func(t *testing.T) {
			ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
			defer cancel()
			cmd := exec.CommandContext(ctx, os.Args[0], "check", "-")
			hwm := filepath.Join(t.TempDir(), "hwm")
			cmd.Env = append(os.Environ(), runMainEnv+"=1", hwmFileEnv+"="+hwm)
			stdin, err := cmd.StdinPipe()
			if err != nil {
				t.Fatal(err)
			}
			var stdout, stderr bytes.Buffer
			cmd.Stdout, cmd.Stderr = &stdout, &stderr
			if err := cmd.Start(); err != nil {
				t.Fatal(err)
			}
			go func() {
				io.Copy(stdin, tc.src()) // ends with a broken pipe once the command exits
				stdin.Close()
			}()
			err = cmd.Wait()
			code := cmd.ProcessState.ExitCode()
			if code != exitUsage {
				t.Fatalf("exit %d (%v), want %d; stderr %q", code, err, exitUsage, stderr.String())
			}
			if got := strings.TrimRight(stderr.String(), "\n"); got != tc.want {
				t.Errorf("stderr:\n got %s\nwant %s", got, tc.want)
			}
			b, err := os.ReadFile(hwm)
			if err != nil {
				t.Skipf("no peak resident set measured (%v): /proc/self/status is Linux's", err)
			}
			kib, err := strconv.ParseInt(strings.TrimSuffix(string(b), " kB"), 10, 64)
			if err != nil {
				t.Fatalf("VmHWM %q: %v", b, err)
			}
			rss := kib << 10
			t.Logf("peak RSS %d KiB", kib)
			if rss > maxBigInputRSS {
				t.Errorf("peak RSS %d MiB, more than %d MiB", rss>>20, maxBigInputRSS>>20)
			}
		})
	}
}

// bigInputsDoc is the section of docs/INPUT-ERRORS.md on endless and
// huge input.
func bigInputsDoc() string {
	var b strings.Builder
	b.WriteString("\n## Endless and huge input\n\n")
	fmt.Fprintf(&b, "Each of these, piped into `idemcheck check -`, is refused at once with exit code 2 and a\npeak resident set under %d MiB (`TestBigInputBounded` runs each in a process of its own and\nasserts both). The reader holds at most one 1 MiB line or one 16 MiB YAML document, so it\nnever reads far past a limit.\n\n", maxBigInputRSS>>20)
	b.WriteString("| input | message |\n|---|---|\n")
	for _, tc := range bigInputs() {
		fmt.Fprintf(&b, "| %s: %s | `%s` |\n", tc.class, tc.show, mdCode(tc.want))
	}
	return b.String()
}
