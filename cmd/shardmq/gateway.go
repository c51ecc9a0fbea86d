package main

import (
	"errors"
	"fmt"
	"maps"
	"net"
	"net/netip"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/shardmq/shardmq/netio"
	"github.com/shardmq/shardmq/shards"
	"github.com/shardmq/shardmq/shards/gateway"
	"github.com/shardmq/shardmq/shards/gateway/coap"
	"github.com/shardmq/shardmq/shards/gateway/mqttsn"
)

// gatewaysKey is the file's [[gateway]] tables, --gateway and
// SHARDMQ_GATEWAYS.
const gatewaysKey = "gateway"

// Gateway is one gateway for constrained devices. On the command line and
// in SHARDMQ_GATEWAYS it is written
//
//	KIND://HOST[:PORT][@ZONE][?KEY=VALUE&...]
//
// and in the file as a [[gateway]] table with the keys kind, addr, zone
// and the same keys (gatewayKeys). KIND is mqttsn (MQTT-SN 1.2 over UDP,
// default port 1884) or coap (CoAP over UDP, EMQX's model, default port
// 5683). Its clients are sessions like MQTT clients, in the zone's
// settings; their rows say listener "udp:NAME".
type Gateway struct {
	Kind string
	// Addr is HOST:PORT (the port defaulted by kind).
	Addr string
	// Zone is the zone of the gateway's clients; "default" if empty.
	Zone string
	// Name names the listener on rows ("udp:NAME"); the kind if empty.
	Name string
	// GatewayID is the MQTT-SN GwId (1 if zero).
	GatewayID int
	// Predefined are the MQTT-SN predefined topic ids.
	Predefined map[uint16]string
	// The MQTT-SN timers and bounds (mqttsn.Config; zero: its default).
	RetryInterval, ConnectTimeout, AdvertiseInterval time.Duration
	MaxRetries, MaxDatagram, MaxPending, SleepBuffer int
	// AdvertiseTo is where ADVERTISE goes (HOST:PORT).
	AdvertiseTo string
	// MaxConnections caps the gateway's clients; 0: no cap of its own.
	MaxConnections int

	// The CoAP settings (coap.Config; zero: its default).
	ConnectionRequired bool
	Heartbeat          time.Duration
	BlockSize, MaxBody int
}

// Gateway kinds.
const (
	kindMQTTSN = "mqttsn"
	kindCoAP   = "coap"
)

// gatewayKinds are the gateway kinds with their default ports.
var gatewayKinds = map[string]string{kindMQTTSN: "1884", kindCoAP: "5683"}

// protocols are the rows' proto_name of each kind.
var protocols = map[string]string{kindMQTTSN: "MQTT-SN", kindCoAP: "CoAP"}

// gatewayKey is a key of a gateway, as listenerKey; kind, if set, is the
// one kind it applies to.
type gatewayKey struct {
	name string
	set  func(g *Gateway, v string) error
	get  func(g *Gateway) (string, bool)
	kind string
}

// only returns k restricted to kind.
func (k gatewayKey) only(kind string) gatewayKey { k.kind = kind; return k }

func gwBool(name string, f func(*Gateway) *bool) gatewayKey {
	return gatewayKey{name: name,
		set: func(g *Gateway, v string) error {
			b, err := strconv.ParseBool(v)
			if err != nil {
				return errors.New("want true or false")
			}
			*f(g) = b
			return nil
		},
		get: func(g *Gateway) (string, bool) { return strconv.FormatBool(*f(g)), *f(g) }}
}

func gwDuration(name string, f func(*Gateway) *time.Duration) gatewayKey {
	return gatewayKey{name: name, set: func(g *Gateway, v string) error {
		d, err := time.ParseDuration(v)
		if err != nil || d < 0 {
			return errors.New(`want a duration such as "5s"`)
		}
		*f(g) = d
		return nil
	},
		get: func(g *Gateway) (string, bool) { return tomlQuote(f(g).String()), *f(g) != 0 }}
}

func gwInt(name string, max int, f func(*Gateway) *int) gatewayKey {
	return gatewayKey{name: name,
		set: func(g *Gateway, v string) error {
			n, err := strconv.Atoi(v)
			if err != nil || n < 0 || n > max {
				return fmt.Errorf("want a number from 0 to %d", max)
			}
			*f(g) = n
			return nil
		},
		get: func(g *Gateway) (string, bool) { return strconv.Itoa(*f(g)), *f(g) != 0 }}
}

// gatewayKeys are the keys of a gateway besides kind and addr, in the
// order --print-config writes them.
var gatewayKeys = []gatewayKey{
	{name: "zone", set: func(g *Gateway, v string) error { g.Zone = v; return nil },
		get: func(g *Gateway) (string, bool) { return tomlQuote(g.Zone), g.Zone != "" }},
	{name: "name", set: func(g *Gateway, v string) error { g.Name = v; return nil },
		get: func(g *Gateway) (string, bool) { return tomlQuote(g.Name), g.Name != "" }},
	gwInt("max_datagram", 65535, func(g *Gateway) *int { return &g.MaxDatagram }),
	gwInt("max_connections", 1<<30, func(g *Gateway) *int { return &g.MaxConnections }),
	gwInt("gateway_id", 255, func(g *Gateway) *int { return &g.GatewayID }).only(kindMQTTSN),
	{name: "predefined", kind: kindMQTTSN, set: setPredefined, get: func(g *Gateway) (string, bool) {
		var s []string
		for _, id := range slices.Sorted(maps.Keys(g.Predefined)) {
			s = append(s, tomlQuote(strconv.Itoa(int(id))+":"+g.Predefined[id]))
		}
		return "[" + strings.Join(s, ", ") + "]", len(s) > 0
	}},
	gwDuration("retry_interval", func(g *Gateway) *time.Duration { return &g.RetryInterval }).only(kindMQTTSN),
	gwInt("max_retries", 100, func(g *Gateway) *int { return &g.MaxRetries }).only(kindMQTTSN),
	gwDuration("connect_timeout", func(g *Gateway) *time.Duration { return &g.ConnectTimeout }).only(kindMQTTSN),
	gwInt("max_pending", 1<<24, func(g *Gateway) *int { return &g.MaxPending }).only(kindMQTTSN),
	gwInt("sleep_buffer", 1<<20, func(g *Gateway) *int { return &g.SleepBuffer }).only(kindMQTTSN),
	gwDuration("advertise_interval", func(g *Gateway) *time.Duration { return &g.AdvertiseInterval }).only(kindMQTTSN),
	{name: "advertise_to", kind: kindMQTTSN, set: func(g *Gateway, v string) error {
		if _, err := netip.ParseAddrPort(v); err != nil {
			return errors.New("want IP:PORT")
		}
		g.AdvertiseTo = v
		return nil
	}, get: func(g *Gateway) (string, bool) { return tomlQuote(g.AdvertiseTo), g.AdvertiseTo != "" }},
	gwBool("connection_required", func(g *Gateway) *bool { return &g.ConnectionRequired }).only(kindCoAP),
	gwDuration("heartbeat", func(g *Gateway) *time.Duration { return &g.Heartbeat }).only(kindCoAP),
	gwInt("block_size", 1024, func(g *Gateway) *int { return &g.BlockSize }).only(kindCoAP),
	gwInt("max_body", 1<<30, func(g *Gateway) *int { return &g.MaxBody }).only(kindCoAP),
}

// setPredefined adds "ID:TOPIC" entries, separated by commas.
func setPredefined(g *Gateway, v string) error {
	for entry := range strings.SplitSeq(v, ",") {
		if err := addPredefined(g, entry); err != nil {
			return err
		}
	}
	return nil
}

func addPredefined(g *Gateway, entry string) error {
	ids, topic, ok := strings.Cut(strings.TrimSpace(entry), ":")
	id, err := strconv.ParseUint(ids, 10, 16)
	if !ok || err != nil || id == 0 || id == 0xFFFF || topic == "" {
		return fmt.Errorf("predefined topic %q: want ID:TOPIC with ID from 1 to 65534", entry)
	}
	if g.Predefined == nil {
		g.Predefined = map[uint16]string{}
	}
	if _, dup := g.Predefined[uint16(id)]; dup {
		return fmt.Errorf("predefined topic id %d given twice", id)
	}
	g.Predefined[uint16(id)] = topic
	return nil
}

func (g *Gateway) setKey(name, v string) error {
	for _, k := range gatewayKeys {
		if k.name == name {
			return k.set(g, v)
		}
	}
	return fmt.Errorf("unknown setting (want kind, addr, %s)", gatewayKeyNames())
}

// gatewayKeyNames lists the keys besides kind and addr.
func gatewayKeyNames() string {
	var names []string
	for _, k := range gatewayKeys {
		names = append(names, k.name)
	}
	return strings.Join(names, ", ")
}

// parseGateway reads a gateway written KIND://HOST[:PORT][@ZONE][?KEY=VALUE&...].
func parseGateway(spec string) (Gateway, error) {
	var g Gateway
	kind, rest, ok := strings.Cut(spec, "://")
	if _, known := gatewayKinds[kind]; !ok || !known {
		return g, fmt.Errorf("gateway %q: want mqttsn:// or coap://HOST[:PORT][@ZONE]", spec)
	}
	g.Kind = kind
	if before, query, ok := strings.Cut(rest, "?"); ok {
		rest = before
		q, err := url.ParseQuery(query)
		if err != nil {
			return g, fmt.Errorf("gateway %q: %w", spec, err)
		}
		for _, k := range slices.Sorted(maps.Keys(q)) {
			if len(q[k]) != 1 || q[k][0] == "" {
				return g, fmt.Errorf("gateway %q: %s given %d times or empty", spec, k, len(q[k]))
			}
			if k == "kind" || k == "addr" || k == "zone" {
				return g, fmt.Errorf("gateway %q: %s is written in the address (KIND://HOST:PORT@ZONE)", spec, k)
			}
			if err := g.setKey(k, q[k][0]); err != nil {
				return g, fmt.Errorf("gateway %q: %s: %w", spec, k, err)
			}
		}
	}
	if i := strings.LastIndexByte(rest, '@'); i >= 0 {
		rest, g.Zone = rest[:i], rest[i+1:]
	}
	g.Addr = rest
	return g, nil
}

// resolved returns g with its defaults: the kind's port, the name.
func (g Gateway) resolved() Gateway {
	if _, _, err := net.SplitHostPort(g.Addr); err != nil && g.Addr != "" {
		g.Addr = net.JoinHostPort(strings.Trim(g.Addr, "[]"), gatewayKinds[g.Kind])
	}
	if g.Name == "" {
		g.Name = g.Kind
	}
	return g
}

// validate checks a resolved gateway.
func (g Gateway) validate() error {
	if _, known := gatewayKinds[g.Kind]; !known {
		return fmt.Errorf("kind %q: want mqttsn or coap", g.Kind)
	}
	for _, k := range gatewayKeys {
		if _, set := k.get(&g); set && k.kind != "" && k.kind != g.Kind {
			return fmt.Errorf("%s is a setting of %s gateways only", k.name, k.kind)
		}
	}
	if g.Kind == kindCoAP {
		return g.coap().Validate()
	}
	if _, _, err := net.SplitHostPort(g.Addr); err != nil {
		return fmt.Errorf("addr %q: want HOST[:PORT]", g.Addr)
	}
	if !validName(g.Name) {
		return fmt.Errorf("name %q: letters, digits, _ and - only", g.Name)
	}
	_, err := g.mqttsn()
	return err
}

// mqttsn returns the MQTT-SN gateway's configuration.
func (g Gateway) mqttsn() (mqttsn.Config, error) {
	c := mqttsn.Config{GatewayID: byte(g.GatewayID), Predefined: g.Predefined, MaxDatagram: g.MaxDatagram,
		MaxPending: g.MaxPending, ConnectTimeout: g.ConnectTimeout, RetryInterval: g.RetryInterval,
		MaxRetries: g.MaxRetries, SleepBuffer: g.SleepBuffer, AdvertiseInterval: g.AdvertiseInterval}
	if g.AdvertiseTo != "" {
		a, err := netip.ParseAddrPort(g.AdvertiseTo)
		if err != nil {
			return c, fmt.Errorf("advertise_to %q: want IP:PORT", g.AdvertiseTo)
		}
		c.AdvertiseTo = a
	}
	return c, c.Validate()
}

// coap returns the CoAP gateway's configuration.
func (g Gateway) coap() coap.Config {
	return coap.Config{ConnectionRequired: g.ConnectionRequired, Heartbeat: g.Heartbeat, BlockSize: g.BlockSize,
		MaxBody: g.MaxBody, MaxDatagram: g.MaxDatagram}
}

// listener returns the gateway as the broker's listener (zone, name).
func (g Gateway) listener() Listener {
	z := g.Zone
	if z == "" {
		z = shards.DefaultZone
	}
	return Listener{Kind: netio.KindUDP, Name: g.Name, Addr: g.Addr, Zone: z, protocol: protocols[g.Kind], protoVer: 1}
}

// fileGateways reads the file's [[gateway]] tables.
func fileGateways(v any) ([]Gateway, error) {
	list, ok := v.([]map[string]any)
	if !ok {
		return nil, &keyError{gatewaysKey, fmt.Errorf("want an array of tables [[gateway]], not %s", tomlType(v))}
	}
	out := make([]Gateway, 0, len(list))
	for i, t := range list {
		at := gatewaysKey + "[" + strconv.Itoa(i) + "]"
		var g Gateway
		for _, k := range slices.Sorted(maps.Keys(t)) {
			var err error
			switch x := t[k].(type) {
			case string:
				switch k {
				case "kind":
					if _, known := gatewayKinds[x]; !known {
						err = errors.New("want mqttsn or coap")
					}
					g.Kind = x
				case "addr":
					g.Addr = x
				default:
					err = g.setKey(k, x)
				}
			case int64:
				err = g.setKey(k, strconv.FormatInt(x, 10))
			case bool:
				err = g.setKey(k, strconv.FormatBool(x))
			case []any:
				if k != "predefined" {
					err = fmt.Errorf("want a string or integer, not %s", tomlType(x))
					break
				}
				for _, e := range x {
					s, ok := e.(string)
					if !ok {
						err = errors.New(`want strings "ID:TOPIC"`)
						break
					}
					if err = addPredefined(&g, s); err != nil {
						break
					}
				}
			default:
				err = fmt.Errorf("want a string or integer, not %s", tomlType(x))
			}
			if err != nil {
				return nil, &keyError{at + "." + k, err}
			}
		}
		if g.Kind == "" {
			return nil, &keyError{at + ".kind", errors.New("missing")}
		}
		out = append(out, g)
	}
	return out, nil
}

// validateGateways checks the gateways and that their names are unique.
func (o *Options) validateGateways() error {
	seen := map[string]bool{}
	for i, g := range o.Gateways {
		g = g.resolved()
		at := gatewaysKey + "[" + strconv.Itoa(i) + "]"
		if err := g.validate(); err != nil {
			return &keyError{at, err}
		}
		if seen[g.Name] {
			return &keyError{at, fmt.Errorf("name %q is taken by another gateway", g.Name)}
		}
		seen[g.Name] = true
		if _, ok := o.Zones[g.Zone]; g.Zone != "" && g.Zone != shards.DefaultZone && !ok {
			return &keyError{at, fmt.Errorf("zone %q is not defined", g.Zone)}
		}
	}
	return nil
}

// gatewayFlag is --gateway, repeatable: the gateways it collects replace
// the file's and the environment's.
type gatewayFlag struct {
	cl       *commandLine
	gateways []Gateway
}

func (f *gatewayFlag) String() string { return "" }

func (f *gatewayFlag) Set(spec string) error {
	g, err := parseGateway(spec)
	if err != nil {
		return f.cl.fail("gateway", &keyError{gatewaysKey, err})
	}
	if f.gateways == nil {
		f.cl.changes = append(f.cl.changes, change{gatewaysKey, "flag --gateway", func(o *Options) { o.Gateways = f.gateways }})
	}
	f.gateways = append(f.gateways, g)
	return nil
}

// gatewayRun is a configured gateway and the gateway serving it.
type gatewayRun struct {
	conf Gateway // resolved
	gw   runningGateway
}

// runningGateway is what the broker needs of a gateway of any kind.
type runningGateway interface {
	netio.Gateway
	Close()
	// Stats returns the datagrams in and out, the retransmissions, the
	// clients and the drops by reason.
	Stats() gateway.Stats
}

// newGateways builds the configured gateways (not serving yet).
func newGateways(o *Options) ([]gatewayRun, error) {
	var out []gatewayRun
	for _, g := range o.Gateways {
		g = g.resolved()
		var gw runningGateway
		switch g.Kind {
		case kindCoAP:
			c, err := coap.New(g.coap())
			if err != nil {
				return nil, err
			}
			gw = c
		default:
			c, err := g.mqttsn()
			if err != nil {
				return nil, err
			}
			sn, err := mqttsn.New(c)
			if err != nil {
				return nil, err
			}
			gw = sn
		}
		out = append(out, gatewayRun{conf: g, gw: gw})
	}
	return out, nil
}

// netio returns the gateway's udp listener.
func (g gatewayRun) netio() netio.Listener {
	return netio.Listener{Kind: netio.KindUDP, Name: g.conf.Name, Addr: g.conf.Addr, Gateway: g.gw,
		MaxConnections: g.conf.MaxConnections}
}

var (
	descGwDatagrams = desc("gateway_datagrams_total", "Datagrams gateways received and sent, by listener and direction.", "listener", "direction")
	descGwRetrans   = desc("gateway_retransmissions_total", "Messages gateways sent again for want of an acknowledgement, by listener.", "listener")
	descGwClients   = desc("gateway_clients", "Clients gateways know (connected, asleep or connecting), by listener.", "listener")
	descGwDropped   = desc("gateway_dropped_total", "Datagrams and messages gateways dropped, by listener and reason.", "listener", "reason")
)

// gatewayCollector reads the gateways' counters when Prometheus scrapes.
type gatewayCollector struct{ gws []gatewayRun }

// Describe implements prometheus.Collector.
func (c gatewayCollector) Describe(ch chan<- *prometheus.Desc) {
	for _, d := range []*prometheus.Desc{descGwDatagrams, descGwRetrans, descGwClients, descGwDropped} {
		ch <- d
	}
}

// Collect implements prometheus.Collector.
func (c gatewayCollector) Collect(ch chan<- prometheus.Metric) {
	for _, g := range c.gws {
		id := g.conf.listener().rowName()
		s := g.gw.Stats()
		ch <- prometheus.MustNewConstMetric(descGwDatagrams, prometheus.CounterValue, float64(s.Received), id, "in")
		ch <- prometheus.MustNewConstMetric(descGwDatagrams, prometheus.CounterValue, float64(s.Sent), id, "out")
		ch <- prometheus.MustNewConstMetric(descGwRetrans, prometheus.CounterValue, float64(s.Retransmitted), id)
		ch <- prometheus.MustNewConstMetric(descGwClients, prometheus.GaugeValue, float64(s.Clients), id)
		for _, r := range slices.Sorted(slices.Values(s.Reasons)) {
			ch <- prometheus.MustNewConstMetric(descGwDropped, prometheus.CounterValue, float64(s.Drops(r)), id, r)
		}
	}
}
