package netio

import (
	"fmt"
	"net/netip"
)

// KindTCP is the listener kind of plain MQTT over TCP.
const KindTCP = "tcp"

// Listener is one address the Server accepts MQTT connections on.
type Listener struct {
	// Kind is the transport ("tcp"). If empty, KindTCP is used.
	Kind string
	// Name tells listeners of one kind apart; Kind:Name (EMQX's listener
	// id, "tcp:default") is what client rows show. If empty, "default" is
	// used for the first listener of its kind and the decimal position
	// among them ("1", "2") for the next ones.
	Name string
	// Addr is the address to bind ("127.0.0.1:1883", ":1883").
	Addr string
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
		if addrs[l.Addr] {
			return nil, fmt.Errorf("%w: address %s given to two listeners", ErrInvalidConfig, l.Addr)
		}
		seen[l.ID()], addrs[l.Addr] = true, true
		out[i] = l
	}
	return out, nil
}

// boundListener is a tcp listener's configured address, resolved, its
// bound address and its position in Config.Listeners.
type boundListener struct {
	conf, addr netip.AddrPort
	index      uint16
}

// listenerOf returns the position of the tcp listener that accepted a
// connection whose gnet local address is local: the listener whose
// configured or bound address it is, else a wildcard listener on the same
// port, else the first tcp listener.
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
