package shards

import (
	"fmt"
	"time"

	"github.com/shardmq/shardmq/shards/auth"
	"github.com/shardmq/shardmq/shards/index"
	"github.com/shardmq/shardmq/shards/retained"
	"github.com/shardmq/shardmq/shards/store"
)

// Config configures a Broker. A zero field means the documented default.
type Config struct {
	// Node is the node name on every client row. If empty,
	// "shardmq@127.0.0.1" is used.
	Node string
	// Listener is the listener name on client rows. If empty, "tcp:default"
	// is used.
	Listener string
	// Zone is the zone of listeners that name none (and of every client
	// when Listeners is empty). If empty, "default" is used.
	Zone string
	// protoName and protoVer are a gateway listener's protocol on its
	// clients' rows (ListenerConfig.Protocol); empty for MQTT.
	protoName string
	protoVer  int
	// InflightMax bounds unacknowledged outbound QoS 1/2 messages per
	// session (further bounded by the client's Receive Maximum). If zero,
	// 32 is used.
	InflightMax int
	// MqueueMax bounds each session's queue of messages waiting for the
	// inflight window or for the client to come back; when full the oldest
	// is dropped and counted. If zero, 1000 is used.
	MqueueMax int
	// AwaitingRelMax bounds inbound QoS 2 messages waiting for PUBREL. If
	// zero, 100 is used.
	AwaitingRelMax int
	// AwaitPubrelTimeout drops an inbound QoS 2 exchange whose PUBREL does
	// not come. If zero, 300 s is used.
	AwaitPubrelTimeout time.Duration
	// SessionExpiry is how long an MQTT 3 session with clean session 0 is
	// kept offline. If zero, 2 h is used (EMQX's default).
	SessionExpiry time.Duration
	// MaxSessionExpiry caps the Session Expiry Interval an MQTT 5 client
	// asks for. If zero, no cap beyond the protocol's (0xFFFFFFFF = never).
	MaxSessionExpiry time.Duration
	// SubscriptionsMax bounds each session's subscriptions; 0 means no
	// limit.
	SubscriptionsMax int
	// MaxPacketSize is the largest packet the broker accepts, advertised to
	// MQTT 5 clients; give netio the same value. If zero, 1 MiB is used.
	MaxPacketSize int
	// TopicAliasMaximum is the Topic Alias Maximum advertised to MQTT 5
	// clients for their PUBLISHes. If zero, 65535 is used; negative
	// disables inbound aliases.
	TopicAliasMaximum int
	// KeepaliveFactor multiplies the client's keepalive to get the idle
	// timeout. If zero, 1.5 is used [MQTT-3.1.2-24].
	KeepaliveFactor float64
	// ServerKeepalive, if set, replaces the keepalive an MQTT 5 client asks
	// for, and is sent in CONNACK as Server Keep Alive [MQTT-3.2.2-21].
	ServerKeepalive time.Duration
	// MaxKeepalive, if set, caps the keepalive a client asks for
	// (mosquitto's max_keepalive): a client asking for more, or for 0 (no
	// keepalive), is held to MaxKeepalive, which an MQTT 5 client is told
	// in Server Keep Alive [MQTT-3.2.2-21] and which sets the idle timeout
	// of an MQTT 3 client (it has no way to be told); a client asking for
	// less keeps its own. ServerKeepalive, when set, takes precedence for
	// MQTT 5 clients. Whole seconds, 1 s to 65535 s; zero means no cap.
	MaxKeepalive time.Duration
	// Zones are named groups of session settings overriding the ones above
	// for the clients of the listeners that name them.
	Zones map[string]ZoneConfig
	// Listeners name netio's listeners and bind each to a zone and an
	// anonymous-client policy. If empty, every connection gets Listener,
	// Zone and anonymous clients allowed.
	Listeners []ListenerConfig
	// Auth authenticates CONNECTs and authorizes PUBLISH and SUBSCRIBE. If
	// nil, no client authenticates (each is anonymous, accepted where the
	// listener allows anonymous clients) and every request is allowed.
	Auth *auth.Auth
	// StatsInterval is how often changed counters reach the SnapshotSink. If
	// zero, 1 s is used.
	StatsInterval time.Duration
	// CopyPerSubscription sends one copy per matching subscription instead
	// of one copy at the highest granted QoS when several subscriptions of
	// one client match.
	CopyPerSubscription bool
	// Index configures the subscription index (shared subscription
	// strategy).
	Index index.Config
	// Retain bounds the retained store.
	Retain retained.Config
	// Store keeps persistent sessions, their messages and retained
	// messages across restarts. If nil, store.Memory (nothing outlives the
	// process).
	Store Store
	// Durability says what the Store keeps of a zone's sessions:
	// DurabilityMemory nothing; DurabilityBatch (the default when the
	// Store is durable) what the store syncs every flush interval;
	// DurabilitySync a QoS 1/2 PUBLISH from the zone's clients is
	// acknowledged only once its routing to persistent sessions is on
	// disk. With a Store that is not durable it is always
	// DurabilityMemory.
	Durability store.Durability
	// FlushInterval is how often a zone with DurabilityBatch wants what
	// it committed on disk; see StoreFlushInterval. If zero,
	// store.DefaultFlushInterval.
	FlushInterval time.Duration
	// Cluster connects the broker to the other nodes of a cluster. If nil,
	// cluster.Single (the node is alone).
	Cluster Cluster
	// Sink receives client rows; nil keeps rows to the broker.
	Sink SnapshotSink
	// SysInterval is how often the broker publishes its $SYS/brokers/{node}/
	// topics (version, uptime, clients, messages and bytes in and out). If
	// zero, 60 s is used (EMQX's sys_msg_interval); negative turns them off.
	SysInterval time.Duration
	// Authenticators run MQTT 5 enhanced authentication, one per
	// Authentication Method; a CONNECT naming another method is refused
	// with 0x8C.
	Authenticators []Authenticator
	// Banned refuses the CONNECT of the clients it bans, with 0x8A Banned
	// (MQTT 3: 0x05 not authorized); *banned.List implements it. If nil,
	// no client is banned.
	Banned BanList
	// ResponseInformation is sent in CONNACK to MQTT 5 clients that ask for
	// it (Request Response Information 1), as the base of their response
	// topics; empty sends nothing.
	ResponseInformation string
	// Version is the broker version published in $SYS. If empty, "dev" is
	// used.
	Version string
}

// Validate reports whether c is usable.
func (c *Config) Validate() error {
	switch c.Durability {
	case "", store.DurabilityMemory, store.DurabilityBatch, store.DurabilitySync:
	default:
		return fmt.Errorf("%w: durability %q is not memory, batch or sync", ErrInvalidConfig, c.Durability)
	}
	if c.InflightMax < 0 || c.InflightMax > 65535 || c.MqueueMax < 0 || c.AwaitingRelMax < 0 ||
		c.SubscriptionsMax < 0 || c.MaxPacketSize < 0 || c.TopicAliasMaximum > 65535 {
		return fmt.Errorf("%w: limit out of range", ErrInvalidConfig)
	}
	if c.AwaitPubrelTimeout < 0 || c.FlushInterval < 0 || c.SessionExpiry < 0 || c.MaxSessionExpiry < 0 || c.StatsInterval < 0 || c.KeepaliveFactor < 0 {
		return fmt.Errorf("%w: negative duration", ErrInvalidConfig)
	}
	if err := c.validateListeners(); err != nil {
		return err
	}
	if err := c.Index.Validate(); err != nil {
		return err
	}
	return c.Retain.Validate()
}

func (c Config) withDefaults() Config {
	if c.Node == "" {
		c.Node = "shardmq@127.0.0.1"
	}
	if c.Listener == "" {
		c.Listener = "tcp:default"
	}
	if c.Zone == "" {
		c.Zone = "default"
	}
	if c.InflightMax == 0 {
		c.InflightMax = 32
	}
	if c.MqueueMax == 0 {
		c.MqueueMax = 1000
	}
	if c.AwaitingRelMax == 0 {
		c.AwaitingRelMax = 100
	}
	if c.AwaitPubrelTimeout == 0 {
		c.AwaitPubrelTimeout = 300 * time.Second
	}
	if c.SessionExpiry == 0 {
		c.SessionExpiry = 2 * time.Hour
	}
	if c.MaxPacketSize == 0 {
		c.MaxPacketSize = 1 << 20
	}
	if c.TopicAliasMaximum == 0 {
		c.TopicAliasMaximum = 65535
	} else if c.TopicAliasMaximum < 0 {
		c.TopicAliasMaximum = 0
	}
	if c.KeepaliveFactor == 0 {
		c.KeepaliveFactor = 1.5
	}
	if c.SysInterval == 0 {
		c.SysInterval = time.Minute
	}
	if c.Version == "" {
		c.Version = "dev"
	}
	if c.StatsInterval == 0 {
		c.StatsInterval = time.Second
	}
	return c
}
