package httpapi

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/shardmq/shardmq/catalog"
)

// Test credentials, one per role.
const (
	adminUser  = "admin:admin-secret"
	viewerUser = "viewer:viewer-secret"
	pubUser    = "pub:pub-secret"
)

// baseTime is the created_at of the first test row: 2023-09-15T09:36:20.871Z.
const baseTime = int64(1694770580871)

// testRows returns n clients with varied fields: ids c0000.., usernames
// u0..u6, zones, addresses, states, protocol versions, one second between
// creation times, and counters derived from the index.
func testRows(n int) []catalog.Row {
	rows := make([]catalog.Row, n)
	for i := range rows {
		r := &rows[i]
		r.Node = "test@node"
		r.ClientID = fmt.Sprintf("c%04d", i)
		if i%10 != 9 {
			r.Username = fmt.Sprintf("u%d", i%7)
		}
		r.ProtoName = "MQTT"
		r.ProtoVer = int64(3 + i%3)
		r.IPAddress = fmt.Sprintf("10.0.%d.%d", i/250, i%250)
		if i%11 == 0 {
			r.IPAddress = "2001:db8::1"
		}
		r.Port = int64(10000 + i)
		r.Listener = "tcp:default"
		r.EnableAuthn = true
		r.Zone = []string{"default", "zone_a", "zone_b"}[i%3]
		r.CreatedAt = baseTime + int64(i)*1000
		r.ConnectedAt = r.CreatedAt + 10
		r.Keepalive = 60
		r.CleanStart = i%2 == 0
		r.IsPersistent = !r.CleanStart
		switch {
		case i%5 == 4 && !r.CleanStart:
			r.ConnState = catalog.Disconnected
			d := r.ConnectedAt + 500
			r.DisconnectedAt = &d
			r.ExpiryInterval = 7200
		case i%13 == 12:
			r.ConnState = catalog.Idle
		default:
			r.ConnState = catalog.Connected
			r.Connected = true
		}
		if i%17 == 0 {
			sni := "sni.example.com"
			r.PeerSNI = &sni
		}
		r.SubscriptionsMax, r.InflightMax, r.MqueueMax, r.AwaitingRelMax = 10, 32, 1000, 100
		r.MqueueLen = int64(i % 4)
		r.RecvOct = int64((i * 7919) % 1000)
		r.RecvMsg, r.RecvMsgQoS1 = int64(i%9), int64(i%9)
		r.SendOct = int64(i)
	}
	return rows
}

// testEnv is an API over a real catalog and a fake broker behind an
// httptest server.
type testEnv struct {
	srv    *httptest.Server
	cat    *catalog.Catalog
	broker *fakeBroker
	rows   []catalog.Row
	api    *API
}

func newTestEnv(t testing.TB, cfg Config, rows []catalog.Row) *testEnv {
	t.Helper()
	cat, err := catalog.New(catalog.Config{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { cat.Close() })
	cat.Upsert(rows)
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	if err := cat.Flush(ctx); err != nil {
		t.Fatal(err)
	}
	keys := NewKeyStore()
	for _, line := range []struct {
		creds string
		role  Role
	}{{adminUser, RoleAdministrator}, {viewerUser, RoleViewer}, {pubUser, RolePublisher}} {
		k, s, _ := strings.Cut(line.creds, ":")
		if err := keys.Add(k, s, line.role); err != nil {
			t.Fatal(err)
		}
	}
	b := newFakeBroker(cat, rows)
	t.Cleanup(func() {
		b.mu.Lock()
		defer b.mu.Unlock()
		select {
		case <-b.release:
		default:
			close(b.release)
		}
	})
	if cfg.Logger == nil {
		cfg.Logger = discardLogger()
	}
	api, err := New(cfg, cat, b, keys)
	if err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewServer(api)
	t.Cleanup(srv.Close)
	return &testEnv{srv: srv, cat: cat, broker: b, rows: rows, api: api}
}

// flush waits until the catalog shows every change handed to it.
func (e *testEnv) flush(t testing.TB) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	if err := e.cat.Flush(ctx); err != nil {
		t.Fatal(err)
	}
}

// response is what a test request got back.
type response struct {
	status int
	header http.Header
	body   []byte
}

// do sends a request as user ("key:secret", or "" for none) with body (nil
// for none) to path under the API base.
func (e *testEnv) do(t testing.TB, method, path, user string, body any) response {
	t.Helper()
	r, err := e.doErr(method, path, user, body)
	if err != nil {
		t.Fatal(err)
	}
	return r
}

// doErr is do for goroutines other than the test's: it returns failures.
func (e *testEnv) doErr(method, path, user string, body any) (response, error) {
	var rd io.Reader
	switch b := body.(type) {
	case nil:
	case string:
		rd = strings.NewReader(b)
	case []byte:
		rd = strings.NewReader(string(b))
	default:
		j, err := json.Marshal(b)
		if err != nil {
			return response{}, err
		}
		rd = strings.NewReader(string(j))
	}
	req, err := http.NewRequest(method, e.srv.URL+"/api/v5"+path, rd)
	if err != nil {
		return response{}, err
	}
	if rd != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	if user != "" {
		k, s, _ := strings.Cut(user, ":")
		req.SetBasicAuth(k, s)
	}
	res, err := e.srv.Client().Do(req)
	if err != nil {
		return response{}, err
	}
	defer res.Body.Close()
	b, err := io.ReadAll(res.Body)
	if err != nil {
		return response{}, err
	}
	return response{status: res.StatusCode, header: res.Header, body: b}, nil
}

// decode unmarshals the response body into v.
func (r response) decode(t testing.TB, v any) {
	t.Helper()
	if err := json.Unmarshal(r.body, v); err != nil {
		t.Fatalf("status %d body %q: %v", r.status, r.body, err)
	}
}

// wantError checks an error response: status, JSON {"code","message"}
// with exactly those keys, and the code.
func (r response) wantError(t testing.TB, status int, code string) string {
	t.Helper()
	if r.status != status {
		t.Fatalf("status %d, want %d; body %s", r.status, status, r.body)
	}
	if ct := r.header.Get("Content-Type"); ct != "application/json" {
		t.Fatalf("Content-Type %q", ct)
	}
	var m map[string]any
	r.decode(t, &m)
	if len(m) != 2 || m["code"] != code {
		t.Fatalf("body %s, want {code: %s, message}", r.body, code)
	}
	msg, ok := m["message"].(string)
	if !ok || msg == "" {
		t.Fatalf("body %s: message missing", r.body)
	}
	return msg
}

// listPage is the decoded GET /clients response.
type listPage struct {
	Meta struct {
		Page    int    `json:"page"`
		Limit   int    `json:"limit"`
		HasNext bool   `json:"hasnext"`
		Count   int    `json:"count"`
		Cursor  string `json:"cursor"`
	} `json:"meta"`
	Data []map[string]any `json:"data"`
}

// list calls GET /clients?query as the administrator and decodes the page.
func (e *testEnv) list(t testing.TB, query string) listPage {
	t.Helper()
	r := e.do(t, "GET", "/clients?"+query, adminUser, nil)
	if r.status != http.StatusOK {
		t.Fatalf("GET /clients?%s: %d %s", query, r.status, r.body)
	}
	var p listPage
	r.decode(t, &p)
	return p
}

// ids returns the client ids of a page's rows.
func (p listPage) ids() []string {
	out := make([]string, len(p.Data))
	for i, d := range p.Data {
		out[i], _ = d["clientid"].(string)
	}
	return out
}

func discardLogger() *slog.Logger { return slog.New(slog.NewTextHandler(io.Discard, nil)) }

// The catalog is the API's Lister.
var _ Lister = (*catalog.Catalog)(nil)
