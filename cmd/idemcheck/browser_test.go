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

// demoPicture runs the demo into a temporary folder and returns that
// folder and the path of the failing history's picture; it skips the
// test where no browser is installed or under -short.
func demoPicture(t *testing.T) (bin, dir, page string) {
	t.Helper()
	bin = chromium()
	if bin == "" {
		t.Skip("no Chromium found (apt-get install chromium, or set IDEMCHECK_CHROMIUM): the picture is not rendered")
	}
	if testing.Short() {
		t.Skip("-short: not starting a browser")
	}
	dir = t.TempDir()
	var stdout, stderr bytes.Buffer
	if code := run(context.Background(), &cmdEnv{stdout: &stdout, stderr: &stderr}, []string{"demo", "--out", dir}); code != exitOK {
		t.Fatalf("demo: exit %d\n%s%s", code, stdout.String(), stderr.String())
	}
	return bin, dir, filepath.Join(dir, "seed-after-stage.html")
}

// headless runs Chromium headless in a 1400x900 window with a fresh
// profile under dir (profile names one) and the given arguments, and
// returns its stdout and its log.
func headless(t *testing.T, bin, dir, profile string, args ...string) (stdout, logs []byte) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 90*time.Second)
	defer cancel()
	cmd := exec.CommandContext(ctx, bin, append([]string{
		"--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
		"--disable-background-networking", "--disable-component-update", "--disable-sync",
		"--user-data-dir=" + filepath.Join(dir, "profile-"+profile), "--hide-scrollbars",
		"--window-size=1400,900", "--enable-logging=stderr", "--v=0",
		"--virtual-time-budget=5000"}, args...)...)
	var out, log bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &log
	if err := cmd.Run(); err != nil {
		t.Fatalf("chromium: %v\n%s", err, log.String())
	}
	return out.Bytes(), log.Bytes()
}

// TestDemoPictureRendersInBrowser opens the HTML picture of the seed's
// Illegal history in headless Chromium and checks that the page's script
// ran without errors and drew the operations and the internal-event
// annotations. It is skipped where no browser is installed (install
// Debian's chromium package, or set IDEMCHECK_CHROMIUM).
func TestDemoPictureRendersInBrowser(t *testing.T) {
	bin, dir, page := demoPicture(t)
	dom, logs := headless(t, bin, dir, "dom", "--dump-dom", "file://"+page)
	for _, line := range strings.Split(string(logs), "\n") {
		if strings.Contains(line, "CONSOLE") && (strings.Contains(line, "Error") || strings.Contains(line, "Uncaught")) {
			t.Errorf("the page logged a script error: %s", line)
		}
	}
	// The page embeds its data as JSON in a script, so look only at the
	// <text> elements the script drew, not at the raw page.
	svgText := regexp.MustCompile(`<text[^>]*>([^<]*)</text>`)
	var drawn []string
	for _, m := range svgText.FindAllStringSubmatch(string(dom), -1) {
		drawn = append(drawn, html.UnescapeString(m[1]))
	}
	if len(drawn) == 0 {
		t.Fatalf("the page drew no <text> elements (DOM is %d bytes)", len(dom))
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

// visibilityProbe is appended to a copy of a picture: once the page has
// drawn, it reports for each part of the summary whether it lies wholly
// inside the window and is the element a person would see at its centre
// (not hidden, not covered by something else).
const visibilityProbe = `<script>
window.addEventListener('load', () => setTimeout(() => {
  const out = [];
  for (const sel of ['#idemcheck-verdict', '.idemcheck-violation', '.idemcheck-explanation', '.idemcheck-timeline']) {
    const el = document.querySelector(sel);
    if (!el) { out.push(sel + '=missing'); continue; }
    const r = el.getBoundingClientRect();
    const st = getComputedStyle(el);
    const inside = r.width > 0 && r.height > 0 && r.top >= 0 && r.left >= 0 && r.bottom <= innerHeight && r.right <= innerWidth;
    const top = document.elementFromPoint(r.left + Math.min(r.width / 2, 40), r.top + r.height / 2);
    const seen = inside && st.visibility !== 'hidden' && st.display !== 'none' && top && (top === el || el.contains(top));
    out.push(sel + '=' + (seen ? 'visible' : 'hidden'));
  }
  const d = document.createElement('pre');
  d.id = 'visibility-report';
  d.textContent = out.join(' ');
  document.body.appendChild(d);
}, 100));
</script>
`

// TestPictureFirstScreen opens the demo's failing picture in headless
// Chromium in a 1400×900 window and checks that the verdict, the
// violation's name, its explanation in words and the timeline of its
// operations are all on the first screen: inside the window and not
// covered, with no scrolling, hovering or clicking. The screenshot is
// kept in the test's artifact directory (go test -artifacts).
func TestPictureFirstScreen(t *testing.T) {
	bin, dir, pagePath := demoPicture(t)
	page, err := os.ReadFile(pagePath)
	if err != nil {
		t.Fatal(err)
	}
	probed := filepath.Join(dir, "probed.html")
	if err := os.WriteFile(probed, bytes.Replace(page, []byte("</body>"), []byte(visibilityProbe+"</body>"), 1), 0o644); err != nil {
		t.Fatal(err)
	}
	dom, _ := headless(t, bin, dir, "probe", "--dump-dom", "file://"+probed)
	m := regexp.MustCompile(`<pre id="visibility-report">([^<]*)</pre>`).FindSubmatch(dom)
	if m == nil {
		t.Fatalf("the probe did not report (DOM is %d bytes)", len(dom))
	}
	report := string(m[1])
	for _, part := range strings.Fields(report) {
		if !strings.HasSuffix(part, "=visible") {
			t.Errorf("not visible on the first screen at 1400x900: %s (report: %s)", part, report)
		}
	}
	for _, want := range []string{"Illegal", "DecideInCallOrder", "OUT_OF_ORDER_SEQUENCE_NUMBER"} {
		if !bytes.Contains(dom, []byte(want)) {
			t.Errorf("the page lacks %q", want)
		}
	}
	shot := filepath.Join(t.ArtifactDir(), "first-screen.png")
	headless(t, bin, dir, "shot", "--screenshot="+shot, "file://"+pagePath)
	t.Logf("screenshot: %s", shot)
}
