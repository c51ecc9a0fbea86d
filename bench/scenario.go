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
	// ScenarioAPI: GET /clients latency while the fan-in load runs; only
	// brokers with an HTTP API.
	ScenarioAPI = "api-under-load"
	// ScenarioAPICatalog: GET /clients latency over a catalog of
	// CatalogRows offline sessions; only brokers with an HTTP API.
	ScenarioAPICatalog = "api-catalog"
	// ScenarioP2P0TLS is p2p-qos0 over TLS 1.3 (transport.go).
	ScenarioP2P0TLS = "p2p-qos0-tls"
	// ScenarioStormTLS is conn-storm over TLS: full handshakes per second
	// and the idle memory of TLS connections.
	ScenarioStormTLS = "conn-storm-tls"
	// ScenarioP2P0WS is p2p-qos0 over WebSocket.
	ScenarioP2P0WS = "p2p-qos0-ws"
)

// Scenarios returns every scenario name in report order.
func Scenarios() []string {
	return []string{ScenarioFanIn, ScenarioFanOut, ScenarioP2P0, ScenarioP2P1, ScenarioP2P2,
		ScenarioFixedRate, ScenarioStorm, ScenarioStormMax, ScenarioAPI, ScenarioAPICatalog,
		ScenarioP2P0TLS, ScenarioStormTLS, ScenarioP2P0WS}
}

// relayScenarios are the scenarios the Relay can carry (pairs at QoS 0).
var relayScenarios = map[string]bool{ScenarioP2P0: true, ScenarioFixedRate: true}

// Result is one scenario run on one broker.
type Result struct {
	// Scenario and Broker name the run; Run counts repeats from 1.
	Scenario string `json:"scenario"`
	Broker   string `json:"broker"`
	Run      int    `json:"run"`
	// Skipped explains a run that did not happen; Err a run that failed.
	Skipped string `json:"skipped,omitempty"`
	Err     string `json:"error,omitempty"`
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
	// Conns, ConnectRate and BytesPerConn belong to the connection storm.
	Conns        int     `json:"conns,omitempty"`
	ConnectRate  float64 `json:"connects_per_sec,omitempty"`
	BytesPerConn float64 `json:"rss_bytes_per_idle_conn,omitempty"`
	// API is the GET /clients latency of the API scenario; APIErrors
	// counts failed requests.
	API       Latency `json:"api_latency"`
	APIErrors int64   `json:"api_errors,omitempty"`
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
		return flowSpec{pubTopics: pairs(cfg.FanInPublishers, "bench/fanin"),
			subFilters: []string{"bench/fanin/+"}, fanout: 1, window: cfg.QoS0Window}, true
	case ScenarioFanOut:
		subs := make([]string, cfg.FanOutSubscribers)
		for i := range subs {
			subs[i] = "bench/fanout"
		}
		return flowSpec{pubTopics: []string{"bench/fanout"}, subFilters: subs,
			fanout: len(subs), window: cfg.QoS0Window}, true
	case ScenarioP2P0, ScenarioP2P1, ScenarioP2P2:
		t := pairs(cfg.Pairs, "bench/p2p")
		s := flowSpec{pubTopics: t, subFilters: t, fanout: 1, window: cfg.QoS0Window}
		if scenario != ScenarioP2P0 {
			s.qos, s.window = 1, cfg.Window
			if scenario == ScenarioP2P2 {
				s.qos = 2
			}
		}
		return s, true
	case ScenarioFixedRate:
		t := pairs(cfg.FixedRatePairs, "bench/rate")
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
	if in.Relay && !relayScenarios[scenario] {
		r.Skipped = "the relay carries only point-to-point QoS 0"
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
	case ScenarioAPICatalog:
		return runAPICatalog(ctx, cfg, in, r)
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
	var during func(context.Context)
	if scenario == ScenarioAPI {
		api = newAPIProbe(cfg, in)
		during = api.run
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
	if api != nil {
		r.API, r.APIErrors = api.hist.Summary(), api.errors
		switch {
		case api.err != nil:
			r.Err = api.err.Error()
		case api.hist.Count() == 0:
			r.Err = fmt.Sprintf("no GET %s request succeeded (%d failed)", cfg.APIPath, api.errors)
		}
	}
	if r.Delivered == 0 && r.Err == "" {
		r.Err = fmt.Sprintf("no message delivered in %v", fr.measured.Round(time.Millisecond))
	}
	return r
}
