package main

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/eclipse/paho.golang/paho"
	"github.com/shardmq/shardmq/catalog"
	"github.com/shardmq/shardmq/cmd/shardmq/wire"
	"github.com/shardmq/shardmq/httpapi"
	"github.com/shardmq/shardmq/netio"
	"github.com/shardmq/shardmq/shards"
)

// opsBroker is a broker binary started for an operability test.
type opsBroker struct {
	cmd       *exec.Cmd
	mqtt, api string
	logPath   string
	cred      string // key:secret printed at the first start
	exited    chan struct{}
}

// startOps starts bin with free MQTT and API ports, a fresh data
// directory and args, and waits until GET /status answers 200. The caller
// stops it (stopOps) or the cleanup kills it.
func startOps(t *testing.T, bin string, args ...string) *opsBroker {
	t.Helper()
	b := &opsBroker{mqtt: freePort(t), api: freePort(t)}
	dir := t.TempDir()
	b.logPath = filepath.Join(dir, "broker.log")
	f, err := os.Create(b.logPath)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { f.Close() })
	b.cmd = exec.Command(bin, append([]string{"--mqtt-addr", b.mqtt, "--api-addr", b.api,
		"--data-dir", filepath.Join(dir, "data"), "--stats-interval", "100ms"}, args...)...)
	b.cmd.Env = shardmqEnv()
	b.cmd.Stdout, b.cmd.Stderr = f, f
	if err := b.cmd.Start(); err != nil {
		t.Fatal(err)
	}
	b.exited = make(chan struct{})
	go func() { _ = b.cmd.Wait(); close(b.exited) }()
	t.Cleanup(func() {
		select {
		case <-b.exited:
		default:
			_ = b.cmd.Process.Kill()
			<-b.exited
		}
	})
	waitUntil(t, "GET /status 200", func() bool {
		code, _ := httpGet(b.url("/status"), "")
		return code == http.StatusOK
	})
	log, _ := os.ReadFile(b.logPath)
	if m := regexp.MustCompile(`API key: ([^ ]+:[^ ]+) `).FindSubmatch(log); m != nil {
		b.cred = string(m[1])
	}
	return b
}

func (b *opsBroker) url(path string) string { return "http://" + b.api + path }

// stop sends SIGTERM and returns the exit code.
func (b *opsBroker) stop(t *testing.T) int {
	t.Helper()
	if err := b.cmd.Process.Signal(os.Interrupt); err != nil {
		t.Fatal(err)
	}
	return b.wait(t)
}

// wait waits for the broker to exit, failing the test after 20 s, and
// returns the exit code.
func (b *opsBroker) wait(t *testing.T) int {
	t.Helper()
	select {
	case <-b.exited:
	case <-time.After(20 * time.Second):
		t.Fatal("the broker did not exit within 20 s of SIGTERM")
	}
	return b.cmd.ProcessState.ExitCode()
}

// waitUntil polls cond every 20 ms, failing the test after 15 s.
func waitUntil(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(15 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// httpGet returns the status and body of GET url as user ("key:secret" or
// ""); status 0 when the request failed.
func httpGet(url, user string) (int, string) {
	req, err := http.NewRequest("GET", url, nil)
	if err != nil {
		return 0, err.Error()
	}
	if k, s, ok := strings.Cut(user, ":"); ok {
		req.SetBasicAuth(k, s)
	}
	c := &http.Client{Timeout: 5 * time.Second}
	res, err := c.Do(req)
	if err != nil {
		return 0, err.Error()
	}
	defer res.Body.Close()
	body, _ := io.ReadAll(res.Body)
	return res.StatusCode, string(body)
}

// metricValue returns the value of the sample named exactly series (name
// and labels as Prometheus prints them) in a /metrics body, or -1.
func metricValue(body, series string) float64 {
	for _, line := range strings.Split(body, "\n") {
		if v, ok := strings.CutPrefix(line, series+" "); ok {
			f, err := strconv.ParseFloat(v, 64)
			if err == nil {
				return f
			}
		}
	}
	return -1
}

// pahoV5 connects a paho.golang client; onDisconnect (may be nil) gets
// the server's DISCONNECT.
func pahoV5(t *testing.T, addr, id string, onDisconnect func(*paho.Disconnect)) *paho.Client {
	t.Helper()
	conn, err := net.Dial("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	c := paho.NewClient(paho.ClientConfig{ClientID: id, Conn: conn, OnServerDisconnect: onDisconnect,
		OnClientError: func(error) {}})
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	ack, err := c.Connect(ctx, &paho.Connect{ClientID: id, CleanStart: true, KeepAlive: 30})
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

// TestMetricsBinary drives a real broker with paho clients and reads
// /metrics, /stats, /status and /api-docs as an operator would.
func TestMetricsBinary(t *testing.T) {
	_, bin := buildBroker(t)
	acl := filepath.Join(t.TempDir(), "acl")
	if err := os.WriteFile(acl, []byte("deny all publish forbidden/#\nallow all all #\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	b := startOps(t, bin, "--acl-file", acl)
	if b.cred == "" {
		t.Fatal("no API key line in the log")
	}

	got := make(chan string, 16)
	sub := pahoV5(t, b.mqtt, "m-sub", nil)
	sub.AddOnPublishReceived(func(pr paho.PublishReceived) (bool, error) {
		got <- string(pr.Packet.Payload)
		return true, nil
	})
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if _, err := sub.Subscribe(ctx, &paho.Subscribe{Subscriptions: []paho.SubscribeOptions{{Topic: "m/#", QoS: 2}}}); err != nil {
		t.Fatal(err)
	}
	pub := pahoV5(t, b.mqtt, "m-pub", nil)
	for qos := byte(0); qos <= 2; qos++ {
		if _, err := pub.Publish(ctx, &paho.Publish{Topic: "m/q", QoS: qos, Payload: []byte{'0' + qos}}); err != nil {
			t.Fatal(err)
		}
		if p := <-got; p != string([]byte{'0' + qos}) {
			t.Fatalf("got %q", p)
		}
	}
	if _, err := pub.Publish(ctx, &paho.Publish{Topic: "m/kept", QoS: 1, Retain: true, Payload: []byte("r")}); err != nil {
		t.Fatal(err)
	}
	<-got
	// Refused by the ACL: MQTT 5 gets 0x87 in the PUBACK.
	if res, err := pub.Publish(ctx, &paho.Publish{Topic: "forbidden/x", QoS: 1, Payload: []byte("no")}); err == nil && res.ReasonCode != 0x87 {
		t.Fatalf("forbidden publish: %+v", res)
	}
	if code, body := httpGet(b.url("/api/v5/clients"), b.cred); code != 200 {
		t.Fatalf("GET /clients: %d %s", code, body)
	}

	start := time.Now()
	want := map[string]float64{
		`shardmq_messages_received_total{qos="0"}`:                      1,
		`shardmq_messages_received_total{qos="1"}`:                      3, // the denied one too
		`shardmq_messages_received_total{qos="2"}`:                      1,
		`shardmq_messages_sent_total{qos="0"}`:                          1,
		`shardmq_messages_sent_total{qos="1"}`:                          2,
		`shardmq_messages_sent_total{qos="2"}`:                          1,
		`shardmq_messages_dropped_total{direction="in",reason="other"}`: 1,
		`shardmq_acl_denied_total{action="publish"}`:                    1,
		`shardmq_authentications_total{result="anonymous"}`:             2,
		`shardmq_live_connections`:                                      2,
		`shardmq_connections`:                                           2,
		`shardmq_sessions`:                                              2,
		`shardmq_subscriptions`:                                         1,
		`shardmq_retained_messages`:                                     1,
		`shardmq_catalog_rows`:                                          2,
		`shardmq_inflight_messages`:                                     0,
		`shardmq_api_request_duration_seconds_count{code="200",method="GET",route="/api/v5/clients"}`: 1,
	}
	var body string
	var off []string
	waitUntil(t, "metrics to show the traffic", func() bool {
		_, body = httpGet(b.url("/metrics"), "")
		off = off[:0]
		for k, v := range want {
			if got := metricValue(body, k); got != v {
				off = append(off, fmt.Sprintf("%s = %v, want %v", k, got, v))
			}
		}
		if len(off) > 0 && time.Since(start) > 10*time.Second {
			t.Fatalf("metrics:\n%s", strings.Join(off, "\n"))
		}
		return len(off) == 0
	})
	for _, name := range []string{"shardmq_received_bytes_total", "shardmq_sent_bytes_total", "shardmq_packets_received_total",
		"shardmq_catalog_snapshot_duration_seconds", "shardmq_catalog_staleness_seconds", "go_goroutines", "process_resident_memory_bytes",
		"shardmq_memory_releases_total", "shardmq_memory_release_seconds_total", "shardmq_memory_released_bytes_total"} {
		if metricValue(body, name) < 0 {
			t.Errorf("no %s in /metrics", name)
		}
	}
	if metricValue(body, "shardmq_received_bytes_total") <= 0 || metricValue(body, "shardmq_sent_bytes_total") <= 0 {
		t.Errorf("byte counters stayed at zero")
	}

	// GET /stats reports high-water marks, not the current values twice.
	pub.Disconnect(&paho.Disconnect{})
	var stats []map[string]any
	waitUntil(t, "the publisher's session to end", func() bool {
		code, s := httpGet(b.url("/api/v5/stats"), b.cred)
		stats = nil
		return code == 200 && json.Unmarshal([]byte(s), &stats) == nil && len(stats) == 1 && stats[0]["sessions.count"] == 1.0
	})
	for k, v := range map[string]float64{"sessions.max": 2, "connections.count": 1, "connections.max": 2,
		"live_connections.count": 1, "live_connections.max": 2, "retained.count": 1, "retained.max": 1,
		"subscriptions.count": 1, "subscriptions.max": 1} {
		if stats[0][k] != v {
			t.Errorf("stats %s = %v, want %v (%v)", k, stats[0][k], v, stats[0])
		}
	}

	if code, doc := httpGet(b.url("/api-docs"), ""); code != 200 || !strings.Contains(doc, `"openapi": "3.0.3"`) {
		t.Errorf("GET /api-docs: %d %.200s", code, doc)
	}
	if code := b.stop(t); code != 0 {
		log, _ := os.ReadFile(b.logPath)
		t.Fatalf("exit code %d\n%s", code, log)
	}
	log, _ := os.ReadFile(b.logPath)
	for _, line := range []string{"metrics on http://" + b.api + "/metrics", "API document on http://" + b.api + "/api-docs",
		"status on http://" + b.api + "/status", "MQTT on " + b.mqtt} {
		if !strings.Contains(string(log), line) {
			t.Errorf("the log lacks %q:\n%s", line, log)
		}
	}
}

// TestMetricsAuthBinary checks --metrics-auth: /metrics needs a key, the
// status and the document do not.
func TestMetricsAuthBinary(t *testing.T) {
	_, bin := buildBroker(t)
	b := startOps(t, bin, "--metrics-auth=true")
	if code, _ := httpGet(b.url("/metrics"), ""); code != http.StatusUnauthorized {
		t.Fatalf("without a key: %d", code)
	}
	if code, _ := httpGet(b.url("/metrics"), b.cred); code != http.StatusOK {
		t.Fatalf("with the key: %d", code)
	}
	if code, _ := httpGet(b.url("/api-docs"), ""); code != http.StatusOK {
		t.Fatalf("/api-docs: %d", code)
	}
	if code := b.stop(t); code != 0 {
		t.Fatalf("exit code %d", code)
	}
}

// TestReadiness checks what configureOps gives GET /status: 503 while the
// readiness it is handed says no (before start completed, from the stop
// on), 200 while it says yes; and that /metrics answers before the MQTT
// server started.
func TestReadiness(t *testing.T) {
	b, err := shards.New(shards.Config{})
	if err != nil {
		t.Fatal(err)
	}
	cat, err := catalog.New(catalog.Config{})
	if err != nil {
		t.Fatal(err)
	}
	defer cat.Close()
	keys := httpapi.NewKeyStore()
	if err := keys.Add("k", "s", httpapi.RoleAdministrator); err != nil {
		t.Fatal(err)
	}
	api, err := httpapi.New(httpapi.Config{}, cat, wire.Broker{Broker: b}, keys)
	if err != nil {
		t.Fatal(err)
	}
	srv, err := netio.New(netio.Config{Listeners: []netio.Listener{{Addr: "127.0.0.1:0"}}, Loops: 1}, b) // never started
	if err != nil {
		t.Fatal(err)
	}
	var ready atomic.Bool
	configureOps(api, b, cat, opsSources{server: srv, memory: &memoryStats{}, ready: ready.Load}, false)
	hs := httptest.NewServer(api)
	defer hs.Close()
	for _, tc := range []struct {
		ready bool
		want  int
	}{{false, http.StatusServiceUnavailable}, {true, http.StatusOK}, {false, http.StatusServiceUnavailable}} {
		ready.Store(tc.ready)
		if code, _ := httpGet(hs.URL+"/status", ""); code != tc.want {
			t.Fatalf("ready %v: GET /status %d, want %d", tc.ready, code, tc.want)
		}
	}
	if code, body := httpGet(hs.URL+"/metrics", ""); code != http.StatusOK || metricValue(body, "shardmq_connections") != 0 {
		t.Fatalf("GET /metrics: %d\n%s", code, body)
	}
}
