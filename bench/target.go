package bench

import (
	"context"
	"fmt"
	"net"
	"net/url"
	"strconv"
)

// Target is an already running broker the harness does not start or stop:
// an EMQX, a shardmq cluster, a broker on another machine. Reports name it
// by its URL.
type Target struct {
	// URL is the listener the generator connects to:
	// "tcp://HOST:PORT" (or mqtt://), "ssl://HOST:PORT" (or mqtts://,
	// tls://), "ws://HOST:PORT/PATH" or "wss://HOST:PORT/PATH" (PATH
	// defaults to /mqtt). Every scenario then runs over that transport.
	URL string
	// CAFile is the PEM file of the CA that an ssl:// or wss:// target's
	// certificate chains to; empty: the system's roots.
	CAFile string
	// ServerName is the name the TLS handshake asks for (SNI) and
	// verifies; empty: the URL's host.
	ServerName string
	// PID is the broker's process id on this machine, or 0: its CPU and
	// memory are measured only when it is known.
	PID int
	// API is the broker's HTTP API, "http://HOST:PORT", or "".
	API string
	// Publish are the URLs publishers connect to in turn instead of URL:
	// other nodes of a cluster, so that messages cross nodes. They speak
	// URL's transport. Empty: URL.
	Publish []string
}

// Name returns the target's URL.
func (t Target) Name() string { return t.URL }

// Start returns an Instance for the running target; Stop leaves it
// running. Unlike a started broker it carries the state of earlier runs:
// the scenarios use fresh client ids per run only where they must.
func (t Target) Start(context.Context, string) (*Instance, error) {
	ep, err := parseTarget(t.URL)
	if err != nil {
		return nil, err
	}
	in := &Instance{Addr: ep.addr, PID: t.PID, transport: ep.transport(t.CAFile, t.ServerName)}
	switch ep.kind {
	case transportTLS:
		in.TLSAddr, in.caFile = ep.addr, t.CAFile
	case transportWS:
		in.WSAddr = ep.addr
	}
	for _, u := range t.Publish {
		p, err := parseTarget(u)
		if err != nil {
			return nil, err
		}
		if p.kind != ep.kind || p.tls != ep.tls {
			return nil, fmt.Errorf("%q: a publish node must speak %s's transport", u, t.URL)
		}
		in.PubAddrs = append(in.PubAddrs, p.addr)
	}
	if t.API != "" {
		if in.APIAddr, err = apiHost(t.API); err != nil {
			return nil, err
		}
	}
	return in, nil
}

// endpoint is a parsed target URL.
type endpoint struct {
	addr string // host:port
	kind string // "", transportTLS or transportWS
	tls  bool   // WebSocket over TLS (wss)
	path string // WebSocket path
}

// transport returns the transport the generator speaks to e, with the CA
// file and server name of an ssl:// or wss:// target.
func (e endpoint) transport(caFile, serverName string) transportSpec {
	if e.kind == "" {
		return transportSpec{}
	}
	t := transportSpec{Kind: e.kind, Path: e.path}
	if e.kind == transportTLS || e.tls {
		host, _, _ := net.SplitHostPort(e.addr)
		if serverName == "" {
			serverName = host
		}
		t.CAFile, t.ServerName, t.SystemRoots, t.TLS = caFile, serverName, caFile == "", e.tls
	}
	return t
}

// targetAddr returns the host:port of a target URL.
func targetAddr(raw string) (string, error) {
	e, err := parseTarget(raw)
	return e.addr, err
}

// parseTarget parses a target URL: tcp://, mqtt://, ssl://, mqtts://,
// tls://, ws:// or wss://, HOST:PORT with a path only for WebSocket.
func parseTarget(raw string) (endpoint, error) {
	const want = "want tcp://, ssl://, ws:// or wss://HOST:PORT"
	u, err := url.Parse(raw)
	if err != nil {
		return endpoint{}, fmt.Errorf("%q: %v", raw, err)
	}
	var e endpoint
	switch u.Scheme {
	case "tcp", "mqtt":
	case "ssl", "mqtts", "tls":
		e.kind = transportTLS
	case "ws":
		e.kind = transportWS
	case "wss":
		e.kind, e.tls = transportWS, true
	default:
		return endpoint{}, fmt.Errorf("%q: %s", raw, want)
	}
	if u.User != nil || u.RawQuery != "" || u.Fragment != "" {
		return endpoint{}, fmt.Errorf("%q: %s, nothing more", raw, want)
	}
	if e.kind == transportWS {
		e.path = u.Path
		if e.path == "" {
			e.path = "/mqtt"
		}
	} else if u.Path != "" && u.Path != "/" {
		return endpoint{}, fmt.Errorf("%q: a path is for ws:// and wss:// only", raw)
	}
	if e.addr, err = hostPort(raw, u.Host); err != nil {
		return endpoint{}, err
	}
	return e, nil
}

// apiHost returns the host:port of an http:// API base URL.
func apiHost(raw string) (string, error) {
	u, err := url.Parse(raw)
	if err != nil {
		return "", fmt.Errorf("%q: %v", raw, err)
	}
	if u.Scheme != "http" {
		return "", fmt.Errorf("%q: want http://HOST:PORT (set the API path with APIPath)", raw)
	}
	return hostPort(raw, u.Host)
}

// hostPort checks that hp is host:port with a port number.
func hostPort(raw, hp string) (string, error) {
	host, port, err := net.SplitHostPort(hp)
	if err != nil || host == "" {
		return "", fmt.Errorf("%q: want HOST:PORT", raw)
	}
	if n, err := strconv.Atoi(port); err != nil || n < 1 || n > 65535 {
		return "", fmt.Errorf("%q: port must be 1..65535", raw)
	}
	return hp, nil
}

// loopbackTarget reports whether addr's host is an IPv4 loopback address,
// so that generator processes may connect from 127.0.0.2, 127.0.0.3, ...
// (stormSource).
func loopbackTarget(addr string) bool {
	host, _, err := net.SplitHostPort(addr)
	if err != nil {
		return false
	}
	ip := net.ParseIP(host)
	return ip != nil && ip.To4() != nil && ip.IsLoopback()
}
