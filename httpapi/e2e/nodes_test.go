package e2e

import (
	"encoding/json"
	"fmt"
	"net/http"
	"net/url"
	"strconv"
	"testing"
	"time"

	"github.com/shardmq/shardmq/mqtt"
	"github.com/shardmq/shardmq/shards"
)

// TestNodesAndMonitor checks GET /nodes, /nodes/{node}, /monitor_current,
// /sessions_count and /clients_v2 against a real broker with real
// clients: the node's connections, a message rate while a publisher
// sends, the session count, and a cursor walk of /clients_v2 that lists
// every client once.
func TestNodesAndMonitor(t *testing.T) {
	e := start(t, shards.Config{StatsInterval: 200 * time.Millisecond})
	for i := range 7 {
		dial(t, e.mqttAddr, connect(mqtt.V311, fmt.Sprintf("mon-%d", i), "", true, 0))
	}
	status, body := e.call(t, "GET", "/nodes", "")
	var nodes []map[string]any
	if status != http.StatusOK || json.Unmarshal(body, &nodes) != nil || len(nodes) != 1 ||
		nodes[0]["node"] != node || nodes[0]["node_status"] != "running" || nodes[0]["connections"] != 7.0 {
		t.Fatalf("GET /nodes: %d %s", status, body)
	}
	if status, body := e.call(t, "GET", "/nodes/"+url.PathEscape(node), ""); status != http.StatusOK {
		t.Fatalf("GET /nodes/{node}: %d %s", status, body)
	}
	if status, _ := e.call(t, "GET", "/nodes/other@10.0.0.1", ""); status != http.StatusNotFound {
		t.Fatalf("GET /nodes/{other}: %d", status)
	}
	if status, body := e.call(t, "GET", "/sessions_count", ""); status != http.StatusOK || string(body) != "7" {
		t.Fatalf("GET /sessions_count: %d %s", status, body)
	}

	pub := dial(t, e.mqttAddr, connect(mqtt.V311, "mon-pub", "", true, 0))
	msg := mqtt.AppendPublish(nil, &mqtt.Publish{Topic: []byte("mon/t"), Payload: []byte("x")}, mqtt.V311)
	var m map[string]int64
	deadline := time.Now().Add(10 * time.Second)
	for {
		for range 50 {
			pub.c.Write(msg)
		}
		time.Sleep(20 * time.Millisecond)
		status, body := e.call(t, "GET", "/monitor_current", "")
		if status != http.StatusOK || json.Unmarshal(body, &m) != nil {
			t.Fatalf("GET /monitor_current: %d %s", status, body)
		}
		if m["received_msg_rate"] > 0 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("received_msg_rate stays 0 while a client publishes: %v", m)
		}
	}
	if m["connections"] != 8 || m["sessions"] != 8 || m["received_bytes_rate"] < m["received_msg_rate"] {
		t.Fatalf("monitor_current %v", m)
	}

	seen := map[string]int{}
	cursor := ""
	for pages := 0; ; pages++ {
		q := "limit=3&fields=clientid"
		if cursor != "" {
			q += "&cursor=" + url.QueryEscape(cursor)
		}
		status, body := e.call(t, "GET", "/clients_v2?"+q, "")
		var p page
		if status != http.StatusOK || json.Unmarshal(body, &p) != nil || pages > 10 {
			t.Fatalf("GET /clients_v2?%s: %d %s", q, status, body)
		}
		for _, id := range p.ids() {
			seen[id]++
		}
		if !p.Meta.HasNext {
			break
		}
		cursor = p.Meta.Cursor
	}
	if len(seen) != 8 {
		t.Fatalf("clients_v2 walk saw %d clients: %v", len(seen), seen)
	}
	for id, n := range seen {
		if n != 1 {
			t.Fatalf("%s listed %s times", id, strconv.Itoa(n))
		}
	}
}
