package bench

import (
	"context"
	"testing"
)

// TestMQTTSNScenarios runs tiny MQTT-SN scenarios on the built shardmq,
// whose gateway every client reaches over UDP, and checks that a broker
// without a gateway skips them.
func TestMQTTSNScenarios(t *testing.T) {
	in := startTest(t, testBroker(t, BrokerShardmq))
	if in.SNAddr == "" {
		t.Fatal("shardmq started without an MQTT-SN gateway")
	}
	cfg := tinyConfig()
	cfg.SNPublishers = 40
	r := RunScenario(context.Background(), cfg, in, ScenarioFanInSN)
	if r.Err != "" || r.Skipped != "" || r.Delivered == 0 || r.Rate <= 0 || r.Latency.Count == 0 {
		t.Fatalf("fan-in: %+v", r)
	}
	t.Logf("fan-in from %d MQTT-SN clients: %.0f deliveries/s", cfg.SNPublishers, r.Rate)
	r = RunScenario(context.Background(), cfg, in, ScenarioStormSN)
	if r.Err != "" || r.Conns != cfg.StormConns || r.ConnectRate <= 0 || r.RSS <= 0 {
		t.Fatalf("storm: %+v", r)
	}
	t.Logf("storm: %d MQTT-SN clients at %.0f/s, %.0f B/idle client", r.Conns, r.ConnectRate, r.BytesPerConn)

	noGW := *in
	noGW.SNAddr = ""
	for _, s := range []string{ScenarioFanInSN, ScenarioStormSN} {
		if r := RunScenario(context.Background(), cfg, &noGW, s); r.Skipped != "broker has no MQTT-SN gateway" {
			t.Errorf("%s without a gateway: %+v", s, r)
		}
	}
}
