package main

import (
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"os"
	"time"

	"github.com/apache/beam/sdks/v2/go/pkg/beam"
	"github.com/apache/beam/sdks/v2/go/pkg/beam/runners"
	"github.com/apache/beam/sdks/v2/go/pkg/beam/x/beamx"

	"github.com/idemcheck/idemcheck/beam/pipeline"
	"github.com/idemcheck/idemcheck/checker/report"
)

func main() {
	input := flag.String("input", "", "glob of the history files to check (JSON Lines, gzip'd or not)")
	output := flag.String("output", "idemcheck-report.json", "path of the JSON report")
	rules := flag.String("rules", "", "broker dialect: redpanda or kafka (default: the files' headers', else redpanda)")
	validateMode := flag.Bool("validate", false, "validate each partition's internal events against the spec (the report of idemcheck validate --json) instead of the black-box check")
	flag.Parse()
	if *runners.Runner == "" {
		*runners.Runner = "prism"
	}
	beam.Init()
	if *input == "" {
		fmt.Fprintln(os.Stderr, "idemcheck-beam: --input GLOB is required")
		os.Exit(report.ExitUsage)
	}
	cfg := pipeline.Config{Input: *input, Output: *output, Rules: *rules, Start: time.Now().UnixNano(), Validate: *validateMode}
	p := beam.NewPipeline()
	if err := pipeline.Build(p.Root(), cfg); err != nil {
		fmt.Fprintf(os.Stderr, "idemcheck-beam: %v\n", err)
		os.Exit(report.ExitUsage)
	}
	if err := beamx.Run(context.Background(), p); err != nil {
		fmt.Fprintf(os.Stderr, "idemcheck-beam: %v\n", err)
		os.Exit(report.ExitUsage)
	}
	b, err := os.ReadFile(*output)
	if err != nil {
		// A remote output: the runner wrote it; nothing to print here.
		return
	}
	var rep struct {
		ExitCode int `json:"exit_code"`
	}
	if err := json.Unmarshal(b, &rep); err != nil {
		fmt.Fprintf(os.Stderr, "idemcheck-beam: %s: %v\n", *output, err)
		os.Exit(report.ExitUsage)
	}
	os.Stdout.Write(b)
	os.Exit(rep.ExitCode)
}
