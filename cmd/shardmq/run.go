package main

import (
	"context"
	"errors"
	"log/slog"
	"time"

	"github.com/shardmq/shardmq/netio"
	"github.com/shardmq/shardmq/shards"
)

// options are the command-line flags.
type options struct {
	mqttAddr string
	apiAddr  string
	node     string
	dataDir  string
}

// app is the wired broker; extensions (the catalog and API wiring, in
// other files of this package) receive it.
type app struct {
	opts   options
	cfg    shards.Config
	broker *shards.Broker
	server *netio.Server
}

// extension adds a component to the app. configure runs before the broker
// is built (it may set a.cfg.Sink); start runs once MQTT is served and
// returns the component's stop function.
type extension struct {
	configure func(a *app) error
	start     func(ctx context.Context, a *app) (stop func(context.Context) error, err error)
}

// extensions are registered by init functions of other files.
var extensions []extension

// shutdownTimeout bounds a graceful stop (--shutdown-timeout).
var shutdownTimeout = 10 * time.Second

// run serves MQTT until ctx ends, then stops gracefully.
func run(ctx context.Context, o options) error {
	a := &app{opts: o, cfg: shards.Config{Node: o.node}}
	for _, e := range extensions {
		if e.configure != nil {
			if err := e.configure(a); err != nil {
				return err
			}
		}
	}
	b, err := shards.New(a.cfg)
	if err != nil {
		return err
	}
	a.broker = b
	addrs := []netio.Listener{{Addr: o.mqttAddr}}
	if len(a.cfg.Listeners) > 0 { // set by --listener (security.go)
		addrs = addrs[:0]
		for _, l := range a.cfg.Listeners {
			addrs = append(addrs, netio.Listener{Addr: l.Addr})
		}
	}
	// netio takes the largest packet any zone accepts; smaller zone limits
	// are the broker's to enforce.
	srv, err := netio.New(netio.Config{Listeners: addrs, MaxPacketSize: b.MaxPacketSize()}, b)
	if err != nil {
		return err
	}
	a.server = srv
	if err := srv.Start(); err != nil {
		return err
	}
	slog.Info("shardmq " + o.node + ": MQTT on " + srv.Addr().String())
	var stops []func(context.Context) error
	for _, e := range extensions {
		if e.start == nil {
			continue
		}
		stop, err := e.start(ctx, a)
		if err != nil {
			_ = srv.Shutdown(context.Background())
			return err
		}
		stops = append(stops, stop)
	}
	<-ctx.Done()
	slog.Info("shardmq: stopping", "deadline", shutdownTimeout.String())
	sctx, cancel := context.WithTimeout(context.Background(), shutdownTimeout)
	defer cancel()
	err = srv.Shutdown(sctx)
	for i := len(stops) - 1; i >= 0; i-- {
		err = errors.Join(err, stops[i](sctx))
	}
	return err
}
