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

// The node and monitoring endpoints of EMQX 5 that a dashboard reads:
// GET /nodes, /nodes/{node}, /monitor_current and /sessions_count. This
// node is the only one (a cluster lists its peers when it has the seam
// for it).

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

// nodeJSON is a node in EMQX 5's shape.
type nodeJSON struct {
	Node            string  `json:"node"`
	NodeStatus      string  `json:"node_status"`
	Version         string  `json:"version"`
	Edition         string  `json:"edition"`
	Role            string  `json:"role"`
	Uptime          int64   `json:"uptime"`
	Connections     int64   `json:"connections"`
	LiveConnections int64   `json:"live_connections"`
	MemoryTotal     int64   `json:"memory_total"`
	MemoryUsed      int64   `json:"memory_used"`
	MaxFDs          int64   `json:"max_fds"`
	Load1           float64 `json:"load1"`
	Load5           float64 `json:"load5"`
	Load15          float64 `json:"load15"`
	ProcessUsed     int64   `json:"process_used"`
	OTPRelease      string  `json:"otp_release"`
}

func (a *API) nodeJSON(n NodeInfo) nodeJSON {
	return nodeJSON{Node: a.cfg.Node, NodeStatus: "running", Version: n.Version, Edition: "shardmq", Role: "core",
		Uptime: n.Uptime.Milliseconds(), Connections: n.Connections, LiveConnections: n.LiveConnections,
		MemoryTotal: n.MemoryTotal, MemoryUsed: n.MemoryUsed, MaxFDs: n.MaxFDs,
		Load1: n.Load1, Load5: n.Load5, Load15: n.Load15, ProcessUsed: n.Goroutines, OTPRelease: n.GoVersion}
}

// node asks the broker for this node's information.
func (a *API) node(r *http.Request) (NodeInfo, *apiError) {
	var n NodeInfo
	if err := a.command(r.Context(), func(ctx context.Context) (err error) {
		n, err = a.broker.NodeInfo(ctx)
		return err
	}); err != nil {
		return n, a.brokerError(r, err)
	}
	return n, nil
}

// listNodes serves GET /nodes: this node, in an array.
func (a *API) listNodes(w http.ResponseWriter, r *http.Request, _ httprouter.Params) *apiError {
	if e := noQuery(r); e != nil {
		return e
	}
	n, e := a.node(r)
	if e != nil {
		return e
	}
	writeJSON(w, http.StatusOK, []nodeJSON{a.nodeJSON(n)})
	return nil
}

// getNode serves GET /nodes/{node}; another name is a 404.
func (a *API) getNode(w http.ResponseWriter, r *http.Request, ps httprouter.Params) *apiError {
	raw := ps.ByName("node")
	name, err := url.PathUnescape(raw)
	if err != nil || validMQTTString(name) != nil {
		return badRequest(fmt.Sprintf("node %s in the path is not a valid name", quoteShort(raw)))
	}
	if e := noQuery(r); e != nil {
		return e
	}
	if name != a.cfg.Node {
		// EMQX 5: 404 NOT_FOUND.
		return &apiError{http.StatusNotFound, codeNotFound, fmt.Sprintf("no node named %s; this node is %s", quoteShort(name), quoteShort(a.cfg.Node))}
	}
	n, e := a.node(r)
	if e != nil {
		return e
	}
	writeJSON(w, http.StatusOK, a.nodeJSON(n))
	return nil
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
