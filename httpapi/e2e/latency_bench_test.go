package e2e

import (
	"fmt"
	"io"
	"net/http"
	"os"
	"slices"
	"strconv"
	"testing"
	"time"

	"github.com/shardmq/shardmq/shards"
)

// BenchmarkListRealClients measures GET /clients?_page=1&_limit=100 over
// HTTP with real connected MQTT clients (SHARDMQ_BENCH_CLIENTS, default
// 1,000), and reports p50 and p99 besides the mean. The clients' ends of the
// connections live in holder processes of at most 9,000 clients, so that
// 10,000 clients fit the per-process limit of 20,000 open files.
func BenchmarkListRealClients(b *testing.B) {
	n := 1000
	if v := os.Getenv("SHARDMQ_BENCH_CLIENTS"); v != "" {
		var err error
		if n, err = strconv.Atoi(v); err != nil || n < 1 {
			b.Fatalf("SHARDMQ_BENCH_CLIENTS=%q", v)
		}
	}
	e := start(b, shards.Config{})
	connectElsewhere(b, e.mqttAddr, "c", n, 9000)
	waitFor(b, "every client listed", func() bool { return e.list(b, "_limit=1").Meta.Count == n })
	req, err := http.NewRequest("GET", e.api.URL+"/api/v5/clients?_page=1&_limit=100", nil)
	if err != nil {
		b.Fatal(err)
	}
	req.SetBasicAuth(adminKey, adminSecret)
	client := e.api.Client()
	b.Run(fmt.Sprintf("clients=%d/limit=100", n), func(b *testing.B) {
		b.ReportAllocs()
		var lat []time.Duration
		for b.Loop() {
			t0 := time.Now()
			res, err := client.Do(req)
			if err != nil {
				b.Fatal(err)
			}
			io.Copy(io.Discard, res.Body)
			res.Body.Close()
			if res.StatusCode != http.StatusOK {
				b.Fatalf("status %d", res.StatusCode)
			}
			lat = append(lat, time.Since(t0))
		}
		slices.Sort(lat)
		b.ReportMetric(float64(lat[len(lat)/2].Nanoseconds()), "p50-ns")
		b.ReportMetric(float64(lat[min(len(lat)-1, len(lat)*99/100)].Nanoseconds()), "p99-ns")
	})
}
