package main

import (
	"fmt"
	"os"
	"slices"
	"strconv"
	"testing"
	"time"
)

// TestClusterSoak kills and restarts the nodes of a three-node cluster in
// turn (SIGKILL by PID, SHARDMQ_SOAK rounds; `make soak`), with clients
// on every node. After each kill the survivors list exactly their own
// clients and route between each other, the killed node's clients
// reconnect to a survivor under the same client ids; after each restart
// the node is running again in /nodes, routes both ways and lists the
// whole cluster.
func TestClusterSoak(t *testing.T) {
	rounds, _ := strconv.Atoi(os.Getenv("SHARDMQ_SOAK"))
	if rounds <= 0 {
		t.Skip("SHARDMQ_SOAK=ROUNDS runs it (make soak)")
	}
	tc := startCluster(t, 3)
	count := func(nd *clusterNode, q string) int {
		var p clientsPage
		if tc.call(nd, "GET", "/clients?_limit=1&"+q, &p) != 200 {
			return -1
		}
		return p.Meta.Count
	}
	for round := range rounds {
		victim := tc.nodes[round%3]
		var alive []*clusterNode
		for _, nd := range tc.nodes {
			if nd != victim {
				alive = append(alive, nd)
			}
		}
		prefix := fmt.Sprintf("r%d-", round)
		// Five clients per node, tagged with the round.
		for _, nd := range tc.nodes {
			for i := range 5 {
				v3(t, nd, fmt.Sprintf("%s%s-%d", prefix, nd.name, i), true, nil)
			}
		}
		like := "like_clientid=" + prefix
		until(t, 10*time.Second, "15 clients listed", func() bool { return count(alive[0], like) == 15 })
		start := time.Now()
		tc.kill(victim)
		until(t, 15*time.Second, victim.name+"'s clients leave every survivor's listing", func() bool {
			return count(alive[0], like) == 10 && count(alive[1], like) == 10
		})
		t.Logf("round %d: %s killed; its clients left the listings after %v", round, victim.name, time.Since(start).Round(100*time.Millisecond))
		// Its clients come back on a survivor, under the same ids; while
		// the registry's stream elects a new leader (when the victim led
		// it) CONNECT is refused with server unavailable.
		start = time.Now()
		for i := range 5 {
			v3Tries(t, alive[i%2], fmt.Sprintf("%s%s-%d", prefix, victim.name, i), true, nil, 40)
		}
		t.Logf("round %d: its clients reconnected to the survivors within %v", round, time.Since(start).Round(100*time.Millisecond))
		until(t, 10*time.Second, "the returning clients listed", func() bool { return count(alive[1], like) == 15 })
		rec := &inbox{}
		done(t, v3(t, alive[1], prefix+"sub", true, rec).Subscribe(prefix+"t", 1, nil))
		routed(t, v3(t, alive[0], prefix+"pub", true, nil), prefix+"t", rec)

		tc.start(victim)
		waitListening(t, victim.mqtt, victim.cmd)
		until(t, 30*time.Second, victim.name+" running again in /nodes", func() bool {
			var nodes []struct {
				Node   string `json:"node"`
				Status string `json:"node_status"`
			}
			tc.call(alive[0], "GET", "/nodes", &nodes)
			return slices.ContainsFunc(nodes, func(n struct {
				Node   string `json:"node"`
				Status string `json:"node_status"`
			}) bool {
				return n.Node == victim.name && n.Status == "running"
			})
		})
		back := &inbox{}
		done(t, v3(t, victim, prefix+"back-sub", true, back).Subscribe(prefix+"b", 1, nil))
		routed(t, v3(t, alive[0], prefix+"back-pub", true, nil), prefix+"b", back)
		until(t, 10*time.Second, "the restarted node lists the cluster", func() bool { return count(victim, like) == 19 })
	}
}
