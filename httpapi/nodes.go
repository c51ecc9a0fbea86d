package httpapi

import (
	"context"
	"net/http"
	"strconv"

	"github.com/julienschmidt/httprouter"
)

// NodeView is what a broker that is one node of a cluster adds for GET
// /nodes and GET /stats: every node's status and counts. A Broker that
// does not implement it is a node alone, described by its own Stats.
type NodeView interface {
	// Nodes lists every node the cluster has seen, running or stopped.
	Nodes(ctx context.Context) ([]Node, error)
	// NodeStats returns the counts of every running node, asked of each
	// now.
	NodeStats(ctx context.Context) ([]NodeStats, error)
}

// Node is one node as GET /nodes shows it (EMQX 5's names).
type Node struct {
	Name    string
	Version string
	// Running is false for a node that stopped answering ("stopped").
	Running bool
	// UptimeMillis is how long the node has run, as of its last word.
	UptimeMillis int64
	// Connections are its connected clients.
	Connections int64
}

// NodeStats are one node's counts.
type NodeStats struct {
	Node  string
	Stats Stats
}

// nodes serves GET /nodes: every node of the cluster with its status,
// version, uptime and connections, this one with its details; a node
// alone lists itself.
func (a *API) nodes(w http.ResponseWriter, r *http.Request, _ httprouter.Params) *apiError {
	if e := noQuery(r); e != nil {
		return e
	}
	ns, local, e := a.nodeList(r)
	if e != nil {
		return e
	}
	b := append(make([]byte, 0, 256*len(ns)), '[')
	for i, n := range ns {
		if i > 0 {
			b = append(b, ',')
		}
		b = a.appendNode(b, n, local)
	}
	writeBody(w, http.StatusOK, append(b, ']'))
	return nil
}

// nodeList returns the nodes of the cluster and this node's details.
func (a *API) nodeList(r *http.Request) ([]Node, NodeInfo, *apiError) {
	var ns []Node
	var local NodeInfo
	err := a.command(r.Context(), func(ctx context.Context) error {
		var err error
		if local, err = a.broker.NodeInfo(ctx); err != nil {
			return err
		}
		if v, ok := a.broker.(NodeView); ok {
			ns, err = v.Nodes(ctx)
			return err
		}
		s, err := a.broker.Stats(ctx)
		ns = []Node{{Name: a.cfg.Node, Running: true, Connections: s.LiveConnections}}
		return err
	})
	if err != nil {
		return nil, local, a.brokerError(r, err)
	}
	return ns, local, nil
}

// appendNode appends node n as JSON; this node's entry carries the
// details in local.
func (a *API) appendNode(b []byte, n Node, local NodeInfo) []byte {
	b = append(b, `{"node":`...)
	b = appendJSONString(b, n.Name)
	b = append(b, `,"node_status":`...)
	if n.Running {
		b = append(b, `"running"`...)
	} else {
		b = append(b, `"stopped"`...)
	}
	b = append(b, `,"version":`...)
	b = appendJSONString(b, n.Version)
	b = append(b, `,"uptime":`...)
	b = strconv.AppendInt(b, n.UptimeMillis, 10)
	b = append(b, `,"connections":`...)
	b = strconv.AppendInt(b, n.Connections, 10)
	if n.Name == a.cfg.Node {
		b = appendLocalNode(b, local)
	}
	return append(b, '}')
}

// nodeStats returns every running node's counts (this node's alone when
// the broker is not one of a cluster).
func (a *API) nodeStats(ctx context.Context) ([]NodeStats, error) {
	if v, ok := a.broker.(NodeView); ok {
		return v.NodeStats(ctx)
	}
	s, err := a.broker.Stats(ctx)
	return []NodeStats{{Node: a.cfg.Node, Stats: s}}, err
}

// sumStats adds the counts of every node; each Max is the sum of the
// nodes' high-water marks, as EMQX aggregates them.
func sumStats(ns []NodeStats) Stats {
	var t Stats
	for _, n := range ns {
		s := n.Stats
		t.Connections += s.Connections
		t.ConnectionsMax += s.ConnectionsMax
		t.LiveConnections += s.LiveConnections
		t.LiveConnectionsMax += s.LiveConnectionsMax
		t.Sessions += s.Sessions
		t.SessionsMax += s.SessionsMax
		t.Subscriptions += s.Subscriptions
		t.SubscriptionsMax += s.SubscriptionsMax
		t.SubscriptionsShared += s.SubscriptionsShared
		t.SubscriptionsSharedMax += s.SubscriptionsSharedMax
		t.Topics += s.Topics
		t.TopicsMax += s.TopicsMax
		t.Retained += s.Retained
		t.RetainedMax += s.RetainedMax
	}
	return t
}
