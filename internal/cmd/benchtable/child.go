package main

import (
	"fmt"
	"io"
	"os"
	"time"

	"github.com/idemcheck/idemcheck/checker"
	"github.com/idemcheck/idemcheck/history"
)

// The children are the measured steps; each runs in its own process so
// that its peak RSS and CPU time are its own. Each prints one line of
// space-separated fields that the parent parses.

// childDecode reads path with the history reader and discards the
// events. It prints the number of events.
func childDecode(path string) error {
	f, err := os.Open(path)
	if err != nil {
		return err
	}
	defer f.Close()
	rd, err := history.NewReader(f, path)
	if err != nil {
		return err
	}
	n := 0
	for {
		_, err := rd.Next()
		if err == io.EOF {
			break
		}
		if err != nil {
			return err
		}
		n++
	}
	fmt.Println(n)
	return nil
}

// childCheck streams path through checker.CheckReader (bounded, its
// default, or with Options.KeepAll) and prints the verdict and the number
// of parts.
func childCheck(path string, bounded bool) error {
	f, err := os.Open(path)
	if err != nil {
		return err
	}
	defer f.Close()
	rd, err := history.NewReader(f, path)
	if err != nil {
		return err
	}
	res := checker.CheckReader(rd, checker.Options{KeepAll: !bounded})
	if res.Err != nil {
		return res.Err
	}
	fmt.Println(res.Verdict, len(res.Parts))
	return nil
}

// childInMemory loads path and times checker.Check on it alone, keeping
// every record (Options.KeepAll). It prints the verdict and the seconds
// the check took.
func childInMemory(path string) error {
	h, err := history.ReadFile(path)
	if err != nil {
		return err
	}
	start := time.Now()
	res := checker.Check(h, checker.Options{KeepAll: true})
	fmt.Println(res.Verdict, time.Since(start).Seconds())
	return nil
}

// childWitness streams path to a verdict with checker.CheckReader, then
// reads it again with checker.ShrinkReader to a minimal witness; then, for
// comparison, loads it whole and runs checker.Shrink. It prints the
// verdict, the seconds to the verdict, the seconds of ShrinkReader, the
// witness's operations and violation, the seconds to load and the
// seconds of Shrink.
func childWitness(path string) error {
	open := func() (*os.File, history.Reader, error) {
		f, err := os.Open(path)
		if err != nil {
			return nil, nil, err
		}
		rd, err := history.NewReader(f, path)
		if err != nil {
			f.Close()
			return nil, nil, err
		}
		return f, rd, nil
	}
	start := time.Now()
	f, rd, err := open()
	if err != nil {
		return err
	}
	res := checker.CheckReader(rd, checker.Options{KeepAll: true})
	f.Close()
	if res.Err != nil {
		return res.Err
	}
	verdict := time.Since(start)
	if res.Verdict != checker.Illegal {
		return fmt.Errorf("%s is %s, not Illegal", path, res.Verdict)
	}
	start = time.Now()
	f, rd, err = open()
	if err != nil {
		return err
	}
	w, err := checker.ShrinkReader(rd, res.Violations[0], checker.Options{})
	f.Close()
	if err != nil {
		return err
	}
	shrinkReader := time.Since(start)
	wr := checker.Check(w, checker.Options{})
	name := "-"
	if len(wr.Violations) > 0 {
		name = wr.Violations[0].Name
	}
	start = time.Now()
	h, err := history.ReadFile(path)
	if err != nil {
		return err
	}
	load := time.Since(start)
	start = time.Now()
	checker.Shrink(h, checker.Options{})
	shrink := time.Since(start)
	fmt.Println(res.Verdict, verdict.Seconds(), shrinkReader.Seconds(), len(checker.Operations(w)), name, load.Seconds(), shrink.Seconds())
	return nil
}
