package e2e

import (
	"context"
	"net/http"
	"os/exec"
	"strings"
	"testing"
	"time"

	"github.com/shardmq/shardmq/shards"
)

// TestExplorerInChromium loads the API explorer at /api-docs/ in headless
// Chromium (a real browser running the page's script under its Content
// Security Policy) and checks that it rendered the operations of
// /api-docs/swagger.json.
func TestExplorerInChromium(t *testing.T) {
	var browser string
	for _, name := range []string{"chromium", "chromium-browser", "google-chrome"} {
		if p, err := exec.LookPath(name); err == nil {
			browser = p
			break
		}
	}
	if browser == "" {
		t.Skip("chromium not installed (make deps installs it)")
	}
	e := start(t, shards.Config{})
	res, err := http.Get(e.api.URL + "/api-docs/")
	if err != nil {
		t.Fatal(err)
	}
	res.Body.Close()
	if res.StatusCode != http.StatusOK || !strings.HasPrefix(res.Header.Get("Content-Type"), "text/html") ||
		!strings.Contains(res.Header.Get("Content-Security-Policy"), "default-src 'self'") {
		t.Fatalf("GET /api-docs/: %d %v", res.StatusCode, res.Header)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	out, err := exec.CommandContext(ctx, browser, "--headless", "--no-sandbox", "--disable-gpu",
		"--user-data-dir="+t.TempDir(), "--virtual-time-budget=10000", "--dump-dom", e.api.URL+"/api-docs/").Output()
	if err != nil {
		t.Fatalf("chromium: %v", err)
	}
	dom := string(out)
	for _, want := range []string{"operations. Errors are JSON", "/api/v5/clients/{clientid}/keepalive", "/api/v5/banned/{as}/{who}",
		`class="m DELETE"`, "Send"} {
		if !strings.Contains(dom, want) {
			t.Fatalf("the rendered page lacks %q:\n%.2000s", want, dom)
		}
	}
}
