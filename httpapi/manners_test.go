package httpapi

import (
	"bytes"
	"io"
	"net/http"
	"strings"
	"testing"

	"github.com/prometheus/client_golang/prometheus"
)

// rawHeaders is raw with extra request headers.
func (e *testEnv) rawHeaders(t *testing.T, method, path, user string, hdr map[string]string) response {
	t.Helper()
	req, err := http.NewRequest(method, e.srv.URL+path, nil)
	if err != nil {
		t.Fatal(err)
	}
	if user != "" {
		k, s, _ := strings.Cut(user, ":")
		req.SetBasicAuth(k, s)
	}
	for k, v := range hdr {
		req.Header.Set(k, v)
	}
	res, err := e.srv.Client().Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	b, err := io.ReadAll(res.Body)
	if err != nil {
		t.Fatal(err)
	}
	return response{status: res.StatusCode, header: res.Header, body: b}
}

// TestHead checks that every GET route answers HEAD with the same status
// and headers and no body, for the administrator and the viewer.
func TestHead(t *testing.T) {
	e := newTestEnv(t, Config{}, testRows(5))
	e.api.EnableMetrics(prometheus.NewRegistry(), false)
	e.broker.published = append(e.broker.published, PublishRequest{Topic: "r/1", Payload: []byte("kept"), Retain: true})
	n := 0
	for _, rt := range e.api.ops.routes {
		if rt.method != http.MethodGet {
			continue
		}
		n++
		path := strings.NewReplacer("{clientid}", "c0001", "{name}", bootstrapName("admin"), "{node}", "shardmq@127.0.0.1",
			"{topic}", "r%2F1").Replace(rt.pattern)
		for _, user := range []string{adminUser, viewerUser} {
			t.Run(path+" as "+user[:strings.IndexByte(user, ':')], func(t *testing.T) {
				get := e.raw(t, "GET", path, user)
				head := e.raw(t, "HEAD", path, user)
				if head.status != get.status || len(head.body) != 0 {
					t.Fatalf("HEAD: %d with %d body bytes; GET: %d", head.status, len(head.body), get.status)
				}
				if get.status >= 400 {
					t.Fatalf("GET %s: %d %s", path, get.status, get.body)
				}
				for _, h := range []string{"Content-Type", "Content-Length", "Cache-Control"} {
					if h == "Content-Length" && rt.pattern == MetricsPath {
						continue // the metrics change between the two requests
					}
					if head.header.Get(h) != get.header.Get(h) {
						t.Errorf("%s: HEAD %q, GET %q", h, head.header.Get(h), get.header.Get(h))
					}
				}
			})
		}
	}
	if n < 10 {
		t.Fatalf("only %d GET routes", n)
	}
	// HEAD is not a way around the key.
	e.raw(t, "HEAD", "/api/v5/clients", "").wantStatus(t, http.StatusUnauthorized)
	e.raw(t, "HEAD", "/api/v5/clients", pubUser).wantStatus(t, http.StatusForbidden)
}

// wantStatus fails unless r has status.
func (r response) wantStatus(t testing.TB, status int) {
	t.Helper()
	if r.status != status {
		t.Fatalf("status %d, want %d; body %s", r.status, status, r.body)
	}
}

// TestOptions checks that OPTIONS answers 204 with Allow on every kind of
// path, without a key, and the usual errors elsewhere; with CORS off no
// Access-Control header is sent.
func TestOptions(t *testing.T) {
	e := newTestEnv(t, Config{}, testRows(3))
	for _, tc := range []struct{ path, allow string }{
		{"/api/v5/clients", "GET, HEAD, OPTIONS"},
		{"/api/v5/clients/c0001", "DELETE, GET, HEAD, OPTIONS"},
		{"/api/v5/clients/c0001/subscribe", "OPTIONS, POST"},
		{"/api/v5/publish", "OPTIONS, POST"},
		{"/status", opsAllow},
		{"/api-docs", opsAllow},
		{SwaggerPath, opsAllow},
	} {
		t.Run(tc.path, func(t *testing.T) {
			r := e.rawHeaders(t, "OPTIONS", tc.path, "", map[string]string{
				"Origin": "https://dash.example.com", "Access-Control-Request-Method": "GET"})
			r.wantStatus(t, http.StatusNoContent)
			if got := r.header.Get("Allow"); got != tc.allow {
				t.Fatalf("Allow %q, want %q", got, tc.allow)
			}
			for k := range r.header {
				if strings.HasPrefix(k, "Access-Control-") {
					t.Fatalf("CORS is off but %s is set", k)
				}
			}
		})
	}
	e.raw(t, "OPTIONS", "/api/v5/nothing", "").wantError(t, http.StatusNotFound, codeNotFound)
	r := e.raw(t, "POST", "/status", "")
	r.wantError(t, http.StatusMethodNotAllowed, codeMethodNotAllowed)
	if r.header.Get("Allow") != opsAllow {
		t.Fatalf("405 Allow %q", r.header.Get("Allow"))
	}
	if r := e.raw(t, "DELETE", "/api/v5/clients", adminUser); r.header.Get("Allow") != "GET, HEAD, OPTIONS" {
		t.Fatalf("405 Allow %q", r.header.Get("Allow"))
	}
}

// TestCORS checks preflight and Access-Control-Allow-Origin for a listed
// origin, on successes and errors alike, and nothing for another origin.
func TestCORS(t *testing.T) {
	const dash = "https://dash.example.com"
	e := newTestEnv(t, Config{CORSOrigins: []string{dash, "http://localhost:3000"}}, testRows(3))
	pre := e.rawHeaders(t, "OPTIONS", "/api/v5/clients/c0001", "", map[string]string{
		"Origin": dash, "Access-Control-Request-Method": "DELETE", "Access-Control-Request-Headers": "authorization"})
	pre.wantStatus(t, http.StatusNoContent)
	for k, want := range map[string]string{
		"Access-Control-Allow-Origin":  dash,
		"Access-Control-Allow-Methods": "DELETE, GET, HEAD, OPTIONS",
		"Access-Control-Allow-Headers": corsAllowHeaders,
		"Access-Control-Max-Age":       corsMaxAge,
		"Vary":                         "Origin",
	} {
		if got := pre.header.Get(k); got != want {
			t.Errorf("preflight %s = %q, want %q", k, got, want)
		}
	}
	if pre.header.Get("Access-Control-Allow-Credentials") != "" {
		t.Error("credentials allowed: the API takes keys in Authorization, not cookies")
	}
	for _, tc := range []struct {
		user   string
		status int
	}{{adminUser, 200}, {"", 401}, {pubUser, 403}} {
		r := e.rawHeaders(t, "GET", "/api/v5/clients", tc.user, map[string]string{"Origin": dash})
		r.wantStatus(t, tc.status)
		if r.header.Get("Access-Control-Allow-Origin") != dash {
			t.Errorf("GET as %q: Allow-Origin %q", tc.user, r.header.Get("Access-Control-Allow-Origin"))
		}
	}
	other := e.rawHeaders(t, "OPTIONS", "/api/v5/clients", "", map[string]string{
		"Origin": "https://evil.example.com", "Access-Control-Request-Method": "GET"})
	other.wantStatus(t, http.StatusNoContent)
	if other.header.Get("Access-Control-Allow-Origin") != "" || other.header.Get("Access-Control-Allow-Methods") != "" {
		t.Fatalf("unlisted origin allowed: %q", other.header)
	}

	star := newTestEnv(t, Config{CORSOrigins: []string{"*"}}, testRows(1))
	r := star.rawHeaders(t, "GET", "/status", "", map[string]string{"Origin": "https://x.example"})
	if r.header.Get("Access-Control-Allow-Origin") != "*" {
		t.Fatalf("* config: %q", r.header)
	}

	for _, bad := range []string{"dash.example.com", "https://dash.example.com/", "ftp://x", "https://u@x", ""} {
		if err := (Config{CORSOrigins: []string{bad}}).Validate(); err == nil {
			t.Errorf("CORSOrigins %q accepted", bad)
		}
	}
}

// TestSwaggerJSON checks the document at EMQX's path: the same bytes as
// /api-docs, public.
func TestSwaggerJSON(t *testing.T) {
	e := newTestEnv(t, Config{}, nil)
	a, b := e.raw(t, "GET", SwaggerPath, ""), e.raw(t, "GET", DocsPath, "")
	a.wantStatus(t, http.StatusOK)
	if !bytes.Equal(a.body, b.body) || a.header.Get("Content-Type") != "application/json" {
		t.Fatalf("swagger.json differs from /api-docs or is not JSON: %q", a.header)
	}
	fetchDoc(t, e, SwaggerPath)
}
