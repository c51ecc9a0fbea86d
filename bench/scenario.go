package bench

import (
	"context"
	"fmt"
	"time"
)

// Scenario names, in the order reports show them.
const (
	// ScenarioFanIn: FanInPublishers publishers at QoS 0 → one subscriber
	// on a wildcard filter.
	ScenarioFanIn = "fanin-qos0"
	// ScenarioFanOut: one publisher at QoS 0 → FanOutSubscribers.
	ScenarioFanOut = "fanout-qos0"
	// ScenarioP2P0: Pairs point-to-point pairs at QoS 0.
	ScenarioP2P0 = "p2p-qos0"
	// ScenarioP2P1: Pairs pairs at QoS 1, Window packets inflight.
	ScenarioP2P1 = "p2p-qos1"
	// ScenarioP2P2: Pairs pairs at QoS 2, Window packets inflight.
	ScenarioP2P2 = "p2p-qos2"
	// ScenarioP2P1Persist is p2p-qos1 to persistent sessions (subscribers
	// connect with clean session 0) on brokers that keep them on disk:
	// shardmq with durability batch, mosquitto with persistence true,
	// mochi with its pebble storage hook, NATS in JetStream (persist.go).
	ScenarioP2P1Persist = "p2p-qos1-persist"
	// ScenarioP2P1PersistMemory is p2p-qos1-persist on shardmq with
	// durability memory: the figure batch is measured against.
	ScenarioP2P1PersistMemory = "p2p-qos1-persist-memory"
	// ScenarioP2P1PersistSync is p2p-qos1-persist on shardmq with
	// durability sync, with the store's fsyncs per second.
	ScenarioP2P1PersistSync = "p2p-qos1-persist-sync"
	// ScenarioFixedRate: FixedRate messages/s over FixedRatePairs pairs at
	// QoS 0; the metric is the p99 latency.
	ScenarioFixedRate = "fixed-rate"
	// ScenarioStorm: StormConns connect as fast as the broker accepts
	// them, then stay idle; it yields the connect rate and the broker's
	// resident memory per idle connection.
	ScenarioStorm = "conn-storm"
	// ScenarioStormMax: the connection storm with StormConnsMax
	// connections, spread over generator processes, for the idle memory
	// near the per-process open-file cap.
	ScenarioStormMax = "conn-storm-max"
	// ScenarioSessions: Sessions clients create persistent sessions (MQTT
	// CONNECT with clean session 0 and a user name, one QoS 1 SUBSCRIBE,
	// DISCONNECT), the broker's memory is sampled with the sessions
	// offline, then the same clients resume them (CONNECT, CONNACK with
	// session present, DISCONNECT). It yields the create and resume rates
	// and the broker's resident memory per offline session.
	ScenarioSessions = "sessions"
	// ScenarioAPI: GET /clients latency while the fan-in load runs; only
	// brokers with an HTTP API.
	ScenarioAPI = "api-under-load"
	// ScenarioAPICatalog: GET /clients latency over a catalog of
	// CatalogRows offline sessions; only brokers with an HTTP API.
	ScenarioAPICatalog = "api-catalog"
	// ScenarioCatalogChurn: GET /clients latency for each filter of the
	// API's specification over a catalog of CatalogRows persistent
	// sessions while ChurnPercent of them reconnect per minute; only
	// brokers with an HTTP API.
	ScenarioCatalogChurn = "catalog-churn"
	// ScenarioP2P0TLS is p2p-qos0 over TLS 1.3 (transport.go).
	ScenarioP2P0TLS = "p2p-qos0-tls"
	// ScenarioStormTLS is conn-storm over TLS: full handshakes per second
	// and the idle memory of TLS connections.
	ScenarioStormTLS = "conn-storm-tls"
	// ScenarioP2P0WS is p2p-qos0 over WebSocket.
	ScenarioP2P0WS = "p2p-qos0-ws"
	// ScenarioFanInSN: SNPublishers MQTT-SN clients publish at QoS 0 over
	// UDP → one MQTT subscriber on a wildcard filter; only brokers with an
	// MQTT-SN gateway.
	ScenarioFanInSN = "fanin-qos0-mqttsn"
	// ScenarioStormSN is conn-storm with MQTT-SN clients: the connect rate
	// and the broker's resident memory per idle MQTT-SN client.
	ScenarioStormSN = "conn-storm-mqttsn"
)

// Scenarios returns every scenario name in report order.
func Scenarios() []string {
	return []string{ScenarioFanIn, ScenarioFanOut, ScenarioP2P0, ScenarioP2P1, ScenarioP2P2,
		ScenarioP2P1PersistMemory, ScenarioP2P1Persist, ScenarioP2P1PersistSync, ScenarioFixedRate, ScenarioStorm, ScenarioStormMax, ScenarioSessions, ScenarioAPI, ScenarioAPICatalog,
		ScenarioCatalogChurn, ScenarioP2P0TLS, ScenarioStormTLS, ScenarioP2P0WS, ScenarioFanInSN, ScenarioStormSN}
}

// relayScenarios are the scenarios the Relay carries: every message
// scenario (the generator's ceiling in each topology), not the storms,
// sessions or API scenarios, which need MQTT sessions or an HTTP API.
var relayScenarios = map[string]bool{ScenarioFanIn: true, ScenarioFanOut: true, ScenarioP2P0: true,
	ScenarioP2P1: true, ScenarioP2P2: true, ScenarioFixedRate: true}

// Result is one scenario run on one broker.
type Result struct {
	// Scenario and Broker name the run; Run counts repeats from 1.
	Scenario string `json:"scenario"`
	Broker   string `json:"broker"`
	Run      int    `json:"run"`
	// Skipped explains a run that did not happen; Err a run that failed;
	// Partial a run whose figures stand for less than the configured load
	// (a sessions phase cut short by its time limit).
	Skipped string `json:"skipped,omitempty"`
	Err     string `json:"error,omitempty"`
	Partial string `json:"partial,omitempty"`
	// Seconds is the measured duration.
	Seconds float64 `json:"seconds"`
	// Sent and Delivered count publications and deliveries while measuring.
	Sent      int64 `json:"sent"`
	Delivered int64 `json:"delivered"`
	// Rate is deliveries per second.
	Rate float64 `json:"deliveries_per_sec"`
	// Stalls counts QoS 0 windows reset after stallTimeout (lost messages).
	Stalls int64 `json:"stalls"`
	// Latency is publish-to-delivery latency from payload timestamps.
	Latency Latency `json:"latency"`
	// CPU is the broker's CPU use in cores while measuring (0 in-process).
	CPU float64 `json:"broker_cpu_cores"`
	// GenCPU is the generator's own CPU use in cores while measuring
	// (relay included when the relay runs in-process).
	GenCPU float64 `json:"generator_cpu_cores"`
	// RSS and PeakRSS are the broker's resident memory at the end of the
	// measurement and its peak, in bytes (0 in-process).
	RSS     int64 `json:"broker_rss_bytes"`
	PeakRSS int64 `json:"broker_peak_rss_bytes"`
	// Fsyncs and Commits are the store's fsyncs and batch commits per
	// second while measuring, read from the broker's /metrics
	// (shardmq_store_syncs_total, shardmq_store_commits_total); nil when
	// the broker exposes no such counters.
	Fsyncs  *float64 `json:"store_fsyncs_per_sec,omitempty"`
	Commits *float64 `json:"store_commits_per_sec,omitempty"`
	// Conns, ConnectRate and BytesPerConn belong to the connection storm.
	Conns        int     `json:"conns,omitempty"`
	ConnectRate  float64 `json:"connects_per_sec,omitempty"`
	BytesPerConn float64 `json:"rss_bytes_per_idle_conn,omitempty"`
	// Sessions, CreateRate, ResumeRate and BytesPerSession belong to the
	// sessions scenario: the sessions created, the create and resume rates
	// (sessions/s) and the broker's RSS growth per offline session.
	Sessions        int     `json:"sessions,omitempty"`
	CreateRate      float64 `json:"sessions_created_per_sec,omitempty"`
	ResumeRate      float64 `json:"sessions_resumed_per_sec,omitempty"`
	BytesPerSession float64 `json:"rss_bytes_per_offline_session,omitempty"`
	// API is the GET /clients latency of the API scenario; APIErrors
	// counts failed requests.
	API       Latency `json:"api_latency"`
	APIErrors int64   `json:"api_errors,omitempty"`
	// APIByFilter is the GET /clients latency of catalog-churn per filter
	// (see churnFilters), and Reconnects the sessions that reconnected
	// while it was measured.
	APIByFilter map[string]Latency `json:"api_latency_by_filter,omitempty"`
	Reconnects  int64              `json:"reconnects,omitempty"`
}

// flowFor returns the flowSpec of a message scenario.
func flowFor(cfg Config, scenario string) (flowSpec, bool) {
	pairs := func(n int, prefix string) (topics []string) {
		for i := 0; i < n; i++ {
			topics = append(topics, fmt.Sprintf("%s/%d", prefix, i))
		}
		return topics
	}
	switch scenario {
	case ScenarioFanIn, ScenarioAPI:
		return flowSpec{pubTopics: pairs(cfg.FanInPublishers, cfg.TopicPrefix+"/fanin"),
			subFilters: []string{cfg.TopicPrefix + "/fanin/+"}, fanout: 1, window: cfg.QoS0Window}, true
	case ScenarioFanInSN:
		// The messages in flight are fanin-qos0's, spread over more
		// publishers: a window of 64 each for 1000 publishers would pass
		// the subscriber's outbound soft limit, and the broker would drop
		// QoS 0 by design.
		w := max(2, cfg.QoS0Window*cfg.FanInPublishers/cfg.SNPublishers)
		return flowSpec{pubTopics: pairs(cfg.SNPublishers, cfg.TopicPrefix+"/fanin-sn"),
			subFilters: []string{cfg.TopicPrefix + "/fanin-sn/+"}, fanout: 1, window: w, sn: true}, true
	case ScenarioFanOut:
		subs := make([]string, cfg.FanOutSubscribers)
		for i := range subs {
			subs[i] = cfg.TopicPrefix + "/fanout"
		}
		return flowSpec{pubTopics: []string{cfg.TopicPrefix + "/fanout"}, subFilters: subs,
			fanout: len(subs), window: cfg.QoS0Window}, true
	case ScenarioP2P0, ScenarioP2P1, ScenarioP2P2:
		t := pairs(cfg.Pairs, cfg.TopicPrefix+"/p2p")
		s := flowSpec{pubTopics: t, subFilters: t, fanout: 1, window: cfg.QoS0Window}
		if scenario != ScenarioP2P0 {
			s.qos, s.window = 1, cfg.Window
			if scenario == ScenarioP2P2 {
				s.qos = 2
			}
		}
		return s, true
	case ScenarioP2P1Persist, ScenarioP2P1PersistMemory, ScenarioP2P1PersistSync:
		t := pairs(cfg.Pairs, cfg.TopicPrefix+"/persist")
		return flowSpec{pubTopics: t, subFilters: t, fanout: 1, qos: 1, window: cfg.Window, persistent: true}, true
	case ScenarioFixedRate:
		t := pairs(cfg.FixedRatePairs, cfg.TopicPrefix+"/rate")
		return flowSpec{pubTopics: t, subFilters: t, fanout: 1, window: cfg.QoS0Window,
			rate: float64(cfg.FixedRate)}, true
	}
	return flowSpec{}, false
}

// RunScenario runs one scenario once against a running broker instance and
// returns its result; Broker and Run are left for the caller to fill in.
func RunScenario(ctx context.Context, cfg Config, in *Instance, scenario string) Result {
	cfg = cfg.withDefaults()
	r := Result{Scenario: scenario}
	// A --target on ssl://, ws:// or wss:// runs every scenario over it.
	ctx = withTransport(ctx, in.transport)
	if in.Relay && !relayScenarios[scenario] {
		r.Skipped = "the relay carries message scenarios only"
		return r
	}
	if _, ok := secureScenarios[scenario]; ok {
		return runSecure(ctx, cfg, in, scenario)
	}
	switch scenario {
	case ScenarioStorm:
		return runStorm(ctx, cfg, in, r)
	case ScenarioStormMax:
		cfg.StormConns = cfg.StormConnsMax
		return runStorm(ctx, cfg, in, r)
	case ScenarioStormSN:
		return runStormSN(ctx, cfg, in, r)
	case ScenarioFanInSN:
		if in.SNAddr == "" {
			r.Skipped = "broker has no MQTT-SN gateway"
			return r
		}
	case ScenarioSessions:
		return runSessions(ctx, cfg, in, r)
	case ScenarioAPICatalog:
		return runAPICatalog(ctx, cfg, in, r)
	case ScenarioCatalogChurn:
		return runCatalogChurn(ctx, cfg, in, r)
	case ScenarioAPI:
		if r.Skipped = in.apiReady(ctx); r.Skipped != "" {
			return r
		}
	}
	spec, ok := flowFor(cfg, scenario)
	if !ok {
		r.Err = fmt.Sprintf("unknown scenario %q", scenario)
		return r
	}
	var api *apiProbe
	var syncs *storeProbe
	var during func(context.Context)
	switch {
	case scenario == ScenarioAPI:
		api = newAPIProbe(cfg, in)
		during = api.run
	case spec.persistent && in.APIAddr != "":
		syncs = &storeProbe{addr: in.APIAddr}
		during = syncs.run
	}
	fr, err := runFlow(ctx, cfg, in, spec, during)
	if err != nil {
		r.Err = err.Error()
		return r
	}
	r.Seconds = fr.measured.Seconds()
	r.Sent, r.Delivered, r.Stalls = fr.sent, fr.delivered, fr.stalls
	if r.Seconds > 0 {
		r.Rate = float64(fr.delivered) / r.Seconds
	}
	r.Latency = fr.latency.Summary()
	r.CPU, r.GenCPU, r.RSS, r.PeakRSS = fr.cpu, fr.genCPU, fr.rss, fr.peakRSS
	if syncs != nil {
		r.Fsyncs, r.Commits = syncs.rates()
	}
	if api != nil {
		r.API, r.APIErrors = api.hist.Summary(), api.errors
		r.Err = api.failure(cfg.APIPath)
	}
	if r.Delivered == 0 && r.Err == "" {
		r.Err = fmt.Sprintf("no message delivered in %v", fr.measured.Round(time.Millisecond))
	}
	return r
}
