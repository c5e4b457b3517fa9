// Package testflag holds the command-line flags that every test package
// of the project shares, so that one flag means one thing everywhere:
//
//	-rewrite       rewrite golden files (expected outputs, generated traces)
//	               instead of comparing with them; review the diff before
//	               committing. The flag is cockroachdb/datadriven's own, so
//	               datadriven scripts and the other golden files of a package
//	               are rewritten by the same run.
//	-seed N        run every randomized test with seed N only (N ≥ 1).
//	-seeds K       run every randomized test with K seeds instead of its
//	               default count.
//	-seed.first F  start the seeds at F instead of 1 (with -seeds, to explore
//	               seeds the default run does not cover).
//
// A randomized test is deterministic by default: it runs seeds 1, 2, …, up
// to its default count. A failing seed names itself in the failure with the
// command that reruns it alone, for example
//
//	go test ./impl -run '^TestRandomWorkload$/^seed=17$' -seed 17
//
// The package is imported only by tests.
package testflag
