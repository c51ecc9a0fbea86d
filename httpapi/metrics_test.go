package httpapi

import (
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/prometheus/client_golang/prometheus"
)

// TestMetrics checks /metrics: Prometheus' text format, the request
// histogram labelled by route pattern (not the raw path), and the
// optional API key.
func TestMetrics(t *testing.T) {
	t.Run("public", func(t *testing.T) {
		e := newTestEnv(t, Config{}, testRows(3))
		reg := prometheus.NewRegistry()
		reg.MustRegister(e.api.Collector())
		e.api.EnableMetrics(reg, false)
		if r := e.do(t, "GET", "/clients/c0001", adminUser, nil); r.status != http.StatusOK {
			t.Fatalf("GET client: %d %s", r.status, r.body)
		}
		e.do(t, "GET", "/clients/nobody", adminUser, nil).wantError(t, http.StatusNotFound, codeClientNotFound)
		r := e.raw(t, "GET", "/metrics", "")
		if r.status != http.StatusOK {
			t.Fatalf("GET /metrics: %d %s", r.status, r.body)
		}
		body := string(r.body)
		for _, want := range []string{
			`shardmq_api_request_duration_seconds_count{code="200",method="GET",route="/api/v5/clients/{clientid}"} 1`,
			`shardmq_api_request_duration_seconds_count{code="404",method="GET",route="/api/v5/clients/{clientid}"} 1`,
			`shardmq_api_request_duration_seconds_bucket{code="200",method="GET",route="/api/v5/clients/{clientid}",le="+Inf"} 1`,
		} {
			if !strings.Contains(body, want) {
				t.Errorf("metrics lack %s\n%s", want, body)
			}
		}
		if strings.Contains(body, "c0001") || strings.Contains(body, "nobody") {
			t.Errorf("a raw path leaked into the labels:\n%s", body)
		}
	})
	t.Run("key required", func(t *testing.T) {
		e := newTestEnv(t, Config{}, nil)
		reg := prometheus.NewRegistry()
		reg.MustRegister(e.api.Collector())
		e.api.EnableMetrics(reg, true)
		e.raw(t, "GET", "/metrics", "").wantError(t, http.StatusUnauthorized, codeBadKey)
		e.raw(t, "GET", "/metrics", "admin:wrong").wantError(t, http.StatusUnauthorized, codeBadKey)
		e.raw(t, "GET", "/metrics", pubUser).wantError(t, http.StatusForbidden, codeUnauthorizedRole)
		for _, user := range []string{adminUser, viewerUser} {
			if r := e.raw(t, "GET", "/metrics", user); r.status != http.StatusOK {
				t.Fatalf("%s: %d %s", user, r.status, r.body)
			}
		}
	})
	t.Run("not enabled", func(t *testing.T) {
		e := newTestEnv(t, Config{}, nil)
		// Without EnableMetrics /metrics is an ordinary unknown path.
		e.raw(t, "GET", "/metrics", adminUser).wantError(t, http.StatusNotFound, codeNotFound)
	})
}

// BenchmarkInstrumentedRequest measures a whole request through ServeHTTP
// (key check, routing, the latency histogram, a live client read from the
// fake broker) and the /metrics-free /status path, in process.
func BenchmarkInstrumentedRequest(b *testing.B) {
	e := newTestEnv(b, Config{}, testRows(3))
	for _, tc := range []struct{ name, path string }{
		{"route=client", "/api/v5/clients/c0001"},
		{"route=status", "/status"},
	} {
		b.Run(tc.name, func(b *testing.B) {
			req := httptest.NewRequest("GET", tc.path, nil)
			req.SetBasicAuth("admin", "admin-secret")
			b.ReportAllocs()
			for i := 0; i < b.N; i++ {
				w := httptest.NewRecorder()
				e.api.ServeHTTP(w, req)
				if w.Code != http.StatusOK {
					b.Fatalf("status %d", w.Code)
				}
			}
		})
	}
}
