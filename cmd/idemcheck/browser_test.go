package main

import (
	"bytes"
	"context"
	"html"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"
)

// chromium returns the path of a Chromium binary, or "" when none is
// installed. IDEMCHECK_CHROMIUM overrides the search.
func chromium() string {
	if p := os.Getenv("IDEMCHECK_CHROMIUM"); p != "" {
		return p
	}
	for _, name := range []string{"chromium", "chromium-browser", "google-chrome"} {
		if p, err := exec.LookPath(name); err == nil {
			return p
		}
	}
	return ""
}

// TestDemoPictureRendersInBrowser opens the HTML picture of the seed's
// Illegal history in headless Chromium and checks that the page's script
// ran without errors and drew the operations and the internal-event
// annotations. It is skipped where no browser is installed (install
// Debian's chromium package, or set IDEMCHECK_CHROMIUM).
func TestDemoPictureRendersInBrowser(t *testing.T) {
	bin := chromium()
	if bin == "" {
		t.Skip("no Chromium found (apt-get install chromium, or set IDEMCHECK_CHROMIUM): the picture is not rendered")
	}
	if testing.Short() {
		t.Skip("-short: not starting a browser")
	}
	dir := t.TempDir()
	var stdout, stderr bytes.Buffer
	if code := run(context.Background(), &cmdEnv{stdout: &stdout, stderr: &stderr}, []string{"demo", "--out", dir}); code != exitOK {
		t.Fatalf("demo: exit %d\n%s%s", code, stdout.String(), stderr.String())
	}
	page := filepath.Join(dir, "seed-after-stage.html")

	ctx, cancel := context.WithTimeout(context.Background(), 90*time.Second)
	defer cancel()
	cmd := exec.CommandContext(ctx, bin,
		"--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
		"--disable-background-networking", "--disable-component-update", "--disable-sync",
		"--user-data-dir="+filepath.Join(dir, "profile"),
		"--enable-logging=stderr", "--v=0",
		"--virtual-time-budget=5000", "--dump-dom", "file://"+page)
	var dom, logs bytes.Buffer
	cmd.Stdout, cmd.Stderr = &dom, &logs
	if err := cmd.Run(); err != nil {
		t.Fatalf("chromium: %v\n%s", err, logs.String())
	}
	for _, line := range strings.Split(logs.String(), "\n") {
		if strings.Contains(line, "CONSOLE") && (strings.Contains(line, "Error") || strings.Contains(line, "Uncaught")) {
			t.Errorf("the page logged a script error: %s", line)
		}
	}
	// The page embeds its data as JSON in a script, so look only at the
	// <text> elements the script drew, not at the raw page.
	svgText := regexp.MustCompile(`<text[^>]*>([^<]*)</text>`)
	var drawn []string
	for _, m := range svgText.FindAllStringSubmatch(dom.String(), -1) {
		drawn = append(drawn, html.UnescapeString(m[1]))
	}
	if len(drawn) == 0 {
		t.Fatalf("the page drew no <text> elements (DOM is %d bytes)", dom.Len())
	}
	for _, want := range []string{
		"op 1 e0 [0,0] → OUT_OF_ORDER_SEQUENCE_NUMBER", // the earlier batch, rejected
		"op 2 e0 [1,1] → ok at offset 0",               // the later batch, accepted first
		"StageWriteDone op 2",                          // internal events, drawn as annotations
		"ReserveTicket op 2",
		"Decide op 2 append_unknown",
	} {
		if !slices.Contains(drawn, want) {
			t.Errorf("the page did not draw %q; it drew %d texts, the first: %q", want, len(drawn), drawn[:min(8, len(drawn))])
		}
	}
}
