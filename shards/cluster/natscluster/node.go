package natscluster

import (
	"context"
	"crypto/rand"
	"encoding/binary"
	"fmt"
	"log/slog"
	"net"
	"net/url"
	"os"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/nats-io/nats-server/v2/server"
	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"

	"github.com/shardmq/shardmq/shards/cluster"
)

// Node is this process's member of a shardmq cluster on NATS. It
// implements cluster.Cluster.
type Node struct {
	cfg  Config
	log  *slog.Logger
	h    cluster.Handler
	subj subjects
	// boot identifies this run of the node: it changes at every start, so
	// the others see a restart even when they missed no heartbeat.
	boot    uint64
	started time.Time
	tmpDir  string // removed at Shutdown, "" when StoreDir was given

	srv  *server.Server // nil with ExternalURLs
	nc   *nats.Conn
	js   jetstream.JetStream
	subs []*nats.Subscription

	table table
	rx    receiver

	// lmu guards the following fields: this node's own interest. It is
	// taken before table.mu, never together with mu.
	lmu     sync.Mutex
	local   map[string]struct{}
	seq     uint64   // the last interest change numbered
	pending []change // interest changes not yet published

	// mu guards the following field and the members' fields. It is taken
	// before table.mu.
	mu      sync.Mutex
	members map[string]*member // the other nodes, by name

	// slots maps a slot to its member (slot 0 is this node: nil); written
	// under mu, read lock-free by the outboxes.
	slots [maxNodes]atomic.Pointer[member]

	// outboxes is every outbox made, by id-1; replaced, never changed.
	outboxes atomic.Pointer[[]*outbox]

	retained retainedState
	registry registryState

	kick      chan struct{} // wakes the interest publisher
	quit      chan struct{}
	wg        sync.WaitGroup
	shutOnce  sync.Once
	closed    atomic.Bool
	startOnce atomic.Bool
}

var _ cluster.Cluster = (*Node)(nil)

// maxPayload is the embedded server's largest message (an external NATS
// should allow as much).
const maxPayload = 8 << 20

// subjects builds the subject space (docs/cluster.md):
//
//	{name}.hb.{node}        heartbeats (JSON)
//	{name}.int.{node}       the node's interest changes, numbered
//	{name}.snap.{node}      request: the node's whole interest, in chunks
//	{name}.fwd.{node}       batches of messages forwarded to the node
//	{name}.ack.{node}.>     acknowledgements of QoS 1/2 batches the node sent
//	{name}.takeover.{node}  request: end a session, return its state
//	{name}.call.{node}      request: a command for the node's Handler
//	{name}.list.{node}      request: the node's part of a listing
//
// {node} is token(Node).
type subjects struct{ prefix string }

func (s subjects) of(kind, node string) string { return s.prefix + "." + kind + "." + token(node) }

// New checks cfg and returns a node that Start connects.
func New(cfg Config) (*Node, error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	cfg = cfg.withDefaults()
	strategy, _ := cluster.ParseShareStrategy(cfg.ShareStrategy)
	var b [8]byte
	_, _ = rand.Read(b[:])
	n := &Node{
		cfg:     cfg,
		log:     cfg.Logger.With("node", cfg.Node),
		h:       cfg.Handler,
		subj:    subjects{cfg.Name},
		boot:    binary.LittleEndian.Uint64(b[:]) | 1,
		members: make(map[string]*member),
		local:   make(map[string]struct{}),
		kick:    make(chan struct{}, 1),
		quit:    make(chan struct{}),
	}
	n.table.strategy = strategy
	n.retained.loaded = make(chan struct{})
	n.retained.kick = make(chan struct{}, 1)
	n.registry.ready = make(chan struct{})
	n.registry.release = make(chan string, releaseQueue)
	return n, nil
}

// Alone reports false: even a node with no other running node routes
// through the cluster, since another may join at any time.
func (n *Node) Alone() bool { return false }

// Name returns this node's name.
func (n *Node) Name() string { return n.cfg.Node }

// Start runs the embedded NATS server (unless ExternalURLs), connects to
// it and starts the node's goroutines. It returns once the node serves
// routes and its subscriptions are in place, without waiting for the
// seeds: a node whose seeds do not answer runs alone, logs it and keeps
// trying them. JetStream (retained messages, session registry) becomes
// available in the background once the cluster has a quorum.
func (n *Node) Start(ctx context.Context) error {
	if !n.startOnce.CompareAndSwap(false, true) {
		return fmt.Errorf("natscluster: Start called twice")
	}
	n.started = time.Now()
	opts := []nats.Option{
		nats.Name(n.cfg.Node),
		nats.MaxReconnects(-1),
		nats.ReconnectWait(250 * time.Millisecond),
		nats.ErrorHandler(func(_ *nats.Conn, s *nats.Subscription, err error) {
			subj := ""
			if s != nil {
				subj = s.Subject
			}
			n.log.Warn("cluster: NATS error", "subject", subj, "err", err)
		}),
	}
	url := ""
	if len(n.cfg.ExternalURLs) == 0 {
		if err := n.startServer(); err != nil {
			return err
		}
		opts = append(opts, nats.InProcessServer(n.srv))
	} else {
		for i, u := range n.cfg.ExternalURLs {
			if i > 0 {
				url += ","
			}
			url += u
		}
		opts = append(opts, nats.RetryOnFailedConnect(true))
	}
	nc, err := nats.Connect(url, opts...)
	if err != nil {
		n.stopServer()
		return fmt.Errorf("natscluster: connect: %w", err)
	}
	n.nc = nc
	n.js, err = jetstream.New(nc)
	if err != nil {
		n.nc.Close()
		n.stopServer()
		return fmt.Errorf("natscluster: jetstream: %w", err)
	}
	if err := n.subscribe(); err != nil {
		n.nc.Close()
		n.stopServer()
		return err
	}
	fctx, cancel := n.requestCtx(ctx)
	defer cancel()
	if err := nc.FlushWithContext(fctx); err != nil {
		n.nc.Close()
		n.stopServer()
		return fmt.Errorf("natscluster: flush: %w", err)
	}
	n.goLoop(n.publishInterest)
	n.goLoop(n.heartbeats)
	n.goLoop(n.retries)
	n.goLoop(n.jetStream)
	n.goLoop(n.writeRetained)
	n.goLoop(n.releases)
	if n.srv != nil && len(n.cfg.Join) > 0 {
		n.goLoop(n.watchRoutes)
	}
	n.heartbeat() // the others learn of this node at once
	return nil
}

func (n *Node) goLoop(f func()) {
	n.wg.Add(1)
	go func() {
		defer n.wg.Done()
		f()
	}()
}

// startServer runs the embedded NATS server with routes to the seeds.
func (n *Node) startServer() error {
	host, portStr, _ := net.SplitHostPort(n.cfg.ClusterListen)
	port, err := strconv.Atoi(portStr)
	if err != nil {
		return fmt.Errorf("%w: ClusterListen port %q", ErrConfig, portStr)
	}
	dir := n.cfg.StoreDir
	if dir == "" {
		if dir, err = os.MkdirTemp("", "shardmq-nats-"); err != nil {
			return fmt.Errorf("natscluster: store dir: %w", err)
		}
		n.tmpDir = dir
	}
	o := &server.Options{
		ServerName: n.cfg.Node,
		// The node connects in process; the client port is on loopback, at
		// a random port, for NATS tools only (DontListen would make the
		// server wait for JetStream's quorum before it is ready).
		Host:   "127.0.0.1",
		Port:   server.RANDOM_PORT,
		NoSigs: true,
		// A listing page or an interest snapshot chunk may pass NATS's
		// default 1 MiB.
		MaxPayload: maxPayload,
		JetStream:  true,
		StoreDir:   dir,
		Cluster: server.ClusterOpts{
			Name: n.cfg.Name,
			Host: host,
			Port: port,
			// What the other nodes dial; NATS gossips it to the nodes that
			// learn of this one through a third.
			Advertise: n.cfg.Advertise,
			// A route whose peer vanished without closing TCP (a partition)
			// is found dead within 3 missed pings, and reconnected.
			PingInterval: time.Second,
			MaxPingsOut:  3,
		},
	}
	for _, j := range n.cfg.Join {
		o.Routes = append(o.Routes, &url.URL{Scheme: "nats-route", Host: j})
	}
	if len(o.Routes) == 0 {
		// A clustered JetStream refuses to start without a route; a route
		// to itself is one the server recognises and drops, so the first
		// node of a cluster needs no seed.
		o.Routes = append(o.Routes, &url.URL{Scheme: "nats-route", Host: n.cfg.ClusterListen})
	}
	s, err := server.NewServer(o)
	if err != nil {
		return fmt.Errorf("natscluster: nats server: %w", err)
	}
	s.SetLoggerV2(serverLog{n.log}, false, false, false)
	go s.Start()
	if !s.ReadyForConnections(10 * time.Second) {
		s.Shutdown()
		return fmt.Errorf("natscluster: nats server on %s did not start", n.cfg.ClusterListen)
	}
	n.srv = s
	return nil
}

// watchRoutes logs when this node runs without any route to another
// (its seeds do not answer, or a partition) and when it has routes again;
// the server itself keeps trying the seeds.
func (n *Node) watchRoutes() {
	t := time.NewTicker(n.cfg.Heartbeat)
	defer t.Stop()
	alone := false
	deadline := time.Now().Add(n.cfg.DeadAfter)
	for {
		select {
		case <-n.quit:
			return
		case now := <-t.C:
			routes := n.srv.NumRoutes()
			switch {
			case routes == 0 && !alone && now.After(deadline):
				alone = true
				n.log.Warn("cluster: no route to any other node; running alone and retrying the seeds", "join", n.cfg.Join)
			case routes > 0 && alone:
				alone = false
				n.log.Info("cluster: routes to other nodes are up", "routes", routes)
			case routes > 0:
				deadline = now.Add(n.cfg.DeadAfter)
			}
		}
	}
}

func (n *Node) stopServer() {
	if n.srv != nil {
		n.srv.Shutdown()
		n.srv.WaitForShutdown()
	}
	if n.tmpDir != "" {
		_ = os.RemoveAll(n.tmpDir)
	}
}

// Shutdown leaves the cluster: it stops the node's goroutines, closes the
// connection and the embedded server. It is safe to call twice; ctx
// bounds the wait for the goroutines.
func (n *Node) Shutdown(ctx context.Context) error {
	var err error
	n.shutOnce.Do(func() {
		n.closed.Store(true)
		close(n.quit)
		if n.nc != nil {
			for _, s := range n.subs {
				_ = s.Unsubscribe()
			}
			n.nc.Close()
		}
		done := make(chan struct{})
		go func() {
			n.wg.Wait()
			close(done)
		}()
		select {
		case <-done:
		case <-ctx.Done():
			err = ctx.Err()
		}
		n.stopServer()
	})
	return err
}

// untilQuit returns a context that ends with the node, after timeout (if
// not zero), or at cancel.
func (n *Node) untilQuit(timeout time.Duration) (context.Context, context.CancelFunc) {
	ctx, cancel := context.WithCancel(context.Background())
	if timeout > 0 {
		ctx, cancel = context.WithTimeout(context.Background(), timeout)
	}
	go func() {
		select {
		case <-n.quit:
			cancel()
		case <-ctx.Done():
		}
	}()
	return ctx, cancel
}

// requestCtx returns ctx bounded by RequestTimeout.
func (n *Node) requestCtx(ctx context.Context) (context.Context, context.CancelFunc) {
	if d, ok := ctx.Deadline(); ok && time.Until(d) < n.cfg.RequestTimeout {
		return context.WithCancel(ctx)
	}
	return context.WithTimeout(ctx, n.cfg.RequestTimeout)
}

// subscribe installs every subscription of the node.
func (n *Node) subscribe() error {
	self := n.cfg.Node
	handlers := []struct {
		subject string
		handler nats.MsgHandler
	}{
		{n.subj.prefix + ".hb.*", n.onHeartbeat},
		{n.subj.prefix + ".int.*", n.onInterest},
		{n.subj.of("snap", self), n.onSnapshot},
		{n.subj.of("fwd", self), n.onForward},
		{n.subj.of("ack", self) + ".>", n.onAck},
		{n.subj.of("takeover", self), n.onTakeover},
		{n.subj.of("call", self), n.onCall},
		{n.subj.of("list", self), n.onList},
	}
	for _, h := range handlers {
		s, err := n.nc.Subscribe(h.subject, h.handler)
		if err != nil {
			return fmt.Errorf("natscluster: subscribe %s: %w", h.subject, err)
		}
		// Forwarded batches may come faster than Deliver takes them for a
		// moment: hold up to 64 MiB rather than drop (a dropped QoS 1/2
		// batch is sent again; QoS 0 is lost).
		_ = s.SetPendingLimits(1<<20, 64<<20)
		n.subs = append(n.subs, s)
	}
	return nil
}

// serverLog passes the embedded server's log to slog: notices at debug
// level (the server is chatty), warnings and errors as warnings, but for
// the failed dials to a seed.
type serverLog struct{ l *slog.Logger }

func (s serverLog) Noticef(format string, v ...any) {
	s.l.Debug("nats: " + fmt.Sprintf(format, v...))
}
func (s serverLog) Warnf(format string, v ...any) { s.l.Warn("nats: " + fmt.Sprintf(format, v...)) }
func (s serverLog) Fatalf(format string, v ...any) {
	s.l.Error("nats: fatal: " + fmt.Sprintf(format, v...))
}
func (s serverLog) Errorf(format string, v ...any) {
	msg := "nats: " + fmt.Sprintf(format, v...)
	if strings.Contains(msg, "connect to route") {
		// Once a second per seed while it is down: watchRoutes says it once.
		s.l.Debug(msg)
		return
	}
	s.l.Warn(msg)
}
func (s serverLog) Debugf(string, ...any) {}
func (s serverLog) Tracef(string, ...any) {}
