package bench

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// TestPersistScenariosOnBrokers runs the persistent-session scenarios at
// tiny sizes on the brokers that can be had here, each started as runOne
// starts it for the scenario, and checks that each kept its sessions where
// it says: shardmq's store counted fsyncs under batch and sync and none
// under memory, mosquitto wrote mosquitto.db at exit, mochi's pebble hook
// wrote its files.
func TestPersistScenariosOnBrokers(t *testing.T) {
	tests := []struct {
		broker, scenario string
		// fsyncs: -1 no figure expected (a peer); 0 none or no figure
		// (durability memory opens no store); 1 a figure with fsyncs
		// and commits counted; 2 a figure.
		fsyncs int
		// file is a path under the run's directory that must exist once
		// the broker stopped.
		file string
	}{
		{BrokerShardmq, ScenarioP2P1PersistMemory, 0, ""},
		// batch may count no fsync in a 300 ms run: deliveries
		// acknowledged within half the flush interval are never written.
		{BrokerShardmq, ScenarioP2P1Persist, 2, "data/store"},
		{BrokerShardmq, ScenarioP2P1PersistSync, 1, "data/store"},
		{BrokerMosquitto, ScenarioP2P1Persist, -1, "mosquitto-db/mosquitto.db"},
		{BrokerMochi, ScenarioP2P1Persist, -1, "mochi-store/CURRENT"},
		{BrokerNATS, ScenarioP2P1Persist, -1, "jetstream/jetstream"},
	}
	for _, tc := range tests {
		t.Run("broker="+tc.broker+"/scenario="+tc.scenario, func(t *testing.T) {
			b := testBroker(t, tc.broker)
			if sb, ok := b.(scenarioBroker); ok {
				b = sb.forScenario(tc.scenario)
			}
			dir := t.TempDir()
			// mosquitto, started as root, writes its database as its own
			// user: the test's directories must let it through, as the
			// harness's bench/out does.
			for _, d := range []string{filepath.Dir(dir), dir} {
				if err := os.Chmod(d, 0o755); err != nil {
					t.Fatal(err)
				}
			}
			in, err := b.Start(context.Background(), dir)
			if err != nil {
				t.Fatal(err)
			}
			r := RunScenario(context.Background(), tinyConfig(), in, tc.scenario)
			if err := in.Stop(); err != nil {
				t.Fatal(err)
			}
			checkFlowResult(t, r)
			switch {
			case tc.fsyncs < 0 && r.Fsyncs != nil:
				t.Fatalf("fsyncs %v from a broker without shardmq's /metrics", *r.Fsyncs)
			case tc.fsyncs == 0 && r.Fsyncs != nil && (*r.Fsyncs != 0 || *r.Commits != 0):
				t.Fatalf("durability memory: %v fsyncs/s, %v commits/s", *r.Fsyncs, *r.Commits)
			case tc.fsyncs > 0 && (r.Fsyncs == nil || r.Commits == nil):
				t.Fatal("no store counters read from /metrics")
			case tc.fsyncs == 1 && (*r.Fsyncs <= 0 || *r.Commits <= 0):
				t.Fatalf("%s: %v fsyncs/s, %v commits/s", tc.scenario, *r.Fsyncs, *r.Commits)
			}
			if tc.file != "" {
				if _, err := os.Stat(filepath.Join(dir, tc.file)); err != nil {
					t.Fatalf("the broker's store: %v", err)
				}
			}
			if r.Fsyncs != nil {
				t.Logf("%s: %.0f deliveries/s, %.1f fsyncs/s, %.1f commits/s", tc.scenario, r.Rate, *r.Fsyncs, *r.Commits)
			}
		})
	}
}

// TestPersistNotApplicable checks which brokers runOne reports n/a, with
// their reason, in the persistent-session scenarios, without starting
// them.
func TestPersistNotApplicable(t *testing.T) {
	tests := []struct {
		broker   Broker
		scenario string
		want     string
	}{
		{Aedes{}, ScenarioP2P1Persist, "persistence module"},
		{NATS{}, ScenarioP2P1PersistMemory, "durability is shardmq's setting"},
		{Mosquitto{}, ScenarioP2P1PersistSync, "durability is shardmq's setting"},
		{Mochi{}, ScenarioP2P1PersistSync, "durability is shardmq's setting"},
	}
	for _, tc := range tests {
		t.Run(tc.broker.Name()+"/"+tc.scenario, func(t *testing.T) {
			r := runOne(context.Background(), tinyConfig(), t.TempDir(), tc.broker, tc.scenario)
			if !strings.Contains(r.Skipped, tc.want) {
				t.Fatalf("skipped %q, want it to say %q", r.Skipped, tc.want)
			}
		})
	}
	if why := persistUnsupported(BrokerShardmq, ScenarioP2P1PersistSync); why != "" {
		t.Fatalf("shardmq sync n/a: %s", why)
	}
}

// TestForScenario checks the command line and configuration each broker
// gets for the persistent-session scenarios and for the others.
func TestForScenario(t *testing.T) {
	s := Shardmq{ExtraArgs: []string{"--pprof-addr", "x"}}
	got := s.forScenario(ScenarioP2P1PersistSync).(Shardmq).ExtraArgs
	if strings.Join(got, " ") != "--durability sync --pprof-addr x" {
		t.Fatalf("sync args %q", got)
	}
	if got := s.forScenario(ScenarioP2P1).(Shardmq).ExtraArgs; len(got) != 2 {
		t.Fatalf("p2p-qos1 args %q", got)
	}
	if !(Mosquitto{}).forScenario(ScenarioP2P1Persist).(Mosquitto).Persistence ||
		(Mosquitto{Persistence: true}).forScenario(ScenarioP2P1).(Mosquitto).Persistence {
		t.Fatal("mosquitto's persistence not set per scenario")
	}
	if !(Mochi{}).forScenario(ScenarioP2P1Persist).(Mochi).Store || (Mochi{}).forScenario(ScenarioFanIn).(Mochi).Store {
		t.Fatal("mochi's store not set per scenario")
	}
}

// TestPromValue reads unlabelled samples from a Prometheus exposition.
func TestPromValue(t *testing.T) {
	text := []byte("# HELP shardmq_store_syncs_total fsyncs.\n# TYPE shardmq_store_syncs_total counter\n" +
		"shardmq_store_syncs_total 42\nshardmq_store_syncs_total_max 7\n" +
		"shardmq_store_commits_total 1.5e+06\nshardmq_store_recovered{kind=\"sessions\"} 3\n")
	tests := []struct {
		name string
		want float64
		ok   bool
	}{
		{"shardmq_store_syncs_total", 42, true},
		{"shardmq_store_commits_total", 1.5e6, true},
		{"shardmq_store_recovered", 0, false}, // labelled only
		{"shardmq_missing", 0, false},
	}
	for _, tc := range tests {
		v, ok := promValue(text, tc.name)
		if v != tc.want || ok != tc.ok {
			t.Errorf("%s = %v, %v; want %v, %v", tc.name, v, ok, tc.want, tc.ok)
		}
	}
}

// TestPersistTable checks the report's persistent-session table: each
// shardmq durability and each peer, the share of the memory figure, the
// fsyncs per second, and the n/a reason.
func TestPersistTable(t *testing.T) {
	f := func(v float64) *float64 { return &v }
	run := func(scenario, broker string, rate float64, fsyncs *float64) Result {
		return Result{Scenario: scenario, Broker: broker, Run: 1, Seconds: 2, Delivered: int64(2 * rate), Rate: rate,
			Fsyncs: fsyncs, Commits: fsyncs, Latency: Latency{Count: 1, P50: 1e6, P99: 2e6, P999: 3e6}}
	}
	rep := &Report{Profile: ProfileShort, Brokers: []string{BrokerShardmq, BrokerMosquitto, BrokerAedes, BrokerRelay},
		Results: []Result{
			run(ScenarioP2P1PersistMemory, BrokerShardmq, 100000, f(0)),
			run(ScenarioP2P1Persist, BrokerShardmq, 80000, f(10)),
			run(ScenarioP2P1PersistSync, BrokerShardmq, 20000, f(450)),
			run(ScenarioP2P1Persist, BrokerMosquitto, 40000, nil),
			{Scenario: ScenarioP2P1Persist, Broker: BrokerAedes, Run: 1, Skipped: persistUnsupported(BrokerAedes, ScenarioP2P1Persist)},
		}}
	md := rep.Markdown()
	for _, want := range []string{
		"### p2p QoS 1 to persistent sessions",
		"| shardmq | durability memory: nothing | 100k | 2ms | 0.00 | 0.00 | 100% |",
		"| 80.0k | 2ms | 10.0 | 10.0 | 80% |",
		"| 20.0k | 2ms | 450 | 450 | 20% |",
		"| mosquitto | `persistence true`",
		"| 40.0k | 2ms | — | — | 40% |",
		"| aedes | n/a (aedes keeps sessions on disk only through a persistence module",
		"| p2p-qos1-persist | deliveries/s ↑ | 80.0k | 40.0k |",
	} {
		if !strings.Contains(md, want) {
			t.Errorf("report lacks %q:\n%s", want, md)
		}
	}
}
