package main

import (
	"log/slog"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/shardmq/shardmq/catalog"
	"github.com/shardmq/shardmq/httpapi"
	"github.com/shardmq/shardmq/netio"
	"github.com/shardmq/shardmq/shards"
	"github.com/shardmq/shardmq/shards/auth"
	"github.com/shardmq/shardmq/shards/store/disk"
)

// opsSources are what /metrics and /status read besides the broker and
// the catalog.
type opsSources struct {
	server *netio.Server // open connections and loops
	auth   *auth.Auth    // authentication and ACL counters
	memory *memoryStats  // memory releases
	store  *disk.DB      // the durable store; nil when every zone is memory
	// ready reports whether the broker serves: GET /status answers 503
	// otherwise (before the start completed, and from the stop on, so
	// that load balancers move away first).
	ready func() bool
	// gateways are the gateways for constrained devices.
	gateways []gatewayRun
}

// configureOps gives the API its operational endpoints: /metrics over a
// registry of the broker's, the catalog's and the process's metrics (an
// API key needed when metricsAuth), and /status.
func configureOps(api *httpapi.API, b *shards.Broker, cat *catalog.Catalog, src opsSources, metricsAuth bool) {
	reg := prometheus.NewRegistry()
	reg.MustRegister(
		collectors.NewGoCollector(),
		collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}),
		api.Collector(),
		&brokerCollector{b: b, cat: cat, src: src},
		gatewayCollector{src.gateways},
	)
	api.EnableMetrics(reg, metricsAuth)
	api.SetReady(src.ready)
}

// brokerCollector reads the broker's, the authorizer's and the catalog's
// counters when Prometheus scrapes. Every read is of values the shards
// already publish (Broker.Totals, Broker.Levels): a scrape waits for no
// shard.
type brokerCollector struct {
	b   *shards.Broker
	cat *catalog.Catalog
	src opsSources
}

func desc(name, help string, labels ...string) *prometheus.Desc {
	return prometheus.NewDesc("shardmq_"+name, help, labels, nil)
}

var (
	descConnections    = desc("connections", "Open MQTT network connections.")
	descLive           = desc("live_connections", "Connected MQTT clients (CONNECT accepted).")
	descLiveMax        = desc("live_connections_max", "Highest number of connected clients since start.")
	descSessions       = desc("sessions", "Sessions, connected or kept offline.")
	descSessionsMax    = desc("sessions_max", "Highest number of sessions since start.")
	descSubs           = desc("subscriptions", "Subscriptions, shared ones included.")
	descSubsMax        = desc("subscriptions_max", "Highest number of subscriptions since start.")
	descRetained       = desc("retained_messages", "Retained messages.")
	descRetainedMax    = desc("retained_messages_max", "Highest number of retained messages since start.")
	descInflight       = desc("inflight_messages", "Outbound QoS 1/2 messages waiting for their acknowledgement, all sessions.")
	descQueued         = desc("queued_messages", "Messages waiting in session queues, all sessions.")
	descAwaitingRel    = desc("awaiting_rel_messages", "Inbound QoS 2 messages waiting for PUBREL, all sessions.")
	descMsgIn          = desc("messages_received_total", "PUBLISH messages received from clients, by QoS.", "qos")
	descMsgOut         = desc("messages_sent_total", "PUBLISH messages sent to clients, by QoS.", "qos")
	descBytesIn        = desc("received_bytes_total", "Bytes received on MQTT connections.")
	descBytesOut       = desc("sent_bytes_total", "Bytes sent on MQTT connections.")
	descPktIn          = desc("packets_received_total", "MQTT packets received.")
	descPktOut         = desc("packets_sent_total", "MQTT packets sent.")
	descDropped        = desc("messages_dropped_total", "Messages dropped, by direction and reason.", "direction", "reason")
	descAuthn          = desc("authentications_total", "CONNECT authentication outcomes.", "result")
	descACLDenied      = desc("acl_denied_total", "Requests the ACL refused, by action.", "action")
	descAuthReloads    = desc("auth_reloads_total", "Successful reloads of the password and ACL files.")
	descCatRows        = desc("catalog_rows", "Client rows in the catalog behind GET /clients.")
	descCatSnapshot    = desc("catalog_snapshot_duration_seconds", "Duration of the catalog's last counter snapshot.")
	descCatSnapRows    = desc("catalog_snapshot_rows", "Rows written by the catalog's last counter snapshot.")
	descCatStale       = desc("catalog_staleness_seconds", "Age of the oldest change handed to the catalog that readers cannot see yet.")
	descCatInterval    = desc("catalog_stats_interval_seconds", "Effective interval between counter snapshots (stretches when a snapshot is slow).")
	descCatPending     = desc("catalog_pending_changes", "Changes waiting for the catalog's writer, by kind.", "kind")
	descCatErrors      = desc("catalog_write_errors_total", "Failed catalog write chunks.")
	descCatMaxHold     = desc("catalog_max_chunk_hold_seconds", "Longest time one catalog write chunk held readers off since start.")
	descShards         = desc("shards", "Event loops serving MQTT (each owns its sessions).")
	descMemReleases    = desc("memory_releases_total", "Times memory was returned to the OS after a quiet burst (memory_release).")
	descMemRelSecs     = desc("memory_release_seconds_total", "Time spent returning memory to the OS (collection, scavenging, malloc_trim).")
	descMemReleased    = desc("memory_released_bytes_total", "Resident bytes the releases returned to the OS.")
	descLstConns       = desc("listener_connections", "Open connections by listener, those in their TLS handshake or WebSocket upgrade included.", "listener")
	descHandshakes     = desc("tls_handshakes_total", "Completed TLS handshakes by listener.", "listener")
	descResumed        = desc("tls_resumed_total", "TLS handshakes that resumed a session, by listener.", "listener")
	descRefused        = desc("transport_refused_total", "Connections refused or closed by their transport (PROXY header, TLS, WebSocket) or a full listener, by listener and reason.", "listener", "reason")
	descStoreRecovered = desc("store_recovered", "What the start recovered from the store, by kind.", "kind")
	descStoreExpired   = desc("store_expired_total", "What the start dropped from the store because it expired while the broker was down, by kind.", "kind")
	descStoreCommits   = desc("store_commits_total", "Batches written to the store (one per loop turn that changed persistent state).")
	descStoreSyncs     = desc("store_syncs_total", "fsyncs of the store's files.")
	descStoreSyncSecs  = desc("store_sync_seconds_total", "Time the store's fsyncs took.")
	descStoreSyncMax   = desc("store_sync_seconds_max", "The longest fsync of the store's files since the start; batch durability's loss window grows by it.")
	descStoreErrors    = desc("store_commit_errors_total", "Batches the store did not write (disk full included).")
	descStoreDiskFull  = desc("store_disk_full_total", "Batches the store refused because the disk is (nearly) full.")
	descStoreRefused   = desc("store_refused_publishes_total", "QoS 1/2 PUBLISHes refused (0x97 on MQTT 5, a close on MQTT 3) because they would reach a persistent session while the store's disk is full.")
	brokerCollectors   = []*prometheus.Desc{descStoreRecovered, descStoreExpired, descStoreCommits, descStoreSyncs, descStoreSyncSecs, descStoreSyncMax,
		descStoreErrors, descStoreDiskFull, descStoreRefused, descConnections, descLive, descLiveMax, descSessions, descSessionsMax,
		descSubs, descSubsMax, descRetained, descRetainedMax, descInflight, descQueued, descAwaitingRel,
		descMsgIn, descMsgOut, descBytesIn, descBytesOut, descPktIn, descPktOut, descDropped, descAuthn,
		descACLDenied, descAuthReloads, descCatRows, descCatSnapshot, descCatSnapRows, descCatStale,
		descCatInterval, descCatPending, descCatErrors, descCatMaxHold, descShards,
		descMemReleases, descMemRelSecs, descMemReleased, descLstConns, descHandshakes, descResumed, descRefused}
)

// Describe implements prometheus.Collector.
func (c *brokerCollector) Describe(ch chan<- *prometheus.Desc) {
	for _, d := range brokerCollectors {
		ch <- d
	}
}

// Collect implements prometheus.Collector.
func (c *brokerCollector) Collect(ch chan<- prometheus.Metric) {
	gauge := func(d *prometheus.Desc, v float64, labels ...string) {
		ch <- prometheus.MustNewConstMetric(d, prometheus.GaugeValue, v, labels...)
	}
	counter := func(d *prometheus.Desc, v int64, labels ...string) {
		ch <- prometheus.MustNewConstMetric(d, prometheus.CounterValue, float64(v), labels...)
	}
	b := c.b
	gauge(descConnections, float64(c.src.server.Connections()))
	for _, ts := range c.src.server.TransportStats() {
		gauge(descLstConns, float64(ts.Connections), ts.Listener)
		counter(descHandshakes, ts.Handshakes, ts.Listener)
		counter(descResumed, ts.Resumed, ts.Listener)
		for _, reason := range netio.RefusalReasons() {
			counter(descRefused, ts.Refused[reason], ts.Listener, reason)
		}
	}
	gauge(descShards, float64(len(c.src.server.Loops())))
	l := b.Levels()
	gauge(descLive, float64(l.LiveConnections))
	gauge(descLiveMax, float64(l.LiveConnectionsMax))
	gauge(descSessions, float64(l.Sessions))
	gauge(descSessionsMax, float64(l.SessionsMax))
	gauge(descSubs, float64(l.Subscriptions))
	gauge(descSubsMax, float64(l.SubscriptionsMax))
	gauge(descRetained, float64(l.Retained))
	gauge(descRetainedMax, float64(l.RetainedMax))

	t := b.Totals()
	gauge(descInflight, float64(t.InflightCnt))
	gauge(descQueued, float64(t.MqueueLen))
	gauge(descAwaitingRel, float64(t.AwaitingRelCnt))
	for q, v := range [...]int64{t.RecvMsgQoS0, t.RecvMsgQoS1, t.RecvMsgQoS2} {
		counter(descMsgIn, v, qosLabel[q])
	}
	for q, v := range [...]int64{t.SendMsgQoS0, t.SendMsgQoS1, t.SendMsgQoS2} {
		counter(descMsgOut, v, qosLabel[q])
	}
	counter(descBytesIn, t.RecvOct)
	counter(descBytesOut, t.SendOct)
	counter(descPktIn, t.RecvPkt)
	counter(descPktOut, t.SendPkt)
	collectDrops(&t, counter)

	if az := c.src.auth; az != nil {
		s := az.Stats()
		counter(descAuthn, s.Authenticated, "success")
		counter(descAuthn, s.AuthnFailed, "failure")
		counter(descAuthn, s.Anonymous, "anonymous")
		counter(descAuthn, s.AnonymousRefused, "anonymous_refused")
		counter(descACLDenied, s.PublishDenied, "publish")
		counter(descACLDenied, s.SubscribeDenied, "subscribe")
		counter(descAuthReloads, s.Reloads)
	}

	cs := c.cat.Stats()
	gauge(descCatRows, float64(cs.Rows))
	gauge(descCatSnapshot, cs.LastSnapshot.Seconds())
	gauge(descCatSnapRows, float64(cs.LastSnapshotRows))
	gauge(descCatStale, cs.Staleness.Seconds())
	gauge(descCatInterval, cs.StatsInterval.Seconds())
	gauge(descCatPending, float64(cs.PendingLifecycle), "lifecycle")
	gauge(descCatPending, float64(cs.PendingStats), "stats")
	counter(descCatErrors, int64(cs.Errors))
	gauge(descCatMaxHold, cs.MaxChunkHold.Seconds())

	if db := c.src.store; db != nil {
		r := b.Recovered()
		for _, kv := range []struct {
			k string
			v int
		}{{"sessions", r.Sessions}, {"subscriptions", r.Subscriptions}, {"messages", r.Messages},
			{"inflight", r.InFlight}, {"awaiting_rel", r.AwaitRel}, {"retained", r.Retained}} {
			gauge(descStoreRecovered, float64(kv.v), kv.k)
		}
		counter(descStoreExpired, int64(r.ExpiredSessions), "sessions")
		counter(descStoreExpired, int64(r.ExpiredMessages+r.ExpiredSessionMessages), "messages")
		counter(descStoreExpired, int64(r.ExpiredRetained), "retained")
		ds := db.Stats()
		counter(descStoreCommits, int64(ds.Commits))
		counter(descStoreSyncs, int64(ds.Syncs))
		ch <- prometheus.MustNewConstMetric(descStoreSyncSecs, prometheus.CounterValue, ds.SyncTime.Seconds())
		gauge(descStoreSyncMax, ds.SyncMax.Seconds())
		counter(descStoreErrors, b.StoreErrors())
		counter(descStoreDiskFull, int64(ds.DiskFull))
		counter(descStoreRefused, b.DiskFullRefused())
	}

	m := c.src.memory
	counter(descMemReleases, m.runs.Load())
	ch <- prometheus.MustNewConstMetric(descMemRelSecs, prometheus.CounterValue, float64(m.nanos.Load())/1e9)
	counter(descMemReleased, m.returned.Load())
}

var qosLabel = [...]string{"0", "1", "2"}

// collectDrops reports the drop counters by direction and reason; drops
// the session counters do not break down are "other".
func collectDrops(t *shards.Counters, counter func(*prometheus.Desc, int64, ...string)) {
	counter(descDropped, t.RecvMsgDroppedAwaitPubrelTimeout, "in", "await_pubrel_timeout")
	counter(descDropped, t.RecvMsgDropped-t.RecvMsgDroppedAwaitPubrelTimeout, "in", "other")
	counter(descDropped, t.SendMsgDroppedExpired, "out", "expired")
	counter(descDropped, t.SendMsgDroppedQueueFull, "out", "queue_full")
	counter(descDropped, t.SendMsgDroppedTooLarge, "out", "too_large")
	counter(descDropped, t.SendMsgDropped-t.SendMsgDroppedExpired-t.SendMsgDroppedQueueFull-t.SendMsgDroppedTooLarge, "out", "other")
}

// opsBanner logs where the operational endpoints are, for an operator
// reading the start-up lines.
func opsBanner(root string, metricsAuth bool) {
	key := "no API key needed"
	if metricsAuth {
		key = "administrator or viewer API key needed"
	}
	slog.Info("shardmq: metrics on " + root + httpapi.MetricsPath + " (Prometheus, " + key + ")")
	slog.Info("shardmq: API document on " + root + httpapi.DocsPath + " (OpenAPI 3)")
	slog.Info("shardmq: status on " + root + httpapi.StatusPath)
}
