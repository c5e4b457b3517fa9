package main

import (
	"fmt"
	"io"
	"os"

	"github.com/idemcheck/idemcheck/checker"
	"github.com/idemcheck/idemcheck/history"
)

// childDecode reads path with the history reader and discards the events.
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

// childCheck streams path through checker.CheckReader and prints the
// verdict.
func childCheck(path string, workers int) error {
	f, err := os.Open(path)
	if err != nil {
		return err
	}
	defer f.Close()
	rd, err := history.NewReader(f, path)
	if err != nil {
		return err
	}
	res, err := checker.CheckReader(rd, checker.Options{Workers: workers})
	if err != nil {
		return err
	}
	fmt.Println(res.Verdict, len(res.Parts))
	return nil
}
