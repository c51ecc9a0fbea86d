package httpapi

import (
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"testing"
)

// BenchmarkListClients measures GET /clients through the whole handler
// (auth, parsing, catalog query, JSON) without a network hop.
func BenchmarkListClients(b *testing.B) {
	env := newTestEnv(b, Config{}, testRows(10000))
	for _, q := range []string{
		"_page=1&_limit=100",
		"_page=1&_limit=100&username=u3&conn_state=connected",
		"_page=50&_limit=100",
		"_page=1&_limit=100&fields=clientid,username",
	} {
		b.Run(fmt.Sprintf("rows=10000/query=%s", q), func(b *testing.B) {
			req := httptest.NewRequest("GET", "/api/v5/clients?"+q, nil)
			req.SetBasicAuth("admin", "admin-secret")
			b.ReportAllocs()
			var n int
			for b.Loop() {
				w := httptest.NewRecorder()
				env.api.ServeHTTP(w, req)
				if w.Code != http.StatusOK {
					b.Fatalf("status %d %s", w.Code, w.Body)
				}
				n = w.Body.Len()
			}
			b.SetBytes(int64(n))
		})
	}
}

// BenchmarkListClientsHTTP measures the same over a real loopback socket.
func BenchmarkListClientsHTTP(b *testing.B) {
	env := newTestEnv(b, Config{}, testRows(10000))
	req, _ := http.NewRequest("GET", env.srv.URL+"/api/v5/clients?_page=1&_limit=100", nil)
	req.SetBasicAuth("admin", "admin-secret")
	c := env.srv.Client()
	b.Run("rows=10000/limit=100", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			res, err := c.Do(req)
			if err != nil {
				b.Fatal(err)
			}
			io.Copy(io.Discard, res.Body)
			res.Body.Close()
			if res.StatusCode != http.StatusOK {
				b.Fatalf("status %d", res.StatusCode)
			}
		}
	})
}

func BenchmarkAppendClient(b *testing.B) {
	rows := testRows(100)
	buf := make([]byte, 0, 256<<10)
	b.Run("rows=100/fields=all", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			buf = buf[:0]
			for i := range rows {
				buf = appendClient(buf, &rows[i], nil)
			}
		}
		b.SetBytes(int64(len(buf)))
	})
}

func BenchmarkParseClientsQuery(b *testing.B) {
	b.ReportAllocs()
	for b.Loop() {
		if _, e := parseClientsQuery("_page=1&_limit=100&username=u3&conn_state=connected&_gte_created_at=1694770580"); e != nil {
			b.Fatal(e.message)
		}
	}
}
