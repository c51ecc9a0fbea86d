package main

import (
	"errors"
	"fmt"
	"maps"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/shardmq/shardmq/httpapi"
	"github.com/shardmq/shardmq/netio"
	"github.com/shardmq/shardmq/shards"
)

// Listener is one MQTT listener. On the command line and in
// SHARDMQ_LISTENERS it is written
//
//	[KIND://]HOST:PORT[@ZONE][?KEY=VALUE&...]
//
// and in the file as a [[listeners]] table with the keys kind, addr, zone
// and the same keys (listenerKeys). KIND is EMQX's: tcp (the default),
// ssl, ws or wss.
type Listener struct {
	// Kind is tcp, ssl, ws or wss. If empty, tcp is used.
	Kind string
	// Addr is HOST:PORT.
	Addr string
	// Zone is the zone of the listener's clients. If empty, the zone
	// "default" is used.
	Zone string
	// Name names the listener on client rows ("KIND:NAME"): letters,
	// digits, _ and -. If empty, "default" is used for the first listener
	// of its kind and its position among them (1, 2, ...) for the others.
	Name string

	// The TLS settings of ssl and wss (EMQX's ssl_options).
	CertFile, KeyFile, CACertFile string
	// Verify is verify_none (the default) or verify_peer.
	Verify           string
	FailIfNoPeerCert bool
	// HandshakeTimeout bounds the TLS handshake; 0 means netio's 15 s.
	HandshakeTimeout time.Duration
	// PeerCertAsUsername and PeerCertAsClientID take the client's username
	// or client id from its certificate: "cn" or "dn"; empty: not.
	PeerCertAsUsername, PeerCertAsClientID string
	// TenantFrom is "peersni" to set a client's tenant_id_from to its TLS
	// server name; empty: not.
	TenantFrom string

	// The WebSocket settings of ws and wss: the upgrade's path (default
	// /mqtt) and the request headers trusted for the client's address.
	Path, ProxyAddressHeader, ProxyPortHeader string

	// ProxyProtocol requires the PROXY protocol header (v1 or v2) before
	// the client's bytes; ProxyProtocolTimeout bounds the wait (0: 3 s).
	ProxyProtocol        bool
	ProxyProtocolTimeout time.Duration
	// MaxConnections caps the listener's connections; 0: no cap of its own.
	MaxConnections int

	// protocol and protoVer are a gateway's protocol on its clients' rows.
	protocol string
	protoVer int
}

// The listener kinds, with EMQX's names.
var listenerKinds = []string{netio.KindTCP, netio.KindSSL, netio.KindWS, netio.KindWSS}

// listenerKey is a key of a listener: its name in the query and the file,
// the kinds it applies to (nil: all), how to set it from text and how to
// print it.
type listenerKey struct {
	name  string
	kinds []string
	set   func(l *Listener, v string) error
	get   func(l *Listener) (string, bool) // the value and whether it is set
}

func stringKey(name string, kinds []string, field func(*Listener) *string, allowed ...string) listenerKey {
	return listenerKey{name: name, kinds: kinds,
		set: func(l *Listener, v string) error {
			if len(allowed) > 0 && !slices.Contains(allowed, v) {
				return fmt.Errorf("want %s", strings.Join(allowed, " or "))
			}
			*field(l) = v
			return nil
		},
		get: func(l *Listener) (string, bool) { v := *field(l); return tomlQuote(v), v != "" }}
}

func boolKey(name string, kinds []string, field func(*Listener) *bool) listenerKey {
	return listenerKey{name: name, kinds: kinds,
		set: func(l *Listener, v string) error {
			b, err := strconv.ParseBool(v)
			if err != nil {
				return errors.New("want true or false")
			}
			*field(l) = b
			return nil
		},
		get: func(l *Listener) (string, bool) { return strconv.FormatBool(*field(l)), *field(l) }}
}

func durationKey(name string, kinds []string, field func(*Listener) *time.Duration) listenerKey {
	return listenerKey{name: name, kinds: kinds,
		set: func(l *Listener, v string) error {
			d, err := time.ParseDuration(v)
			if err != nil || d < 0 {
				return errors.New(`want a duration such as "5s"`)
			}
			*field(l) = d
			return nil
		},
		get: func(l *Listener) (string, bool) { return tomlQuote(field(l).String()), *field(l) != 0 }}
}

var (
	secureKinds = []string{netio.KindSSL, netio.KindWSS}
	wsKinds     = []string{netio.KindWS, netio.KindWSS}
)

// listenerKeys are the keys of a listener besides kind and addr, in the
// order --print-config writes them.
var listenerKeys = []listenerKey{
	stringKey("zone", nil, func(l *Listener) *string { return &l.Zone }),
	stringKey("name", nil, func(l *Listener) *string { return &l.Name }),
	stringKey("certfile", secureKinds, func(l *Listener) *string { return &l.CertFile }),
	stringKey("keyfile", secureKinds, func(l *Listener) *string { return &l.KeyFile }),
	stringKey("cacertfile", secureKinds, func(l *Listener) *string { return &l.CACertFile }),
	stringKey("verify", secureKinds, func(l *Listener) *string { return &l.Verify }, "verify_none", "verify_peer"),
	boolKey("fail_if_no_peer_cert", secureKinds, func(l *Listener) *bool { return &l.FailIfNoPeerCert }),
	durationKey("handshake_timeout", secureKinds, func(l *Listener) *time.Duration { return &l.HandshakeTimeout }),
	stringKey("peer_cert_as_username", secureKinds, func(l *Listener) *string { return &l.PeerCertAsUsername }, "cn", "dn"),
	stringKey("peer_cert_as_clientid", secureKinds, func(l *Listener) *string { return &l.PeerCertAsClientID }, "cn", "dn"),
	stringKey("tenant_from", secureKinds, func(l *Listener) *string { return &l.TenantFrom }, "peersni"),
	stringKey("path", wsKinds, func(l *Listener) *string { return &l.Path }),
	stringKey("proxy_address_header", wsKinds, func(l *Listener) *string { return &l.ProxyAddressHeader }),
	stringKey("proxy_port_header", wsKinds, func(l *Listener) *string { return &l.ProxyPortHeader }),
	boolKey("proxy_protocol", nil, func(l *Listener) *bool { return &l.ProxyProtocol }),
	durationKey("proxy_protocol_timeout", nil, func(l *Listener) *time.Duration { return &l.ProxyProtocolTimeout }),
	{name: "max_connections",
		set: func(l *Listener, v string) error {
			n, err := strconv.Atoi(v)
			if err != nil || n < 0 {
				return errors.New("want a number ≥ 0")
			}
			l.MaxConnections = n
			return nil
		},
		get: func(l *Listener) (string, bool) { return strconv.Itoa(l.MaxConnections), l.MaxConnections != 0 }},
}

// listenerKeyNames lists the keys for error messages.
func listenerKeyNames() string {
	names := []string{"kind", "addr"}
	for _, k := range listenerKeys {
		names = append(names, k.name)
	}
	return strings.Join(names, ", ")
}

// setKey sets the listener key name to v.
func (l *Listener) setKey(name, v string) error {
	for _, k := range listenerKeys {
		if k.name == name {
			return k.set(l, v)
		}
	}
	return fmt.Errorf("unknown setting (want %s)", listenerKeyNames())
}

// parseListener reads a listener written [KIND://]HOST:PORT[@ZONE][?KEY=VALUE&...].
func parseListener(spec string) (Listener, error) {
	var l Listener
	rest := spec
	if kind, after, ok := strings.Cut(rest, "://"); ok {
		if !slices.Contains(listenerKinds, kind) {
			return l, fmt.Errorf("listener %q: kind %q: want tcp, ssl, ws or wss", spec, kind)
		}
		l.Kind, rest = kind, after
	}
	if before, query, ok := strings.Cut(rest, "?"); ok {
		rest = before
		q, err := url.ParseQuery(query)
		if err != nil {
			return l, fmt.Errorf("listener %q: %w", spec, err)
		}
		for _, k := range slices.Sorted(maps.Keys(q)) {
			v := q[k]
			if len(v) != 1 || v[0] == "" {
				return l, fmt.Errorf("listener %q: %s given %d times or empty", spec, k, len(v))
			}
			if k == "kind" || k == "addr" || k == "zone" {
				return l, fmt.Errorf("listener %q: %s is written in the address (KIND://HOST:PORT@ZONE)", spec, k)
			}
			if err := l.setKey(k, v[0]); err != nil {
				return l, fmt.Errorf("listener %q: %s: %w", spec, k, err)
			}
		}
	}
	l.Addr = rest
	if i := strings.LastIndexByte(rest, '@'); i >= 0 {
		l.Addr, l.Zone = rest[:i], rest[i+1:]
	}
	if l.Addr == "" {
		return l, fmt.Errorf("listener %q: no address", spec)
	}
	return l, nil
}

// mqttListeners returns the listeners the broker opens, with their kinds,
// names and zones: Listeners, or one on MQTTAddr.
func (o *Options) mqttListeners() []Listener {
	ls := o.Listeners
	if len(ls) == 0 {
		ls = []Listener{{Addr: o.MQTTAddr}}
	}
	out := make([]Listener, len(ls))
	perKind := map[string]int{}
	for i, l := range ls {
		if l.Kind == "" {
			l.Kind = netio.KindTCP
		}
		if l.Name == "" {
			l.Name = "default"
			if n := perKind[l.Kind]; n > 0 {
				l.Name = strconv.Itoa(n)
			}
		}
		perKind[l.Kind]++
		if l.Zone == "" {
			l.Zone = shards.DefaultZone
		}
		out[i] = l
	}
	return out
}

// rowName is the listener's name on client rows: KIND:NAME.
func (l Listener) rowName() string { return l.Kind + ":" + l.Name }

// netio returns the listener as netio serves it.
func (l Listener) netio() netio.Listener {
	n := netio.Listener{Kind: l.Kind, Name: l.Name, Addr: l.Addr, ProxyProtocol: l.ProxyProtocol,
		ProxyProtocolTimeout: l.ProxyProtocolTimeout, MaxConnections: l.MaxConnections}
	if l.Kind == netio.KindSSL || l.Kind == netio.KindWSS {
		n.TLS = &netio.TLSConfig{CertFile: l.CertFile, KeyFile: l.KeyFile, CACertFile: l.CACertFile,
			VerifyPeer: l.Verify == "verify_peer", FailIfNoPeerCert: l.FailIfNoPeerCert, HandshakeTimeout: l.HandshakeTimeout}
	}
	if l.Kind == netio.KindWS || l.Kind == netio.KindWSS {
		n.WebSocket = &netio.WebSocketConfig{Path: l.Path, AddressHeader: l.ProxyAddressHeader, PortHeader: l.ProxyPortHeader}
	}
	return n
}

// validate checks what a listener's keys say together.
func (l Listener) validate() error {
	secure := slices.Contains(secureKinds, l.Kind)
	for _, k := range listenerKeys {
		if _, set := k.get(&l); set && k.kinds != nil && !slices.Contains(k.kinds, l.Kind) {
			return fmt.Errorf("%s is not a setting of %s listeners (only of %s)", k.name, l.Kind, strings.Join(k.kinds, ", "))
		}
	}
	switch {
	case secure && (l.CertFile == "" || l.KeyFile == ""):
		return errors.New("an " + l.Kind + " listener needs certfile and keyfile")
	case l.Verify == "verify_peer" && l.CACertFile == "":
		return errors.New("verify_peer needs cacertfile")
	case l.FailIfNoPeerCert && l.Verify != "verify_peer":
		return errors.New("fail_if_no_peer_cert needs verify = \"verify_peer\"")
	case (l.PeerCertAsUsername != "" || l.PeerCertAsClientID != "") && l.Verify != "verify_peer":
		return errors.New("peer_cert_as_username and peer_cert_as_clientid need verify = \"verify_peer\"")
	case l.Path != "" && !strings.HasPrefix(l.Path, "/"):
		return fmt.Errorf("path %q must start with /", l.Path)
	case l.ProxyPortHeader != "" && l.ProxyAddressHeader == "":
		return errors.New("proxy_port_header needs proxy_address_header")
	}
	return nil
}

// validName reports whether s is a listener name: letters, digits, _ and
// -, as EMQX's listener names.
func validName(s string) bool {
	for _, r := range s {
		if !(r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9' || r == '_' || r == '-') {
			return false
		}
	}
	return s != ""
}

// fileListeners reads the file's [[listeners]] tables.
func fileListeners(v any) ([]Listener, error) {
	list, ok := v.([]map[string]any)
	if !ok {
		return nil, &keyError{listenersKey, fmt.Errorf("want an array of tables [[listeners]], not %s", tomlType(v))}
	}
	out := make([]Listener, 0, len(list))
	for i, t := range list {
		at := listenersKey + "[" + strconv.Itoa(i) + "]"
		var l Listener
		for _, k := range slices.Sorted(maps.Keys(t)) {
			x := t[k]
			var s string
			switch x := x.(type) {
			case string:
				s = x
			case bool:
				s = strconv.FormatBool(x)
			case int64:
				s = strconv.FormatInt(x, 10)
			default:
				return nil, &keyError{at + "." + k, fmt.Errorf("want a string, boolean or integer, not %s", tomlType(x))}
			}
			var err error
			switch k {
			case "addr":
				l.Addr = s
			case "kind":
				if !slices.Contains(listenerKinds, s) {
					err = errors.New("want tcp, ssl, ws or wss")
				}
				l.Kind = s
			default:
				err = l.setKey(k, s)
			}
			if err != nil {
				return nil, &keyError{at + "." + k, err}
			}
		}
		if l.Addr == "" {
			return nil, &keyError{at + ".addr", errors.New("missing")}
		}
		out = append(out, l)
	}
	return out, nil
}

// listenerInfo returns the function that describes ls for GET /listeners,
// with the addresses srv bound (a port 0 resolved) once it serves.
func listenerInfo(ls []Listener, srv *netio.Server) func() []httpapi.ListenerInfo {
	return func() []httpapi.ListenerInfo {
		addrs := srv.Addrs()
		out := make([]httpapi.ListenerInfo, len(ls))
		for i, l := range ls {
			bind, running := l.Addr, false
			if i < len(addrs) && addrs[i] != nil {
				bind = addrs[i].String()
				running, _ = srv.ListenerRunning(l.rowName())
			}
			out[i] = httpapi.ListenerInfo{ID: l.rowName(), Kind: l.Kind, Name: l.Name, Bind: bind, Zone: l.Zone,
				ProxyProtocol: l.ProxyProtocol, MaxConnections: l.MaxConnections, Running: running}
		}
		return out
	}
}
