package httpapi

import (
	"context"
	"fmt"
	"net/http"
	"net/url"
	"strconv"
	"time"

	"github.com/julienschmidt/httprouter"
)

// The monitoring endpoints of EMQX 5 that a dashboard reads beside
// /nodes: GET /monitor_current and /sessions_count, and this node's own
// details in /nodes and /nodes/{node}.

// NodeInfo is what the broker reports of its node for GET /nodes.
type NodeInfo struct {
	// Version is the broker's version.
	Version string
	// Uptime is how long the broker has run.
	Uptime time.Duration
	// MemoryTotal is the machine's memory and MemoryUsed the bytes the
	// process holds (resident set, or the Go runtime's total where the
	// system does not say), in bytes; 0 when unknown.
	MemoryTotal, MemoryUsed int64
	// MaxFDs is the process's open-file limit; 0 when unknown.
	MaxFDs int64
	// Load1, Load5 and Load15 are the system's load averages.
	Load1, Load5, Load15 float64
	// Goroutines is the number of goroutines (EMQX: process_used).
	Goroutines int64
	// Connections and LiveConnections are as in Stats.
	Connections, LiveConnections int64
	// GoVersion is the Go runtime's version (EMQX: otp_release).
	GoVersion string
}

// Monitor is what GET /monitor_current reports: the current counts and
// the per-second rates over the broker's last stats interval.
type Monitor struct {
	Connections, LiveConnections, Sessions            int64
	Subscriptions, SharedSubscriptions, Topics        int64
	Retained                                          int64
	ReceivedMsgRate, SentMsgRate, DroppedMsgRate      int64
	ReceivedBytesRate, SentBytesRate                  int64
	ReceivedPacketRate, SentPacketRate, MqueueDropped int64
}

// appendLocalNode appends this node's details (EMQX 5's keys) to the
// object being written in b, before its closing brace.
func appendLocalNode(b []byte, n NodeInfo) []byte {
	b = append(b, `,"edition":"shardmq","role":"core","live_connections":`...)
	b = strconv.AppendInt(b, n.LiveConnections, 10)
	for _, f := range []struct {
		k string
		v int64
	}{{"memory_total", n.MemoryTotal}, {"memory_used", n.MemoryUsed}, {"max_fds", n.MaxFDs}, {"process_used", n.Goroutines}} {
		b = append(b, `,"`+f.k+`":`...)
		b = strconv.AppendInt(b, f.v, 10)
	}
	for _, f := range []struct {
		k string
		v float64
	}{{"load1", n.Load1}, {"load5", n.Load5}, {"load15", n.Load15}} {
		b = append(b, `,"`+f.k+`":`...)
		b = strconv.AppendFloat(b, f.v, 'f', 2, 64)
	}
	b = append(b, `,"otp_release":`...)
	return appendJSONString(b, n.GoVersion)
}

// getNode serves GET /nodes/{node}: one node of the cluster (this one
// with its details); an unknown name is a 404.
func (a *API) getNode(w http.ResponseWriter, r *http.Request, ps httprouter.Params) *apiError {
	raw := ps.ByName("node")
	name, err := url.PathUnescape(raw)
	if err != nil || validMQTTString(name) != nil {
		return badRequest(fmt.Sprintf("node %s in the path is not a valid name", quoteShort(raw)))
	}
	if e := noQuery(r); e != nil {
		return e
	}
	ns, local, e := a.nodeList(r)
	if e != nil {
		return e
	}
	for _, n := range ns {
		if n.Name == name {
			writeBody(w, http.StatusOK, a.appendNode(nil, n, local))
			return nil
		}
	}
	// EMQX 5: 404 NOT_FOUND.
	return &apiError{http.StatusNotFound, codeNotFound, fmt.Sprintf("no node named %s in the cluster", quoteShort(name))}
}

// monitorCurrent serves GET /monitor_current: counts and per-second rates
// in EMQX 5's names.
func (a *API) monitorCurrent(w http.ResponseWriter, r *http.Request, _ httprouter.Params) *apiError {
	if e := noQuery(r); e != nil {
		return e
	}
	var m Monitor
	if err := a.command(r.Context(), func(ctx context.Context) (err error) {
		m, err = a.broker.Monitor(ctx)
		return err
	}); err != nil {
		return a.brokerError(r, err)
	}
	writeJSON(w, http.StatusOK, map[string]int64{
		"connections": m.Connections, "live_connections": m.LiveConnections, "sessions": m.Sessions,
		"subscriptions": m.Subscriptions, "shared_subscriptions": m.SharedSubscriptions, "topics": m.Topics,
		"retained_msg_count": m.Retained, "received_msg_rate": m.ReceivedMsgRate, "sent_msg_rate": m.SentMsgRate,
		"dropped_msg_rate": m.DroppedMsgRate, "received_bytes_rate": m.ReceivedBytesRate,
		"sent_bytes_rate": m.SentBytesRate, "received_packets_rate": m.ReceivedPacketRate,
		"sent_packets_rate": m.SentPacketRate, "mqueue_dropped_rate": m.MqueueDropped,
	})
	return nil
}

// sessionsCount serves GET /sessions_count: the number of sessions
// (connected and offline). since (Unix seconds) is accepted as EMQX 5
// takes it; every session the broker keeps is alive now, so it changes
// nothing (ended sessions are not remembered).
func (a *API) sessionsCount(w http.ResponseWriter, r *http.Request, _ httprouter.Params) *apiError {
	vals, keys, e := parseQuery(r.URL.RawQuery)
	if e != nil {
		return e
	}
	for _, k := range keys {
		if k != "since" {
			return unknownParam(k, "this endpoint takes only since")
		}
		v, e := single(vals, k)
		if e != nil {
			return e
		}
		if _, e := parseIntParam(k, v, 0, maxUnixSeconds); e != nil {
			return e
		}
	}
	var s Stats
	if err := a.command(r.Context(), func(ctx context.Context) (err error) {
		s, err = a.broker.Stats(ctx)
		return err
	}); err != nil {
		return a.brokerError(r, err)
	}
	writeBody(w, http.StatusOK, strconv.AppendInt(nil, s.Sessions, 10))
	return nil
}
