// Command idemcheck checks that a Kafka-compatible broker's
// idempotent-producer path never reorders, loses or duplicates a
// producer's batches. See doc.go and README.md.
package main

import (
	"context"
	"fmt"
	"io"
	"os"
	"os/signal"
	"runtime/debug"
	"sort"
	"syscall"
)

// Exit codes, documented in doc.go.
const (
	exitOK        = 0 // every history checked is Ok
	exitViolation = 1 // a violation was found
	exitUsage     = 2 // unusable input or bad usage
	exitUndecided = 3 // a part hit a limit, or the check was interrupted (never a pass)
)

// command is one subcommand: its one-line summary and its entry point.
type command struct {
	summary string
	run     func(ctx context.Context, env *cmdEnv, args []string) int
}

// cmdEnv is what a subcommand may touch: its streams and the working
// directory. Tests build one with buffers.
type cmdEnv struct {
	stdin          io.Reader
	stdout, stderr io.Writer
	stderrIsTTY    bool
}

func commands() map[string]command {
	return map[string]command{
		"demo":     {"reproduce the seed bug with the pre-fix ordering and the fix, check both, show the verdicts", runDemo},
		"check":    {"check history files (black box, porcupine) and print verdicts", runCheck},
		"validate": {"replay a history's internal events through the Go spec (white box)", runValidate},
		"mc":       {"model-check the spec with a TLC .cfg file", runMC},
		"gen":      {"generate a seeded synthetic history", runGen},
		"record":   {"record a history from Kafka traffic through a TCP proxy", runRecord},
		"import":   {"import a history from a pcap or pcapng capture of Kafka traffic", runImport},
		"broker":   {"serve the reference implementation over the Kafka protocol", runBroker},
	}
}

func main() {
	// SIGINT, SIGTERM and SIGHUP cancel the context: a command stops,
	// cleans up (the spool of stdin, partial output files) and exits.
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM, syscall.SIGHUP)
	defer stop()
	env := &cmdEnv{stdin: os.Stdin, stdout: os.Stdout, stderr: os.Stderr, stderrIsTTY: isTerminal(os.Stderr)}
	os.Exit(run(ctx, env, os.Args[1:]))
}

func run(ctx context.Context, env *cmdEnv, args []string) int {
	cmds := commands()
	if len(args) == 0 {
		usage(env.stderr, cmds)
		return exitUsage
	}
	switch args[0] {
	case "-h", "-help", "--help":
		usage(env.stdout, cmds)
		return exitOK
	case "--version", "-version", "version":
		fmt.Fprintln(env.stdout, version())
		return exitOK
	case "help":
		if len(args) == 1 {
			usage(env.stdout, cmds)
			return exitOK
		}
		c, ok := cmds[args[1]]
		if !ok {
			fmt.Fprintf(env.stderr, "idemcheck help: unknown command %q\n\n", args[1])
			usage(env.stderr, cmds)
			return exitUsage
		}
		return commandHelp(ctx, env, c)
	}
	c, ok := cmds[args[0]]
	if !ok {
		fmt.Fprintf(env.stderr, "idemcheck: unknown command %q\n\n", args[0])
		usage(env.stderr, cmds)
		return exitUsage
	}
	if helpAsked(args[1:]) {
		return commandHelp(ctx, env, c)
	}
	return c.run(ctx, env, args[1:])
}

// helpAsked reports whether args ask for help before any "--".
func helpAsked(args []string) bool {
	for _, a := range args {
		switch a {
		case "--":
			return false
		case "-h", "-help", "--help":
			return true
		}
	}
	return false
}

// commandHelp prints a command's help on stdout and returns 0: the
// command's flag set prints its usage where the command prints errors,
// so the command runs with only -h and stdout in place of stderr.
func commandHelp(ctx context.Context, env *cmdEnv, c command) int {
	henv := *env
	henv.stderr = env.stdout
	c.run(ctx, &henv, []string{"-h"})
	return exitOK
}

// version describes this build from its build information: the module
// version (a tag with go install ...@VERSION, "(devel)" in a checkout),
// the VCS revision and time when built from a checkout, and the Go
// version.
func version() string {
	bi, ok := debug.ReadBuildInfo()
	if !ok {
		return "idemcheck (no build information)"
	}
	v := "idemcheck " + bi.Main.Version
	settings := map[string]string{}
	for _, s := range bi.Settings {
		settings[s.Key] = s.Value
	}
	if rev := settings["vcs.revision"]; rev != "" {
		v += " " + rev
		if settings["vcs.modified"] == "true" {
			v += "+modified"
		}
		if t := settings["vcs.time"]; t != "" {
			v += " " + t
		}
	}
	return v + " " + bi.GoVersion
}

func usage(w io.Writer, cmds map[string]command) {
	fmt.Fprintln(w, "usage: idemcheck COMMAND [flags] [args]")
	fmt.Fprintln(w, "\ncommands:")
	names := make([]string, 0, len(cmds))
	for n := range cmds {
		names = append(names, n)
	}
	sort.Strings(names)
	for _, n := range names {
		fmt.Fprintf(w, "  %-9s %s\n", n, cmds[n].summary)
	}
	fmt.Fprintln(w, "\nRun 'idemcheck help COMMAND' (or 'idemcheck COMMAND -h') for a command's")
	fmt.Fprintln(w, "description, example, exit codes and flags; 'idemcheck --version' for the build.")
}

func isTerminal(f *os.File) bool {
	fi, err := f.Stat()
	return err == nil && fi.Mode()&os.ModeCharDevice != 0
}
