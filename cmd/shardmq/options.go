package main

import (
	"errors"
	"fmt"
	"maps"
	"net"
	"net/url"
	"path/filepath"
	"slices"
	"strings"
	"time"

	"github.com/shardmq/shardmq/httpapi"
	"github.com/shardmq/shardmq/shards"
	"github.com/shardmq/shardmq/shards/auth"
	"github.com/shardmq/shardmq/shards/index"
	"github.com/shardmq/shardmq/shards/store"
)

// Options is the broker's whole configuration. loadOptions (config.go)
// builds it from the defaults, the file, the environment and the command
// line; start (run.go) reads nothing else. The settings table
// (settings.go) names each scalar field's key, flag and variable.
type Options struct {
	Node    string
	DataDir string
	// Durability is the zones' default durability: memory, batch or sync;
	// empty means batch when DataDir is set, memory otherwise.
	Durability string
	// FlushInterval is how often batch durability syncs the store.
	FlushInterval time.Duration
	MQTTAddr      string
	// Listeners replace MQTTAddr when there is any.
	Listeners []Listener
	// Zones are the named zones listeners may name.
	Zones map[string]shards.ZoneConfig
	// Gateways serve constrained devices (MQTT-SN) on UDP.
	Gateways []Gateway
	// ListenerControl lets the API stop, start and restart the MQTT
	// listeners (netio.Config.ListenerControl).
	ListenerControl bool

	APIAddr     string
	APIBase     string
	APIKeys     string
	MetricsAuth bool
	PprofAddr   string
	// APICORSOrigin is a comma-separated list of origins whose pages may
	// call the API cross-origin ("*": any); empty turns CORS off.
	APICORSOrigin string
	// Dashboard serves the web dashboard on the API listener.
	Dashboard bool
	// DashboardUsers is the dashboard's users file (username:role:bcrypt
	// lines); empty: API keys only.
	DashboardUsers string

	StatsInterval   time.Duration
	ShutdownTimeout time.Duration
	LogLevel        string
	LogFormat       string

	PasswordFile string
	ACLFile      string
	ACLNoMatch   string
	// AllowAnonymous, if nil, allows anonymous clients on loopback
	// listeners only.
	AllowAnonymous *bool

	// ClusterListen, ClusterJoin and ClusterNATS make the node one of a
	// cluster (docs/cluster.md): the embedded NATS server's route address
	// and its seeds (comma-separated HOST:PORT), or the URLs of an
	// external NATS (comma-separated). All empty: the node is alone.
	ClusterListen string
	// ClusterAdvertise is the route address the other nodes reach this
	// node at when it is not ClusterListen; empty: ClusterListen.
	ClusterAdvertise string
	ClusterJoin      string
	ClusterNATS      string
	// ClusterReplicas is the number of copies JetStream keeps of the
	// retained messages and the client id registry; 0: min(3, the seeds
	// + 1), or 3 on an external NATS.
	ClusterReplicas int
	// ClusterRegistryBuckets is the number of key-value buckets the client
	// id registry is split over; 0: 1. The same on every node.
	ClusterRegistryBuckets int

	SysInterval                time.Duration
	SharedSubscriptionStrategy string
	ResponseInformation        string

	GCPercent                int
	MemoryLimit              byteSize
	MemoryRelease            bool
	MemoryReleaseGrowth      byteSize
	MemoryReleaseQuiet       time.Duration
	MemoryReleaseMinInterval time.Duration
}

// defaultOptions returns the configuration with nothing set.
func defaultOptions() Options {
	return Options{
		Node:                       "shardmq@127.0.0.1",
		DataDir:                    "data",
		FlushInterval:              store.DefaultFlushInterval,
		MQTTAddr:                   "127.0.0.1:1883",
		APIAddr:                    "127.0.0.1:18083",
		APIBase:                    httpapi.DefaultBase,
		Dashboard:                  true,
		StatsInterval:              time.Second,
		ShutdownTimeout:            10 * time.Second,
		LogLevel:                   "info",
		LogFormat:                  "text",
		ACLNoMatch:                 "deny",
		SysInterval:                time.Minute,
		SharedSubscriptionStrategy: "round_robin",
		GCPercent:                  100,
		MemoryRelease:              true,
		MemoryReleaseGrowth:        16 << 20,
		MemoryReleaseQuiet:         2 * time.Second,
		MemoryReleaseMinInterval:   time.Minute,
	}
}

// keyError is an invalid setting: its key (zones and listeners with a
// path, "zones.edge.inflight_max", "listeners[0].addr") and why.
type keyError struct {
	key string
	err error
}

func (e *keyError) Error() string { return "key " + e.key + ": " + e.err.Error() }
func (e *keyError) Unwrap() error { return e.err }

// Validate checks what the parsers of the values could not: ranges and
// the settings that depend on each other. Its error is a *keyError.
func (o *Options) Validate() error {
	bad := func(key string, err error) error { return &keyError{key, err} }
	positive := func(key string, d time.Duration) error {
		if d <= 0 {
			return bad(key, fmt.Errorf("%v: want a positive duration", d))
		}
		return nil
	}
	if o.Node == "" {
		return bad("node", errors.New("must not be empty"))
	}
	if _, _, err := net.SplitHostPort(o.MQTTAddr); err != nil {
		return bad("mqtt_addr", err)
	}
	if _, _, err := net.SplitHostPort(o.APIAddr); err != nil {
		return bad("api_addr", err)
	}
	if err := (httpapi.Config{Base: o.APIBase}).Validate(); err != nil {
		return bad("api_base", errors.New("must start with / and not end with /, without : * ? # %"))
	}
	if err := (httpapi.Config{CORSOrigins: o.corsOrigins()}).Validate(); err != nil {
		return bad("api_cors_origin", err)
	}
	if err := o.validateCluster(); err != nil {
		return err
	}
	if err := checkPprofAddr(o.PprofAddr); err != nil {
		return bad("pprof_addr", err)
	}
	if err := positive("stats_interval", o.StatsInterval); err != nil {
		return err
	}
	if err := positive("shutdown_timeout", o.ShutdownTimeout); err != nil {
		return err
	}
	if _, err := parseLevel(o.LogLevel); err != nil {
		return bad("log_level", err)
	}
	if o.LogFormat != "text" && o.LogFormat != "json" {
		return bad("log_format", errors.New("want text or json"))
	}
	if _, err := auth.ParsePermission(o.ACLNoMatch); err != nil {
		return bad("acl_nomatch", errors.New("want allow or deny"))
	}
	if o.SysInterval < 0 {
		return bad("sys_interval", fmt.Errorf("%v: want 0 (off) or a positive duration", o.SysInterval))
	}
	if _, err := index.ParseShareStrategy(o.SharedSubscriptionStrategy); err != nil {
		return bad("shared_subscription_strategy", errors.New("want round_robin, random, hash_clientid or sticky"))
	}
	switch {
	case o.GCPercent < -1 || o.GCPercent == 0:
		return bad("gc_percent", fmt.Errorf("%d: want a positive percentage, or -1 (off) with memory_limit", o.GCPercent))
	case o.GCPercent == -1 && o.MemoryLimit == 0:
		return bad("gc_percent", errors.New("-1 (off) needs a memory_limit, or the heap grows without bound"))
	case o.MemoryRelease && o.MemoryReleaseGrowth == 0:
		return bad("memory_release_growth", errors.New("want a positive size"))
	}
	if err := checkDurability(o.Durability, o.DataDir); err != nil {
		return bad("durability", err)
	}
	if err := positive("flush_interval", o.FlushInterval); err != nil {
		return err
	}
	if err := positive("memory_release_quiet", o.MemoryReleaseQuiet); err != nil {
		return err
	}
	if err := positive("memory_release_min_interval", o.MemoryReleaseMinInterval); err != nil {
		return err
	}
	for _, name := range slices.Sorted(maps.Keys(o.Zones)) {
		z := o.Zones[name]
		if err := z.Validate(); err != nil {
			return bad(zonesKey+"."+name, err)
		}
		if err := checkDurability(string(z.Durability), o.DataDir); err != nil {
			return bad(zonesKey+"."+name+".durability", err)
		}
	}
	if err := o.validateListeners(); err != nil {
		return err
	}
	return o.validateGateways()
}

// checkDurability checks a durability setting: memory, batch or sync (or
// empty: the default); batch and sync need a data directory.
func checkDurability(d, dataDir string) error {
	switch store.Durability(d) {
	case "", store.DurabilityMemory:
		return nil
	case store.DurabilityBatch, store.DurabilitySync:
		if dataDir == "" {
			return fmt.Errorf("%s needs a data_dir to keep the store in", d)
		}
		return nil
	}
	return fmt.Errorf("%q: want memory, batch or sync", d)
}

// durability returns the zones' default durability: Durability, or batch
// when a data directory is set and memory otherwise.
func (o *Options) durability() store.Durability {
	switch {
	case o.Durability != "":
		return store.Durability(o.Durability)
	case o.DataDir != "":
		return store.DurabilityBatch
	}
	return store.DurabilityMemory
}

// storeDir is the directory of the durable store under DataDir.
func (o *Options) storeDir() string { return filepath.Join(o.DataDir, "store") }

// validateListeners checks the listeners the broker would open: their
// addresses, names, zones and the keys of their kinds.
func (o *Options) validateListeners() error {
	ls := o.mqttListeners()
	for i, l := range ls {
		bad := func(format string, args ...any) error {
			return &keyError{listenersKey, fmt.Errorf("listener %s: "+format, append([]any{l.Addr}, args...)...)}
		}
		if _, _, err := net.SplitHostPort(l.Addr); err != nil {
			return bad("%w", err)
		}
		if !validName(l.Name) {
			return bad("name %q: want letters, digits, _ and -", l.Name)
		}
		if slices.ContainsFunc(ls[:i], func(m Listener) bool { return m.rowName() == l.rowName() }) {
			return bad("name %q is taken by another %s listener", l.Name, l.Kind)
		}
		if err := l.validate(); err != nil {
			return bad("%w", err)
		}
		if slices.ContainsFunc(ls[:i], func(m Listener) bool { return m.Addr == l.Addr }) {
			return bad("given twice")
		}
		if _, ok := o.Zones[l.Zone]; !ok && l.Zone != shards.DefaultZone {
			return bad("unknown zone %q", l.Zone)
		}
	}
	return nil
}

// validateCluster checks the cluster keys: cluster_join needs
// cluster_listen, cluster_nats excludes both, and every address and URL
// parses.
func (o *Options) validateCluster() error {
	bad := func(key string, err error) error { return &keyError{key, err} }
	if o.ClusterListen != "" {
		if _, _, err := net.SplitHostPort(o.ClusterListen); err != nil {
			return bad("cluster_listen", err)
		}
	}
	if o.ClusterAdvertise != "" {
		if _, _, err := net.SplitHostPort(o.ClusterAdvertise); err != nil {
			return bad("cluster_advertise", err)
		}
	}
	for _, a := range splitList(o.ClusterJoin) {
		if _, _, err := net.SplitHostPort(a); err != nil {
			return bad("cluster_join", err)
		}
	}
	for _, u := range splitList(o.ClusterNATS) {
		p, err := url.Parse(u)
		if err != nil || p.Host == "" || p.Scheme != "nats" && p.Scheme != "tls" {
			return bad("cluster_nats", fmt.Errorf("%q: want nats://HOST:PORT or tls://HOST:PORT", u))
		}
	}
	if o.ClusterReplicas < 0 || o.ClusterReplicas > 5 {
		return bad("cluster_replicas", fmt.Errorf("%d: want 0 (the default) to 5", o.ClusterReplicas))
	}
	if o.ClusterRegistryBuckets < 0 || o.ClusterRegistryBuckets > 64 {
		return bad("cluster_registry_buckets", fmt.Errorf("%d: want 0 (1) to 64", o.ClusterRegistryBuckets))
	}
	switch {
	case o.ClusterNATS != "" && (o.ClusterListen != "" || o.ClusterJoin != ""):
		return bad("cluster_nats", errors.New("an external NATS excludes cluster_listen and cluster_join"))
	case o.ClusterJoin != "" && o.ClusterListen == "":
		return bad("cluster_join", errors.New("needs cluster_listen, this node's own route address"))
	case o.ClusterAdvertise != "" && o.ClusterListen == "":
		return bad("cluster_advertise", errors.New("needs cluster_listen, the address it stands for"))
	}
	return nil
}

// clustered reports whether the node is one of a cluster.
func (o *Options) clustered() bool { return o.ClusterListen != "" || o.ClusterNATS != "" }

// splitList returns the comma-separated items of s, trimmed, nil when
// none.
func splitList(s string) []string {
	var out []string
	for _, v := range strings.Split(s, ",") {
		if v = strings.TrimSpace(v); v != "" {
			out = append(out, v)
		}
	}
	return out
}

// corsOrigins returns APICORSOrigin split at commas, nil when empty.
func (o *Options) corsOrigins() []string {
	var out []string
	for _, v := range strings.Split(o.APICORSOrigin, ",") {
		if v = strings.TrimSpace(v); v != "" {
			out = append(out, v)
		}
	}
	return out
}
