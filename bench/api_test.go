package bench

import (
	"context"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"
)

// fakeAPI serves GET /api/v5/clients with HTTP Basic auth key:secret and a
// fixed meta.count, counting the requests it answered.
func fakeAPI(t *testing.T, count int) (*httptest.Server, *atomic.Int64) {
	t.Helper()
	var served atomic.Int64
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if u, p, ok := r.BasicAuth(); !ok || u != "key" || p != "secret" {
			w.WriteHeader(http.StatusUnauthorized)
			return
		}
		if r.URL.Path != "/api/v5/clients" || r.URL.Query().Get("_limit") != "100" {
			w.WriteHeader(http.StatusNotFound)
			return
		}
		served.Add(1)
		fmt.Fprintf(w, `{"meta":{"page":1,"limit":100,"hasnext":false,"count":%d},"data":[]}`, count)
	}))
	t.Cleanup(srv.Close)
	return srv, &served
}

func TestAPIScenariosWithFakeAPI(t *testing.T) {
	path := mosquittoOrSkip(t)
	tests := []struct {
		name     string
		scenario string
		key      string
		wantErr  string
	}{
		{"under load", ScenarioAPI, "key", ""},
		{"catalog", ScenarioAPICatalog, "key", ""},
		{"under load bad key", ScenarioAPI, "wrong", "--api-key"},
		{"catalog bad key", ScenarioAPICatalog, "wrong", "--api-key"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			cfg := tinyConfig()
			cfg.CatalogRows = 30
			api, served := fakeAPI(t, cfg.CatalogRows)
			in, err := Mosquitto{Path: path}.Start(context.Background(), t.TempDir())
			if err != nil {
				t.Fatal(err)
			}
			defer in.Stop()
			in.APIAddr = strings.TrimPrefix(api.URL, "http://")
			in.APIKey, in.APISecret = tc.key, "secret"
			r := RunScenario(context.Background(), cfg, in, tc.scenario)
			if tc.wantErr != "" {
				if !strings.Contains(r.Err, tc.wantErr) {
					t.Fatalf("error %q, want it to mention %q", r.Err, tc.wantErr)
				}
				return
			}
			if r.Err != "" || r.API.Count == 0 || int64(r.API.Count) > served.Load() {
				t.Fatalf("result %+v, served %d", r, served.Load())
			}
			if tc.scenario == ScenarioAPICatalog && r.Conns != cfg.CatalogRows {
				t.Fatalf("created %d sessions, want %d", r.Conns, cfg.CatalogRows)
			}
			if tc.scenario == ScenarioAPI && r.Delivered == 0 {
				t.Fatal("API scenario carried no MQTT load")
			}
		})
	}
}
