package httpapi

import (
	"context"
	"net/http"
	"net/http/httptest"
	"testing"
)

// clusterBroker is a fakeBroker that is one node of a three-node cluster
// (NodeView): n2 and n3 report their own counts, n4 has stopped.
type clusterBroker struct{ *fakeBroker }

func (clusterBroker) Nodes(context.Context) ([]Node, error) {
	return []Node{{Name: "n1", Version: "v", Running: true, UptimeMillis: 5000, Connections: 20},
		{Name: "n2", Version: "v", Running: true, UptimeMillis: 4000, Connections: 7},
		{Name: "n4", Version: "v", Running: false, UptimeMillis: 1000}}, nil
}

func (c clusterBroker) NodeStats(ctx context.Context) ([]NodeStats, error) {
	own, err := c.Stats(ctx)
	return []NodeStats{{Node: "n1", Stats: own}, {Node: "n2", Stats: Stats{Sessions: 7, SessionsMax: 9, LiveConnections: 7}}}, err
}

// TestNodes checks GET /nodes and GET /stats for a node alone (itself)
// and for a node of a cluster (every node; the aggregate sums the running
// ones).
func TestNodes(t *testing.T) {
	env := newTestEnv(t, Config{Node: "alone@host"}, testRows(20))
	var nodes []map[string]any
	r := env.do(t, "GET", "/nodes", viewerUser, nil)
	r.decode(t, &nodes)
	if r.status != http.StatusOK || len(nodes) != 1 || nodes[0]["node"] != "alone@host" || nodes[0]["node_status"] != "running" {
		t.Fatalf("alone: %d %s", r.status, r.body)
	}
	env.do(t, "GET", "/nodes?x=1", viewerUser, nil).wantError(t, http.StatusBadRequest, codeBadRequest)

	api, err := New(Config{Node: "n1", Logger: discardLogger()}, env.cat, clusterBroker{env.broker}, env.api.keys)
	if err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewServer(api)
	defer srv.Close()
	cenv := &testEnv{srv: srv, cat: env.cat, broker: env.broker, api: api}
	r = cenv.do(t, "GET", "/nodes", viewerUser, nil)
	r.decode(t, &nodes)
	if r.status != http.StatusOK || len(nodes) != 3 || nodes[2]["node"] != "n4" || nodes[2]["node_status"] != "stopped" ||
		nodes[1]["connections"] != 7.0 || nodes[0]["uptime"] != 5000.0 || nodes[0]["version"] != "v" {
		t.Fatalf("cluster: %d %s", r.status, r.body)
	}
	var per []map[string]any
	r = cenv.do(t, "GET", "/stats", viewerUser, nil)
	r.decode(t, &per)
	if r.status != http.StatusOK || len(per) != 2 || per[1]["node"] != "n2" || per[1]["sessions.count"] != 7.0 {
		t.Fatalf("stats: %d %s", r.status, r.body)
	}
	var agg map[string]any
	r = cenv.do(t, "GET", "/stats?aggregate=true", viewerUser, nil)
	r.decode(t, &agg)
	if r.status != http.StatusOK || agg["sessions.count"] != 27.0 || agg["sessions.max"] != per[0]["sessions.max"].(float64)+9 {
		t.Fatalf("aggregate: %d %s (n1 %v)", r.status, r.body, per[0])
	}
}
