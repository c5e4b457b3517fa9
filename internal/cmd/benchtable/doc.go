// Command benchtable measures idemcheck and writes BENCHMARKS.md: the one
// command that regenerates the whole table.
//
//	go run ./internal/cmd/benchtable                 # default sizes, writes BENCHMARKS.md
//	go run ./internal/cmd/benchtable -big            # adds the 10M-operation growth row
//	go run ./internal/cmd/benchtable -ops 100000 -growth 10000,100000 -out /tmp/B.md
//	go run ./internal/cmd/benchtable -ops 10000 -growth 10000 -plain 100 -mc=false -whitebox=false -unknowns 100,1000 -unknown-timeout 5s -out /tmp/B.md
//
// The last is a quick run of every section, small. The section on runs
// of unknown outcomes (-unknowns) writes histories of one producer whose
// N batches have unknown outcomes, checks each with the CLI (with and
// without the witness), and compares with the checker of the -before
// revision (the last one before issue 11), built in a temporary git
// worktree that it removes again.
//
// It generates the histories with internal/gen (seeded, so every run
// measures the same files), builds cmd/idemcheck, and runs each measured
// step in a child process (itself with -child, or idemcheck) so that the
// wall time, CPU time and peak RSS (by GNU time where installed: the
// getrusage of a child Go started also counts the parent's resident set
// from before the exec) are the
// step's own. The plain-porcupine row runs the checker's test binary
// (go test -c ./checker, then its TestPlainSearchFile with
// -plain.history: the plain search is no mode of the checker's API), the
// model-checker rows run internal/cmd/mcbench, the white-box row runs
// BenchmarkValidate of checker/validate; a row whose package does not
// build is reported as not measured. Goals are ratios
// measured in one run and reported as met or missed, never asserted.
package main
