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
	// URL is "tcp://HOST:PORT".
	URL string
	// PID is the broker's process id on this machine, or 0: its CPU and
	// memory are measured only when it is known.
	PID int
	// API is the broker's HTTP API, "http://HOST:PORT", or "".
	API string
	// Publish are the URLs ("tcp://HOST:PORT") publishers connect to in
	// turn instead of URL: other nodes of a cluster, so that messages
	// cross nodes. Empty: URL.
	Publish []string
}

// Name returns the target's URL.
func (t Target) Name() string { return t.URL }

// Start returns an Instance for the running target; Stop leaves it
// running. Unlike a started broker it carries the state of earlier runs:
// the scenarios use fresh client ids per run only where they must.
func (t Target) Start(context.Context, string) (*Instance, error) {
	addr, err := targetAddr(t.URL)
	if err != nil {
		return nil, err
	}
	in := &Instance{Addr: addr, PID: t.PID}
	for _, u := range t.Publish {
		a, err := targetAddr(u)
		if err != nil {
			return nil, err
		}
		in.PubAddrs = append(in.PubAddrs, a)
	}
	if t.API != "" {
		if in.APIAddr, err = apiHost(t.API); err != nil {
			return nil, err
		}
	}
	return in, nil
}

// targetAddr returns the host:port of a target URL. Only tcp:// is served
// today; ssl:// and ws:// are named so that the message says what to do.
func targetAddr(raw string) (string, error) {
	u, err := url.Parse(raw)
	if err != nil {
		return "", fmt.Errorf("%q: %v", raw, err)
	}
	switch u.Scheme {
	case "tcp", "mqtt":
	case "ssl", "tls", "mqtts", "ws", "wss":
		return "", fmt.Errorf("%q: %s:// targets are not supported yet (the generator speaks plain TCP until shardmq has ssl and ws listeners); use tcp://HOST:PORT", raw, u.Scheme)
	default:
		return "", fmt.Errorf("%q: want tcp://HOST:PORT", raw)
	}
	if u.Path != "" && u.Path != "/" || u.User != nil || u.RawQuery != "" {
		return "", fmt.Errorf("%q: want tcp://HOST:PORT, nothing more", raw)
	}
	return hostPort(raw, u.Host)
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
