// Command mcbench runs the model checker (internal/mc) on one TLC .cfg
// file with a number of workers and prints one line for benchtable:
// distinct states, generated states, wall seconds and the verdict
// (ok, or the name of the violated invariant). It lives apart from
// benchtable so that the table still builds while internal/mc changes.
//
//	go run ./internal/cmd/mcbench -workers 2 spec/tla/MCBroker_fixed_2x2.cfg
package main

import (
	"context"
	"flag"
	"fmt"
	"os"

	"github.com/idemcheck/idemcheck/internal/mc"
)

func main() {
	workers := flag.Int("workers", 1, "model-checker workers")
	flag.Parse()
	if flag.NArg() != 1 {
		fmt.Fprintln(os.Stderr, "usage: mcbench [-workers N] FILE.cfg")
		os.Exit(2)
	}
	cfg, err := mc.LoadConfig(flag.Arg(0))
	if err != nil {
		fmt.Fprintln(os.Stderr, "mcbench:", err)
		os.Exit(1)
	}
	res, err := mc.Run(context.Background(), cfg, mc.Options{Workers: *workers})
	if err != nil {
		fmt.Fprintln(os.Stderr, "mcbench:", err)
		os.Exit(1)
	}
	verdict := "ok"
	if res.Violation != nil {
		verdict = res.Violation.Invariant
	}
	fmt.Println(res.Distinct, res.Generated, res.Duration.Seconds(), verdict)
}
