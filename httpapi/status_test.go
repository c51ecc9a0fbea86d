package httpapi

import (
	"net/http"
	"strings"
	"sync/atomic"
	"testing"
)

// raw sends method to an absolute path of the test server with
// optional credentials ("key:secret").
func (e *testEnv) raw(t *testing.T, method, path, user string) response {
	t.Helper()
	return e.rawHeaders(t, method, path, user, nil)
}

// TestStatus checks GET /status and {base}/status: EMQX's text, no key
// needed, 503 until ready and 200 after.
func TestStatus(t *testing.T) {
	e := newTestEnv(t, Config{Node: "shardmq@10.0.0.1"}, nil)
	var ready atomic.Bool
	e.api.SetReady(ready.Load)
	for _, path := range []string{"/status", "/api/v5/status"} {
		t.Run("path="+path, func(t *testing.T) {
			ready.Store(false)
			r := e.raw(t, "GET", path, "")
			if r.status != http.StatusServiceUnavailable || string(r.body) != "Node shardmq@10.0.0.1 is not started\nshardmq is not running" {
				t.Fatalf("not ready: %d %q", r.status, r.body)
			}
			ready.Store(true)
			r = e.raw(t, "GET", path, "")
			if r.status != http.StatusOK || string(r.body) != "Node shardmq@10.0.0.1 is started\nshardmq is running" {
				t.Fatalf("ready: %d %q", r.status, r.body)
			}
			if ct := r.header.Get("Content-Type"); !strings.HasPrefix(ct, "text/plain") {
				t.Fatalf("Content-Type %q", ct)
			}
			// A wrong key does not matter: the endpoint is public.
			if r := e.raw(t, "GET", path, "nobody:wrong"); r.status != http.StatusOK {
				t.Fatalf("with a wrong key: %d", r.status)
			}
			e.raw(t, "POST", path, "").wantError(t, http.StatusMethodNotAllowed, codeMethodNotAllowed)
		})
	}
}
