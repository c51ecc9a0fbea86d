package dashboard_test

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/cookiejar"
	"net/url"
	"os"
	"os/exec"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/chromedp/cdproto/page"
	"github.com/chromedp/chromedp"
	"github.com/eclipse/paho.golang/paho"
	mqtt3 "github.com/eclipse/paho.mqtt.golang"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/shardmq/shardmq/catalog"
	"github.com/shardmq/shardmq/cmd/shardmq/wire"
	"github.com/shardmq/shardmq/httpapi"
	"github.com/shardmq/shardmq/httpapi/dashboard"
	"github.com/shardmq/shardmq/netio"
	"github.com/shardmq/shardmq/shards"
	"github.com/shardmq/shardmq/shards/banned"
)

const (
	adminKey, adminSecret   = "admin", "admin-secret"
	viewerKey, viewerSecret = "viewer", "viewer-secret"
	node                    = "dash@127.0.0.1"
)

// stack is a real broker, catalog, API and dashboard on 127.0.0.1.
type stack struct {
	mqtt string // MQTT address
	url  string // http://127.0.0.1:PORT
	cat  *catalog.Catalog
	keys *httpapi.KeyStore
}

// startStack starts the broker with its catalog and serves the API and
// the dashboard. When lister is not nil the API lists clients from it
// instead of the broker's catalog (the 100k-row catalog of the
// performance test); every command still goes to the real broker.
func startStack(t testing.TB, lister httpapi.Lister, usersFile string, configure ...func(*httpapi.Config)) *stack {
	t.Helper()
	cat, err := catalog.New(catalog.Config{StatsInterval: 50 * time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { cat.Close() })
	bans := banned.New()
	b, err := shards.New(shards.Config{Node: node, Sink: wire.Sink{Catalog: cat}, StatsInterval: 50 * time.Millisecond, Banned: bans})
	if err != nil {
		t.Fatal(err)
	}
	srv, err := netio.New(netio.Config{Listeners: []netio.Listener{{Addr: "127.0.0.1:0"}}, Loops: 2, TickInterval: 20 * time.Millisecond}, b)
	if err != nil {
		t.Fatal(err)
	}
	if err := srv.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		srv.Shutdown(ctx)
	})
	keys := httpapi.NewKeyStore()
	for _, k := range []struct {
		key, secret string
		role        httpapi.Role
	}{{adminKey, adminSecret, httpapi.RoleAdministrator}, {viewerKey, viewerSecret, httpapi.RoleViewer}, {"pub", "pub-secret", httpapi.RolePublisher}} {
		if err := keys.Add(k.key, k.secret, k.role); err != nil {
			t.Fatal(err)
		}
	}
	if lister == nil {
		lister = cat
	}
	cfg := httpapi.Config{Node: node}
	for _, f := range configure {
		f(&cfg)
	}
	api, err := httpapi.New(cfg, lister, wire.Broker{Broker: b, Node: node, BanList: bans}, keys)
	if err != nil {
		t.Fatal(err)
	}
	d, err := dashboard.New(dashboard.Config{Keys: keys, UsersFile: usersFile, Node: node})
	if err != nil {
		t.Fatal(err)
	}
	api.SetDashboard(d)
	// /metrics behind a key (metrics_auth), with the API's own series (the
	// broker's message counters are cmd/shardmq's collector).
	reg := prometheus.NewRegistry()
	reg.MustRegister(api.Collector())
	api.EnableMetrics(reg, true)
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	hs := api.NewServer(ln.Addr().String())
	go hs.Serve(api.WrapListener(ln))
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		hs.Shutdown(ctx)
	})
	return &stack{mqtt: srv.Addr().String(), url: "http://" + ln.Addr().String(), cat: cat, keys: keys}
}

// get calls the API as the administrator (basic auth) and decodes JSON.
func (s *stack) get(t testing.TB, path string, into any) int {
	t.Helper()
	req, _ := http.NewRequest(http.MethodGet, s.url+"/api/v5"+path, nil)
	req.SetBasicAuth(adminKey, adminSecret)
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	body, _ := io.ReadAll(res.Body)
	if into != nil && res.StatusCode == http.StatusOK {
		if err := json.Unmarshal(body, into); err != nil {
			t.Fatalf("GET %s: %v: %s", path, err, body)
		}
	}
	return res.StatusCode
}

// post calls the API as the administrator with a JSON body and fails
// unless it succeeds.
func (s *stack) post(t testing.TB, path, body string) {
	t.Helper()
	req, _ := http.NewRequest(http.MethodPost, s.url+"/api/v5"+path, strings.NewReader(body))
	req.SetBasicAuth(adminKey, adminSecret)
	req.Header.Set("Content-Type", "application/json")
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	if res.StatusCode/100 != 2 {
		b, _ := io.ReadAll(res.Body)
		t.Fatalf("POST %s: %d %s", path, res.StatusCode, b)
	}
}

// waitCount waits until GET /clients with query counts want clients.
func (s *stack) waitCount(t testing.TB, query string, want int) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for {
		var page struct {
			Meta struct{ Count int } `json:"meta"`
		}
		s.get(t, "/clients?"+query, &page)
		if page.Meta.Count == want {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("GET /clients?%s counts %d, want %d", query, page.Meta.Count, want)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// session logs in through the dashboard's login endpoint with a plain HTTP
// client and returns the client (holding the cookie) and the CSRF token.
func (s *stack) session(t testing.TB, user, password string) (*http.Client, string) {
	t.Helper()
	jar, _ := cookiejar.New(nil)
	c := &http.Client{Jar: jar}
	res, err := c.Post(s.url+"/dashboard/api/login", "application/json",
		strings.NewReader(fmt.Sprintf(`{"username":%q,"password":%q}`, user, password)))
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	var out struct {
		CSRF string `json:"csrf_token"`
	}
	if res.StatusCode != http.StatusOK {
		b, _ := io.ReadAll(res.Body)
		t.Fatalf("login %s: %d %s", user, res.StatusCode, b)
	}
	if err := json.NewDecoder(res.Body).Decode(&out); err != nil {
		t.Fatal(err)
	}
	return c, out.CSRF
}

// v5 connects an MQTT 5 client with paho.golang; disconnected receives
// the reason code of a DISCONNECT from the server.
func v5(t testing.TB, addr, id string, disconnected chan<- byte) *paho.Client {
	t.Helper()
	conn, err := net.Dial("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	c := paho.NewClient(paho.ClientConfig{ClientID: id, Conn: conn,
		OnServerDisconnect: func(d *paho.Disconnect) {
			if disconnected != nil {
				disconnected <- d.ReasonCode
			}
		},
		OnClientError: func(error) {}})
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	ack, err := c.Connect(ctx, &paho.Connect{ClientID: id, CleanStart: true, KeepAlive: 60})
	if err != nil || ack.ReasonCode != 0 {
		t.Fatalf("connect %s: %v %v", id, err, ack)
	}
	t.Cleanup(func() {
		_ = c.Disconnect(&paho.Disconnect{})
		select {
		case <-c.Done():
		case <-time.After(5 * time.Second):
		}
	})
	return c
}

// v4 connects an MQTT 3.1.1 client with paho.mqtt.golang.
func v4(t testing.TB, addr, id string) mqtt3.Client {
	t.Helper()
	o := mqtt3.NewClientOptions().AddBroker("tcp://" + addr).SetClientID(id).SetProtocolVersion(4).
		SetAutoReconnect(false).SetConnectRetry(false).SetKeepAlive(60 * time.Second).SetCleanSession(true)
	c := mqtt3.NewClient(o)
	tok := c.Connect()
	if !tok.WaitTimeout(5*time.Second) || tok.Error() != nil {
		t.Fatalf("connect %s: %v", id, tok.Error())
	}
	t.Cleanup(func() { c.Disconnect(100) })
	return c
}

// chromiumPath finds Debian's chromium (or another Chrome). Absent, the
// test skips with the reason, except in CI (CI=true), where it fails:
// `make deps` installs chromium there.
func chromiumPath(t testing.TB) string {
	t.Helper()
	for _, name := range []string{"chromium", "chromium-browser", "google-chrome", "google-chrome-stable"} {
		if p, err := exec.LookPath(name); err == nil {
			return p
		}
	}
	if os.Getenv("CI") == "true" {
		t.Fatal("chromium is not installed; `make deps` installs it (Debian package chromium)")
	}
	t.Skip("chromium is not installed: skipping the browser test (`make deps` installs it; in CI, CI=true, this is a failure)")
	return ""
}

// browser is a headless Chromium tab whose console errors, uncaught
// exceptions and JavaScript dialogs (alert, confirm) are recorded.
type browser struct {
	ctx context.Context
	mu  sync.Mutex
	// problems are console errors, exceptions and dialogs.
	problems []string
}

func newBrowser(t testing.TB) *browser {
	t.Helper()
	opts := append(chromedp.DefaultExecAllocatorOptions[:], chromedp.ExecPath(chromiumPath(t)),
		chromedp.NoSandbox, chromedp.WindowSize(1366, 768), chromedp.Flag("disable-gpu", true),
		chromedp.Flag("lang", "en-US"))
	actx, acancel := chromedp.NewExecAllocator(context.Background(), opts...)
	ctx, cancel := chromedp.NewContext(actx)
	t.Cleanup(func() { cancel(); acancel() })
	b := &browser{ctx: ctx}
	// Start the browser, then listen to its tab.
	if err := chromedp.Do(ctx); err != nil {
		t.Fatalf("starting chromium: %v", err)
	}
	msgs := chromedp.Console(ctx)
	go func() {
		for m, err := range msgs {
			if err != nil {
				return
			}
			if m.Type == chromedp.ConsoleError || m.IsException() {
				b.record(fmt.Sprintf("console %s (%s:%d)", m, m.URL, m.Line))
			}
		}
	}()
	dialogs := chromedp.Events(ctx, page.JavascriptDialogOpening)
	go func() {
		for ev, err := range dialogs {
			if err != nil {
				return
			}
			b.record(fmt.Sprintf("a JavaScript %s dialog opened: %q", ev.Type, ev.Message))
			chromedp.Call(ctx, page.HandleJavaScriptDialog, page.HandleJavaScriptDialogParams{Accept: false})
		}
	}()
	return b
}

func (b *browser) record(s string) {
	b.mu.Lock()
	b.problems = append(b.problems, s)
	b.mu.Unlock()
}

// check fails the test on every recorded problem.
func (b *browser) check(t testing.TB) {
	t.Helper()
	b.mu.Lock()
	defer b.mu.Unlock()
	for _, p := range b.problems {
		t.Error(p)
	}
	b.problems = nil
}

// do runs actions with a deadline.
func (b *browser) do(t testing.TB, what string, actions ...chromedp.Action[chromedp.Void]) {
	t.Helper()
	ctx, cancel := context.WithTimeout(b.ctx, 20*time.Second)
	defer cancel()
	if err := chromedp.Do(ctx, actions...); err != nil {
		loc, _ := chromedp.Run(b.ctx, chromedp.Location())
		t.Fatalf("%s: %v (at %s)", what, err, loc)
	}
}

// eval evaluates a JavaScript expression (promises awaited).
func eval[T any](t testing.TB, b *browser, expr string) T {
	t.Helper()
	ctx, cancel := context.WithTimeout(b.ctx, 20*time.Second)
	defer cancel()
	v, err := chromedp.Run(ctx, chromedp.Evaluate[T](expr, chromedp.EvalAwaitPromise))
	if err != nil {
		t.Fatalf("evaluating %s: %v", expr, err)
	}
	return v
}

// waitFor polls a JavaScript predicate until it is truthy.
func (b *browser) waitFor(t testing.TB, what, predicate string) {
	t.Helper()
	ctx, cancel := context.WithTimeout(b.ctx, 20*time.Second)
	defer cancel()
	if _, err := chromedp.Run(ctx, chromedp.Poll[chromedp.Void](predicate, chromedp.WithPollingInterval(10*time.Millisecond))); err != nil {
		loc, _ := chromedp.Run(b.ctx, chromedp.Location())
		if errors.Is(err, context.DeadlineExceeded) {
			t.Fatalf("waiting for %s: timed out (at %s)", what, loc)
		}
		t.Fatalf("waiting for %s: %v (at %s)", what, err, loc)
	}
}

// login logs in through the login form.
func (b *browser) login(t testing.TB, base, user, password string) {
	t.Helper()
	b.do(t, "open the dashboard", chromedp.Navigate(base+"/"))
	b.waitFor(t, "the login form", `document.querySelector('#login') !== null && location.pathname === '/dashboard/login'`)
	b.do(t, "log in",
		chromedp.SendKeys(chromedp.CSS(`#login input[name=username]`), user),
		chromedp.SendKeys(chromedp.CSS(`#login input[name=password]`), password),
		chromedp.Click(chromedp.CSS(`#login button[type=submit]`)))
	b.waitFor(t, "the overview after login", `document.querySelector('header.top') !== null && location.pathname === '/dashboard/'`)
}

// clientsTable waits until the clients table of the page at path (with
// its query) is drawn and returns its client ids and the total shown.
func (b *browser) clientsTable(t testing.TB, path string) ([]string, string) {
	t.Helper()
	b.waitFor(t, "the clients table of "+path, fmt.Sprintf(
		`location.pathname + location.search === %q && document.querySelector('#clients') && document.querySelector('#clients').dataset.renderMs !== undefined`, path))
	type table struct {
		IDs   []string `json:"ids"`
		Total string   `json:"total"`
	}
	v := eval[table](t, b, `({ids: [...document.querySelectorAll('#clients tbody tr[data-clientid]')].map((tr) => tr.dataset.clientid),
		total: document.getElementById('total').textContent})`)
	return v.IDs, v.Total
}

func contextTimeout(d time.Duration) (context.Context, context.CancelFunc) {
	return context.WithTimeout(context.Background(), d)
}

func mustURL(t testing.TB, s string) *url.URL {
	t.Helper()
	u, err := url.Parse(s)
	if err != nil {
		t.Fatal(err)
	}
	return u
}
