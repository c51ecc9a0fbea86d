package shards

import (
	"fmt"
	"net"
	"net/netip"
	"strconv"
	"time"

	"github.com/shardmq/shardmq/shards/store"
)

// DefaultZone is the zone of a listener that names none.
const DefaultZone = "default"

// ZoneConfig is a named group of session settings (EMQX's zones). A client
// gets the zone of the listener it connected through; a zero field keeps
// the broker Config's value.
type ZoneConfig struct {
	// InflightMax overrides Config.InflightMax.
	InflightMax int
	// MqueueMax overrides Config.MqueueMax.
	MqueueMax int
	// AwaitingRelMax overrides Config.AwaitingRelMax.
	AwaitingRelMax int
	// SubscriptionsMax overrides Config.SubscriptionsMax.
	SubscriptionsMax int
	// MaxPacketSize overrides Config.MaxPacketSize; it may be smaller than
	// netio's limit (the broker refuses larger packets with 0x95) but not
	// larger (use Broker.MaxPacketSize for netio).
	MaxPacketSize int
	// TopicAliasMaximum overrides Config.TopicAliasMaximum (negative
	// disables inbound aliases).
	TopicAliasMaximum int
	// ServerKeepalive overrides Config.ServerKeepalive.
	ServerKeepalive time.Duration
	// MaxKeepalive overrides Config.MaxKeepalive.
	MaxKeepalive time.Duration
	// SessionExpiry overrides Config.SessionExpiry.
	SessionExpiry time.Duration
	// MaxSessionExpiry overrides Config.MaxSessionExpiry.
	MaxSessionExpiry time.Duration
	// AwaitPubrelTimeout overrides Config.AwaitPubrelTimeout.
	AwaitPubrelTimeout time.Duration
	// KeepaliveFactor overrides Config.KeepaliveFactor.
	KeepaliveFactor float64
	// Durability overrides Config.Durability.
	Durability store.Durability
	// FlushInterval overrides Config.FlushInterval.
	FlushInterval time.Duration
}

// Validate reports whether z is usable.
func (z *ZoneConfig) Validate() error {
	c := Config{InflightMax: z.InflightMax, MqueueMax: z.MqueueMax, AwaitingRelMax: z.AwaitingRelMax,
		SubscriptionsMax: z.SubscriptionsMax, MaxPacketSize: z.MaxPacketSize, TopicAliasMaximum: z.TopicAliasMaximum,
		ServerKeepalive: z.ServerKeepalive, MaxKeepalive: z.MaxKeepalive, SessionExpiry: z.SessionExpiry,
		MaxSessionExpiry: z.MaxSessionExpiry, AwaitPubrelTimeout: z.AwaitPubrelTimeout,
		KeepaliveFactor: z.KeepaliveFactor, Durability: z.Durability, FlushInterval: z.FlushInterval}
	return c.Validate()
}

// apply returns c with z's non-zero settings.
func (z *ZoneConfig) apply(c Config) Config {
	setInt := func(dst *int, v int) {
		if v != 0 {
			*dst = v
		}
	}
	setDur := func(dst *time.Duration, v time.Duration) {
		if v != 0 {
			*dst = v
		}
	}
	setInt(&c.InflightMax, z.InflightMax)
	setInt(&c.MqueueMax, z.MqueueMax)
	setInt(&c.AwaitingRelMax, z.AwaitingRelMax)
	setInt(&c.SubscriptionsMax, z.SubscriptionsMax)
	setInt(&c.MaxPacketSize, z.MaxPacketSize)
	if z.TopicAliasMaximum < 0 {
		c.TopicAliasMaximum = 0
	} else {
		setInt(&c.TopicAliasMaximum, z.TopicAliasMaximum)
	}
	setDur(&c.ServerKeepalive, z.ServerKeepalive)
	setDur(&c.MaxKeepalive, z.MaxKeepalive)
	setDur(&c.SessionExpiry, z.SessionExpiry)
	setDur(&c.MaxSessionExpiry, z.MaxSessionExpiry)
	setDur(&c.AwaitPubrelTimeout, z.AwaitPubrelTimeout)
	if z.KeepaliveFactor != 0 {
		c.KeepaliveFactor = z.KeepaliveFactor
	}
	if z.Durability != "" {
		c.Durability = z.Durability
	}
	setDur(&c.FlushInterval, z.FlushInterval)
	return c
}

// StoreFlushInterval returns the flush interval to open the Store with:
// the smallest FlushInterval of the listeners' zones whose durability is
// batch (store.DefaultFlushInterval where one sets none), 0 when no zone
// has batch durability. A durable store syncs every interval, so each
// batch zone loses at most its own interval on a crash.
func (c *Config) StoreFlushInterval() time.Duration {
	var d time.Duration
	for _, l := range resolveListeners(c.withDefaults()) {
		if l.cfg.Durability != store.DurabilityBatch {
			continue
		}
		f := l.cfg.FlushInterval
		if f == 0 {
			f = store.DefaultFlushInterval
		}
		if d == 0 || f < d {
			d = f
		}
	}
	return d
}

// ListenerConfig names one of netio's listeners and binds it to a zone.
type ListenerConfig struct {
	// Addr is the listener's address exactly as given to netio
	// ("127.0.0.1:1883", ":1883"); connections are matched to it by their
	// local address.
	Addr string
	// Name is the listener name on client rows. If empty, "tcp:default" is
	// used for the first listener and "tcp:N" for the N-th after it.
	Name string
	// Zone names the listener's zone: DefaultZone, Config.Zone or a key of
	// Config.Zones. If empty, Config.Zone is used.
	Zone string
	// AllowAnonymous says whether clients that do not authenticate are
	// accepted. If nil, they are accepted only when Addr is bound to a
	// loopback address (as Mosquitto 2 does): an exposed listener is closed
	// unless configured open.
	AllowAnonymous *bool
	// PeerCertAsUsername and PeerCertAsClientID, "cn" or "dn", replace the
	// CONNECT's user name or client id with the subject common name or
	// distinguished name of the client's verified TLS certificate, before
	// authentication (EMQX's peer_cert_as_username and
	// peer_cert_as_clientid). Empty keeps the CONNECT's.
	PeerCertAsUsername, PeerCertAsClientID string
	// TenantFrom is "peersni" to report the client's tenant as taken from
	// its TLS server name (tenant_id_from on client rows); empty: none.
	TenantFrom string
	// Protocol and ProtoVer are what a gateway listener's clients speak,
	// as their rows show it (proto_name "MQTT-SN", proto_ver 1); empty
	// for an MQTT listener, whose rows show the CONNECT's.
	Protocol string
	ProtoVer int
}

// listener is a resolved ListenerConfig: its zone's settings applied.
type listener struct {
	// cfg is the broker Config with the zone applied, Listener and Zone
	// set to this listener's names. Sessions point at it; never modified
	// after New.
	cfg       Config
	anonymous bool
	// certUser and certID are "cn", "dn" or ""; tenant is TenantFrom.
	certUser, certID, tenant string
	ip                       netip.Addr // invalid or unspecified: any address
	port                     uint16
}

// validateListeners checks the zones and listeners of c.
func (c *Config) validateListeners() error {
	for name, z := range c.Zones {
		if err := z.Validate(); err != nil {
			return fmt.Errorf("zone %q: %w", name, err)
		}
	}
	if c.ServerKeepalive < 0 || c.ServerKeepalive > 65535*time.Second {
		return fmt.Errorf("%w: ServerKeepalive out of range", ErrInvalidConfig)
	}
	if c.MaxKeepalive != 0 && (c.MaxKeepalive < time.Second || c.MaxKeepalive > 65535*time.Second) {
		return fmt.Errorf("%w: MaxKeepalive out of range", ErrInvalidConfig)
	}
	for _, l := range c.Listeners {
		if _, _, err := net.SplitHostPort(l.Addr); err != nil {
			return fmt.Errorf("%w: listener %q: %w", ErrInvalidConfig, l.Addr, err)
		}
		if z := l.Zone; z != "" && z != DefaultZone && z != c.Zone {
			if _, ok := c.Zones[z]; !ok {
				return fmt.Errorf("%w: listener %q: unknown zone %q", ErrInvalidConfig, l.Addr, z)
			}
		}
		for _, v := range []string{l.PeerCertAsUsername, l.PeerCertAsClientID} {
			if v != "" && v != "cn" && v != "dn" {
				return fmt.Errorf("%w: listener %q: peer certificate field %q (want cn or dn)", ErrInvalidConfig, l.Addr, v)
			}
		}
		if l.TenantFrom != "" && l.TenantFrom != "peersni" {
			return fmt.Errorf("%w: listener %q: tenant_from %q (want peersni)", ErrInvalidConfig, l.Addr, l.TenantFrom)
		}
	}
	return nil
}

// resolveListeners returns the listeners of c (defaults applied); without
// Listeners, one that takes every connection and allows anonymous clients.
func resolveListeners(c Config) []*listener {
	ls := c.Listeners
	if len(ls) == 0 {
		yes := true
		ls = []ListenerConfig{{Name: c.Listener, AllowAnonymous: &yes}}
	}
	out := make([]*listener, len(ls))
	for i, lc := range ls {
		l := &listener{cfg: c, certUser: lc.PeerCertAsUsername, certID: lc.PeerCertAsClientID, tenant: lc.TenantFrom}
		zone := lc.Zone
		if zone == "" {
			zone = c.Zone
		}
		if z, ok := c.Zones[zone]; ok {
			l.cfg = z.apply(c)
		}
		l.cfg.Zone = zone
		l.cfg.Listener = lc.Name
		l.cfg.protoName, l.cfg.protoVer = lc.Protocol, lc.ProtoVer
		if lc.Name == "" {
			l.cfg.Listener = "tcp:default"
			if i > 0 {
				l.cfg.Listener = "tcp:" + strconv.Itoa(i)
			}
		}
		loopback := false
		if host, port, err := net.SplitHostPort(lc.Addr); err == nil {
			p, _ := strconv.ParseUint(port, 10, 16)
			l.port = uint16(p)
			if host == "localhost" {
				l.ip, loopback = netip.AddrFrom4([4]byte{127, 0, 0, 1}), true
			} else if ip, err := netip.ParseAddr(host); err == nil {
				l.ip, loopback = ip.Unmap(), ip.IsLoopback()
			}
		}
		l.anonymous = loopback
		if lc.AllowAnonymous != nil {
			l.anonymous = *lc.AllowAnonymous
		}
		out[i] = l
	}
	return out
}

// listenerFor returns the listener a connection with local address local
// came in on: the one bound to that exact address, else one bound to any
// address on that port, else the first listener (a port-0 listener, whose
// port is only known once bound).
func (b *Broker) listenerFor(local netip.AddrPort) *listener {
	var wildcard *listener
	ip := local.Addr().Unmap()
	for _, l := range b.listeners {
		if l.port != local.Port() {
			continue
		}
		if l.ip == ip {
			return l
		}
		if wildcard == nil && (!l.ip.IsValid() || l.ip.IsUnspecified()) {
			wildcard = l
		}
	}
	if wildcard != nil {
		return wildcard
	}
	return b.listeners[0]
}

// MaxPacketSize returns the largest MaxPacketSize of any zone in use: the
// value netio.Config.MaxPacketSize must have (a zone with a smaller limit
// is enforced by the broker). Safe from any goroutine.
func (b *Broker) MaxPacketSize() int {
	n := 0
	for _, l := range b.listeners {
		n = max(n, l.cfg.MaxPacketSize)
	}
	return n
}
