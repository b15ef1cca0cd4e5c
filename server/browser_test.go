package server

import (
	"context"
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
)

// uiChromiumPath is the browser the UI tests drive: POINTSYNC_TEST_CHROMIUM,
// or chromium on the PATH (Debian's package). "" when there is none.
func uiChromiumPath() string {
	if p := os.Getenv("POINTSYNC_TEST_CHROMIUM"); p != "" {
		return p
	}
	p, err := exec.LookPath("chromium")
	if err != nil {
		return ""
	}
	return p
}

// uiBrowser starts a headless chromium with an empty profile; the whole
// scenario must end within a minute, or the browser is stopped and the
// test fails instead of hanging.
func uiBrowser(t *testing.T) context.Context {
	t.Helper()
	path := uiChromiumPath()
	if path == "" {
		t.Skip("no chromium: install it (apt-get install chromium) or set POINTSYNC_TEST_CHROMIUM to its path to run the browser tests")
	}
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	t.Cleanup(cancel)
	actx, acancel := chromedp.NewExecAllocator(ctx,
		chromedp.ExecPath(path),
		chromedp.Headless,
		chromedp.NoSandbox,
		chromedp.DisableGPU,
		chromedp.NoFirstRun,
		chromedp.NoDefaultBrowserCheck,
		chromedp.Flag("disable-background-networking", true),
		chromedp.Flag("disable-component-update", true),
		chromedp.Flag("disable-sync", true),
		chromedp.Flag("hide-scrollbars", true),
		chromedp.UserDataDir(t.TempDir()),
		chromedp.WindowSize(1280, 900),
	)
	t.Cleanup(acancel)
	bctx, bcancel := chromedp.NewContext(actx, chromedp.WithLogf(t.Logf))
	t.Cleanup(bcancel)
	return bctx
}

// uiWaitFor polls a JavaScript condition until it is true; errors while a
// page is being replaced are part of waiting.
func uiWaitFor(t *testing.T, ctx context.Context, what, expr string) {
	t.Helper()
	deadline := time.Now().Add(15 * time.Second)
	var lastErr error
	for time.Now().Before(deadline) {
		ok, err := chromedp.Run(ctx, chromedp.Evaluate[bool](expr))
		if err == nil && ok {
			return
		}
		if ctx.Err() != nil {
			t.Fatalf("waiting for %s: %v", what, ctx.Err())
		}
		lastErr = err
		time.Sleep(100 * time.Millisecond)
	}
	loc, _ := chromedp.Run(ctx, chromedp.Location())
	body, _ := chromedp.Run(ctx, chromedp.Evaluate[string]("document.body ? document.body.innerText : ''"))
	t.Fatalf("waiting for %s: not true after 15s (last error %v) at %s:\n%s", what, lastErr, loc, body)
}

// uiTextOf is the visible text of the first element matching sel.
func uiTextOf(t *testing.T, ctx context.Context, sel string) string {
	t.Helper()
	s, err := chromedp.Run(ctx, chromedp.Text(chromedp.CSS(sel)))
	if err != nil {
		t.Fatalf("text of %s: %v", sel, err)
	}
	return strings.TrimSpace(s)
}

func uiDo(t *testing.T, ctx context.Context, what string, steps ...chromedp.Action[chromedp.Void]) {
	t.Helper()
	if err := chromedp.Do(ctx, steps...); err != nil {
		t.Fatalf("%s: %v", what, err)
	}
}

// TestBrowserBackOffice drives the admin UI in a real browser: log in,
// filter the customer list, add an adjustment after its preview, import a
// file with a bad row. With POINTSYNC_UPDATE_SCREENSHOT=1 it writes the
// README's screenshot of the customer page, docs/img/customer.png.
func TestBrowserBackOffice(t *testing.T) {
	ctx := uiBrowser(t)
	ts := newTestServer(t, withYAML(uiBadges))
	seedUI(t, ts)
	ts.credit("loyalty", "web:99", 50)

	// Messages the pages write to the console: a CSP refusal or a script
	// error fails the test.
	uiDo(t, ctx, "open the login page", chromedp.Navigate(ts.URL+"/ui/login"))
	var mu sync.Mutex
	var problems []string
	cctx, ccancel := context.WithCancel(ctx)
	defer ccancel()
	messages := chromedp.Console(cctx)
	go func() {
		for m, err := range messages {
			if err != nil {
				return
			}
			if m.IsException() || strings.Contains(m.Text, "Content Security Policy") {
				mu.Lock()
				problems = append(problems, m.String())
				mu.Unlock()
			}
		}
	}()

	// Log in.
	uiDo(t, ctx, "log in",
		chromedp.WaitVisible(chromedp.CSS("#token")),
		chromedp.SendKeys(chromedp.CSS("#token"), tokAdmin),
		chromedp.Click(chromedp.CSS("#login-submit")),
	)
	uiWaitFor(t, ctx, "the customer list", `location.pathname === "/ui/customers" && document.readyState === "complete" && !!document.querySelector("table.customers")`)
	if got := uiTextOf(t, ctx, "table.customers tbody"); !strings.Contains(got, "web:99") {
		t.Fatalf("web:99 is not listed before filtering:\n%s", got)
	}
	// app.js ran (the CSP let it): the program selector's button is hidden.
	hiddenBtn, err := chromedp.Run(ctx, chromedp.Evaluate[bool](`document.querySelector(".program-select button").classList.contains("js-hidden")`))
	if err != nil || !hiddenBtn {
		t.Errorf("app.js did not run (err %v)", err)
	}

	// Filter: at least 100 earned points leaves out web:99 (50).
	uiDo(t, ctx, "filter the list",
		chromedp.SendKeys(chromedp.CSS("#min_earned"), "100"),
		chromedp.Click(chromedp.CSS("#filter-apply")),
	)
	uiWaitFor(t, ctx, "the filtered list", `location.search.includes("min_earned=100") && document.readyState === "complete" && !!document.querySelector("table.customers")`)
	list := uiTextOf(t, ctx, "table.customers tbody")
	if strings.Contains(list, "web:99") || !strings.Contains(list, "email:anna@example.com") || !strings.Contains(list, "erp:C0042") {
		t.Fatalf("filtered list:\n%s", list)
	}

	// Open a customer and add an adjustment, previewing it first.
	uiDo(t, ctx, "open the customer", chromedp.Click(chromedp.CSS(`a[href*="customer=email%3Aanna%40example.com"]`)))
	uiWaitFor(t, ctx, "the customer page", `location.pathname === "/ui/customer" && document.readyState === "complete" && !!document.querySelector("#balance-earned")`)
	if got := uiTextOf(t, ctx, "#balance-earned"); got != "325" {
		t.Fatalf("earned before: %q", got)
	}
	uiDo(t, ctx, "preview an adjustment",
		chromedp.SendKeys(chromedp.CSS("#adjust-points"), "1500"),
		chromedp.SendKeys(chromedp.CSS("#adjust-note"), "Premio fedeltà"),
		chromedp.Click(chromedp.CSS("#adjust-preview")),
	)
	uiWaitFor(t, ctx, "the preview", `document.readyState === "complete" && !!document.querySelector("#preview-earned")`)
	if got := uiTextOf(t, ctx, "#preview-earned"); got != "1.825" {
		t.Fatalf("preview shows %q, want 1.825", got)
	}
	if got := uiTextOf(t, ctx, "#balance-earned"); got != "325" {
		t.Fatalf("the balance changed on preview: %q", got)
	}
	if b := ts.uiBalanceOf("loyalty", "web:7"); b.Earned != 325 {
		t.Fatalf("the preview saved: %+v", b)
	}
	uiDo(t, ctx, "save the adjustment", chromedp.Click(chromedp.CSS("#adjust-save")))
	uiWaitFor(t, ctx, "the saved adjustment", `location.search.includes("done=adjusted") && document.readyState === "complete" && !!document.querySelector("#balance-earned")`)
	if got := uiTextOf(t, ctx, "#balance-earned"); got != "1.825" {
		t.Fatalf("earned after saving: %q, want 1.825", got)
	}
	if b := ts.uiBalanceOf("loyalty", "web:7"); b.Earned != 1825 {
		t.Fatalf("ledger after saving: %+v", b)
	}
	if os.Getenv("POINTSYNC_UPDATE_SCREENSHOT") == "1" {
		png, err := chromedp.Run(ctx, chromedp.FullScreenshot(100))
		if err != nil {
			t.Fatalf("screenshot: %v", err)
		}
		out := filepath.Join("..", "docs", "img", "customer.png")
		if err := os.MkdirAll(filepath.Dir(out), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(out, png, 0o644); err != nil {
			t.Fatal(err)
		}
		t.Logf("wrote %s (%d bytes)", out, len(png))
	}

	// Import a file with one bad row: nothing is applied and the report
	// names the line.
	file := filepath.Join(t.TempDir(), "bonus.csv")
	if err := os.WriteFile(file, []byte("cliente;punti;nota\nweb:7;10;ok\nweb:99;dieci;bad\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	uiDo(t, ctx, "open the program page", chromedp.Navigate(ts.URL+"/ui/program?program=loyalty"))
	uiDo(t, ctx, "upload the file",
		chromedp.WaitVisible(chromedp.CSS("#import-file")),
		chromedp.SetUploadFiles(chromedp.CSS("#import-file"), []string{file}),
		chromedp.Click(chromedp.CSS("#import-submit")),
	)
	uiWaitFor(t, ctx, "the import report", `location.pathname === "/ui/program/import" && document.readyState === "complete" && !!document.querySelector("#import-errors")`)
	report := uiTextOf(t, ctx, "#import-errors")
	if !strings.Contains(report, "3") || !strings.Contains(report, "dieci") {
		t.Fatalf("the report does not name line 3 and its value:\n%s", report)
	}
	if got := uiTextOf(t, ctx, "#import-applied"); got != "0" {
		t.Fatalf("applied %q rows of a file with a bad row", got)
	}
	if b := ts.uiBalanceOf("loyalty", "web:7"); b.Earned != 1825 {
		t.Fatalf("a refused import changed the balance: %+v", b)
	}

	// Switch to English on the reports page: the chart is drawn.
	uiDo(t, ctx, "open the reports", chromedp.Navigate(ts.URL+"/ui/reports?program=loyalty&lang=en"))
	uiWaitFor(t, ctx, "the chart", `document.readyState === "complete" && document.documentElement.lang === "en" && !!document.querySelector("svg.chart polyline")`)

	ccancel()
	mu.Lock()
	defer mu.Unlock()
	if len(problems) > 0 {
		t.Errorf("the pages wrote problems to the console:\n%s", strings.Join(problems, "\n"))
	}
	if err := ctx.Err(); err != nil && !errors.Is(err, context.Canceled) {
		t.Fatalf("browser: %v", err)
	}
}
