package bench

import (
	"encoding/json"
	"errors"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"
)

// fileNonEmpty reports whether path exists and is not empty.
func fileNonEmpty(path string) bool {
	st, err := os.Stat(path)
	return err == nil && st.Size() > 0
}

// sampleReport has three repeats of p2p-qos0 and one fixed-rate run per
// broker, with known numbers.
func sampleReport() *Report {
	rep := &Report{Profile: ProfileShort, Brokers: []string{BrokerShardmq, BrokerMosquitto, BrokerMochi, BrokerNATS, BrokerRelay}}
	add := func(s, b string, run int, rate float64, p99 int64) {
		rep.Results = append(rep.Results, Result{Scenario: s, Broker: b, Run: run, Rate: rate, Delivered: 1,
			Latency: Latency{Count: 1, P50: p99 / 2, P99: p99, P999: p99}})
	}
	for i, v := range []float64{300e3, 100e3, 200e3} {
		add(ScenarioP2P0, BrokerShardmq, i+1, v, 1e6)
	}
	for i, v := range []float64{90e3, 100e3, 110e3} {
		add(ScenarioP2P0, BrokerMosquitto, i+1, v, 1e6)
	}
	for i, v := range []float64{40e3, 50e3, 60e3} {
		add(ScenarioP2P0, BrokerMochi, i+1, v, 1e6)
	}
	add(ScenarioP2P0, BrokerRelay, 1, 1.5e6, 1e5)
	add(ScenarioFixedRate, BrokerShardmq, 1, 20e3, 2e6)
	add(ScenarioFixedRate, BrokerMosquitto, 1, 20e3, 4e6)
	add(ScenarioFixedRate, BrokerMochi, 1, 20e3, 8e6)
	add(ScenarioP2P1, BrokerShardmq, 1, 90e3, 1e6)
	add(ScenarioP2P1, BrokerRelay, 1, 100e3, 1e6)
	rep.Results = append(rep.Results,
		Result{Scenario: ScenarioAPI, Broker: BrokerMosquitto, Run: 1, Skipped: "broker has no HTTP API"},
		Result{Scenario: ScenarioP2P2, Broker: BrokerMochi, Run: 1, Err: "boom"},
		Result{Scenario: ScenarioSessions, Broker: BrokerShardmq, Run: 1, Sessions: 1000, CreateRate: 30e3,
			ResumeRate: 40e3, RSS: 1 << 30, BytesPerSession: 900},
		Result{Scenario: ScenarioSessions, Broker: BrokerMosquitto, Run: 1, Sessions: 1000, CreateRate: 15e3,
			ResumeRate: 10e3, RSS: 1 << 30, BytesPerSession: 700},
		Result{Scenario: ScenarioSessions, Broker: BrokerMochi, Run: 1, Sessions: 400, CreateRate: 1e3,
			Err: "created 400 of 1000 sessions within 30s (1.00k/s); first error: refused"},
		Result{Scenario: ScenarioSessions, Broker: BrokerNATS, Run: 1, Sessions: 300, CreateRate: 10, ResumeRate: 20,
			RSS: 1 << 30, BytesPerSession: 5000, Partial: "created 300 of 1000 sessions within 30s (10.0/s)"},
		Result{Scenario: ScenarioCatalogChurn, Broker: BrokerShardmq, Run: 1, Conns: 1000, Reconnects: 50,
			API: Latency{Count: 3, P50: 1e6, P99: 5e6, P999: 5e6}, APIByFilter: map[string]Latency{
				"clientid": {Count: 1, P50: 1e6, P99: 1e6, P999: 1e6},
				"username": {Count: 2, P50: 2e6, P99: 5e6, P999: 5e6},
			}},
		Result{Scenario: ScenarioCatalogChurn, Broker: BrokerMosquitto, Run: 1, Skipped: "broker has no HTTP API"})
	rep.Settings.Sessions = 1000
	rep.Notes = []string{"shardmq not built: example"}
	return rep
}

// metricByRow returns the metric of the named row.
func metricByRow(t *testing.T, row string) Metric {
	t.Helper()
	for _, m := range Metrics() {
		if m.Row == row {
			return m
		}
	}
	t.Fatalf("no metric row %q", row)
	return Metric{}
}

func TestSpreadAndRatio(t *testing.T) {
	rep := sampleReport()
	tests := []struct {
		name      string
		row       string
		broker    string
		want      Spread
		wantRatio float64
		wantRel   float64
	}{
		{"rate shardmq", ScenarioP2P0, BrokerShardmq, Spread{100e3, 200e3, 300e3, 3}, 2, 2},
		{"rate mochi", ScenarioP2P0, BrokerMochi, Spread{40e3, 50e3, 60e3, 3}, 2, 0.5},
		{"latency lower is better", ScenarioFixedRate, BrokerShardmq, Spread{2e6, 2e6, 2e6, 1}, 0.5, 2},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			m := metricByRow(t, tc.row)
			if got := rep.Spread(m, tc.broker); got != tc.want {
				t.Fatalf("Spread = %+v, want %+v", got, tc.want)
			}
			if got, ok := rep.Ratio(m); !ok || got != tc.wantRatio {
				t.Fatalf("Ratio = %v %v, want %v", got, ok, tc.wantRatio)
			}
			if got, ok := rep.Relative(m, tc.broker); !ok || got != tc.wantRel {
				t.Fatalf("Relative = %v %v, want %v", got, ok, tc.wantRel)
			}
		})
	}
	if _, ok := rep.Ratio(metricByRow(t, ScenarioP2P1)); ok {
		t.Fatal("Ratio of a scenario without results is ok")
	}
	if s := spreadOf([]float64{4, 1, 3, 2}); s.Median != 2.5 || s.Min != 1 || s.Max != 4 {
		t.Fatalf("even spread %+v", s)
	}
}

func TestMarkdown(t *testing.T) {
	md := sampleReport().Markdown()
	for _, want := range []string{
		"| scenario | metric | shardmq | mosquitto | mochi | nats | relay ceiling | shardmq / ceiling | shardmq / best peer |",
		// The ceiling and shardmq's fraction of it, 200k / 1.5M.
		"| p2p-qos0 | deliveries/s ↑ | 200k (100k–300k) | 100k (90.0k–110k) | 50.0k (40.0k–60.0k) | — | 1.50M | 13% | 2.00× |",
		// No peer ran p2p-qos1: a ceiling fraction but no ratio.
		"| p2p-qos1 | deliveries/s ↑ | 90.0k | — | — | — | 100k | 90% | — |",
		"| p2p-qos2 | deliveries/s ↑ | — | — | failed (see notes) | — | — | — | — |",
		// A latency has no ceiling fraction.
		"| fixed-rate | p99 latency ↓ | 2ms | 4ms | 8ms | — | — | — | 0.50× |",
		"| api-under-load | GET /clients p99 ↓ | — | n/a (broker has no HTTP API) | — | — | — | — | — |",
		"| session-create | sessions created/s at 1.00k ↑ | 30.0k | 15.0k | failed (see notes) | 10.0 * | — | — | 2.00× |",
		"| session-resume | sessions resumed/s at 1.00k ↑ | 40.0k | 10.0k | failed (see notes) | 20.0 * | — | — | 4.00× |",
		"| offline-mem | broker RSS/offline session at 1.00k ↓ | 900 B | 700 B | failed (see notes) | 4.9 KiB * | — | — | 1.29× |",
		"| catalog-churn | GET /clients p99, worst filter ↓ | 5ms | n/a (broker has no HTTP API) | — | — | — | — | — |",
		"| sessions | shardmq | 1000 sessions: 30.0k/s created, 40.0k/s resumed |",
		"| shardmq | clientid | 1 | 1ms | 1ms | 1ms |",
		"| shardmq | username | 2 | 2ms | 5ms | 5ms |",
		"The sessions rows are at 1.00k sessions, not 200k",
		"- shardmq not built: example",
		"- p2p-qos2 on mochi run 1 failed: boom",
		"- sessions on mochi run 1 failed: created 400 of 1000 sessions within 30s",
		"- sessions on nats run 1 partial: created 300 of 1000 sessions within 30s (10.0/s)",
		"\\* partial: the broker did not complete every session",
	} {
		if !strings.Contains(md, want) {
			t.Errorf("Markdown lacks %q:\n%s", want, md)
		}
	}
	if strings.Contains(md, "| scenario | metric | shardmq | mosquitto | mochi | relay |") {
		t.Error("relay is a column of the comparison table")
	}
	if strings.Contains(md, "skipped: broker has no HTTP API") {
		t.Error("a skipped run is a note as well as its n/a cell")
	}
}

func TestFormatting(t *testing.T) {
	tests := []struct {
		name string
		got  string
		want string
	}{
		{"count small", fmtCount(7), "7.00"},
		{"count k", fmtCount(12345), "12.3k"},
		{"count hundreds k", fmtCount(654321), "654k"},
		{"count M", fmtCount(1.5e6), "1.50M"},
		{"bytes", fmtBytes(512), "512 B"},
		{"KiB", fmtBytes(2048), "2.0 KiB"},
		{"MiB", fmtBytes(3 << 20), "3.0 MiB"},
		{"cell single", cell(Spread{Median: 5, Min: 5, Max: 5, N: 1}, fmtCount), "5.00"},
		{"cell empty", cell(Spread{}, fmtCount), "—"},
		{"dur", fmtDur(1_234_567), "1.23ms"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if tc.got != tc.want {
				t.Fatalf("got %q, want %q", tc.got, tc.want)
			}
		})
	}
}

func TestWriteJSONAndChart(t *testing.T) {
	dir := t.TempDir()
	rep := sampleReport()
	if err := rep.WriteJSON(filepath.Join(dir, "r.json")); err != nil {
		t.Fatal(err)
	}
	b, err := os.ReadFile(filepath.Join(dir, "r.json"))
	if err != nil {
		t.Fatal(err)
	}
	var back Report
	if err := json.Unmarshal(b, &back); err != nil {
		t.Fatal(err)
	}
	if len(back.Results) != len(rep.Results) || back.Results[0].Rate != rep.Results[0].Rate {
		t.Fatalf("JSON round trip lost results: %d", len(back.Results))
	}
	var sum struct {
		Summary []SummaryRow `json:"summary"`
	}
	if err := json.Unmarshal(b, &sum); err != nil {
		t.Fatal(err)
	}
	rows := map[string]SummaryRow{}
	for _, r := range sum.Summary {
		rows[r.Row] = r
	}
	p2p, api := rows[ScenarioP2P0], rows[ScenarioAPI]
	if len(sum.Summary) != 8 || p2p.Ratio == nil || *p2p.Ratio != 2 || p2p.Brokers[BrokerRelay].Median != 1.5e6 ||
		p2p.Ceiling == nil || p2p.Ceiling.Median != 1.5e6 || p2p.CeilingFraction == nil ||
		*p2p.CeilingFraction != 200e3/1.5e6 {
		t.Fatalf("summary %+v", sum.Summary)
	}
	if api.NotApplicable[BrokerMosquitto] != "broker has no HTTP API" || rows[ScenarioFixedRate].CeilingFraction != nil {
		t.Fatalf("summary rows %+v and %+v", api, rows[ScenarioFixedRate])
	}
	for _, r := range []*Report{rep, {Profile: ProfileShort}} {
		png := filepath.Join(dir, "c.png")
		if err := r.WriteChart(png); err != nil {
			t.Fatal(err)
		}
		head := make([]byte, 8)
		f, err := os.Open(png)
		if err != nil {
			t.Fatal(err)
		}
		_, err = f.Read(head)
		f.Close()
		if err != nil || string(head[1:4]) != "PNG" {
			t.Fatalf("chart is not a PNG: %q %v", head, err)
		}
	}
}

func TestConfigValidate(t *testing.T) {
	tests := []struct {
		name string
		mod  func(*Config)
		ok   bool
		// field is the field the error must name.
		field string
	}{
		{"defaults", func(*Config) {}, true, ""},
		{"full", func(c *Config) { c.Profile = ProfileFull }, true, ""},
		{"bad profile", func(c *Config) { c.Profile = "medium" }, false, "Profile"},
		{"bad broker", func(c *Config) { c.Brokers = []string{"emqx"} }, false, "Brokers"},
		{"bad scenario", func(c *Config) { c.Scenarios = []string{"nope"} }, false, "Scenarios"},
		{"bad version", func(c *Config) { c.Version = 6 }, false, "Version"},
		{"payload too small", func(c *Config) { c.PayloadSize = 8 }, false, "PayloadSize"},
		{"negative duration", func(c *Config) { c.Duration = -1 }, false, "Duration"},
		{"negative idle hold", func(c *Config) { c.IdleHold = -1 }, false, "IdleHold"},
		{"storm needs too many source addresses", func(c *Config) { c.StormConnsMax, c.ConnsPerProcess = 254, 1 }, false, "ConnsPerProcess"},
		{"storm just fits the source addresses", func(c *Config) { c.StormConns, c.StormConnsMax, c.ConnsPerProcess = 253, 253, 1 }, true, ""},
		{"too many pairs", func(c *Config) { c.Pairs = 70000 }, false, "Pairs"},
		{"window too big", func(c *Config) { c.Window = 70000 }, false, "Window"},
		{"new peers", func(c *Config) { c.Brokers = []string{BrokerNATS, BrokerAedes} }, true, ""},
		{"target tcp", func(c *Config) { c.Target = "tcp://127.0.0.1:1883" }, true, ""},
		{"target mqtt scheme", func(c *Config) { c.Target = "mqtt://127.0.0.1:1883" }, true, ""},
		{"target ssl", func(c *Config) { c.Target = "ssl://127.0.0.1:8883" }, true, ""},
		{"target ws", func(c *Config) { c.Target = "ws://127.0.0.1:8083/mqtt" }, true, ""},
		{"target ssl with path", func(c *Config) { c.Target = "ssl://127.0.0.1:8883/mqtt" }, false, "Target"},
		{"target ca without target", func(c *Config) { c.TargetCA = "ca.pem" }, false, "TargetCA"},
		{"target ca missing", func(c *Config) { c.Target, c.TargetCA = "ssl://127.0.0.1:8883", "/nonexistent/ca.pem" }, false, "TargetCA"},
		{"target without port", func(c *Config) { c.Target = "tcp://127.0.0.1" }, false, "Target"},
		{"target with path", func(c *Config) { c.Target = "tcp://127.0.0.1:1883/mqtt" }, false, "Target"},
		{"target port out of range", func(c *Config) { c.Target = "tcp://127.0.0.1:70000" }, false, "Target"},
		{"target api", func(c *Config) { c.TargetAPI = "http://127.0.0.1:18083" }, true, ""},
		{"target api https", func(c *Config) { c.TargetAPI = "https://127.0.0.1:18083" }, false, "TargetAPI"},
		{"negative target pid", func(c *Config) { c.TargetPID = -1 }, false, "TargetPID"},
		{"credentials and prefixes", func(c *Config) {
			c.Username, c.Password, c.ClientPrefix, c.TopicPrefix = "u", "p", "fleet-", "fleet"
		}, true, ""},
		{"topic prefix wildcard", func(c *Config) { c.TopicPrefix = "a/+" }, false, "TopicPrefix"},
		{"topic prefix system", func(c *Config) { c.TopicPrefix = "$SYS" }, false, "TopicPrefix"},
		{"connect rate", func(c *Config) { c.ConnectRate = 500 }, true, ""},
		{"negative connect rate", func(c *Config) { c.ConnectRate = -1 }, false, "ConnectRate"},
		{"more session processes than sessions", func(c *Config) { c.Sessions, c.SessionProcesses = 2, 3 }, false, "Sessions"},
		{"too many session processes", func(c *Config) { c.Sessions, c.SessionProcesses = 1000, 254 }, false, "SessionProcesses"},
		{"negative session timeout", func(c *Config) { c.SessionTimeout = -1 }, false, "SessionTimeout"},
		{"churn over 100 %", func(c *Config) { c.ChurnPercent = 101 }, false, "ChurnPercent"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			var c Config
			tc.mod(&c)
			err := c.Validate()
			if tc.ok != (err == nil) || (err != nil && !errors.Is(err, ErrConfig)) {
				t.Fatalf("Validate() = %v, want ok=%v", err, tc.ok)
			}
			if err != nil && !strings.Contains(err.Error(), ": "+tc.field+" ") {
				t.Fatalf("Validate() = %v, want it to name %s", err, tc.field)
			}
		})
	}
	full := Config{Profile: ProfileFull}.withDefaults()
	short := Config{}.withDefaults()
	// The full profile runs the sessions at the million and the
	// catalog under churn; the short profile leaves the churn out.
	if full.Sessions != 1000000 || !slices.Contains(full.Scenarios, ScenarioCatalogChurn) ||
		slices.Contains(short.Scenarios, ScenarioCatalogChurn) || !slices.Contains(short.Scenarios, ScenarioSessions) {
		t.Fatalf("profile scenarios: short %v (%d sessions), full %v (%d sessions)", short.Scenarios, short.Sessions,
			full.Scenarios, full.Sessions)
	}
	if b := (Config{Target: "tcp://127.0.0.1:1"}).withDefaults().Brokers; len(b) != 0 {
		t.Fatalf("a target run starts brokers %v by default", b)
	}
	if b := short.Brokers; !slices.Equal(b, knownBrokers) {
		t.Fatalf("default brokers %v", b)
	}
	if full.Repeats != 3 || short.Repeats != 2 || full.StormConns != 10000 || short.Duration >= full.Duration {
		t.Fatalf("profile defaults: short %+v full %+v", short, full)
	}
	// Both profiles storm at the scale and hold the connections
	// idle before sampling memory.
	for _, c := range []Config{short, full} {
		if c.StormConns != 10000 || c.StormConnsMax != 19000 || c.IdleHold != 3*time.Second {
			t.Fatalf("%s profile: storm %d, max %d, idle hold %v", c.Profile, c.StormConns, c.StormConnsMax, c.IdleHold)
		}
	}
}

func TestProgressLine(t *testing.T) {
	var b strings.Builder
	p := newProgress(&b, 4)
	p.finish()
	p.step("x")
	if !strings.Contains(b.String(), "[#######.......................]   1/4 x") {
		t.Fatalf("progress line %q", b.String())
	}
	p.finish()
	p.finish()
	p.finish()
	p.finish() // past the end stays at total
	p.end()
	if !strings.Contains(b.String(), "4/4 done") {
		t.Fatalf("progress end %q", b.String())
	}
}

func TestCurlCreds(t *testing.T) {
	tests := []struct {
		name, log, key, secret string
	}{
		{"curl example", "2026/11/26 created an API key:\n  curl -u key-0a1b2c:S3CRETtext 'http://127.0.0.1:18083/api/v5/clients?_page=1&_limit=50'\n",
			"key-0a1b2c", "S3CRETtext"},
		{"no example", "2026/11/26 shardmq: MQTT on 127.0.0.1:1883\n", "", ""},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			var key, secret string
			if m := curlCreds.FindStringSubmatch(tc.log); m != nil {
				key, secret = m[1], m[2]
			}
			if key != tc.key || secret != tc.secret {
				t.Fatalf("got %q:%q, want %q:%q", key, secret, tc.key, tc.secret)
			}
		})
	}
}
