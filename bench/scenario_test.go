package bench

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"testing"
	"time"
)

// checkFlowResult fails unless r is a successful message scenario run.
func checkFlowResult(t *testing.T, r Result) {
	t.Helper()
	if r.Err != "" || r.Skipped != "" {
		t.Fatalf("%s: error %q skipped %q", r.Scenario, r.Err, r.Skipped)
	}
	if r.Delivered <= 0 || r.Rate <= 0 || r.Seconds <= 0 {
		t.Fatalf("%s: delivered %d rate %v seconds %v", r.Scenario, r.Delivered, r.Rate, r.Seconds)
	}
	if r.Latency.Count == 0 || r.Latency.P50 > r.Latency.P99 || r.Latency.P99 > r.Latency.P999 {
		t.Fatalf("%s: latency %+v", r.Scenario, r.Latency)
	}
}

func TestScenariosOnRelay(t *testing.T) {
	cfg := tinyConfig()
	tests := []struct {
		scenario  string
		inProcess bool
		skipped   bool
	}{
		{ScenarioP2P0, true, false},
		{ScenarioP2P0, false, false}, // the relay as a worker process
		{ScenarioFixedRate, true, false},
		{ScenarioFanIn, true, false},  // many publishers merged into one subscriber
		{ScenarioFanOut, true, false}, // one publisher copied to many subscribers
		{ScenarioP2P1, true, false},   // subscribers' PUBACKs reach their publishers
		{ScenarioP2P2, false, false},  // and PUBREC, PUBREL, PUBCOMP
		{ScenarioStorm, true, true},
		{ScenarioSessions, true, true},
		{ScenarioAPI, true, true},
	}
	for _, tc := range tests {
		t.Run(fmt.Sprintf("scenario=%s/inprocess=%v", tc.scenario, tc.inProcess), func(t *testing.T) {
			in, err := relayBroker{inProcess: tc.inProcess}.Start(context.Background(), t.TempDir())
			if err != nil {
				t.Fatal(err)
			}
			defer in.Stop()
			r := RunScenario(context.Background(), cfg, in, tc.scenario)
			if tc.skipped {
				if r.Skipped == "" {
					t.Fatalf("relay ran %s: %+v", tc.scenario, r)
				}
				return
			}
			checkFlowResult(t, r)
			if !tc.inProcess && r.RSS <= 0 {
				t.Fatalf("relay process memory not measured: %+v", r)
			}
			// Deliveries in the window are at most what was sent in it plus
			// what was in flight when it opened (one window per publisher).
			if inflight := int64(cfg.Pairs * cfg.QoS0Window); tc.scenario == ScenarioP2P0 && r.Delivered > r.Sent+inflight {
				t.Fatalf("delivered %d > sent %d + inflight %d: the relay neither duplicates nor invents", r.Delivered, r.Sent, inflight)
			}
		})
	}
}

func TestScenariosOnMosquitto(t *testing.T) {
	path := mosquittoOrSkip(t)
	cfg := tinyConfig()
	tests := []string{ScenarioFanIn, ScenarioFanOut, ScenarioP2P0, ScenarioP2P1, ScenarioP2P2, ScenarioFixedRate}
	for _, scenario := range tests {
		t.Run("scenario="+scenario, func(t *testing.T) {
			in, err := Mosquitto{Path: path}.Start(context.Background(), t.TempDir())
			if err != nil {
				t.Fatal(err)
			}
			defer in.Stop()
			r := RunScenario(context.Background(), cfg, in, scenario)
			checkFlowResult(t, r)
			if r.RSS <= 0 || r.PeakRSS < r.RSS {
				t.Fatalf("broker memory not measured: rss %d peak %d", r.RSS, r.PeakRSS)
			}
		})
	}
}

func TestStormOnMosquitto(t *testing.T) {
	path := mosquittoOrSkip(t)
	tests := []struct {
		name            string
		scenario        string
		conns, perProcs int
	}{
		{"procs=1", ScenarioStorm, 20, 1000},
		{"procs=2", ScenarioStorm, 30, 15}, // re-executes the test binary as two workers
		{"max/procs=3", ScenarioStormMax, 25, 10},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			cfg := tinyConfig()
			cfg.StormConns, cfg.ConnsPerProcess = tc.conns, tc.perProcs
			if tc.scenario == ScenarioStormMax {
				cfg.StormConns, cfg.StormConnsMax = 1, tc.conns
			}
			in, err := Mosquitto{Path: path}.Start(context.Background(), t.TempDir())
			if err != nil {
				t.Fatal(err)
			}
			defer in.Stop()
			r := RunScenario(context.Background(), cfg, in, tc.scenario)
			if r.Err != "" || r.Conns != tc.conns || r.ConnectRate <= 0 || r.RSS <= 0 {
				t.Fatalf("storm: %+v", r)
			}
		})
	}
}

func TestAPIScenarioSkipsBrokerWithoutAPI(t *testing.T) {
	tests := []struct {
		name     string
		in       *Instance
		scenario string
		want     string
	}{
		{"no api", &Instance{Addr: "127.0.0.1:1"}, ScenarioAPI, "no HTTP API"},
		{"catalog no api", &Instance{Addr: "127.0.0.1:1"}, ScenarioAPICatalog, "no HTTP API"},
		{"api never listens", &Instance{Addr: "127.0.0.1:1", APIAddr: "127.0.0.1:2",
			awaitAPI: func(context.Context) error { return errors.New("did not listen") }}, ScenarioAPI, "did not listen"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			r := RunScenario(context.Background(), tinyConfig(), tc.in, tc.scenario)
			if !strings.Contains(r.Skipped, tc.want) {
				t.Fatalf("skipped %q, want %q (result %+v)", r.Skipped, tc.want, r)
			}
		})
	}
}

func TestRunWritesReports(t *testing.T) {
	if !haveGo() {
		t.Skip("go tool not in PATH")
	}
	mosquittoOrSkip(t)
	out := t.TempDir()
	cfg := tinyConfig()
	cfg.OutDir = out
	cfg.Brokers = []string{BrokerShardmq, BrokerMosquitto}
	cfg.Scenarios = []string{ScenarioP2P0}
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	rep, err := Run(ctx, cfg)
	if err != nil {
		t.Fatal(err)
	}
	var sawMosquitto, sawRelay bool
	for _, r := range rep.Results {
		sawMosquitto = sawMosquitto || (r.Broker == BrokerMosquitto && r.Err == "" && r.Delivered > 0)
		sawRelay = sawRelay || (r.Broker == BrokerRelay && r.Err == "" && r.Delivered > 0)
	}
	if !sawMosquitto || !sawRelay {
		t.Fatalf("missing results: %+v", rep.Results)
	}
	for _, name := range []string{"report.md", "report.json", "report.png"} {
		if !fileNonEmpty(out + "/" + name) {
			t.Fatalf("%s not written", name)
		}
	}
}

func TestShardmqNotBuilt(t *testing.T) {
	repo := t.TempDir() // a repository without cmd/shardmq
	_, err := BuildShardmq(context.Background(), repo, t.TempDir())
	if !errors.Is(err, ErrNotBuilt) || !strings.Contains(err.Error(), "shardmq not built") {
		t.Fatalf("BuildShardmq without cmd/shardmq = %v", err)
	}
	var rep Report
	var log strings.Builder
	cfg := tinyConfig()
	cfg.RepoDir, cfg.Log, cfg.NoRelay = repo, &log, true
	cfg.Brokers = []string{BrokerShardmq}
	if bs := prepareBrokers(context.Background(), cfg, t.TempDir(), &rep); len(bs) != 0 {
		t.Fatalf("prepared %d brokers without any buildable one", len(bs))
	}
	if !strings.Contains(log.String(), "shardmq not built") || len(rep.Notes) != 1 {
		t.Fatalf("log %q notes %q", log.String(), rep.Notes)
	}
}

func TestFanOutWithWindowOfOne(t *testing.T) {
	// A window smaller than the fan-out still sends one message at a time.
	path := mosquittoOrSkip(t)
	cfg := tinyConfig()
	cfg.QoS0Window = 1
	in, err := Mosquitto{Path: path}.Start(context.Background(), t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	defer in.Stop()
	r := RunScenario(context.Background(), cfg, in, ScenarioFanOut)
	checkFlowResult(t, r)
	if r.Delivered > (r.Sent+1)*int64(cfg.FanOutSubscribers) {
		t.Fatalf("delivered %d exceeds sent %d × %d subscribers (+1 in flight)", r.Delivered, r.Sent, cfg.FanOutSubscribers)
	}
}
