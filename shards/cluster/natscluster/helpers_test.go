package natscluster

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"slices"
	"sort"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"go.uber.org/goleak"

	"github.com/shardmq/shardmq/shards/cluster"
	"github.com/shardmq/shardmq/shards/store"
)

func TestMain(m *testing.M) {
	goleak.VerifyTestMain(m)
}

// waitFor polls cond until it holds or timeout passes, like checkFor in
// nats-server's tests.
func waitFor(t testing.TB, timeout time.Duration, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(timeout)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out after %v waiting for %s", timeout, what)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// freeAddr returns a 127.0.0.1 address with a port free right now.
func freeAddr(t testing.TB) string {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	return l.Addr().String()
}

// delivery is one message a fakeBroker got through Deliver.
type delivery struct {
	topic, payload string
	qos            byte
	groups         []cluster.Group
}

// fakeBroker is a cluster.Handler that records what the cluster hands it.
type fakeBroker struct {
	name  string
	conns atomic.Int64
	gate  atomic.Pointer[gate] // when set, Deliver waits at it
	// countOnly makes Deliver count into got instead of recording.
	countOnly atomic.Bool
	got       atomic.Int64

	mu        sync.Mutex
	delivered []delivery
	retained  map[string]string
	sessions  map[string]*cluster.Session
	takeovers []string
	rows      []cluster.Row // sorted by key
}

func newFakeBroker(name string) *fakeBroker {
	return &fakeBroker{name: name, retained: map[string]string{}, sessions: map[string]*cluster.Session{}}
}

// gate holds Deliver: it signals entered, then waits for release.
type gate struct {
	entered chan struct{}
	release chan struct{}
	once    sync.Once
}

func newGate() *gate { return &gate{entered: make(chan struct{}), release: make(chan struct{})} }

func (f *fakeBroker) Deliver(batch []cluster.Forwarded) {
	if g := f.gate.Load(); g != nil {
		g.once.Do(func() { close(g.entered) })
		<-g.release
	}
	if f.countOnly.Load() {
		f.got.Add(int64(len(batch)))
		return
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	for _, fw := range batch {
		f.delivered = append(f.delivered, delivery{fw.Message.Topic, string(fw.Message.Payload), fw.Message.QoS, slices.Clone(fw.Groups)})
	}
}

func (f *fakeBroker) deliveries() []delivery {
	f.mu.Lock()
	defer f.mu.Unlock()
	return slices.Clone(f.delivered)
}

func (f *fakeBroker) Takeover(_ context.Context, clientID string, discard bool) (*cluster.Session, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.takeovers = append(f.takeovers, clientID)
	s := f.sessions[clientID]
	delete(f.sessions, clientID)
	if discard {
		return nil, nil
	}
	return s, nil
}

func (f *fakeBroker) Retained(m *store.Message) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if len(m.Payload) == 0 {
		delete(f.retained, m.Topic)
		return
	}
	f.retained[m.Topic] = string(m.Payload)
}

func (f *fakeBroker) retainedOf(topic string) string {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.retained[topic]
}

func (f *fakeBroker) Status() cluster.Status {
	return cluster.Status{Connections: f.conns.Load(), Stats: map[string]int64{"connections.count": f.conns.Load()}}
}

var errUnknownKind = errors.New("fake: unknown kind")

func (f *fakeBroker) Call(_ context.Context, kind string, body []byte) ([]byte, error) {
	if kind != "echo" {
		return nil, errUnknownKind
	}
	return append([]byte(f.name+":"), body...), nil
}

// List serves rows whose data starts with the filter, above the cursor.
func (f *fakeBroker) List(_ context.Context, q cluster.Query) (cluster.Page, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	var p cluster.Page
	for _, r := range f.rows {
		if !bytes.HasPrefix(r.Data, q.Filter) {
			continue
		}
		p.Count++
		if (q.After == nil || bytes.Compare(r.Key, q.After) > 0) && len(p.Rows) < q.Limit {
			if q.KeysOnly {
				r.Data = nil
			}
			p.Rows = append(p.Rows, r)
		}
	}
	return p, nil
}

func (f *fakeBroker) setRows(rows []cluster.Row) {
	sort.Slice(rows, func(i, j int) bool { return bytes.Compare(rows[i].Key, rows[j].Key) < 0 })
	f.mu.Lock()
	f.rows = rows
	f.mu.Unlock()
}

// testNode is one node of a test cluster.
type testNode struct {
	*Node
	b    *fakeBroker
	addr string
	dir  string
	join []string
}

// testConfig is the configuration of test nodes: fast heartbeats and
// retries, quiet logs.
func testConfig(name, addr string, join []string, dir string, b *fakeBroker) Config {
	return Config{
		Node: name, ClusterListen: addr, Join: join, StoreDir: dir, Replicas: 0,
		Heartbeat: 100 * time.Millisecond, DeadAfter: time.Second, AckTimeout: 300 * time.Millisecond,
		RequestTimeout: 3 * time.Second, Handler: b, Version: "test",
		Logger: slog.New(slog.NewTextHandler(io.Discard, nil)),
	}
}

// startNode starts a node; cfg changes the test configuration first.
func startNode(t testing.TB, name, addr string, join []string, dir string, cfg func(*Config)) *testNode {
	t.Helper()
	b := newFakeBroker(name)
	c := testConfig(name, addr, join, dir, b)
	if cfg != nil {
		cfg(&c)
	}
	n, err := New(c)
	if err != nil {
		t.Fatal(err)
	}
	if err := n.Start(context.Background()); err != nil {
		t.Fatal(err)
	}
	tn := &testNode{Node: n, b: b, addr: addr, dir: dir, join: join}
	t.Cleanup(func() { tn.shutdown(t) })
	return tn
}

func (tn *testNode) shutdown(t testing.TB) {
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if err := tn.Shutdown(ctx); err != nil {
		t.Errorf("shutdown %s: %v", tn.cfg.Node, err)
	}
}

// startCluster starts n nodes on 127.0.0.1 joined through one another and
// waits until each sees all the others running and JetStream is up.
func startCluster(t testing.TB, n int) []*testNode {
	t.Helper()
	return startClusterWith(t, n, nil)
}

// startClusterWith is startCluster with cfg applied to every node's
// configuration.
func startClusterWith(t testing.TB, n int, cfg func(*Config)) []*testNode {
	t.Helper()
	addrs := make([]string, n)
	for i := range addrs {
		addrs[i] = freeAddr(t)
	}
	nodes := make([]*testNode, n)
	for i := range nodes {
		var join []string
		for j, a := range addrs {
			if j != i {
				join = append(join, a)
			}
		}
		nodes[i] = startNode(t, fmt.Sprintf("n%d", i+1), addrs[i], join, t.TempDir(), cfg)
	}
	waitMesh(t, nodes)
	for _, tn := range nodes {
		waitFor(t, 30*time.Second, tn.cfg.Node+"'s JetStream", func() bool { return tn.registry.kv.Load() != nil })
	}
	return nodes
}

// waitMesh waits until every node sees every other node running.
func waitMesh(t testing.TB, nodes []*testNode) {
	t.Helper()
	for _, tn := range nodes {
		waitFor(t, 20*time.Second, tn.cfg.Node+" to see every node", func() bool {
			running := 0
			for _, ni := range tn.Nodes() {
				if ni.Running {
					running++
				}
			}
			return running == len(nodes)
		})
	}
}

// waitRemote waits until tn routes topic to another node (or not).
func waitRemote(t testing.TB, tn *testNode, topic string, want bool) {
	t.Helper()
	waitFor(t, 10*time.Second, fmt.Sprintf("%s: Remote(%q) = %v", tn.cfg.Node, topic, want), func() bool {
		return tn.Remote([]byte(topic)) == want
	})
}

// publish routes m from tn as a shard would and flushes, returning the ack's error.
func publish(t testing.TB, tn *testNode, ob cluster.Outbox, m *store.Message) error {
	t.Helper()
	var r cluster.Route
	tn.Route([]byte(m.Topic), []byte(m.From), &r)
	ob.Add(m, &r)
	errc := make(chan error, 1)
	ob.Flush(func(err error) { errc <- err })
	select {
	case err := <-errc:
		return err
	case <-time.After(10 * time.Second):
		t.Fatal("Flush's ack never came")
		return nil
	}
}

// proxy forwards TCP connections to target until cut: then it closes them
// and refuses new ones until healed. It stands for a network partition.
type proxy struct {
	l      net.Listener
	target string
	cut    atomic.Bool
	wg     sync.WaitGroup

	mu    sync.Mutex
	conns []net.Conn
}

func newProxy(t testing.TB, target string) *proxy {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	p := &proxy{l: l, target: target}
	p.wg.Add(1)
	go p.accept()
	t.Cleanup(p.close)
	return p
}

func (p *proxy) addr() string { return p.l.Addr().String() }

func (p *proxy) accept() {
	defer p.wg.Done()
	for {
		c, err := p.l.Accept()
		if err != nil {
			return
		}
		if p.cut.Load() {
			c.Close()
			continue
		}
		d, err := net.Dial("tcp", p.target)
		if err != nil {
			c.Close()
			continue
		}
		p.mu.Lock()
		p.conns = append(p.conns, c, d)
		p.mu.Unlock()
		p.wg.Add(2)
		go p.pipe(c, d)
		go p.pipe(d, c)
	}
}

func (p *proxy) pipe(dst, src net.Conn) {
	defer p.wg.Done()
	_, _ = io.Copy(dst, src)
	dst.Close()
	src.Close()
}

// partition closes every connection and refuses new ones.
func (p *proxy) partition() {
	p.cut.Store(true)
	p.mu.Lock()
	for _, c := range p.conns {
		c.Close()
	}
	p.conns = nil
	p.mu.Unlock()
}

func (p *proxy) heal() { p.cut.Store(false) }

func (p *proxy) close() {
	p.l.Close()
	p.partition()
	p.wg.Wait()
}
