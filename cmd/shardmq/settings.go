package main

import (
	"fmt"
	"strconv"
	"strings"
	"time"
)

// setting is one scalar setting of Options. Its TOML key is key, its flag
// is --key with "-" for "_", its environment variable SHARDMQ_ and the key
// in upper case. The two table settings, zones and listeners, are not in
// this list: each source reads them its own way (zones.go, listener.go).
type setting struct {
	key   string
	usage string
	// field returns the setting's field of o: a *string, *int, *bool,
	// **bool (a boolean that may stay unset), *time.Duration or *byteSize.
	field func(o *Options) any
}

// The table settings' keys.
const (
	zonesKey     = "zones"     // [zones.NAME] key = value; flag --zone, SHARDMQ_ZONES
	listenersKey = "listeners" // [[listeners]] addr, zone, name; flag --listener, SHARDMQ_LISTENERS
)

// settings are the scalar settings, in the order --print-config and -h
// show them.
var settings = []setting{
	{"node", "node name on client rows, in GET /stats and GET /status; unique in a cluster",
		func(o *Options) any { return &o.Node }},
	{"cluster_listen", "join a cluster: this node's NATS route address (HOST:PORT) for the embedded NATS server; empty: no cluster",
		func(o *Options) any { return &o.ClusterListen }},
	{"cluster_advertise", "this node's route address as the other nodes reach it (HOST:PORT), when it is not cluster_listen (NAT, port mapping, a TCP proxy in front of the node); needs cluster_listen",
		func(o *Options) any { return &o.ClusterAdvertise }},
	{"cluster_join", "seed nodes' route addresses, comma-separated HOST:PORT (needs cluster_listen); a node whose seeds do not answer runs alone and keeps trying",
		func(o *Options) any { return &o.ClusterJoin }},
	{"cluster_nats", "join a cluster over an external NATS (with JetStream) instead of an embedded server: comma-separated nats://HOST:PORT URLs",
		func(o *Options) any { return &o.ClusterNATS }},
	{"cluster_replicas", "copies JetStream keeps of the retained messages and the client id registry (1 to 5); 0: min(3, seeds + 1), or 3 with cluster_nats",
		func(o *Options) any { return &o.ClusterReplicas }},
	{"cluster_registry_buckets", "key-value buckets the client id registry is split over by a hash of the client id, each with its own raft leader (1 to 64); the same on every node; 0: 1",
		func(o *Options) any { return &o.ClusterRegistryBuckets }},
	{"data_dir", "directory for the broker's files (the API key file when api_keys is empty)",
		func(o *Options) any { return &o.DataDir }},
	{"durability", "what the store in <data_dir>/store keeps of persistent sessions, their queues and retained messages across a restart or crash: " +
		"memory (nothing), batch (synced every flush_interval) or sync (a QoS 1/2 PUBLISH is acknowledged once its routing is on disk); " +
		"the default of every zone; empty: batch when data_dir is set, memory otherwise",
		func(o *Options) any { return &o.Durability }},
	{"flush_interval", "how often batch durability syncs the store: a crash loses at most this much of what was acknowledged",
		func(o *Options) any { return &o.FlushInterval }},
	{"mqtt_addr", "MQTT listener address (HOST:PORT); not used when any --listener is given",
		func(o *Options) any { return &o.MQTTAddr }},
	{"api_addr", "HTTP API listener address; /metrics, /status and /api-docs are served there too",
		func(o *Options) any { return &o.APIAddr }},
	{"api_base", "path prefix of the HTTP API",
		func(o *Options) any { return &o.APIBase }},
	{"api_keys", "file of key:secret[:role] lines for the HTTP API (roles administrator, viewer, publisher); " +
		"if empty, <data_dir>/api_keys is used, created with a random administrator key on first start",
		func(o *Options) any { return &o.APIKeys }},
	{"api_cors_origin", "comma-separated origins (scheme://host[:port], or *) whose web pages may call the API cross-origin; empty: CORS off",
		func(o *Options) any { return &o.APICORSOrigin }},
	{"dashboard", "serve the web dashboard on the API listener at /dashboard/ (log in with an administrator or viewer API key, or a user of dashboard_users)",
		func(o *Options) any { return &o.Dashboard }},
	{"dashboard_users", "dashboard users file of username:role:bcrypt lines (roles administrator, viewer; add users with `shardmq passwd -role ROLE FILE USER`); read at every login",
		func(o *Options) any { return &o.DashboardUsers }},
	{"listener_control", "let the API stop, start and restart the MQTT listeners (PUT /api/v5/listeners/{id}/stop|start|restart): the broker " +
		"accepts their connections itself instead of gnet, one hand-off more per connection",
		func(o *Options) any { return &o.ListenerControl }},
	{"metrics_auth", "require an API key (administrator or viewer) for GET /metrics; by default it is open, as EMQX's Prometheus endpoint",
		func(o *Options) any { return &o.MetricsAuth }},
	{"stats_interval", "how often changed client counters reach the catalog behind GET /clients",
		func(o *Options) any { return &o.StatsInterval }},
	{"shutdown_timeout", "deadline of a graceful stop on SIGTERM/SIGINT: MQTT 5 clients get DISCONNECT 0x8B, queued writes are flushed, " +
		"API requests in flight finish",
		func(o *Options) any { return &o.ShutdownTimeout }},
	{"log_level", "log level: debug, info, warn or error (nothing is logged per message at info)",
		func(o *Options) any { return &o.LogLevel }},
	{"log_format", "log format: text (logfmt) or json",
		func(o *Options) any { return &o.LogFormat }},
	{"password_file", "password file of username:bcrypt lines (add users with `shardmq passwd FILE USER`); reloaded on SIGHUP",
		func(o *Options) any { return &o.PasswordFile }},
	{"acl_file", "ACL rules file (allow|deny who action [eq] filter); reloaded on SIGHUP",
		func(o *Options) any { return &o.ACLFile }},
	{"acl_nomatch", "decision when no ACL rule matches: allow or deny",
		func(o *Options) any { return &o.ACLNoMatch }},
	{"allow_anonymous", "accept clients that do not authenticate: true or false (unset: true only on loopback listeners)",
		func(o *Options) any { return &o.AllowAnonymous }},
	{"sys_interval", "how often $SYS/brokers/{node}/... topics are published; 0 turns them off",
		func(o *Options) any { return &o.SysInterval }},
	{"shared_subscription_strategy", "how one member of a $share group is chosen: round_robin, random, hash_clientid or sticky",
		func(o *Options) any { return &o.SharedSubscriptionStrategy }},
	{"response_information", "Response Information sent to MQTT 5 clients that request it (the base of their response topics); empty sends none",
		func(o *Options) any { return &o.ResponseInformation }},
	{"gc_percent", "collector headroom in percent of the live heap (Go's GOGC, which this overrides); -1 turns the proportional goal off, which needs memory_limit",
		func(o *Options) any { return &o.GCPercent }},
	{"memory_limit", `soft limit of the Go runtime's memory (Go's GOMEMLIMIT), e.g. "1GiB"; "0" leaves GOMEMLIMIT or none`,
		func(o *Options) any { return &o.MemoryLimit }},
	{"memory_release", "return memory to the operating system once the broker goes quiet after the heap grew (a connection storm)",
		func(o *Options) any { return &o.MemoryRelease }},
	{"memory_release_growth", "heap growth since the last release (and at least a quarter of the heap) that makes a release due",
		func(o *Options) any { return &o.MemoryReleaseGrowth }},
	{"memory_release_quiet", "how long the broker must allocate less than 1 MiB/s before a due release runs",
		func(o *Options) any { return &o.MemoryReleaseQuiet }},
	{"memory_release_min_interval", "shortest time between two releases",
		func(o *Options) any { return &o.MemoryReleaseMinInterval }},
	{"pprof_addr", "serve Go's pprof profiles (/debug/pprof/) on this loopback address, e.g. 127.0.0.1:6060; off when empty",
		func(o *Options) any { return &o.PprofAddr }},
}

// settingByKey returns the scalar setting whose TOML key is key.
func settingByKey(key string) (setting, bool) {
	for _, s := range settings {
		if s.key == key {
			return s, true
		}
	}
	return setting{}, false
}

func (s setting) flag() string { return strings.ReplaceAll(s.key, "_", "-") }
func (s setting) env() string  { return "SHARDMQ_" + strings.ToUpper(s.key) }

// kind is the type of a setting's value.
type kind int

const (
	kindString kind = iota
	kindInt
	kindBool
	kindDuration
	// kindTriBool is a boolean that may stay unset (allow_anonymous).
	kindTriBool
	// kindBytes is a size: an integer (bytes) or a string with a unit ("64MiB").
	kindBytes
)

func (k kind) String() string {
	return [...]string{"a string", "an integer", "a boolean", `a duration string such as "10s"`, "a boolean",
		`a size such as "64MiB" or a number of bytes`}[k]
}

// arg is how -h names a value of kind k.
func (k kind) arg() string {
	return [...]string{"STRING", "INT", "", "DURATION", "true|false", "SIZE"}[k]
}

func (s setting) kind() kind {
	switch s.field(&Options{}).(type) {
	case *int:
		return kindInt
	case *bool:
		return kindBool
	case *time.Duration:
		return kindDuration
	case **bool:
		return kindTriBool
	case *byteSize:
		return kindBytes
	}
	return kindString
}

// parse reads text as the setting's value, whatever its source, and
// returns the assignment of that value to an Options.
func (s setting) parse(text string) (func(*Options), error) {
	bad := fmt.Errorf("%q is not %s", text, s.kind())
	switch s.field(&Options{}).(type) {
	case *string:
		return assign(s, text), nil
	case *int:
		n, err := strconv.Atoi(text)
		if err != nil {
			return nil, bad
		}
		return assign(s, n), nil
	case *bool:
		b, err := strconv.ParseBool(text)
		if err != nil {
			return nil, bad
		}
		return assign(s, b), nil
	case **bool:
		b, err := strconv.ParseBool(text)
		if err != nil {
			return nil, bad
		}
		return assign(s, &b), nil
	case *time.Duration:
		d, err := time.ParseDuration(text)
		if err != nil {
			return nil, bad
		}
		return assign(s, d), nil
	case *byteSize:
		var b byteSize
		if err := b.Set(text); err != nil {
			return nil, bad
		}
		return assign(s, b), nil
	}
	panic("shardmq: setting " + s.key + " has a field of no known kind")
}

// assign returns the function that sets s's field, of type T, to v.
func assign[T any](s setting, v T) func(*Options) {
	return func(o *Options) { *s.field(o).(*T) = v }
}

// format returns o's value of s as a TOML value; "" for an unset
// boolean.
func (s setting) format(o *Options) string {
	switch v := s.field(o).(type) {
	case *string:
		return tomlQuote(*v)
	case *int:
		return strconv.Itoa(*v)
	case *bool:
		return strconv.FormatBool(*v)
	case **bool:
		if *v == nil {
			return ""
		}
		return strconv.FormatBool(**v)
	case *time.Duration:
		return tomlQuote(v.String())
	case *byteSize:
		return tomlQuote(v.String())
	}
	panic("shardmq: setting " + s.key + " has a field of no known kind")
}
