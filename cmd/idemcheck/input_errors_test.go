package main

import (
	"bytes"
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/idemcheck/idemcheck/internal/testflag"
)

// runCLI runs the idemcheck command line with args and stdin and returns
// its exit code, stdout and stderr.
func runCLI(t testing.TB, stdin []byte, args ...string) (int, string, string) {
	t.Helper()
	var out, errb bytes.Buffer
	env := &cmdEnv{stdin: bytes.NewReader(stdin), stdout: &out, stderr: &errb}
	code := run(context.Background(), env, args)
	return code, out.String(), errb.String()
}

const (
	replicate0 = `{"kind":"Replicate","t":0,"op":1,"client":1,"partition":"p0","pid":1,"epoch":0,"first":0,"last":0}` + "\n"
	return0    = `{"kind":"Return","t":1,"op":1,"result":"ok","offset":0}` + "\n"
)

// badInput is one class of malformed input: the bytes of the file, how
// the documentation shows them, and the exact message the CLI prints.
type badInput struct {
	class string // the malformed-input class
	file  string // file name (its extension does not choose the format)
	input []byte
	show  string // the input as docs/INPUT-ERRORS.md shows it
	want  string // exact stderr of "idemcheck check FILE" (FILE relative)
}

func badInputs() []badInput {
	long := []byte(replicate0 + `{"kind":"Replicate","t":1,"op":2,"partition":"` + strings.Repeat("x", 3<<20) + `","pid":1,"epoch":0,"first":0,"last":0}` + "\n")
	return []badInput{
		{class: "empty file", file: "empty.jsonl", input: nil, show: "(0 bytes)",
			want: "idemcheck check: empty.jsonl:1: history has no events"},
		{class: "only blank lines and comments", file: "blank.jsonl", input: []byte("\n# nothing here\n\n"), show: `\n# nothing here\n\n`,
			want: "idemcheck check: blank.jsonl:1: history has no events"},
		{class: "header but no events", file: "header.jsonl", input: []byte(`{"header":{"format":"idemcheck/v1"}}` + "\n"),
			want: "idemcheck check: header.jsonl:2: history has no events"},
		{class: "bad rules header value", file: "rules.jsonl", input: []byte(`{"header":{"rules":"kafak"}}` + "\n" + replicate0),
			want: `idemcheck check: rules.jsonl:1: field "rules": bad value: "kafak" is not "redpanda" or "kafka"`},
		{class: "bad rules header value (YAML)", file: "rules.yaml", input: []byte("header:\n  rules: kafak\nevents:\n  - {kind: Replicate, t: 0, op: 1, partition: p0, pid: 1, epoch: 0, first: 0, last: 0}\n"),
			want: `idemcheck check: rules.yaml:2: field "rules": bad value: "kafak" is not "redpanda" or "kafka"`},
		{class: "truncated last line", file: "trunc.jsonl", input: []byte(replicate0 + `{"kind":"Return","t":1,"op":1,"res`),
			want: "idemcheck check: trunc.jsonl:2: truncated last line (no newline at end and not a complete JSON object)"},
		{class: "invalid JSON", file: "json.jsonl", input: []byte(replicate0 + `{"kind":"Return","t":1,"op":1,"result":ok}` + "\n"),
			want: "idemcheck check: json.jsonl:2: invalid syntax: invalid character 'o' looking for beginning of value (at byte 40)"},
		{class: "invalid YAML", file: "bad.yaml", input: []byte("header:\n  format: idemcheck/v1\nevents:\n\t- {kind: Return}\n"),
			show: `header:\n  format: idemcheck/v1\nevents:\n\t- {kind: Return}`,
			want: "idemcheck check: bad.yaml:4: invalid syntax: line 4: found character that cannot start any token"},
		{class: "YAML that is not a history", file: "list.yaml", input: []byte("- a\n- b\n"),
			want: "idemcheck check: list.yaml:1: invalid syntax: expected a mapping with header and events"},
		{class: "binary garbage", file: "garbage.bin", input: []byte("\x00\x01\x02PK\x03\x04"), show: `\x00\x01\x02PK\x03\x04`,
			want: "idemcheck check: garbage.bin: binary input, not a history: NUL byte at offset 0"},
		{class: "binary input past a text start", file: "mixed.bin", input: []byte(replicate0 + "\x00\x00\x00"), show: replicate0 + `\x00\x00\x00`,
			want: "idemcheck check: mixed.bin: binary input, not a history: NUL byte at offset 99"},
		{class: "zstd-compressed input", file: "h.jsonl.zst", input: []byte("\x28\xb5\x2f\xfd\x04\x00"), show: `\x28\xb5\x2f\xfd\x04\x00`,
			want: "idemcheck check: h.jsonl.zst: binary input, not a history: zstd-compressed: decompress it first (zstd -dc FILE | idemcheck check -)"},
		{class: "corrupt gzip input", file: "h.jsonl.gz", input: []byte("\x1f\x8b\x00\x00"), show: `\x1f\x8b\x00\x00`,
			want: "idemcheck check: h.jsonl.gz: gzip: unexpected EOF"},
		{class: "a packet capture given to check", file: "trace.pcap", input: []byte("\xd4\xc3\xb2\xa1\x02\x00\x04\x00"), show: `\xd4\xc3\xb2\xa1\x02\x00\x04\x00`,
			want: "idemcheck check: trace.pcap: binary input, not a history: a packet capture: turn it into a history with idemcheck import"},
		{class: "YAML stream with a second document", file: "two.yaml", input: []byte("events:\n  - {kind: Replicate, t: 0, op: 1, partition: p0, pid: 1, epoch: 0, first: 0, last: 0}\n---\nevents: []\n"),
			want: "idemcheck check: two.yaml:3: more than one YAML document (a file holds one history)"},
		{class: "YAML larger than 16 MiB", file: "big.yaml", input: bigYAML(), show: "17 MiB of YAML",
			want: "idemcheck check: big.yaml: YAML history larger than 16 MiB (write big histories as JSON Lines)"},
		{class: "unsupported format version", file: "v9.jsonl", input: []byte(`{"header":{"format":"idemcheck/v9"}}` + "\n" + replicate0),
			want: `idemcheck check: v9.jsonl:1: field "format": unsupported format version: "idemcheck/v9" (this idemcheck reads "idemcheck/v1")`},
		{class: "op id 0", file: "op0.jsonl", input: []byte(strings.Replace(replicate0, `"op":1`, `"op":0`, 1)),
			want: `idemcheck check: op0.jsonl:1: field "op": bad value: op id 0 (op ids start at 1)`},
		{class: "partition name over 1 KiB", file: "name.jsonl", input: []byte(strings.Replace(replicate0, `"partition":"p0"`, `"partition":"`+strings.Repeat("x", 2000)+`"`, 1)),
			show: `{"kind":"Replicate",...,"partition":"xxx…(2000 bytes)",...}`,
			want: `idemcheck check: name.jsonl:1: field "partition": bad value: name of 2000 bytes (at most 1024)`},
		{class: "unknown event kind", file: "kind.jsonl", input: []byte(`{"kind":"Produce","t":0,"op":1}` + "\n"),
			want: `idemcheck check: kind.jsonl:1: field "kind": unknown event kind: "Produce" (known kinds: Replicate, ReserveTicket, StageWriteStart, StageWriteDone, UploadDone, RedeemTicket, FenceEpoch, Decide, ReleaseTicket, Return, EvictProducer, BumpEpoch, ChangeTerm, LogBatch)`},
		{class: "missing field", file: "missing.jsonl", input: []byte(`{"kind":"Replicate","t":0,"op":1,"partition":"p0","pid":1,"epoch":0,"first":0}` + "\n"),
			want: `idemcheck check: missing.jsonl:1: field "last": missing field: a Replicate needs "last"`},
		{class: "missing kind", file: "nokind.jsonl", input: []byte(`{"t":0,"op":1}` + "\n"),
			want: `idemcheck check: nokind.jsonl:1: field "kind": missing field: every event needs a kind`},
		{class: "field the kind does not carry", file: "extra.jsonl", input: []byte(replicate0 + `{"kind":"Return","t":1,"op":1,"result":"ok","offset":0,"error":7}` + "\n"),
			want: `idemcheck check: extra.jsonl:2: field "error": bad value: a Return does not carry "error" (it carries kind, t, op, result, offset)`},
		{class: "unknown field", file: "unknown.jsonl", input: []byte(`{"kind":"Replicate","t":0,"op":1,"partition":"p0","pid":1,"epoch":0,"first":0,"last":0,"topic":"x"}` + "\n"),
			want: `idemcheck check: unknown.jsonl:1: field "topic": bad value: unknown field`},
		{class: "field name in another case", file: "case.jsonl", input: []byte(`{"kind":"Replicate","t":0,"op":1,"Partition":"p0","pid":1,"epoch":0,"first":0,"last":0}` + "\n"),
			want: `idemcheck check: case.jsonl:1: field "Partition": bad value: unknown field`},
		{class: "field given twice", file: "twice.jsonl", input: []byte(`{"kind":"Replicate","t":0,"op":1,"partition":"p0","pid":1,"pid":2,"epoch":0,"first":0,"last":0}` + "\n"),
			want: `idemcheck check: twice.jsonl:1: field "pid": bad value: field given twice`},
		{class: "mistyped field (JSON)", file: "type.jsonl", input: []byte(`{"kind":"Replicate","t":0,"op":1,"partition":"p0","pid":"7","epoch":0,"first":0,"last":0}` + "\n"),
			want: `idemcheck check: type.jsonl:1: field "pid": bad value: string is not a valid int64`},
		{class: "mistyped field (YAML)", file: "type.yaml", input: []byte("events:\n  - {kind: Replicate, t: 0, op: 1, partition: p0, pid: seven, epoch: 0, first: 0, last: 0}\n"),
			want: `idemcheck check: type.yaml:2: field "pid": bad value: "seven" is not a valid value`},
		{class: "bad result value", file: "result.jsonl", input: []byte(replicate0 + `{"kind":"Return","t":1,"op":1,"result":"maybe"}` + "\n"),
			want: `idemcheck check: result.jsonl:2: field "result": bad value: "maybe" is not ok, error or unknown`},
		{class: "failed Return without an error code", file: "code.jsonl", input: []byte(replicate0 + `{"kind":"Return","t":1,"op":1,"result":"error","error":0}` + "\n"),
			want: `idemcheck check: code.jsonl:2: field "error": missing field: a failed Return needs a non-zero Kafka error code`},
		{class: "negative sequence", file: "negseq.jsonl", input: []byte(`{"kind":"Replicate","t":0,"op":1,"partition":"p0","pid":1,"epoch":0,"first":-1,"last":0}` + "\n"),
			want: `idemcheck check: negseq.jsonl:1: field "first": bad value: negative sequence -1`},
		{class: "overflowing sequence", file: "bigseq.jsonl", input: []byte(`{"kind":"Replicate","t":0,"op":1,"partition":"p0","pid":1,"epoch":0,"first":0,"last":2147483648}` + "\n"),
			want: `idemcheck check: bigseq.jsonl:1: field "last": bad value: number 2147483648 is not a valid int32`},
		{class: "overflowing sequence (YAML)", file: "bigseq.yaml", input: []byte("events:\n  - {kind: Replicate, t: 0, op: 1, partition: p0, pid: 1, epoch: 0, first: 0, last: 2147483648}\n"),
			want: `idemcheck check: bigseq.yaml:2: field "last": bad value: "2147483648" is not a valid value`},
		{class: "negative offset", file: "negoff.jsonl", input: []byte(replicate0 + `{"kind":"Return","t":1,"op":1,"result":"ok","offset":-5}` + "\n"),
			want: `idemcheck check: negoff.jsonl:2: field "offset": bad value: negative offset -5`},
		{class: "overflowing offset", file: "bigoff.jsonl", input: []byte(replicate0 + `{"kind":"Return","t":1,"op":1,"result":"ok","offset":9223372036854775808}` + "\n"),
			want: `idemcheck check: bigoff.jsonl:2: field "offset": bad value: number 9223372036854775808 is not a valid int64`},
		{class: "overflowing epoch", file: "epoch.jsonl", input: []byte(`{"kind":"Replicate","t":0,"op":1,"partition":"p0","pid":1,"epoch":40000,"first":0,"last":0}` + "\n"),
			want: `idemcheck check: epoch.jsonl:1: field "epoch": bad value: number 40000 is not a valid int16`},
		{class: "fractional number", file: "frac.jsonl", input: []byte(`{"kind":"Replicate","t":0.5,"op":1,"partition":"p0","pid":1,"epoch":0,"first":0,"last":0}` + "\n"),
			want: `idemcheck check: frac.jsonl:1: field "t": bad value: number 0.5 is not a valid int64`},
		{class: "first > last", file: "range.jsonl", input: []byte(`{"kind":"Replicate","t":0,"op":1,"partition":"p0","pid":1,"epoch":0,"first":5,"last":2}` + "\n"),
			want: `idemcheck check: range.jsonl:1: field "first": bad value: first 5 > last 2`},
		{class: "LogBatch without a partition", file: "lognopart.jsonl", input: []byte(`{"kind":"LogBatch","t":0,"offset":0,"pid":1,"epoch":0,"first":0,"last":0}` + "\n"),
			want: `idemcheck check: lognopart.jsonl:1: field "partition": missing field: a LogBatch needs "partition"`},
		{class: "LogBatch with a negative offset", file: "lognegoff.jsonl", input: []byte(`{"kind":"LogBatch","t":0,"partition":"p0","offset":-1,"pid":1,"epoch":0,"first":0,"last":0}` + "\n"),
			want: `idemcheck check: lognegoff.jsonl:1: field "offset": bad value: negative offset -1`},
		{class: "LogBatch with first > last", file: "logrange.jsonl", input: []byte(`{"kind":"LogBatch","t":0,"partition":"p0","offset":0,"pid":1,"epoch":0,"first":5,"last":2}` + "\n"),
			want: `idemcheck check: logrange.jsonl:1: field "first": bad value: first 5 > last 2`},
		{class: "return without a call", file: "nocall.jsonl", input: []byte(return0),
			want: `idemcheck check: nocall.jsonl:1: field "op": return without a call: op 1 was never called`},
		{class: "second return of an operation", file: "twice.jsonl", input: []byte(replicate0 + return0 + strings.Replace(return0, `"t":1`, `"t":2`, 1)),
			want: `idemcheck check: twice.jsonl:3: field "op": return without a call: op 1 is not open: it has already returned, or its Replicate event is missing`},
		{class: "return whose call line is missing", file: "lost.jsonl", input: []byte(strings.Replace(replicate0, `"op":1`, `"op":2`, 1) + strings.Replace(return0, `"t":1`, `"t":2`, 1)),
			want: `idemcheck check: lost.jsonl:2: field "op": return without a call: op 1 is not open: it has already returned, or its Replicate event is missing`},
		{class: "internal event of an unknown operation", file: "orphan.jsonl", input: []byte(replicate0 + `{"kind":"UploadDone","t":1,"op":9,"result":"ok"}` + "\n"),
			want: `idemcheck check: orphan.jsonl:2: field "op": event of an unknown operation: op 9 was never called`},
		{class: "duplicate operation id", file: "dupop.jsonl", input: []byte(replicate0 + strings.Replace(replicate0, `"t":0`, `"t":1`, 1)),
			want: `idemcheck check: dupop.jsonl:2: field "op": duplicate operation id: op 1 is not above the last op id 1 (op ids increase in call order)`},
		{class: "time going backwards", file: "time.jsonl", input: []byte(strings.Replace(replicate0, `"t":0`, `"t":5`, 1) + return0),
			want: `idemcheck check: time.jsonl:2: field "t": time goes backwards: t=1 after t=5`},
		{class: "line of several megabytes", file: "long.jsonl", input: long, show: "a Replicate line with a 3 MiB partition name",
			want: "idemcheck check: long.jsonl:2: line longer than 1048576 bytes"},
		{class: "invalid UTF-8", file: "utf8.jsonl", input: []byte(replicate0 + `{"kind":"Replicate","t":1,"op":2,"partition":"p` + "\xff" + `","pid":1,"epoch":0,"first":0,"last":0}` + "\n"),
			show: replicate0 + `{"kind":"Replicate","t":1,"op":2,"partition":"p\xff","pid":1,"epoch":0,"first":0,"last":0}`,
			want: "idemcheck check: utf8.jsonl:2: invalid UTF-8"},
		{class: "invalid UTF-8 (YAML)", file: "utf8.yaml", input: []byte("events:\n  - {kind: Replicate, t: 0, op: 1, partition: \"p\xfe\", pid: 1, epoch: 0, first: 0, last: 0}\n"),
			show: `events:\n  - {kind: Replicate, t: 0, op: 1, partition: "p\xfe", pid: 1, epoch: 0, first: 0, last: 0}`,
			want: "idemcheck check: utf8.yaml:2: invalid UTF-8"},
		{class: "LogBatch with an op id (an observation belongs to no operation)", file: "logop.jsonl", input: []byte(replicate0 + `{"kind":"LogBatch","t":1,"op":1,"partition":"p0","offset":0,"pid":1,"epoch":0,"first":0,"last":0}` + "\n"),
			want: `idemcheck check: logop.jsonl:2: field "op": bad value: a LogBatch does not carry "op" (it carries kind, t, partition, offset, pid, epoch, first, last)`},
		{class: "no operations (only environment events)", file: "env.jsonl", input: []byte(`{"kind":"EvictProducer","t":0,"partition":"p0","pid":1}` + "\n"),
			want: "idemcheck check: env.jsonl:1: checker: history has no operations"},
	}
}

// bigYAML returns 17 MiB of valid YAML: a history whose description
// is too long to read.
func bigYAML() []byte {
	return []byte("header:\n  description: " + strings.Repeat("x", 17<<20) + "\nevents: []\n")
}

func TestCheckBadInput(t *testing.T) {
	// Every malformed-input class: exit 2 and the exact message with
	// file:line and, where there is one, the field; nothing panics and
	// nothing is printed on stdout.
	dir := t.TempDir()
	var doc bytes.Buffer
	doc.WriteString(docHead)
	for _, tc := range badInputs() {
		t.Run(tc.class, func(t *testing.T) {
			path := filepath.Join(dir, tc.file)
			if err := os.WriteFile(path, tc.input, 0o644); err != nil {
				t.Fatal(err)
			}
			code, stdout, stderr := runCLI(t, nil, "check", path)
			got := strings.TrimRight(strings.ReplaceAll(stderr, dir+string(filepath.Separator), ""), "\n")
			if code != exitUsage {
				t.Errorf("exit code %d, want %d", code, exitUsage)
			}
			if got != tc.want {
				t.Errorf("stderr:\n got %s\nwant %s", got, tc.want)
			}
			if stdout != "" {
				t.Errorf("stdout not empty: %q", stdout)
			}
			// The same bytes on stdin give the same message for <stdin>.
			code, _, stderr = runCLI(t, tc.input, "check", "-")
			wantStdin := strings.Replace(tc.want, tc.file+":", "<stdin>:", 1)
			if code != exitUsage || strings.TrimRight(stderr, "\n") != wantStdin {
				t.Errorf("stdin: exit %d, stderr %q; want %d, %q", code, stderr, exitUsage, wantStdin)
			}
		})
		show := tc.show
		if show == "" {
			show = strings.ReplaceAll(strings.TrimRight(string(tc.input), "\n"), "\n", `\n`)
		}
		fmt.Fprintf(&doc, "| %s | `%s` | `%s` |\n", tc.class, mdCode(show), mdCode(tc.want))
	}
	doc.WriteString(docTail)
	doc.WriteString(bigInputsDoc())
	compareGenerated(t, "../../docs/INPUT-ERRORS.md", doc.Bytes())
}

// mdCode escapes s for a Markdown table cell in a code span.
func mdCode(s string) string {
	s = strings.ToValidUTF8(s, "\uFFFD")
	s = strings.ReplaceAll(s, "|", `\|`)
	s = strings.ReplaceAll(s, "\n", `\n`)
	return strings.ReplaceAll(s, "`", "'")
}

// compareGenerated checks that the file at path holds want, or writes it
// with -rewrite.
func compareGenerated(t *testing.T, path string, want []byte) {
	t.Helper()
	if testflag.Rewrite() {
		if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(path, want, 0o644); err != nil {
			t.Fatal(err)
		}
		return
	}
	got, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("%v (run go test ./cmd/idemcheck -run %s -rewrite)", err, t.Name())
	}
	if !bytes.Equal(got, want) {
		t.Errorf("%s is out of date; run go test ./cmd/idemcheck -run %s -rewrite and review the diff", path, t.Name())
	}
}

const docHead = `# Malformed input: what ` + "`idemcheck check`" + ` prints

Generated by ` + "`go test ./cmd/idemcheck -run TestCheckBadInput -rewrite`" + ` from the
table in ` + "`cmd/idemcheck/input_errors_test.go`" + `; the test fails when this
file and the CLI disagree, so every message below is exactly what the CLI
prints on stderr (with the file given as a relative path; on stdin the
name is ` + "`<stdin>`" + `). Every class exits with code **2** and prints nothing on
stdout. ` + "`idemcheck validate`" + ` reads input the same way and prints the same
messages with the prefix ` + "`idemcheck validate:`" + ` (` + "`TestValidateBadInput`" + `); a
history without internal events (calls and returns only) is refused by
validate with ` + "`FILE: nothing to validate: the history has no internal events ...`" + `,
also exit 2, and one that lacks a kind of event the spec needs with
` + "`FILE:LINE: cannot be validated: history has no KIND events ...`" + `.

What the readers accept and how much they hold: JSON Lines are read as a
stream, one line of at most 1 MiB at a time; a YAML history is read whole
and may be at most 16 MiB (write big histories as JSON Lines); a partition
name is at most 1 KiB. gzip'd input is decompressed by its magic number,
whatever its name (` + "`idemcheck check trace.jsonl.gz`" + `, or ` + "`zcat`" + ` into ` + "`check -`" + `),
and a UTF-8 byte-order mark at the start is skipped. Input that is not text
(a NUL byte in its first 4 KiB, or the magic number of zstd, bzip2 or xz
data or of a packet capture) is refused before more of it is read, so
` + "`idemcheck check /dev/zero`" + ` and ` + "`/dev/urandom`" + ` stop at once. A header's format,
when given, must be ` + "`idemcheck/v1`" + `. Op ids start at 1.

Each message names the file and the line (` + "`FILE:LINE:`" + `), then the field when
one field is at fault (` + "`field \"NAME\":`" + `), then the class of problem (the
sentinel errors of package history: ` + "`history has no events`" + `,
` + "`invalid syntax`" + `, ` + "`unknown event kind`" + `, ` + "`missing field`" + `, ` + "`bad value`" + `,
` + "`return without a call`" + `, ` + "`duplicate operation id`" + `, ` + "`time goes backwards`" + `,
` + "`event of an unknown operation`" + `, ` + "`line longer than ...`" + `, ` + "`invalid UTF-8`" + `,
` + "`truncated last line`" + `), then the details. The reader stops at the first
problem: fix it and run again.

| class | input | message |
|---|---|---|
`

const docTail = `
Other exits with code 2: a file that does not exist
(` + "`idemcheck check: FILE: no such file or directory`" + `), a directory
(` + "`idemcheck check: DIR: is a directory, not a history file`" + `), an unknown flag
or no input file (usage is printed).
`
