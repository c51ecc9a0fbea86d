package netio

import (
	"context"
	"errors"
	"log/slog"
	"sync/atomic"
)

// refusal is why a transport refused or closed a connection, as counted
// per listener (TransportStats.Refused).
type refusal uint8

const (
	refusedListenerFull refusal = iota
	refusedProxyHeader
	refusedProxyTimeout
	refusedNotTLS
	refusedTLSHandshake
	refusedTLSCertificate
	refusedHandshakeTimeout
	refusedTLSRecord
	refusedUpgrade
	refusedWebSocket
	refusedFrameTooLarge
	numRefusals
)

// refusalNames are the reasons' names in TransportStats.Refused (and so in
// the broker's metrics).
var refusalNames = [numRefusals]string{
	refusedListenerFull:     "listener_full",
	refusedProxyHeader:      "proxy_header",
	refusedProxyTimeout:     "proxy_timeout",
	refusedNotTLS:           "not_tls",
	refusedTLSHandshake:     "tls_handshake",
	refusedTLSCertificate:   "tls_certificate",
	refusedHandshakeTimeout: "handshake_timeout",
	refusedTLSRecord:        "tls_record",
	refusedUpgrade:          "ws_upgrade",
	refusedWebSocket:        "ws_protocol",
	refusedFrameTooLarge:    "ws_too_big",
}

// RefusalReasons returns the reasons TransportStats.Refused counts, in a
// fixed order.
func RefusalReasons() []string { return refusalNames[:] }

// refusalOf returns the reason of a transport error.
func refusalOf(err error) refusal {
	switch {
	case errors.Is(err, ErrProxyHeader):
		return refusedProxyHeader
	case errors.Is(err, ErrProxyTimeout):
		return refusedProxyTimeout
	case errors.Is(err, ErrNotTLS):
		return refusedNotTLS
	case errors.Is(err, errCertificate):
		return refusedTLSCertificate
	case errors.Is(err, ErrTLSHandshake):
		return refusedTLSHandshake
	case errors.Is(err, ErrHandshakeTimeout):
		return refusedHandshakeTimeout
	case errors.Is(err, ErrUpgrade):
		return refusedUpgrade
	case errors.Is(err, ErrWebSocket):
		return refusedWebSocket
	case errors.Is(err, ErrFrameTooLarge):
		return refusedFrameTooLarge
	}
	return refusedTLSRecord
}

// listenerState is a listener's runtime state: its counters and, for ssl
// and wss, its certificates.
type listenerState struct {
	conns      atomic.Int64
	handshakes atomic.Int64
	resumed    atomic.Int64
	refused    [numRefusals]atomic.Int64
	tls        *tlsListener // nil for the kinds without TLS
}

// TransportStats are one listener's transport counters.
type TransportStats struct {
	// Listener is the listener's id ("ssl:default").
	Listener string
	// Connections is the number of open connections, those still in
	// their TLS handshake or WebSocket upgrade included.
	Connections int64
	// Handshakes counts completed TLS handshakes; Resumed those of them
	// that resumed a session.
	Handshakes, Resumed int64
	// Refused counts connections refused or closed by the transport, by
	// reason (RefusalReasons): a failed handshake, a bad PROXY header, a
	// bad WebSocket upgrade or frame, a full listener.
	Refused map[string]int64
}

// TransportStats returns every listener's transport counters, in
// Config.Listeners order; safe from any goroutine.
func (s *Server) TransportStats() []TransportStats {
	out := make([]TransportStats, len(s.cfg.Listeners))
	for i := range s.cfg.Listeners {
		st := &s.lst[i]
		ts := TransportStats{Listener: s.cfg.Listeners[i].ID(), Connections: st.conns.Load(),
			Handshakes: st.handshakes.Load(), Resumed: st.resumed.Load(), Refused: make(map[string]int64, numRefusals)}
		for r := range st.refused {
			ts.Refused[refusalNames[r]] = st.refused[r].Load()
		}
		out[i] = ts
	}
	return out
}

// countRefusal counts a transport's refusal of c and logs it at debug
// level.
func (s *Server) countRefusal(c *Conn, why refusal, err error) {
	s.lst[c.lst].refused[why].Add(1)
	if s.cfg.Logger.Enabled(context.Background(), slog.LevelDebug) {
		s.cfg.Logger.Debug("netio: transport refused a connection", "listener", c.Listener().ID(),
			"remote", c.ClientAddr().String(), "reason", refusalNames[why], "err", err)
	}
}
