// Command idemcheck-beam checks a set of history files as an Apache Beam
// pipeline (package pipeline): the same verdicts and the same JSON report
// as "idemcheck check --json", computed by partition on as many workers
// as the runner gives, with bad lines reported as FILE:LINE instead of
// stopping the check.
//
// Usage:
//
//	idemcheck-beam --input 'captures/*.jsonl.gz' --output report.json [--rules kafka] [beam flags]
//
// It runs on Beam's Prism runner, in process, by default; --runner
// flink --endpoint HOST:PORT or --runner dataflow --project P --region R
// --staging_location gs://... run it on a cluster (beam/README.md). With
// a local --output it prints the report and exits with its exit code
// (0 Ok, 1 violation, 2 unusable input, 3 undecided).
package main
