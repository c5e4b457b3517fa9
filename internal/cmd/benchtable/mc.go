package main

import (
	"fmt"
	"os/exec"
	"path/filepath"
	"sort"
	"strings"
	"time"
)

// mcRows measures internal/mc on every spec/tla/MCBroker_*.cfg with 1 and
// 2 workers, through internal/cmd/mcbench.
func mcRows(t *table, c config) {
	bin := filepath.Join(c.dir, "mcbench")
	if out, err := exec.Command("go", "build", "-o", bin, "./internal/cmd/mcbench").CombinedOutput(); err != nil {
		t.p("Not measured: internal/mc does not build now (%v): %s", err, lastLine(string(out)))
		return
	}
	cfgs, _ := filepath.Glob("spec/tla/MCBroker_*.cfg")
	sort.Strings(cfgs)
	if len(cfgs) == 0 {
		t.p("Not measured: no spec/tla/MCBroker_*.cfg.")
		return
	}
	t.p("internal/mc (the Go model checker over spec.Step) on each config of spec/tla, breadth-first until the state space is exhausted or the first violation (the bug configs stop there). Command: `go run ./internal/cmd/mcbench -workers W spec/tla/CFG`; time limit %v per run. The configs' constants are the bounds (producers × batches, faults).", c.mcTimeout)
	t.p("")
	t.p("| config | result | distinct states | generated | wall, 1 worker | states/s, 1 worker | wall, 2 workers | states/s, 2 workers | peak RSS (2 workers) |")
	t.p("|---|---|---|---|---|---|---|---|---|")
	for _, cfg := range cfgs {
		logf("row 4: %s", cfg)
		var cells []string
		var first []string
		var rss float64
		for _, w := range []int{1, 2} {
			m := measure(c.mcTimeout, bin, "-workers", fmt.Sprint(w), cfg)
			f := m.fields()
			if m.err != nil || len(f) < 4 {
				reason := "failed"
				if m.killed {
					reason = fmt.Sprintf("over %v", c.mcTimeout)
				}
				cells = append(cells, reason, "")
				continue
			}
			first = f
			secs := parseFloat(f, 2)
			cells = append(cells, fmt.Sprintf("%.2f s", secs), fmt.Sprintf("%.0f", parseFloat(f, 0)/max(secs, 1e-9)))
			rss = m.rssMB
		}
		res, distinct, generated := "-", "-", "-"
		if first != nil {
			res, distinct, generated = first[3], first[0], first[1]
		}
		t.p("| %s | %s | %s | %s | %s | %.0f MB |", strings.TrimSuffix(filepath.Base(cfg), ".cfg"), res, distinct, generated, strings.Join(cells, " | "), rss)
	}
	_ = time.Second
}
