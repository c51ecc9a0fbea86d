package main

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"path/filepath"
	"runtime"
	"slices"
	"strings"
	"sync/atomic"

	"github.com/shardmq/shardmq/catalog"
	"github.com/shardmq/shardmq/cmd/shardmq/wire"
	"github.com/shardmq/shardmq/httpapi"
	"github.com/shardmq/shardmq/netio"
	"github.com/shardmq/shardmq/shards"
	"github.com/shardmq/shardmq/shards/banned"
	"github.com/shardmq/shardmq/shards/cluster/natscluster"
)

// app is the running broker: the components start started, in order, and
// stops in reverse.
type app struct {
	// started are the components running, in the order they started.
	// Owned by the goroutine that calls start and stop.
	started []component
	// ready is what GET /status reports: true from the end of start to
	// the beginning of stop.
	ready atomic.Bool
}

// component is a started part of the broker and how to stop it.
type component struct {
	name string
	stop func(context.Context) error
}

func (a *app) add(name string, stop func(context.Context) error) {
	a.started = append(a.started, component{name, stop})
}

// start starts the broker's components in order, each built from o and
// the ones before it. If one fails, those already started are stopped in
// reverse order (within o.ShutdownTimeout) and the error is returned.
func start(o Options) (_ *app, err error) {
	a := &app{}
	defer func() {
		if err != nil {
			ctx, cancel := context.WithTimeout(context.Background(), o.ShutdownTimeout)
			defer cancel()
			err = errors.Join(err, a.stop(ctx))
		}
	}()

	// The collector's headroom, before the broker allocates.
	applyMemoryPolicy(&o)

	// Authentication and authorization: the password and ACL files.
	az, err := newAuth(&o)
	if err != nil {
		return nil, err
	}

	// The catalog of client rows behind GET /clients.
	cat, err := catalog.New(catalog.Config{StatsInterval: o.StatsInterval, Node: o.Node})
	if err != nil {
		return nil, fmt.Errorf("catalog: %w", err)
	}
	a.add("catalog", func(context.Context) error { return cat.Close() })

	// The ban list, kept in the data directory: a ban survives a restart.
	bans := banned.New()
	if err := bans.Persist(filepath.Join(o.DataDir, "banned.json")); err != nil {
		return nil, fmt.Errorf("ban list: %w", err)
	}

	// The store of what outlives the process, when a zone keeps anything.
	// The gateways' listeners are the broker's too (zone, protocol).
	listeners := o.mqttListeners()
	gws, err := newGateways(&o)
	if err != nil {
		return nil, err
	}
	all := slices.Clone(listeners)
	for _, g := range gws {
		all = append(all, g.conf.listener())
	}
	bcfg := brokerConfig(&o, all, az, wire.Sink{Catalog: cat})
	db, err := openStore(&o, &bcfg)
	if err != nil {
		return nil, err
	}
	if db != nil {
		a.add("store", func(context.Context) error { return db.Close() })
		bcfg.Store = db
	}

	// The broker, and the MQTT server whose loops run its shards (not
	// listening yet).
	bcfg.Banned = bans
	var node *natscluster.Node
	handler := &wire.Handler{Catalog: cat}
	if o.clustered() {
		if node, err = newClusterNode(&o, handler); err != nil {
			return nil, err
		}
		bcfg.Cluster = node
	}
	b, err := shards.New(bcfg)
	if err != nil {
		return nil, err
	}
	// The listeners stopped through the API stay stopped.
	ids := make([]string, len(listeners))
	for i, l := range listeners {
		ids[i] = l.rowName()
	}
	stopped, err := loadStoppedListeners(filepath.Join(o.DataDir, listenersFile), ids)
	if err != nil {
		return nil, fmt.Errorf("stopped listeners: %w", err)
	}
	addrs := make([]netio.Listener, len(listeners))
	for i, l := range listeners {
		addrs[i] = l.netio()
		if stopped.has(l.rowName()) {
			if o.ListenerControl {
				addrs[i].Stopped = true
			} else {
				slog.Warn("shardmq: listener "+l.rowName()+" was stopped through the API; without listener_control it opens",
					"listener", l.rowName())
			}
		}
	}
	for _, g := range gws {
		addrs = append(addrs, g.netio())
	}
	// netio takes the largest packet any zone accepts; smaller zone limits
	// are the broker's to enforce.
	loops := runtime.NumCPU()
	srv, err := netio.New(netio.Config{Listeners: addrs, MaxPacketSize: b.MaxPacketSize(), Loops: loops,
		ListenerControl: o.ListenerControl}, b)
	if err != nil {
		return nil, err
	}

	// Recovery: sessions, subscriptions, retained messages and client
	// rows, before any listener opens.
	if db != nil {
		if err := recoverStore(b, db, cat, o.storeDir(), loops); err != nil {
			return nil, err
		}
	}

	// The cluster, before the API and MQTT so that it stops after them: a
	// node whose seeds do not answer starts alone and keeps trying them.
	local := wire.Broker{Broker: b, Node: o.Node, Version: version(), BanList: bans,
		ListenerList: listenerInfo(listeners, srv), ListenerControl: listenerControl(srv, stopped)}
	apiBroker, lister := httpapi.Broker(local), httpapi.Lister(cat)
	if node != nil {
		handler.Broker, handler.Local = b.NodeHandler(), local
		if err := node.Start(context.Background()); err != nil {
			return nil, fmt.Errorf("cluster: %w", err)
		}
		a.add("cluster", node.Shutdown)
		apiBroker = wire.ClusterBroker{Broker: local, Cluster: node}
		lister = wire.Lister{Cluster: node}
	}

	// The HTTP API, before MQTT so that it stops after MQTT has drained:
	// GET /status answers 503 until the end of start.
	mem := &memoryStats{}
	stopAPI, err := startAPI(&o, b, cat, apiBroker, lister, opsSources{server: srv, auth: az, memory: mem, ready: a.ready.Load, store: db, gateways: gws})
	if err != nil {
		return nil, err
	}
	a.add("API", stopAPI)

	// SIGHUP reloads the password and ACL files and the TLS certificates;
	// its handler is in place before a client can connect, so a SIGHUP
	// sent once the port answers never meets the default action (exit).
	a.add("SIGHUP reload", startReloader(az, srv))

	// MQTT, and the gateways' timers (running from the bind).
	for _, g := range gws {
		a.add(g.conf.Kind+" gateway timers", func(context.Context) error { g.gw.Close(); return nil })
	}
	if err := srv.Start(); err != nil {
		return nil, fmt.Errorf("MQTT %s: %w", describeListeners(listeners), err)
	}
	a.add("MQTT listeners", srv.Shutdown)
	if db != nil {
		// Every loop takes the shard recovery filled for it before the
		// first client is served.
		ctx, cancel := context.WithTimeout(context.Background(), o.ShutdownTimeout)
		err := b.Bind(ctx, srv.Loops())
		cancel()
		if err != nil {
			return nil, fmt.Errorf("store: %w", err)
		}
		if node != nil {
			// The recovered sessions, owned by this node in the cluster's
			// registry (or ended, when a client took one elsewhere
			// while this node was down).
			a.add("recovered sessions' registry claim", startClaim(node, b.NodeHandler()))
		}
	}
	for i, l := range listeners {
		if addrs[i].Stopped {
			slog.Info("shardmq "+o.Node+": MQTT listener stopped through the API stays stopped (PUT /api/v5/listeners/"+
				l.rowName()+"/start opens it) on "+srv.Addrs()[i].String(), "listener", l.rowName(), "zone", l.Zone)
			continue
		}
		slog.Info("shardmq "+o.Node+": MQTT on "+srv.Addrs()[i].String(), "listener", l.rowName(), "zone", l.Zone)
	}
	for i, g := range gws {
		slog.Info("shardmq "+o.Node+": "+g.conf.Kind+" gateway on "+srv.UDPAddrs()[i].String(),
			"listener", g.conf.listener().rowName(), "zone", g.conf.listener().Zone)
	}

	// Returning memory to the OS after bursts.
	a.add("memory release", startMemoryRelease(&o, mem))

	// Profiles, when asked for.
	if o.PprofAddr != "" {
		stop, err := startPprof(o.PprofAddr)
		if err != nil {
			return nil, err
		}
		a.add("pprof", stop)
	}

	// Ready: the first thing the stop takes back.
	a.ready.Store(true)
	a.add("readiness", func(context.Context) error { a.ready.Store(false); return nil })
	return a, nil
}

// stop stops the started components in reverse order, each within ctx,
// and returns their errors. A second call does nothing.
func (a *app) stop(ctx context.Context) error {
	var err error
	for i := len(a.started) - 1; i >= 0; i-- {
		c := a.started[i]
		if e := c.stop(ctx); e != nil {
			err = errors.Join(err, fmt.Errorf("%s: %w", c.name, e))
		}
		slog.Debug("shardmq: stopped " + c.name)
	}
	a.started = nil
	return err
}

// newClusterNode returns the node of the cluster o describes, with h as
// its handler; its JetStream data (retained messages, the client id
// registry) lives in <data_dir>/cluster.
func newClusterNode(o *Options, h *wire.Handler) (*natscluster.Node, error) {
	n, err := natscluster.New(natscluster.Config{
		Node:            o.Node,
		ClusterListen:   o.ClusterListen,
		Advertise:       o.ClusterAdvertise,
		Join:            splitList(o.ClusterJoin),
		ExternalURLs:    splitList(o.ClusterNATS),
		Replicas:        o.ClusterReplicas,
		RegistryBuckets: o.ClusterRegistryBuckets,
		StoreDir:        filepath.Join(o.DataDir, "cluster"),
		Version:         version(),
		ShareStrategy:   o.SharedSubscriptionStrategy,
		Handler:         h,
		Logger:          slog.Default(),
	})
	if err != nil {
		return nil, fmt.Errorf("cluster: %w", err)
	}
	return n, nil
}

// describeListeners names the listeners for an error message, each with
// its address.
func describeListeners(ls []Listener) string {
	s := make([]string, len(ls))
	for i, l := range ls {
		s[i] = "listener " + l.rowName() + " on " + l.Addr
	}
	return strings.Join(s, ", ")
}
