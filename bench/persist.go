package bench

import (
	"bufio"
	"bytes"
	"context"
	"fmt"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"time"
)

// The p2p-qos1-persist scenarios run p2p-qos1 to persistent sessions on
// brokers that keep those sessions on disk. shardmq runs them once per
// durability (a scenario each, so that the batch figure sits beside the
// memory figure it is judged against); each peer runs p2p-qos1-persist
// with the persistence it has.

// persistScenarios maps each persistent-session scenario to shardmq's
// durability in it.
var persistScenarios = map[string]string{
	ScenarioP2P1PersistMemory: "memory",
	ScenarioP2P1Persist:       "batch",
	ScenarioP2P1PersistSync:   "sync",
}

// persistence says, per broker of ScenarioP2P1Persist, what reaches its
// disk while the scenario runs, as the report's table shows it.
var persistence = map[string]string{
	BrokerMosquitto: "`persistence true`: the whole in-memory state into mosquitto.db every autosave_interval (1800 s by default: " +
		"never within a run) and at exit; a crash loses everything since the last save",
	BrokerMochi: "pebble storage hook (NoSync, its default): every session, subscription and in-flight change as its own " +
		"pebble write, to the OS at once, never fsynced",
	BrokerNATS: "JetStream file store: every QoS 1 message and acknowledgement of an MQTT session written through to the OS, " +
		"fsynced every sync_interval (2 min by default)",
}

// shardmqDurability says what shardmq writes under each durability.
var shardmqDurability = map[string]string{
	"memory": "durability memory: nothing",
	"batch": "durability batch: each loop turn's changes as one pebble batch, fsynced every flush_interval (100 ms); " +
		"a delivery acknowledged within half of it is never written",
	"sync": "durability sync: each loop turn's changes as one pebble batch, fsynced before the PUBACKs it holds (group commit)",
}

// persistUnsupported returns why broker cannot run scenario, a
// persistent-session scenario, or "" when it can (or when scenario is
// not one).
func persistUnsupported(broker, scenario string) string {
	d, ok := persistScenarios[scenario]
	switch {
	case !ok:
		return ""
	case d != "batch" && broker != BrokerShardmq:
		return "durability is shardmq's setting; peers run " + ScenarioP2P1Persist
	case broker == BrokerAedes:
		return "aedes keeps sessions on disk only through a persistence module on Redis or MongoDB, a server of its own"
	}
	return ""
}

// scenarioBroker is a Broker whose start depends on the scenario it is
// started for.
type scenarioBroker interface {
	// forScenario returns the broker to start for scenario.
	forScenario(scenario string) Broker
}

// forScenario returns s with --durability set for a persistent-session
// scenario, s itself for the others.
func (s Shardmq) forScenario(scenario string) Broker {
	if d, ok := persistScenarios[scenario]; ok {
		s.ExtraArgs = slices.Concat([]string{"--durability", d}, s.ExtraArgs)
	}
	return s
}

// forScenario returns m with persistence on for a persistent-session
// scenario, m itself for the others.
func (m Mosquitto) forScenario(scenario string) Broker {
	_, m.Persistence = persistScenarios[scenario]
	return m
}

// forScenario returns m with its pebble storage hook for a
// persistent-session scenario, m itself for the others.
func (m Mochi) forScenario(scenario string) Broker {
	_, m.Store = persistScenarios[scenario]
	return m
}

// storeProbe reads a shardmq broker's store counters from /metrics when a
// measurement starts and when it ends.
type storeProbe struct {
	// addr is the broker's API listener, host:port.
	addr string
	// t0, t1 are when the counters were read; ok0, ok1 whether they were.
	t0, t1         time.Time
	syncs, commits [2]float64
	ok0, ok1       bool
}

// metricsTimeout bounds one GET /metrics.
const metricsTimeout = 3 * time.Second

// run reads the counters now and again once ctx is done (runFlow's
// during hook: ctx ends with the measurement).
func (p *storeProbe) run(ctx context.Context) {
	p.t0 = time.Now()
	p.syncs[0], p.commits[0], p.ok0 = p.read(ctx)
	<-ctx.Done()
	p.t1 = time.Now()
	rctx, cancel := context.WithTimeout(context.Background(), metricsTimeout)
	defer cancel()
	p.syncs[1], p.commits[1], p.ok1 = p.read(rctx)
}

// read returns shardmq_store_syncs_total and shardmq_store_commits_total,
// and false when /metrics does not answer with both.
func (p *storeProbe) read(ctx context.Context) (syncs, commits float64, ok bool) {
	ctx, cancel := context.WithTimeout(ctx, metricsTimeout)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, "http://"+p.addr+"/metrics", nil)
	if err != nil {
		return 0, 0, false
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return 0, 0, false
	}
	defer resp.Body.Close()
	var body bytes.Buffer
	if resp.StatusCode != http.StatusOK {
		return 0, 0, false
	}
	if _, err := body.ReadFrom(resp.Body); err != nil {
		return 0, 0, false
	}
	var okS, okC bool
	syncs, okS = promValue(body.Bytes(), "shardmq_store_syncs_total")
	commits, okC = promValue(body.Bytes(), "shardmq_store_commits_total")
	return syncs, commits, okS && okC
}

// rates returns the fsyncs and commits per second between the two reads,
// nil when either read failed.
func (p *storeProbe) rates() (fsyncs, commits *float64) {
	secs := p.t1.Sub(p.t0).Seconds()
	if !p.ok0 || !p.ok1 || secs <= 0 {
		return nil, nil
	}
	f := (p.syncs[1] - p.syncs[0]) / secs
	c := (p.commits[1] - p.commits[0]) / secs
	return &f, &c
}

// promValue returns the value of the unlabelled sample name in a
// Prometheus text exposition.
func promValue(text []byte, name string) (float64, bool) {
	sc := bufio.NewScanner(bytes.NewReader(text))
	sc.Buffer(make([]byte, 0, 64<<10), 1<<20)
	for sc.Scan() {
		rest, found := strings.CutPrefix(sc.Text(), name+" ")
		if !found {
			continue
		}
		v, err := strconv.ParseFloat(strings.TrimSpace(rest), 64)
		return v, err == nil
	}
	return 0, false
}

// writePersistTable writes the persistent-session table: one row per
// shardmq durability and per peer, with what reaches the disk, the
// deliveries per second (median run), the p99 latency, the store's
// fsyncs per second and each row's share of shardmq's memory figure.
func (rep *Report) writePersistTable(b *strings.Builder) {
	scs := rep.scenarios()
	if !slices.Contains(scs, ScenarioP2P1Persist) && !slices.Contains(scs, ScenarioP2P1PersistMemory) {
		return
	}
	rate := Metric{Value: func(r Result) (float64, bool) { return r.Rate, r.Delivered > 0 }}
	memory := rate
	memory.Scenario = ScenarioP2P1PersistMemory
	base := rep.Spread(memory, BrokerShardmq)
	b.WriteString("\n### p2p QoS 1 to persistent sessions (median run)\n\n" +
		"| broker | what reaches the disk | deliveries/s | latency p99 | fsyncs/s | store commits/s | / shardmq memory |\n" +
		"|---|---|---:|---:|---:|---:|---:|\n")
	row := func(broker, scenario, what string) {
		rs := rep.runs(scenario, broker)
		if len(rs) == 0 {
			return
		}
		if why := rep.notApplicable(scenario, broker); why != "" {
			fmt.Fprintf(b, "| %s | n/a (%s) | — | — | — | — | — |\n", broker, why)
			return
		}
		m := rate
		m.Scenario = scenario
		s := rep.Spread(m, broker)
		if s.N == 0 {
			fmt.Fprintf(b, "| %s | %s | failed (see notes) | — | — | — | — |\n", broker, what)
			return
		}
		r := medianRun(rs)
		fsyncs, commits, share := "—", "—", "—"
		if r.Fsyncs != nil {
			fsyncs = sig3(*r.Fsyncs)
		}
		if r.Commits != nil {
			commits = fmtCount(*r.Commits)
		}
		if base.N > 0 && base.Median > 0 {
			share = fmt.Sprintf("%.0f%%", 100*s.Median/base.Median)
		}
		fmt.Fprintf(b, "| %s | %s | %s | %s | %s | %s | %s |\n", broker, what, cell(s, fmtCount),
			fmtDur(r.Latency.P99), fsyncs, commits, share)
	}
	for _, sc := range []string{ScenarioP2P1PersistMemory, ScenarioP2P1Persist, ScenarioP2P1PersistSync} {
		row(BrokerShardmq, sc, shardmqDurability[persistScenarios[sc]])
	}
	for _, p := range rep.peers() {
		what, ok := persistence[p]
		if !ok {
			what = "as the broker is configured (not started by the harness)"
		}
		row(p, ScenarioP2P1Persist, what)
	}
	b.WriteString("\nfsyncs/s and store commits/s are shardmq's `shardmq_store_syncs_total` and " +
		"`shardmq_store_commits_total` from its /metrics over the measured seconds; the peers expose no such count " +
		"(what each writes is in the second column).\n")
}
