package main

import (
	"flag"
	"fmt"
	"os"
	"runtime/pprof"
)

func main() {
	child := flag.String("child", "", "internal: run one measured step (decode, check) on the file argument")
	cpuprof := flag.String("cpuprofile", "", "with -child: write a CPU profile")
	flag.Parse()
	if *child != "" {
		if *cpuprof != "" {
			f, _ := os.Create(*cpuprof)
			pprof.StartCPUProfile(f)
			defer pprof.StopCPUProfile()
		}
		var err error
		switch *child {
		case "decode":
			err = childDecode(flag.Arg(0))
		case "check":
			err = childCheck(flag.Arg(0), 0)
		}
		if err != nil {
			fmt.Fprintln(os.Stderr, "benchtable:", err)
			os.Exit(1)
		}
	}
}
