package netio

import (
	"fmt"
	"net/netip"
	"time"
)

// The listener kinds the Server binds itself, with EMQX's names. Their
// layers (TLS, WebSocket, the PROXY protocol header) run on the event loop
// that owns the connection (transport.go); the Handler sees only MQTT
// bytes.
const (
	// KindTCP is plain MQTT over TCP.
	KindTCP = "tcp"
	// KindSSL is MQTT over TLS (Listener.TLS is required).
	KindSSL = "ssl"
	// KindWS is MQTT over WebSocket (RFC 6455).
	KindWS = "ws"
	// KindWSS is MQTT over WebSocket over TLS (Listener.TLS is required).
	KindWSS = "wss"
)

// bound reports whether the Server binds listeners of kind k itself.
func bound(k string) bool { return k == KindTCP || k == KindSSL || k == KindWS || k == KindWSS }

// Listener is one address the Server accepts MQTT connections on.
type Listener struct {
	// Kind is the transport: KindTCP, KindSSL, KindWS or KindWSS. If
	// empty, KindTCP is used.
	Kind string
	// Name tells listeners of one kind apart; Kind:Name (EMQX's listener
	// id, "tcp:default") is what client rows show. If empty, "default" is
	// used for the first listener of its kind and the decimal position
	// among them ("1", "2") for the next ones.
	Name string
	// Addr is the address to bind ("127.0.0.1:1883", ":1883").
	Addr string
	// TLS configures the certificates of an ssl or wss listener; required
	// for those kinds, refused for the others.
	TLS *TLSConfig
	// WebSocket configures a ws or wss listener. If nil, the defaults of
	// WebSocketConfig are used.
	WebSocket *WebSocketConfig
	// ProxyProtocol requires every connection to start with a PROXY
	// protocol header (v1 or v2, HAProxy's specification); the address it
	// carries becomes Peer.Addr. A connection without a valid header is
	// refused.
	ProxyProtocol bool
	// ProxyProtocolTimeout bounds the wait for the PROXY header. If zero,
	// 3 s is used (EMQX's default).
	ProxyProtocolTimeout time.Duration
	// MaxConnections caps the listener's open connections; further ones are
	// closed at once. If zero, only Config.MaxConnections applies.
	MaxConnections int
	// Gateway serves a udp listener's datagrams; required for KindUDP,
	// refused for the others.
	Gateway Gateway
	// Stopped starts a stream listener stopped: Start does not bind it,
	// StartListener does.
	Stopped bool
}

// layered reports whether connections of l pass through a layer before
// MQTT: TLS, WebSocket or a PROXY header.
func (l *Listener) layered() bool {
	return l.Kind == KindSSL || l.Kind == KindWS || l.Kind == KindWSS || l.ProxyProtocol
}

// validate checks the transport settings of a resolved listener.
func (l *Listener) validate() error {
	bad := func(format string, args ...any) error {
		return fmt.Errorf("%w: listener %s: "+format, append([]any{ErrInvalidConfig, l.ID()}, args...)...)
	}
	secure := l.Kind == KindSSL || l.Kind == KindWSS
	switch {
	case secure && l.TLS == nil:
		return bad("needs TLS certificates")
	case !secure && l.TLS != nil:
		return bad("TLS is only for ssl and wss listeners")
	case l.WebSocket != nil && l.Kind != KindWS && l.Kind != KindWSS:
		return bad("WebSocket settings are only for ws and wss listeners")
	case l.ProxyProtocolTimeout < 0 || l.MaxConnections < 0:
		return bad("negative limit")
	case l.Stopped && !bound(l.Kind):
		return bad("only the kinds the server binds start stopped")
	case l.ProxyProtocol && !bound(l.Kind):
		return bad("the PROXY protocol is only for the kinds the server binds")
	case l.Kind == KindUDP && l.Gateway == nil:
		return bad("a udp listener needs a Gateway")
	case l.Kind != KindUDP && l.Gateway != nil:
		return bad("a Gateway is only for udp listeners")
	}
	if l.TLS != nil {
		if err := l.TLS.validate(); err != nil {
			return bad("%w", err)
		}
	}
	if l.WebSocket != nil {
		if err := l.WebSocket.validate(); err != nil {
			return bad("%w", err)
		}
	}
	return nil
}

// ID returns the listener's id, Kind:Name ("tcp:default").
func (l Listener) ID() string { return l.Kind + ":" + l.Name }

// Peer is what the transport knows of a connection's other end, beyond the
// socket: the fields a client row shows for it.
type Peer struct {
	// Listener is the listener the connection came through.
	Listener *Listener
	// Addr is the client's own address when the transport learned it from
	// the connection (PROXY protocol, X-Forwarded-For); invalid means the
	// socket's remote address is the client's.
	Addr netip.AddrPort
	// SNI is the server name the client asked for in its TLS ClientHello.
	SNI string
	// CN and DN are the subject common name and the full distinguished
	// name (RFC 4514) of the client's verified TLS certificate.
	CN, DN string
}

// resolveListeners returns ls with the defaults applied, checking that
// every id is unique.
func resolveListeners(ls []Listener) ([]Listener, error) {
	out := make([]Listener, len(ls))
	perKind := map[string]int{}
	seen := map[string]bool{}
	addrs := map[string]bool{}
	for i, l := range ls {
		if l.Kind == "" {
			l.Kind = KindTCP
		}
		if l.Name == "" {
			if n := perKind[l.Kind]; n == 0 {
				l.Name = "default"
			} else {
				l.Name = fmt.Sprint(n)
			}
		}
		perKind[l.Kind]++
		if l.Addr == "" {
			return nil, fmt.Errorf("%w: listener %s has no address", ErrInvalidConfig, l.ID())
		}
		if seen[l.ID()] {
			return nil, fmt.Errorf("%w: listener %s given twice", ErrInvalidConfig, l.ID())
		}
		key := l.Addr // TCP and UDP ports are apart
		if l.Kind == KindUDP {
			key = "udp " + key
		}
		if addrs[key] {
			return nil, fmt.Errorf("%w: address %s given to two listeners", ErrInvalidConfig, l.Addr)
		}
		seen[l.ID()], addrs[key] = true, true
		if err := l.validate(); err != nil {
			return nil, err
		}
		out[i] = l
	}
	return out, nil
}

// boundListener is a bound listener's configured address, resolved, its
// bound address and its position in Config.Listeners.
type boundListener struct {
	conf, addr netip.AddrPort
	index      uint16
}

// listenerOf returns the position of the bound listener that accepted a
// connection whose gnet local address is local: the listener whose
// configured or bound address it is, else a wildcard listener on the same
// port, else the first bound listener.
func (s *Server) listenerOf(local netip.AddrPort) uint16 {
	ip := local.Addr().Unmap()
	wild := -1
	for _, b := range s.bound {
		if local == b.conf || (b.addr.Port() == local.Port() && b.addr.Addr().Unmap() == ip) {
			return b.index
		}
		if wild < 0 && b.addr.Port() == local.Port() && b.addr.Addr().IsUnspecified() {
			wild = int(b.index)
		}
	}
	if wild >= 0 {
		return uint16(wild)
	}
	if len(s.bound) > 0 {
		return s.bound[0].index
	}
	return 0
}
