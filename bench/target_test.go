package bench

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

func TestTargetAddr(t *testing.T) {
	tests := []struct {
		name, url, want, wantErr string
	}{
		{"tcp", "tcp://127.0.0.1:1883", "127.0.0.1:1883", ""},
		{"ipv6", "tcp://[::1]:1883", "[::1]:1883", ""},
		{"ssl", "ssl://127.0.0.1:8883", "127.0.0.1:8883", ""},
		{"mqtts", "mqtts://127.0.0.1:8883", "127.0.0.1:8883", ""},
		{"ws", "ws://127.0.0.1:8083/mqtt", "127.0.0.1:8083", ""},
		{"wss without path", "wss://127.0.0.1:8084", "127.0.0.1:8084", ""},
		{"path on ssl", "ssl://127.0.0.1:8883/mqtt", "", "a path is for ws:// and wss:// only"},
		{"query", "tcp://127.0.0.1:1883?x=1", "", "nothing more"},
		{"http is no broker", "http://127.0.0.1:18083", "", "want tcp://, ssl://, ws:// or wss://HOST:PORT"},
		{"no port", "tcp://127.0.0.1", "", "HOST:PORT"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got, err := targetAddr(tc.url)
			if got != tc.want || (err == nil) != (tc.wantErr == "") || (err != nil && !strings.Contains(err.Error(), tc.wantErr)) {
				t.Fatalf("targetAddr(%q) = %q, %v; want %q, %q", tc.url, got, err, tc.want, tc.wantErr)
			}
		})
	}
	for addr, want := range map[string]bool{"127.0.0.1:1883": true, "127.0.0.9:1": true, "[::1]:1883": false, "10.0.0.1:1883": false} {
		if loopbackTarget(addr) != want {
			t.Errorf("loopbackTarget(%q) = %v", addr, !want)
		}
	}
}

// TestTargetPublish checks that a target's publish URLs become the
// addresses its flows' publishers dial in turn.
func TestTargetPublish(t *testing.T) {
	in, err := Target{URL: "tcp://127.0.0.1:1881", Publish: []string{"tcp://127.0.0.1:1882", "tcp://127.0.0.1:1883"}}.Start(context.Background(), "")
	if err != nil || in.Addr != "127.0.0.1:1881" || strings.Join(in.PubAddrs, " ") != "127.0.0.1:1882 127.0.0.1:1883" {
		t.Fatalf("%+v %v", in, err)
	}
	if _, err := (Target{URL: "tcp://127.0.0.1:1881", Publish: []string{"http://x"}}).Start(context.Background(), ""); err == nil {
		t.Fatal("an http:// publish URL was taken")
	}
	if _, err := (Target{URL: "tcp://127.0.0.1:1881", Publish: []string{"ssl://127.0.0.1:8883"}}).Start(context.Background(), ""); err == nil {
		t.Fatal("a publish node on another transport was taken")
	}
	in, err = Target{URL: "wss://127.0.0.1:8084/ws", CAFile: "ca.pem"}.Start(context.Background(), "")
	want := transportSpec{Kind: transportWS, TLS: true, Path: "/ws", CAFile: "ca.pem", ServerName: "127.0.0.1"}
	if err != nil || in.transport != want || in.WSAddr != "127.0.0.1:8084" {
		t.Fatalf("wss target: %+v %v; want transport %+v", in, err, want)
	}
}

// TestTargetTransports runs p2p-qos0 and conn-storm against a running
// shardmq through each of its ssl, ws and wss listeners as a --target,
// and checks that a target whose certificate the given CA did not sign
// fails instead of measuring anything.
func TestTargetTransports(t *testing.T) {
	sm, ok := testBroker(t, BrokerShardmq).(Shardmq)
	if !ok {
		t.Fatalf("shardmq broker is %T", testBroker(t, BrokerShardmq))
	}
	pki, err := makePeerTLS(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	wss, err := freeAddr()
	if err != nil {
		t.Fatal(err)
	}
	sm.TLS = pki
	sm.ExtraArgs = []string{"--listener", "wss://" + wss + "?certfile=" + pki.CertFile + "&keyfile=" + pki.KeyFile + "&path=/mqtt-wss"}
	in := startTest(t, sm)
	other, err := makePeerTLS(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	run := func(t *testing.T, url, ca string) []Result {
		cfg := tinyConfig()
		cfg.Brokers, cfg.NoRelay, cfg.OutDir = nil, true, t.TempDir()
		cfg.Target, cfg.TargetCA, cfg.TargetServerName, cfg.TargetPID = url, ca, "localhost", in.PID
		cfg.Scenarios = []string{ScenarioP2P0, ScenarioStorm}
		ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
		defer cancel()
		rep, err := Run(ctx, cfg)
		if err != nil {
			t.Fatal(err)
		}
		return rep.Results
	}
	for _, url := range []string{"ssl://" + in.TLSAddr, "ws://" + in.WSAddr + "/mqtt", "wss://" + wss + "/mqtt-wss"} {
		t.Run(url[:strings.Index(url, ":")], func(t *testing.T) {
			var p2p, storm bool
			for _, r := range run(t, url, pki.CAFile) {
				if r.Err != "" || r.Skipped != "" {
					t.Fatalf("%s: err %q skipped %q", r.Scenario, r.Err, r.Skipped)
				}
				p2p = p2p || r.Scenario == ScenarioP2P0 && r.Delivered > 0
				storm = storm || r.Scenario == ScenarioStorm && r.Conns == tinyConfig().StormConns
			}
			if !p2p || !storm {
				t.Fatalf("p2p delivered: %v, storm connected all: %v", p2p, storm)
			}
		})
	}
	t.Run("untrusted", func(t *testing.T) {
		for _, r := range run(t, "ssl://"+in.TLSAddr, other.CAFile) {
			if r.Err == "" {
				t.Errorf("%s measured against a certificate of another CA: %+v", r.Scenario, r)
			}
		}
	})
}

// TestTargetRun runs scenarios through Run against a broker the harness
// did not start (a mosquitto this test starts on 127.0.0.1), with
// credentials, prefixes and a connection rate, and checks the target's
// column, its n/a cells and the reports.
func TestTargetRun(t *testing.T) {
	in := startTest(t, Mosquitto{Path: mosquittoOrSkip(t)})
	url := "tcp://" + in.Addr
	cfg := tinyConfig()
	cfg.Brokers = nil
	cfg.Target, cfg.TargetPID = url, in.PID
	cfg.Username, cfg.Password, cfg.ClientPrefix, cfg.TopicPrefix = "fleet", "secret", "fleet-", "fleet"
	cfg.ConnectRate, cfg.Sessions, cfg.SessionProcesses = 2000, 200, 2
	cfg.Scenarios = []string{ScenarioP2P0, ScenarioStorm, ScenarioSessions, ScenarioAPI}
	cfg.OutDir = t.TempDir()
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	rep, err := Run(ctx, cfg)
	if err != nil {
		t.Fatal(err)
	}
	for _, r := range rep.Results {
		if r.Err != "" {
			t.Errorf("%s on %s: %s", r.Scenario, r.Broker, r.Err)
		}
	}
	md := rep.Markdown()
	for _, want := range []string{
		"Target: " + url,
		"| scenario | metric | " + url + " | relay ceiling | " + url + " / ceiling | shardmq / best peer |",
		"| api-under-load | GET /clients p99 ↓ | n/a (broker has no HTTP API) |",
		"| session-create | sessions created/s at 200 ↑ |",
	} {
		if !strings.Contains(md, want) {
			t.Errorf("report lacks %q:\n%s", want, md)
		}
	}
	// The storm's connection rate cap holds: the 20th connection starts
	// 19/2000 s after the first, so 20 connections cannot show more than
	// 20/0.0095 ≈ 2105/s however fast the broker.
	for _, r := range rep.Results {
		if r.Scenario == ScenarioStorm && (r.ConnectRate <= 0 || r.ConnectRate > 2106) {
			t.Errorf("storm at %.0f/s with --rate 2000", r.ConnectRate)
		}
	}
	for _, name := range []string{"report.md", "report.json", "report.png"} {
		if !fileNonEmpty(filepath.Join(cfg.OutDir, name)) {
			t.Errorf("%s not written", name)
		}
	}
	if _, err := os.Stat(filepath.Join(cfg.OutDir, "logs", fileName(url))); err != nil {
		t.Errorf("target's log directory: %v", err)
	}
	if fileName(url) != "tcp___127.0.0.1_"+url[strings.LastIndexByte(url, ':')+1:] {
		t.Errorf("fileName(%q) = %q", url, fileName(url))
	}
}
