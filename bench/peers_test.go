package bench

import (
	"context"
	"testing"

	"github.com/shardmq/shardmq/mqtt"
)

// TestScenariosOnNewPeers runs every message scenario and a connection
// storm at tiny sizes on NATS and aedes (when they can be had here).
func TestScenariosOnNewPeers(t *testing.T) {
	scenarios := []string{ScenarioFanIn, ScenarioFanOut, ScenarioP2P0, ScenarioP2P1, ScenarioP2P2,
		ScenarioFixedRate, ScenarioStorm}
	for _, name := range []string{BrokerNATS, BrokerAedes} {
		for _, scenario := range scenarios {
			t.Run("broker="+name+"/scenario="+scenario, func(t *testing.T) {
				in := startTest(t, testBroker(t, name))
				r := RunScenario(context.Background(), tinyConfig(), in, scenario)
				if scenario == ScenarioStorm {
					if r.Err != "" || r.Conns != tinyConfig().StormConns || r.RSS <= 0 {
						t.Fatalf("storm: %+v", r)
					}
					return
				}
				checkFlowResult(t, r)
			})
		}
	}
}

// TestPeersNotApplicable checks that a peer that cannot run a scenario
// under the configuration is reported n/a with its reason, without being
// started.
func TestPeersNotApplicable(t *testing.T) {
	tests := []struct {
		name    string
		broker  Broker
		version mqtt.Version
		want    string
	}{
		{"nats 5.0", NATS{}, mqtt.V5, "NATS speaks MQTT 3.1.1 only"},
		{"nats 3.1", NATS{}, mqtt.V31, "NATS speaks MQTT 3.1.1 only"},
		{"nats 3.1.1", NATS{Binary: "/nonexistent"}, mqtt.V311, ""},
		{"aedes 5.0", Aedes{}, mqtt.V5, "aedes has no MQTT 5"},
		{"aedes 3.1", Aedes{Dir: "/nonexistent"}, mqtt.V31, ""},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			cfg := tinyConfig()
			cfg.Version = tc.version
			r := runOne(context.Background(), cfg, t.TempDir(), tc.broker, ScenarioP2P0)
			if r.Skipped != tc.want {
				t.Fatalf("skipped %q, want %q", r.Skipped, tc.want)
			}
			if tc.want == "" && r.Err == "" {
				t.Fatal("a broker that cannot start ran")
			}
		})
	}
}
