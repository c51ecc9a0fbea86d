package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/eclipse/paho.golang/paho"
	pahov3 "github.com/eclipse/paho.mqtt.golang"
	"github.com/nats-io/nats-server/v2/server"
)

// clusterNode is one broker process of a test cluster.
type clusterNode struct {
	name, dir, mqtt, api, route string
	args                        []string
	cmd                         *exec.Cmd
	log                         *os.File
}

// testCluster is n broker processes on 127.0.0.1 forming one cluster:
// every node lists every route address as a seed.
type testCluster struct {
	t     *testing.T
	bin   string
	keys  string
	nodes []*clusterNode
	// pids names the node of each running process (for routeNet).
	pids sync.Map
}

func startCluster(t *testing.T, n int) *testCluster {
	t.Helper()
	return startClusterOn(t, n, nil)
}

// startClusterOn is startCluster with the routes between the nodes
// through rn when it is not nil: each node listens for routes on a port
// of its own, advertises and is joined at its proxy on rn.
func startClusterOn(t *testing.T, n int, rn *routeNet) *testCluster {
	t.Helper()
	_, bin := buildBroker(t)
	root := t.TempDir()
	tc := &testCluster{t: t, bin: bin, keys: filepath.Join(root, "api_keys")}
	if err := os.WriteFile(tc.keys, []byte("ops:secret:administrator\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	var routes []string
	advertised := map[*clusterNode]string{}
	for i := range n {
		nd := &clusterNode{name: fmt.Sprintf("n%d", i+1), dir: filepath.Join(root, fmt.Sprintf("n%d", i+1)),
			mqtt: freePort(t), api: freePort(t), route: freePort(t)}
		at := nd.route
		if rn != nil {
			at = rn.front(t, nd.name, nd.route, tc.socketOwner)
			advertised[nd] = at
		}
		routes = append(routes, at)
		tc.nodes = append(tc.nodes, nd)
	}
	for _, nd := range tc.nodes {
		nd.args = []string{"--node", nd.name, "--data-dir", nd.dir, "--mqtt-addr", nd.mqtt, "--api-addr", nd.api,
			"--api-keys", tc.keys, "--sys-interval", "0", "--stats-interval", "200ms",
			"--cluster-listen", nd.route, "--cluster-join", strings.Join(routes, ","), "--listener-control"}
		if at, ok := advertised[nd]; ok {
			nd.args = append(nd.args, "--cluster-advertise", at)
		}
		tc.start(nd)
	}
	t.Cleanup(func() {
		for _, nd := range tc.nodes {
			tc.stop(nd)
			if t.Failed() {
				b, _ := os.ReadFile(filepath.Join(nd.dir, "broker.log"))
				t.Logf("log of %s:\n%s", nd.name, b)
			}
		}
	})
	for _, nd := range tc.nodes {
		waitListening(t, nd.mqtt, nd.cmd)
	}
	// Every node accepts a client once the cluster's registry has a
	// quorum; until then CONNECT is refused with server unavailable.
	for _, nd := range tc.nodes {
		until(t, 40*time.Second, nd.name+" accepts clients", func() bool {
			o := pahov3.NewClientOptions().AddBroker("tcp://" + nd.mqtt).SetClientID("probe-" + nd.name).
				SetProtocolVersion(4).SetAutoReconnect(false).SetConnectTimeout(15 * time.Second)
			c := pahov3.NewClient(o)
			tok := c.Connect()
			if !tok.WaitTimeout(20*time.Second) || tok.Error() != nil {
				return false
			}
			c.Disconnect(50)
			return true
		})
	}
	return tc
}

// start starts nd's process, its output appended to its log.
func (tc *testCluster) start(nd *clusterNode) {
	tc.t.Helper()
	if err := os.MkdirAll(nd.dir, 0o700); err != nil {
		tc.t.Fatal(err)
	}
	f, err := os.OpenFile(filepath.Join(nd.dir, "broker.log"), os.O_CREATE|os.O_APPEND|os.O_WRONLY, 0o600)
	if err != nil {
		tc.t.Fatal(err)
	}
	nd.log = f
	nd.cmd = exec.Command(tc.bin, nd.args...)
	nd.cmd.Stdout, nd.cmd.Stderr = f, f
	if err := nd.cmd.Start(); err != nil {
		tc.t.Fatal(err)
	}
	tc.pids.Store(nd.cmd.Process.Pid, nd.name)
}

// stop stops nd's process by its PID (SIGTERM, SIGKILL after 15 s); a
// node already stopped is left alone.
func (tc *testCluster) stop(nd *clusterNode) {
	if nd.cmd == nil {
		return
	}
	tc.pids.Delete(nd.cmd.Process.Pid)
	_ = nd.cmd.Process.Signal(syscall.SIGTERM)
	done := make(chan struct{})
	go func() { _ = nd.cmd.Wait(); close(done) }()
	select {
	case <-done:
	case <-time.After(15 * time.Second):
		_ = nd.cmd.Process.Kill()
		<-done
		tc.t.Errorf("%s did not stop within 15 s of SIGTERM", nd.name)
	}
	nd.cmd = nil
	nd.log.Close()
}

// kill ends nd's process with SIGKILL, as a crash would.
func (tc *testCluster) kill(nd *clusterNode) {
	tc.pids.Delete(nd.cmd.Process.Pid)
	_ = nd.cmd.Process.Signal(syscall.SIGKILL)
	_ = nd.cmd.Wait()
	nd.cmd = nil
	nd.log.Close()
}

// call calls the API of nd and decodes the JSON answer into out; it
// returns the status.
func (tc *testCluster) call(nd *clusterNode, method, path string, out any) int {
	tc.t.Helper()
	return tc.send(nd, method, path, "", out)
}

// send is call with a JSON body.
func (tc *testCluster) send(nd *clusterNode, method, path, body string, out any) int {
	tc.t.Helper()
	var rd io.Reader
	if body != "" {
		rd = strings.NewReader(body)
	}
	req, err := http.NewRequest(method, "http://"+nd.api+"/api/v5"+path, rd)
	if err != nil {
		tc.t.Fatal(err)
	}
	req.SetBasicAuth("ops", "secret")
	if body != "" {
		req.Header.Set("Content-Type", "application/json")
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		tc.t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	if resp.StatusCode >= 400 && resp.StatusCode != http.StatusNotFound && resp.StatusCode != http.StatusServiceUnavailable {
		tc.t.Logf("%s %s on %s: %d %s", method, path, nd.name, resp.StatusCode, b)
	}
	if out != nil && resp.StatusCode == http.StatusOK {
		if err := json.Unmarshal(b, out); err != nil {
			tc.t.Fatalf("%s %s: %v: %s", method, path, err, b)
		}
	}
	return resp.StatusCode
}

// clientsPage is GET /clients' answer, as far as the tests read it.
type clientsPage struct {
	Meta struct {
		Page    int    `json:"page"`
		Count   int    `json:"count"`
		HasNext bool   `json:"hasnext"`
		Cursor  string `json:"cursor"`
	} `json:"meta"`
	Data []clientRow `json:"data"`
}

type clientRow struct {
	ClientID  string `json:"clientid"`
	Node      string `json:"node"`
	Connected bool   `json:"connected"`
}

// v3 connects a paho.mqtt.golang (MQTT 3.1.1) client to nd; messages go
// to rec when it is not nil.
func v3(t *testing.T, nd *clusterNode, id string, clean bool, rec *inbox) pahov3.Client {
	t.Helper()
	return v3Tries(t, nd, id, clean, rec, 3)
}

// v3Tries is v3 trying tries times after server unavailable, a second
// apart.
func v3Tries(t *testing.T, nd *clusterNode, id string, clean bool, rec *inbox, tries int) pahov3.Client {
	t.Helper()
	o := pahov3.NewClientOptions().AddBroker("tcp://" + nd.mqtt).SetClientID(id).SetCleanSession(clean).
		SetProtocolVersion(4).SetAutoReconnect(false).SetKeepAlive(30 * time.Second).SetOrderMatters(true).
		SetConnectTimeout(15 * time.Second)
	if rec != nil {
		o.SetDefaultPublishHandler(func(_ pahov3.Client, m pahov3.Message) {
			rec.add(fmt.Sprintf("%s %d %s", m.Topic(), m.Qos(), m.Payload()))
		})
	}
	c := pahov3.NewClient(o)
	for try := 1; ; try++ {
		tok := c.Connect()
		if tok.WaitTimeout(20*time.Second) && tok.Error() == nil {
			break
		}
		// A node refuses with server unavailable while the cluster's
		// registry does not answer in time (a loaded machine, a JetStream
		// election); a client tries again, as MQTT clients do.
		if try == tries || !strings.Contains(strings.ToLower(fmt.Sprint(tok.Error())), "unavailable") {
			t.Fatalf("connect %s to %s: %v", id, nd.name, tok.Error())
		}
		if try == 1 {
			t.Logf("connect %s to %s: %v; trying again", id, nd.name, tok.Error())
		}
		time.Sleep(time.Second)
	}
	t.Cleanup(func() { c.Disconnect(50) })
	return c
}

func done(t *testing.T, tok pahov3.Token) {
	t.Helper()
	if !tok.WaitTimeout(10*time.Second) || tok.Error() != nil {
		t.Fatalf("token: %v", tok.Error())
	}
}

// inbox collects what a client receives.
type inbox struct {
	mu  sync.Mutex
	got []string
}

func (b *inbox) add(s string) {
	b.mu.Lock()
	b.got = append(b.got, s)
	b.mu.Unlock()
}

func (b *inbox) all() []string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return slices.Clone(b.got)
}

// until polls cond every 50 ms for up to limit.
func until(t *testing.T, limit time.Duration, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(limit)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("after %v: %s", limit, what)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// routed publishes probes on topic through pub until sub's inbox has one:
// the publishing node then knows the subscribing node's interest.
func routed(t *testing.T, pub pahov3.Client, topic string, rec *inbox) {
	t.Helper()
	until(t, 10*time.Second, "interest in "+topic+" reached the publishing node", func() bool {
		done(t, pub.Publish(topic, 0, false, "probe"))
		time.Sleep(30 * time.Millisecond)
		return slices.ContainsFunc(rec.all(), func(s string) bool { return strings.HasSuffix(s, " probe") })
	})
}

// v5 connects a paho.golang (MQTT 5) client to nd.
func v5(t *testing.T, nd *clusterNode, cp *paho.Connect, cfg paho.ClientConfig) (*paho.Client, *paho.Connack) {
	t.Helper()
	conn, err := net.Dial("tcp", nd.mqtt)
	if err != nil {
		t.Fatal(err)
	}
	cfg.ClientID, cfg.Conn = cp.ClientID, conn
	c := paho.NewClient(cfg)
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	ack, err := c.Connect(ctx, cp)
	if err != nil {
		t.Fatalf("connect %s to %s: %v", cp.ClientID, nd.name, err)
	}
	t.Cleanup(func() { _ = c.Disconnect(&paho.Disconnect{}) })
	return c, ack
}

// TestCluster runs three broker processes as one cluster with real
// clients on different nodes: QoS 0/1/2 and wildcards across nodes, a
// shared group served once per message cluster-wide, retained messages
// across nodes and across a node's restart, a client id taken over
// across nodes (DISCONNECT 0x8E, the session's subscription and queue
// moving), the cluster-wide /clients on every node (exact counts, cursor
// paging across nodes, node=, single-client commands routed to the
// owner), and a node killed with SIGKILL.
func TestCluster(t *testing.T) {
	if testing.Short() {
		t.Skip("three broker processes")
	}
	tc := startCluster(t, 3)
	n1, n2, n3 := tc.nodes[0], tc.nodes[1], tc.nodes[2]
	outer := t // the listing's clients stay connected for node_killed

	t.Run("qos_and_wildcards_across_nodes", func(t *testing.T) {
		rec := &inbox{}
		sub := v3(t, n2, "sub-q", true, rec)
		done(t, sub.Subscribe("q/+/x", 2, nil))
		pub := v3(t, n1, "pub-q", true, nil)
		routed(t, pub, "q/p/x", rec)
		for qos := byte(0); qos <= 2; qos++ {
			done(t, pub.Publish("q/a/x", qos, false, fmt.Sprintf("m%d", qos)))
		}
		done(t, pub.Publish("q/a/y", 1, false, "unmatched"))
		want := []string{"q/a/x 0 m0", "q/a/x 1 m1", "q/a/x 2 m2"}
		real := func() []string {
			return slices.DeleteFunc(rec.all(), func(s string) bool { return strings.HasSuffix(s, " probe") })
		}
		until(t, 5*time.Second, "three messages across nodes", func() bool { return len(real()) >= 3 })
		time.Sleep(200 * time.Millisecond) // and nothing more
		if got := real(); !slices.Equal(got, want) {
			t.Fatalf("subscriber on n2 got %q, want %q", got, want)
		}
	})

	t.Run("shared_group_once_per_message", func(t *testing.T) {
		recs := []*inbox{{}, {}, {}}
		for i, nd := range tc.nodes {
			c := v3(t, nd, "share-"+nd.name, true, recs[i])
			done(t, c.Subscribe("$share/g/sh/t", 1, nil))
		}
		// A plain subscriber on n3 tells when n1 routes to n3; the group's
		// interest travels with it.
		plain := &inbox{}
		done(t, v3(t, n3, "share-plain", true, plain).Subscribe("sh/t", 0, nil))
		pub := v3(t, n1, "share-pub", true, nil)
		routed(t, pub, "sh/t", plain)
		time.Sleep(300 * time.Millisecond) // n2's interest, published at the same time
		for _, r := range recs {
			r.mu.Lock()
			r.got = nil
			r.mu.Unlock()
		}
		const n = 30
		for i := range n {
			done(t, pub.Publish("sh/t", 1, false, fmt.Sprintf("s%02d", i)))
		}
		total := func() int { return len(recs[0].all()) + len(recs[1].all()) + len(recs[2].all()) }
		until(t, 5*time.Second, "30 shared deliveries", func() bool { return total() >= n })
		time.Sleep(300 * time.Millisecond)
		seen := map[string]int{}
		for i, r := range recs {
			got := r.all()
			if len(got) == 0 {
				t.Errorf("the member on %s got nothing", tc.nodes[i].name)
			}
			for _, s := range got {
				seen[s]++
			}
		}
		if total() != n || len(seen) != n {
			t.Fatalf("%d deliveries of %d distinct messages, want each of %d once: %v", total(), len(seen), n, seen)
		}
	})

	t.Run("retained_across_nodes_and_restart", func(t *testing.T) {
		pub := v3(t, n1, "ret-pub", true, nil)
		done(t, pub.Publish("ret/a", 1, true, "set-on-n1"))
		rec := &inbox{}
		until(t, 10*time.Second, "the retained message on n3", func() bool {
			c := v3(t, n3, "ret-sub", true, rec)
			done(t, c.Subscribe("ret/#", 1, nil))
			time.Sleep(100 * time.Millisecond)
			c.Disconnect(10)
			return slices.Contains(rec.all(), "ret/a 1 set-on-n1")
		})
		tc.stop(n3)
		done(t, pub.Publish("ret/b", 1, true, "set-while-n3-down"))
		tc.start(n3)
		waitListening(t, n3.mqtt, n3.cmd)
		rec = &inbox{}
		until(t, 20*time.Second, "both retained messages on the restarted n3", func() bool {
			c := v3(t, n3, "ret-sub", true, rec)
			done(t, c.Subscribe("ret/#", 1, nil))
			time.Sleep(200 * time.Millisecond)
			c.Disconnect(10)
			got := rec.all()
			return slices.Contains(got, "ret/a 1 set-on-n1") && slices.Contains(got, "ret/b 1 set-while-n3-down")
		})
		done(t, pub.Publish("ret/a", 1, true, "")) // cleared cluster-wide
		done(t, pub.Publish("ret/b", 1, true, ""))
	})

	t.Run("takeover_across_nodes", func(t *testing.T) {
		expiry := uint32(300)
		cp := &paho.Connect{ClientID: "dev-1", CleanStart: true, KeepAlive: 30,
			Properties: &paho.ConnectProperties{SessionExpiryInterval: &expiry}}
		gone := make(chan byte, 1)
		first, _ := v5(t, n1, cp, paho.ClientConfig{OnServerDisconnect: func(d *paho.Disconnect) { gone <- d.ReasonCode }})
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		if _, err := first.Subscribe(ctx, &paho.Subscribe{Subscriptions: []paho.SubscribeOptions{{Topic: "cmd/dev-1", QoS: 1}}}); err != nil {
			t.Fatal(err)
		}
		cp.CleanStart = false
		second, ack := v5(t, n2, cp, paho.ClientConfig{})
		if !ack.SessionPresent {
			t.Fatal("CONNACK on n2 without Session Present: the session did not move")
		}
		select {
		case rc := <-gone:
			if rc != 0x8E {
				t.Fatalf("the client on n1 got DISCONNECT 0x%02X, want 0x8E", rc)
			}
		case <-time.After(10 * time.Second):
			t.Fatal("the client on n1 got no DISCONNECT")
		}
		// Offline on n2: a QoS 1 message queues there, and moves with the
		// session to n3.
		if err := second.Disconnect(&paho.Disconnect{}); err != nil {
			t.Fatal(err)
		}
		pub := v3(t, n1, "cmd-pub", true, nil)
		time.Sleep(300 * time.Millisecond) // n2's interest in cmd/dev-1 reached n1 with the takeover
		done(t, pub.Publish("cmd/dev-1", 1, false, "queued-while-offline"))
		time.Sleep(300 * time.Millisecond)
		got := make(chan string, 4)
		_, ack = v5(t, n3, cp, paho.ClientConfig{OnPublishReceived: []func(paho.PublishReceived) (bool, error){
			func(pr paho.PublishReceived) (bool, error) { got <- string(pr.Packet.Payload); return true, nil }}})
		if !ack.SessionPresent {
			t.Fatal("CONNACK on n3 without Session Present")
		}
		select {
		case p := <-got:
			if p != "queued-while-offline" {
				t.Fatalf("got %q, want the message queued on n2", p)
			}
		case <-time.After(10 * time.Second):
			t.Fatal("the queued message did not follow the session to n3")
		}
	})

	t.Run("recovered_session_taken_over", func(t *testing.T) {
		// A persistent session with a queued QoS 1 message on n3, which
		// restarts and recovers both from its store; a connect on n2 then
		// takes the session over from n3, which owns it in the registry.
		rec := &inbox{}
		dev := v3(t, n3, "rec-dev", false, rec)
		done(t, dev.Subscribe("rec/dev", 1, nil))
		pub := v3(t, n1, "rec-pub", true, nil)
		routed(t, pub, "rec/dev", rec)
		dev.Disconnect(10)
		done(t, pub.Publish("rec/dev", 1, false, "queued-before-restart"))
		until(t, 10*time.Second, "the message queued on n3", func() bool {
			var c struct {
				MqueueLen int `json:"mqueue_len"`
			}
			return tc.call(n3, "GET", "/clients/rec-dev", &c) == 200 && c.MqueueLen == 1
		})
		tc.stop(n3)
		tc.start(n3)
		waitListening(t, n3.mqtt, n3.cmd)
		until(t, 20*time.Second, "n3 owns the recovered rec-dev in the registry", func() bool {
			var c struct {
				Node string `json:"node"`
			}
			return tc.call(n1, "GET", "/clients/rec-dev", &c) == 200 && c.Node == n3.name
		})
		rec = &inbox{}
		moved := v3Tries(t, n2, "rec-dev", false, rec, 10)
		until(t, 10*time.Second, "the queued message followed the session from the restarted n3 to n2", func() bool {
			return slices.Contains(rec.all(), "rec/dev 1 queued-before-restart")
		})
		moved.Disconnect(10)
		var c struct {
			Node string `json:"node"`
		}
		if code := tc.call(n1, "GET", "/clients/rec-dev", &c); code != 200 || c.Node != n2.name {
			t.Fatalf("GET /clients/rec-dev on n1: %d, node %q, want %s", code, c.Node, n2.name)
		}
	})

	t.Run("recovered_stale_session_ended", func(t *testing.T) {
		// A persistent session on n3, which is killed; while it is down
		// the client connects to n2 with clean start and leaves, ending
		// its session there. The restarted n3 recovers its copy from its
		// store, finds the registry's entry deleted after its own claim,
		// and ends the copy: no node lists the client.
		// listed is the cluster-wide count, -1 while a node does not
		// answer (503).
		listed := func() int {
			var p clientsPage
			if code := tc.call(n1, "GET", "/clients?like_clientid=rec-stale", &p); code != 200 {
				return -1
			}
			return p.Meta.Count
		}
		dev := v3(t, n3, "rec-stale", false, nil)
		done(t, dev.Subscribe("rec/stale", 1, nil))
		dev.Disconnect(10)
		until(t, 10*time.Second, "the offline session listed", func() bool { return listed() == 1 })
		time.Sleep(500 * time.Millisecond) // past batch durability's flush interval: on n3's disk
		tc.kill(n3)
		fresh := v3Tries(t, n2, "rec-stale", true, nil, 10)
		fresh.Disconnect(10)
		until(t, 10*time.Second, "the clean session on n2 ended", func() bool { return listed() == 0 })
		tc.start(n3)
		waitListening(t, n3.mqtt, n3.cmd)
		until(t, 20*time.Second, "n3's stale copy of rec-stale ended", func() bool { return listed() == 0 })
		time.Sleep(time.Second)
		until(t, 10*time.Second, "every node answering", func() bool { return listed() >= 0 })
		if n := listed(); n != 0 {
			t.Fatalf("rec-stale listed %d times after n3's restart, want 0", n)
		}
	})

	t.Run("clients_on_any_node", func(t *testing.T) {
		want := map[string]string{}
		for i := range 30 {
			nd := tc.nodes[i%3]
			id := fmt.Sprintf("lc-%02d", i)
			v3(outer, nd, id, true, nil)
			want[id] = nd.name
		}
		lc := func(nd *clusterNode, q string) clientsPage {
			var p clientsPage
			if code := tc.call(nd, "GET", "/clients?like_clientid=lc-&"+q, &p); code != 200 {
				t.Fatalf("GET /clients on %s: %d", nd.name, code)
			}
			return p
		}
		until(t, 10*time.Second, "every node lists the 30 clients", func() bool {
			for _, nd := range tc.nodes {
				if lc(nd, "_limit=1").Meta.Count != 30 {
					return false
				}
			}
			return true
		})
		first := lc(n1, "_limit=100")
		for _, nd := range tc.nodes[1:] {
			if p := lc(nd, "_limit=100"); !slices.Equal(ids(p), ids(first)) {
				t.Fatalf("%s lists %v, n1 %v", nd.name, ids(p), ids(first))
			}
		}
		for _, r := range first.Data {
			if want[r.ClientID] != r.Node {
				t.Fatalf("%s on %s, want %s", r.ClientID, r.Node, want[r.ClientID])
			}
		}
		// /nodes and /stats see the three nodes from any of them.
		var nodes []struct {
			Node        string `json:"node"`
			Status      string `json:"node_status"`
			Connections int64  `json:"connections"`
		}
		// (connections travel with the heartbeats: within a second)
		until(t, 5*time.Second, "GET /nodes: the three nodes running, each with its 10 clients at least", func() bool {
			if code := tc.call(n3, "GET", "/nodes", &nodes); code != 200 || len(nodes) != 3 {
				return false
			}
			for _, n := range nodes {
				if n.Status != "running" || n.Connections < 10 {
					return false
				}
			}
			return true
		})
		var per []map[string]any
		var sum map[string]any
		if tc.call(n1, "GET", "/stats", &per) != 200 || tc.call(n2, "GET", "/stats?aggregate=true", &sum) != 200 || len(per) != 3 {
			t.Fatalf("GET /stats: %v, aggregate %v", per, sum)
		}
		// 30 listing clients plus the ones the earlier steps left connected.
		if live, _ := sum["live_connections.count"].(float64); live < 30 {
			t.Fatalf("aggregated live_connections.count %v, want 30 at least", sum["live_connections.count"])
		}
		// A cursor walk of 7 a page, each page asked of another node.
		var walked []string
		p := lc(n1, "_limit=7")
		for page := 1; ; page++ {
			if p.Meta.Count != 30 || p.Meta.Page != page {
				t.Fatalf("page %d: meta %+v", page, p.Meta)
			}
			walked = append(walked, ids(p)...)
			if !p.Meta.HasNext {
				break
			}
			p = lc(tc.nodes[page%3], "_limit=7&cursor="+p.Meta.Cursor)
		}
		if !slices.Equal(walked, ids(first)) {
			t.Fatalf("the cursor walk gave %v, want %v", walked, ids(first))
		}
		if p := lc(n2, "_limit=7&_page=3"); !slices.Equal(ids(p), ids(first)[14:21]) {
			t.Fatalf("page 3 by number %v, want %v", ids(p), ids(first)[14:21])
		}
		if p := lc(n3, "node=n2&_limit=100"); p.Meta.Count != 10 || slices.ContainsFunc(p.Data, func(r clientRow) bool {
			return r.Node != "n2"
		}) {
			t.Fatalf("node=n2 gave %d rows %+v, want n2's 10", p.Meta.Count, p.Data)
		}
		var row struct {
			Node string `json:"node"`
		}
		if code := tc.call(n1, "GET", "/clients/lc-02", &row); code != 200 || row.Node != "n3" {
			t.Fatalf("GET /clients/lc-02 on n1: %d node %q, want 200 from n3", code, row.Node)
		}
		// A subscription made through n1 for lc-02 (on n3), listed from n2.
		if code := tc.send(n1, "POST", "/clients/lc-02/subscribe", `{"topic":"cmd/lc-02","qos":1}`, nil); code != 200 {
			t.Fatalf("POST /clients/lc-02/subscribe through n1: %d, want 200", code)
		}
		var subs struct {
			Data []struct {
				Node     string `json:"node"`
				ClientID string `json:"clientid"`
				Topic    string `json:"topic"`
			} `json:"data"`
		}
		if code := tc.call(n2, "GET", "/subscriptions?topic=cmd/lc-02", &subs); code != 200 || len(subs.Data) != 1 ||
			subs.Data[0].Node != "n3" || subs.Data[0].ClientID != "lc-02" {
			t.Fatalf("GET /subscriptions?topic=cmd/lc-02 on n2: %d %+v, want lc-02's on n3", code, subs.Data)
		}
		if code := tc.call(n1, "GET", "/clients/lc-02/subscriptions", &subs.Data); code != 200 || len(subs.Data) != 1 {
			t.Fatalf("GET /clients/lc-02/subscriptions on n1: %d %+v", code, subs.Data)
		}
		if code := tc.call(n1, "DELETE", "/clients/lc-05", nil); code != 204 {
			t.Fatalf("DELETE /clients/lc-05 (on n3) through n1: %d, want 204", code)
		}
		if code := tc.call(n2, "GET", "/clients/lc-05", nil); code != 404 {
			t.Fatalf("GET /clients/lc-05 after the kick: %d, want 404", code)
		}
		until(t, 5*time.Second, "the kicked client leaves the listing", func() bool { return lc(n2, "_limit=1").Meta.Count == 29 })
		if code := tc.call(n2, "GET", "/clients/nobody", nil); code != 404 {
			t.Fatalf("GET /clients/nobody: %d, want 404", code)
		}
	})

	t.Run("node_killed", func(t *testing.T) {
		var p clientsPage
		tc.call(n1, "GET", "/clients?like_clientid=lc-&_limit=1", &p)
		before := p.Meta.Count
		tc.call(n1, "GET", "/clients?like_clientid=lc-&node=n3&_limit=1", &p)
		onN3 := p.Meta.Count
		if onN3 == 0 {
			t.Fatal("no client on n3 to lose")
		}
		tc.kill(n3)
		until(t, 15*time.Second, fmt.Sprintf("n3's clients leave the listing (%d of %d)", onN3, before), func() bool {
			var p clientsPage
			return tc.call(n1, "GET", "/clients?like_clientid=lc-&_limit=1", &p) == 200 && p.Meta.Count == before-onN3
		})
		until(t, 10*time.Second, "n1 marks n3 stopped in /nodes", func() bool {
			var nodes []struct {
				Node   string `json:"node"`
				Status string `json:"node_status"`
			}
			tc.call(n1, "GET", "/nodes", &nodes)
			return slices.ContainsFunc(nodes, func(n struct {
				Node   string `json:"node"`
				Status string `json:"node_status"`
			}) bool {
				return n.Node == "n3" && n.Status == "stopped"
			})
		})
		until(t, 10*time.Second, "n2 lists the survivors' clients too", func() bool {
			var p clientsPage
			return tc.call(n2, "GET", "/clients?like_clientid=lc-&_limit=1", &p) == 200 && p.Meta.Count == before-onN3
		})
		rec := &inbox{}
		sub := v3(t, n2, "after-kill-sub", true, rec)
		done(t, sub.Subscribe("ak/#", 1, nil))
		pub := v3(t, n1, "after-kill-pub", true, nil)
		routed(t, pub, "ak/x", rec)
		done(t, pub.Publish("ak/x", 1, false, "still-routed"))
		until(t, 5*time.Second, "n1 to n2 after n3 died", func() bool { return slices.Contains(rec.all(), "ak/x 1 still-routed") })
	})

	// A listener command acts on the node asked, as GET /listeners lists
	// that node's listeners: n1's port closes, n2's clients and port go
	// on.
	t.Run("listener_commands_per_node", func(t *testing.T) {
		running := func(nd *clusterNode) bool {
			var ls []struct {
				ID      string `json:"id"`
				Running bool   `json:"running"`
			}
			if code := tc.call(nd, "GET", "/listeners", &ls); code != 200 || len(ls) != 1 || ls[0].ID != "tcp:default" {
				t.Fatalf("GET /listeners on %s: %d %+v", nd.name, code, ls)
			}
			return ls[0].Running
		}
		rec := &inbox{}
		sub := v3(t, n2, "lk-sub", true, rec)
		done(t, sub.Subscribe("lk/#", 1, nil))
		if code := tc.call(n1, "PUT", "/listeners/tcp:default/stop", nil); code != 200 {
			t.Fatalf("stop on n1: %d", code)
		}
		if c, err := net.DialTimeout("tcp", n1.mqtt, 2*time.Second); err == nil || !errors.Is(err, syscall.ECONNREFUSED) {
			if c != nil {
				c.Close()
			}
			t.Fatalf("n1's stopped listener: %v, want connection refused", err)
		}
		if running(n1) || !running(n2) {
			t.Fatalf("running: n1 %v n2 %v, want false true", running(n1), running(n2))
		}
		pub := v3(t, n2, "lk-pub", true, nil)
		done(t, pub.Publish("lk/x", 1, false, "n2-still-serves"))
		until(t, 5*time.Second, "n2's subscriber served while n1's listener is stopped", func() bool {
			return slices.Contains(rec.all(), "lk/x 1 n2-still-serves")
		})
		if code := tc.call(n1, "POST", "/listeners/tcp:default/start", nil); code != 200 {
			t.Fatalf("start on n1: %d", code)
		}
		pub1 := v3(t, n1, "lk-pub1", true, nil)
		routed(t, pub1, "lk/y", rec)
		if !running(n1) {
			t.Fatal("n1's listener not running after start")
		}
	})
}

func ids(p clientsPage) []string {
	out := make([]string, len(p.Data))
	for i, r := range p.Data {
		out[i] = r.ClientID
	}
	return out
}

// docBlocks returns the ```sh blocks of section heading in the Markdown
// file path.
func docBlocks(t *testing.T, path, heading string) []string {
	t.Helper()
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	_, section, ok := strings.Cut(string(data), "\n"+heading+"\n")
	if !ok {
		t.Fatalf("%s has no %q", path, heading)
	}
	if i := strings.Index(section, "\n## "); i >= 0 {
		section = section[:i]
	}
	var blocks []string
	for {
		_, rest, ok := strings.Cut(section, "```sh\n")
		if !ok {
			return blocks
		}
		block, after, ok := strings.Cut(rest, "```\n")
		if !ok {
			t.Fatal("unterminated code block")
		}
		blocks = append(blocks, block)
		section = after
	}
}

// TestClusterQuickStart runs docs/cluster.md's three-node quick start as
// it is written, but for its ports, each replaced by a free one (other
// brokers may run on this machine): the setup block, each node command of
// the second block as a process of its own (stopped by its PID at the
// end), then each command of the third block (within a minute), whose
// output must be the "# " lines under it (a curl is retried for up to
// 5 s: the listing lags the nodes).
func TestClusterQuickStart(t *testing.T) {
	if testing.Short() {
		t.Skip("three broker processes")
	}
	needTools(t, "bash", "mosquitto_pub", "mosquitto_sub", "curl")
	blocks := docBlocks(t, "../../docs/cluster.md", "## Starting a cluster")
	if len(blocks) != 3 {
		t.Fatalf("want 3 sh blocks (setup, nodes, clients), got %d", len(blocks))
	}
	var ports []string
	for _, base := range []int{21880, 28080, 26220} {
		for i := 1; i <= 3; i++ {
			old := strconv.Itoa(base + i)
			_, port, _ := net.SplitHostPort(freePort(t))
			ports = append(ports, old, port)
		}
	}
	swap := strings.NewReplacer(ports...)
	for i := range blocks {
		blocks[i] = swap.Replace(blocks[i])
	}
	binDir, _ := buildBroker(t)
	work := t.TempDir()
	env := append(os.Environ(), "PATH="+binDir+string(os.PathListSeparator)+os.Getenv("PATH"))
	setup := exec.Command("bash", "-euo", "pipefail", "-c", blocks[0]+"\npwd\n")
	setup.Dir, setup.Env = work, env
	out, err := setup.CombinedOutput()
	if err != nil {
		t.Fatalf("setup block: %v\n%s", err, out)
	}
	lines := strings.Split(strings.TrimSpace(string(out)), "\n")
	dir := lines[len(lines)-1]
	var logs []string
	for _, line := range strings.Split(strings.TrimSpace(blocks[1]), "\n") {
		cmd := strings.TrimSuffix(strings.TrimSpace(line), " &")
		if !strings.HasPrefix(cmd, "shardmq ") {
			t.Fatalf("node block line %q: want shardmq ... &", line)
		}
		node := exec.Command("bash", "-c", "exec "+cmd)
		node.Dir, node.Env = dir, env
		logs = append(logs, startProcess(t, node))
	}
	type step struct {
		cmd  string
		want []string
	}
	var steps []step
	for _, line := range strings.Split(strings.TrimRight(blocks[2], "\n"), "\n") {
		if w, ok := strings.CutPrefix(line, "# "); ok {
			steps[len(steps)-1].want = append(steps[len(steps)-1].want, w)
			continue
		}
		steps = append(steps, step{cmd: line})
	}
	for _, s := range steps {
		want := strings.Join(s.want, "\n")
		var got string
		for deadline := time.Now().Add(5 * time.Second); ; time.Sleep(100 * time.Millisecond) {
			ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
			c := exec.CommandContext(ctx, "bash", "-c", s.cmd)
			c.Dir, c.Env = dir, env
			out, _ := c.CombinedOutput()
			cancel()
			got = strings.TrimRight(string(out), "\n")
			if got == want || !strings.HasPrefix(s.cmd, "curl ") || time.Now().After(deadline) {
				break
			}
		}
		if got != want {
			for _, p := range logs {
				b, _ := os.ReadFile(p)
				t.Logf("%s:\n%s", p, b)
			}
			t.Fatalf("%s\ngot:\n%s\nwant:\n%s", s.cmd, got, want)
		}
	}
}

// TestClusterExternalNATS runs two broker processes on an external NATS
// server (with JetStream, one server: --cluster-replicas 1) instead of
// embedded ones: a message crosses from one node to the other, a retained
// message set on one reaches a subscriber of the other, and each node
// lists both nodes' clients.
func TestClusterExternalNATS(t *testing.T) {
	if testing.Short() {
		t.Skip("two broker processes")
	}
	ns, err := server.NewServer(&server.Options{Host: "127.0.0.1", Port: server.RANDOM_PORT, NoSigs: true, NoLog: true,
		JetStream: true, StoreDir: t.TempDir(), MaxPayload: 8 << 20})
	if err != nil {
		t.Fatal(err)
	}
	go ns.Start()
	t.Cleanup(func() { ns.Shutdown(); ns.WaitForShutdown() })
	if !ns.ReadyForConnections(10 * time.Second) {
		t.Fatal("the external NATS server did not start")
	}
	_, bin := buildBroker(t)
	root := t.TempDir()
	tc := &testCluster{t: t, bin: bin, keys: filepath.Join(root, "api_keys")}
	if err := os.WriteFile(tc.keys, []byte("ops:secret:administrator\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	for i := range 2 {
		nd := &clusterNode{name: fmt.Sprintf("x%d", i+1), dir: filepath.Join(root, fmt.Sprintf("x%d", i+1)),
			mqtt: freePort(t), api: freePort(t)}
		nd.args = []string{"--node", nd.name, "--data-dir", nd.dir, "--mqtt-addr", nd.mqtt, "--api-addr", nd.api,
			"--api-keys", tc.keys, "--sys-interval", "0", "--stats-interval", "200ms",
			"--cluster-nats", ns.ClientURL(), "--cluster-replicas", "1"}
		tc.nodes = append(tc.nodes, nd)
		tc.start(nd)
	}
	t.Cleanup(func() {
		for _, nd := range tc.nodes {
			tc.stop(nd)
		}
	})
	x1, x2 := tc.nodes[0], tc.nodes[1]
	for _, nd := range tc.nodes {
		waitListening(t, nd.mqtt, nd.cmd)
	}
	rec := &inbox{}
	sub := v3Tries(t, x2, "ext-sub", true, rec, 20)
	done(t, sub.Subscribe("ext/#", 1, nil))
	pub := v3Tries(t, x1, "ext-pub", true, nil, 20)
	routed(t, pub, "ext/p", rec)
	done(t, pub.Publish("ext/r", 1, true, "kept"))
	until(t, 10*time.Second, "the retained message on x2", func() bool {
		r := &inbox{}
		c := v3(t, x2, "ext-late", true, r)
		done(t, c.Subscribe("ext/r", 1, nil))
		time.Sleep(100 * time.Millisecond)
		c.Disconnect(10)
		return slices.Contains(r.all(), "ext/r 1 kept")
	})
	for _, nd := range tc.nodes {
		until(t, 10*time.Second, nd.name+" lists both nodes' clients", func() bool {
			var p clientsPage
			return tc.call(nd, "GET", "/clients?like_clientid=ext-&_limit=10", &p) == 200 && p.Meta.Count == 2
		})
	}
}
