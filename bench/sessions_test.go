package bench

import (
	"context"
	"fmt"
	"net"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/shardmq/shardmq/mqtt"
)

// builtBrokers caches the brokers testBroker built, by name, for the test
// binary's life (the binaries sit in testBins).
var (
	builtMu      sync.Mutex
	builtBrokers = map[string]Broker{}
)

// testBroker returns the named broker built from this repository, or
// skips the test when it cannot be had here (no go tool, mosquitto or
// aedes not installed).
func testBroker(t *testing.T, name string) Broker {
	t.Helper()
	builtMu.Lock()
	defer builtMu.Unlock()
	if b, ok := builtBrokers[name]; ok {
		return b
	}
	if name == BrokerMosquitto {
		return Mosquitto{Path: mosquittoOrSkip(t)}
	}
	if !haveGo() {
		t.Skip("go tool not in PATH")
	}
	repo, err := findRepo("")
	if err != nil {
		t.Skip(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	b, err := buildFromRepo(ctx, Config{}, name, repo, testBinDir(t), nil)
	if name == BrokerAedes && err != nil {
		t.Skip(err)
	}
	if err != nil {
		t.Fatal(err)
	}
	builtBrokers[name] = b
	return b
}

// startTest starts a fresh instance of b and stops it when the test ends.
func startTest(t *testing.T, b Broker) *Instance {
	t.Helper()
	in, err := b.Start(context.Background(), t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = in.Stop() })
	return in
}

// TestSessionsOnBrokers runs a tiny sessions scenario (300 sessions over
// two worker processes) on every broker that can be had here.
func TestSessionsOnBrokers(t *testing.T) {
	for _, name := range knownBrokers {
		t.Run("broker="+name, func(t *testing.T) {
			cfg := tinyConfig()
			cfg.Sessions, cfg.SessionProcesses, cfg.SessionTimeout = 300, 2, 30*time.Second
			in := startTest(t, testBroker(t, name))
			r := RunScenario(context.Background(), cfg, in, ScenarioSessions)
			if r.Err != "" || r.Skipped != "" {
				t.Fatalf("error %q skipped %q", r.Err, r.Skipped)
			}
			if r.Sessions != cfg.Sessions || r.CreateRate <= 0 || r.ResumeRate <= 0 || r.RSS <= 0 || r.PeakRSS < r.RSS {
				t.Fatalf("result %+v", r)
			}
			t.Logf("%s: %d sessions, create %.0f/s, resume %.0f/s, %.0f B/offline session",
				name, r.Sessions, r.CreateRate, r.ResumeRate, r.BytesPerSession)
		})
	}
}

// fakeBroker accepts MQTT connections on 127.0.0.1 and answers CONNECT
// with CONNACK (session present as given) and SUBSCRIBE with SUBACK QoS 1;
// it closes a connection on DISCONNECT. It counts the CONNECTs it saw
// with a user name.
type fakeBroker struct {
	ln             net.Listener
	sessionPresent bool
	wg             sync.WaitGroup

	// mu guards the following fields.
	mu        sync.Mutex
	usernames map[string]int
	clientIDs []string
	filters   []string
}

// newFakeBroker starts a fakeBroker and stops it when the test ends.
func newFakeBroker(t *testing.T, sessionPresent bool) *fakeBroker {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	f := &fakeBroker{ln: ln, sessionPresent: sessionPresent, usernames: map[string]int{}}
	f.wg.Add(1)
	go f.accept()
	t.Cleanup(func() { ln.Close(); f.wg.Wait() })
	return f
}

// accept runs on its own goroutine until the listener closes.
func (f *fakeBroker) accept() {
	defer f.wg.Done()
	for {
		nc, err := f.ln.Accept()
		if err != nil {
			return
		}
		f.wg.Add(1)
		go f.serve(nc)
	}
}

// serve answers one connection until it ends.
func (f *fakeBroker) serve(nc net.Conn) {
	defer f.wg.Done()
	defer nc.Close()
	c := newClient(nc, mqtt.V311)
	for {
		h, body, err := c.readFrame()
		if err != nil {
			return
		}
		switch h.Type {
		case mqtt.TypeConnect:
			var p mqtt.Connect
			if p.Decode(h, body) != nil {
				return
			}
			f.mu.Lock()
			f.usernames[string(p.Username)]++
			f.clientIDs = append(f.clientIDs, string(p.ClientID))
			f.mu.Unlock()
			ack := mqtt.Connack{SessionPresent: f.sessionPresent}
			_, _ = nc.Write(mqtt.AppendConnack(nil, &ack, mqtt.V311))
		case mqtt.TypeSubscribe:
			var p mqtt.Subscribe
			if p.Decode(h, body, mqtt.V311) != nil || len(p.Subscriptions) != 1 {
				return
			}
			f.mu.Lock()
			f.filters = append(f.filters, string(p.Subscriptions[0].Filter))
			f.mu.Unlock()
			_, _ = nc.Write([]byte{0x90, 3, body[0], body[1], 1}) // SUBACK, granted QoS 1
		case mqtt.TypeDisconnect:
			return
		}
	}
}

// TestSessionsChecks checks what the sessions scenario reports of a broker
// that keeps no session, and that it logs in with the configured user.
func TestSessionsChecks(t *testing.T) {
	tests := []struct {
		name           string
		sessionPresent bool
		username       string
		wantErr        string
		wantUser       string
	}{
		{"sessions kept", true, "", "", "bench"},
		{"sessions kept, own user", true, "device", "", "device"},
		{"sessions lost", false, "", "20 of 20 resumed sessions were gone", "bench"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			f := newFakeBroker(t, tc.sessionPresent)
			cfg := tinyConfig()
			cfg.Sessions, cfg.SessionProcesses, cfg.Username = 20, 1, tc.username
			r := RunScenario(context.Background(), cfg, &Instance{Addr: f.ln.Addr().String()}, ScenarioSessions)
			if !strings.Contains(r.Err, tc.wantErr) || (tc.wantErr == "") != (r.Err == "") {
				t.Fatalf("error %q, want %q", r.Err, tc.wantErr)
			}
			if r.Sessions != 20 || r.CreateRate <= 0 {
				t.Fatalf("result %+v", r)
			}
			f.mu.Lock()
			defer f.mu.Unlock()
			if f.usernames[tc.wantUser] != 40 {
				t.Fatalf("CONNECTs by user %v, want 40 by %q", f.usernames, tc.wantUser)
			}
		})
	}
}

// TestSessionsPrefixes checks that the sessions scenario names its clients
// and filters after ClientPrefix and TopicPrefix.
func TestSessionsPrefixes(t *testing.T) {
	f := newFakeBroker(t, true)
	cfg := tinyConfig()
	cfg.Sessions, cfg.SessionProcesses, cfg.ClientPrefix, cfg.TopicPrefix = 10, 2, "fleet-", "plant/7"
	r := RunScenario(context.Background(), cfg, &Instance{Addr: f.ln.Addr().String()}, ScenarioSessions)
	if r.Err != "" {
		t.Fatal(r.Err)
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	if len(f.clientIDs) != 20 || len(f.filters) != 10 {
		t.Fatalf("%d CONNECTs, %d SUBSCRIBEs; want 20 and 10", len(f.clientIDs), len(f.filters))
	}
	for _, id := range f.clientIDs {
		if !strings.HasPrefix(id, "fleet-sess") {
			t.Fatalf("client id %q", id)
		}
	}
	for _, filter := range f.filters {
		if !strings.HasPrefix(filter, "plant/7/sess/") {
			t.Fatalf("filter %q", filter)
		}
	}
}

// TestSessionsTimeout checks that a phase stops at SessionTimeout and
// gives partial figures for what it did: the sessions created in time are
// resumed.
func TestSessionsTimeout(t *testing.T) {
	f := newFakeBroker(t, true)
	cfg := tinyConfig()
	cfg.Sessions, cfg.SessionProcesses, cfg.ConnectRate = 1000, 2, 50
	cfg.SessionTimeout = 300 * time.Millisecond
	start := time.Now()
	r := RunScenario(context.Background(), cfg, &Instance{Addr: f.ln.Addr().String()}, ScenarioSessions)
	if r.Err != "" || !strings.Contains(r.Partial, "of 1000 sessions within 300ms") ||
		r.Sessions >= 1000 || r.Sessions == 0 || r.CreateRate <= 0 || r.ResumeRate <= 0 {
		t.Fatalf("result %+v", r)
	}
	if took := time.Since(start); took > 5*time.Second {
		t.Fatalf("a 300 ms phase took %v", took)
	}
}

// TestSessionsMemoryLimit checks that a broker growing past
// BrokerMemLimit stops the create phase early, in-process and in worker
// processes, with partial figures and no resume.
func TestSessionsMemoryLimit(t *testing.T) {
	path := mosquittoOrSkip(t)
	for _, procs := range []int{1, 2} {
		t.Run(fmt.Sprintf("procs=%d", procs), func(t *testing.T) {
			in := startTest(t, Mosquitto{Path: path})
			cfg := tinyConfig()
			cfg.Sessions, cfg.SessionProcesses, cfg.ConnectRate = 100000, procs, 400
			cfg.BrokerMemLimit = 1 // any broker is over it at the first look
			start := time.Now()
			r := RunScenario(context.Background(), cfg, in, ScenarioSessions)
			if r.Err != "" || !strings.Contains(r.Partial, "stopped when the broker's RSS reached") ||
				r.Sessions == 0 || r.Sessions >= cfg.Sessions || r.ResumeRate != 0 {
				t.Fatalf("result %+v", r)
			}
			if took := time.Since(start); took > 30*time.Second {
				t.Fatalf("stopping took %v", took)
			}
		})
	}
}

func TestSessionOutcome(t *testing.T) {
	const want, limit = 10, time.Second
	tests := []struct {
		name            string
		rep             sessionReport
		partial, failed string
	}{
		{"all done", sessionReport{Done: 10}, "", ""},
		{"cut short by the limit", sessionReport{Done: 4, TimedOut: true},
			"created 4 of 10 sessions within 1s (0.00/s)", ""},
		{"nothing done in time", sessionReport{TimedOut: true}, "",
			"created 0 of 10 sessions within 1s (0.00/s); first error: cancelled"},
		{"refused", sessionReport{Done: 4, TimedOut: true, Err: "refused"}, "",
			"created 4 of 10 sessions within 1s (0.00/s); first error: refused"},
		{"all done but an error", sessionReport{Done: 10, Err: "refused"}, "",
			"created 10 of 10 sessions within 1s (0.00/s); first error: refused"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			partial, failed := tc.rep.outcome("created", want, limit)
			if partial != tc.partial || failed != tc.failed {
				t.Fatalf("outcome = %q, %q; want %q, %q", partial, failed, tc.partial, tc.failed)
			}
		})
	}
	merged := mergeSessionReports([]sessionReport{
		{Done: 3, Prefix: 2, FirstNs: 20, LastNs: 50},
		{Done: 4, Prefix: 4, FirstNs: 10, LastNs: 40, TimedOut: true, Err: "x"},
	})
	if merged.Done != 7 || merged.Prefix != 6 || merged.FirstNs != 10 || merged.LastNs != 50 || !merged.TimedOut || merged.Err != "x" {
		t.Fatalf("merged %+v", merged)
	}
}

// TestCatalogChurnOnShardmq runs a tiny catalog-churn (2,000 sessions,
// half of them reconnecting per minute for 3 s) against shardmq built
// from this checkout, and checks that every seed filter was measured.
func TestCatalogChurnOnShardmq(t *testing.T) {
	in := startTest(t, testBroker(t, BrokerShardmq))
	cfg := tinyConfig()
	cfg.CatalogRows, cfg.ChurnPercent, cfg.ChurnDuration = 2000, 50, 3*time.Second
	r := RunScenario(context.Background(), cfg, in, ScenarioCatalogChurn)
	if r.Err != "" || r.Skipped != "" {
		t.Fatalf("error %q skipped %q", r.Err, r.Skipped)
	}
	if r.Conns != 2000 || r.Reconnects == 0 || len(r.APIByFilter) != len(churnFilterNames()) {
		t.Fatalf("result %+v", r)
	}
	for name, l := range r.APIByFilter {
		if l.Count == 0 {
			t.Errorf("filter %s never measured", name)
		}
	}
	worst, ok := worstFilterP99(r)
	if !ok {
		t.Fatal("no worst-filter p99")
	}
	t.Logf("%d sessions, %d reconnects in %.1f s; worst filter p99 %s", r.Conns, r.Reconnects, r.Seconds,
		fmtDur(int64(worst)))
}

// TestCatalogChurnSkipsPeers checks that the peers, which have no HTTP
// API, are n/a in catalog-churn.
func TestCatalogChurnSkipsPeers(t *testing.T) {
	r := RunScenario(context.Background(), tinyConfig(), &Instance{Addr: "127.0.0.1:1"}, ScenarioCatalogChurn)
	if r.Skipped != "broker has no HTTP API" {
		t.Fatalf("skipped %q", r.Skipped)
	}
}

func TestChurnFilters(t *testing.T) {
	fs := churnFilters(1000, "bench-churn00ff", "bench", "127.0.0.2", 4, 1700000000)
	want := map[string]string{
		"deep page":       "_limit=100&_page=5",
		"clientid":        "clientid=bench-churn00ff-500&_limit=100",
		"ip_address":      "ip_address=127.0.0.2&_limit=100",
		"proto_ver":       "proto_ver=4&_limit=100",
		"_lte_created_at": "_lte_created_at=1700000000&_limit=100",
	}
	for _, f := range fs {
		if q, ok := want[f.Name]; ok && q != f.Query {
			t.Errorf("%s: %q, want %q", f.Name, f.Query, q)
		}
	}
	if len(fs) != 14 || len(churnFilterNames()) != 14 {
		t.Fatalf("%d filters", len(fs))
	}
	// 10 % of a million per minute.
	if r := churnRate(1000000, 10); r < 1666 || r > 1667 {
		t.Fatalf("churnRate = %v", r)
	}
}
