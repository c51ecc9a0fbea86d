package main

import (
	"fmt"
	"os"
	"strconv"
	"strings"
	"testing"
	"time"

	pahov3 "github.com/eclipse/paho.mqtt.golang"
)

// TestClusterPartition cuts one node of a three-process cluster off the
// two others at their NATS routes (a test-owned proxy drops the traffic,
// as a firewall rule on the route ports would) and heals it, with no
// restart; partitionRound says what it checks.
func TestClusterPartition(t *testing.T) {
	if testing.Short() {
		t.Skip("three broker processes")
	}
	rn := newRouteNet(t)
	tc := startClusterOn(t, 3, rn)
	partitionRound(t, tc, rn, tc.nodes[2], 0)
}

// TestClusterPartitionSoak cuts each node of a three-process cluster off
// the others in turn (SHARDMQ_SOAK rounds; `make soak`), healing each cut
// before the next, on one cluster that never restarts.
func TestClusterPartitionSoak(t *testing.T) {
	rounds, _ := strconv.Atoi(os.Getenv("SHARDMQ_SOAK"))
	if rounds <= 0 {
		t.Skip("SHARDMQ_SOAK=ROUNDS runs it (make soak)")
	}
	rn := newRouteNet(t)
	tc := startClusterOn(t, 3, rn)
	for round := range rounds {
		partitionRound(t, tc, rn, tc.nodes[round%3], round)
	}
}

// nodeStatus returns the node_status of every node in nd's GET /nodes.
func (tc *testCluster) nodeStatus(nd *clusterNode) map[string]string {
	var nodes []struct {
		Node   string `json:"node"`
		Status string `json:"node_status"`
	}
	if tc.call(nd, "GET", "/nodes", &nodes) != 200 {
		return nil
	}
	m := map[string]string{}
	for _, n := range nodes {
		m[n.Node] = n.Status
	}
	return m
}

// allRunning reports whether every node's GET /nodes has every node
// running.
func (tc *testCluster) allRunning() bool {
	for _, nd := range tc.nodes {
		st := tc.nodeStatus(nd)
		for _, m := range tc.nodes {
			if st[m.name] != "running" {
				return false
			}
		}
	}
	return true
}

// count returns meta.count of nd's GET /clients with the query q, -1 when
// it does not answer 200.
func (tc *testCluster) count(nd *clusterNode, q string) int {
	var p clientsPage
	if tc.call(nd, "GET", "/clients?_limit=1&"+q, &p) != 200 {
		return -1
	}
	return p.Meta.Count
}

// partitionRound cuts victim off the other nodes and heals the cut.
// During the cut: each side marks the other stopped in /nodes within
// 10 s, keeps serving the clients connected to it (the victim routes
// between its own clients, the majority between its nodes and accepts new
// clients, as its registry keeps a quorum) and lists exactly its own
// side's clients; the victim refuses a new CONNECT with server
// unavailable (its registry has no quorum, so a client id cannot be
// claimed twice). After the heal, with no restart: every node sees every
// other running, routing works both ways (a subscription made on the
// victim during the cut included), every node lists every client, and
// the victim accepts new clients again.
func partitionRound(t *testing.T, tc *testCluster, rn *routeNet, victim *clusterNode, round int) {
	t.Helper()
	var others []*clusterNode
	for _, nd := range tc.nodes {
		if nd != victim {
			others = append(others, nd)
		}
	}
	// The round's clients connect once every node sees the others
	// running, so each CONNECT claims its client id in the registry: the
	// cut then comes after the registry's buckets exist. (Cut before they
	// exist, at a cluster's first start, the majority cannot create them:
	// JetStream places each bucket's 3 replicas on running servers.)
	until(t, 30*time.Second, "every node sees every node running", func() bool { return tc.allRunning() })
	prefix := fmt.Sprintf("p%d-", round)
	like := "like_clientid=" + prefix
	subs := map[*clusterNode]*inbox{}
	subc := map[*clusterNode]pahov3.Client{}
	pubs := map[*clusterNode]pahov3.Client{}
	for _, nd := range tc.nodes {
		subs[nd] = &inbox{}
		subc[nd] = v3Tries(t, nd, prefix+nd.name+"-sub", true, subs[nd], 40)
		done(t, subc[nd].Subscribe(prefix+"to/"+nd.name, 1, nil))
		pubs[nd] = v3Tries(t, nd, prefix+nd.name+"-pub", true, nil, 40)
	}
	until(t, 10*time.Second, "the round's 6 clients listed", func() bool { return tc.count(others[0], like) == 6 })
	routed(t, pubs[others[0]], prefix+"to/"+victim.name, subs[victim])
	routed(t, pubs[victim], prefix+"to/"+others[0].name, subs[others[0]])
	for _, o := range others {
		if rn.connections(victim.name, o.name) == 0 {
			t.Fatalf("no route connection between %s and %s passed the proxies", victim.name, o.name)
		}
	}

	cut := time.Now()
	rn.isolate(victim.name, others[0].name, others[1].name)
	until(t, 10*time.Second, "each side marks the other stopped in /nodes", func() bool {
		vs := tc.nodeStatus(victim)
		if vs[victim.name] != "running" {
			return false
		}
		for _, o := range others {
			st := tc.nodeStatus(o)
			if vs[o.name] != "stopped" || st[victim.name] != "stopped" || st[o.name] != "running" {
				return false
			}
		}
		return tc.nodeStatus(others[0])[others[1].name] == "running"
	})
	t.Logf("round %d: %s cut off; both sides marked the other stopped after %v", round, victim.name, time.Since(cut).Round(100*time.Millisecond))

	// Each side serves its clients and lists exactly its own.
	routed(t, pubs[victim], prefix+"to/"+victim.name, subs[victim])
	routed(t, pubs[others[0]], prefix+"to/"+others[1].name, subs[others[1]])
	until(t, 10*time.Second, "each side lists its own clients", func() bool {
		return tc.count(victim, like) == 2 && tc.count(others[0], like) == 4 && tc.count(others[1], like) == 4
	})
	v3Tries(t, others[1], prefix+"majority-new", true, nil, 40)
	// A subscription made on the victim while the others cannot hear it.
	done(t, subc[victim].Subscribe(prefix+"late", 1, nil))
	o := pahov3.NewClientOptions().AddBroker("tcp://" + victim.mqtt).SetClientID(prefix + "minority-new").
		SetProtocolVersion(4).SetAutoReconnect(false).SetConnectTimeout(20 * time.Second)
	refused := pahov3.NewClient(o).Connect()
	if !refused.WaitTimeout(25*time.Second) || refused.Error() == nil || !strings.Contains(strings.ToLower(refused.Error().Error()), "unavailable") {
		t.Fatalf("a new client on the cut-off %s: %v, want server unavailable", victim.name, refused.Error())
	}

	healed := time.Now()
	rn.heal()
	until(t, 30*time.Second, "every node sees every node running", func() bool { return tc.allRunning() })
	t.Logf("round %d: healed; every node saw every node running after %v", round, time.Since(healed).Round(100*time.Millisecond))
	routed(t, pubs[others[0]], prefix+"late", subs[victim])
	routed(t, pubs[victim], prefix+"to/"+others[1].name, subs[others[1]])
	until(t, 10*time.Second, "every node lists the round's 7 clients", func() bool {
		for _, nd := range tc.nodes {
			if tc.count(nd, like) != 7 {
				return false
			}
		}
		return true
	})
	v3Tries(t, victim, prefix+"minority-after", true, nil, 40)
	until(t, 10*time.Second, "every node lists the victim's new client", func() bool {
		for _, nd := range tc.nodes {
			if tc.count(nd, like) != 8 {
				return false
			}
		}
		return true
	})
	t.Logf("round %d: routing, /clients and /nodes whole %v after the heal", round, time.Since(healed).Round(100*time.Millisecond))
	if n := rn.unknown.Load(); n != 0 {
		t.Fatalf("%d route connections came from no node process: the partition may not have covered them", n)
	}
}
