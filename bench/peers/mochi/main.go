// Command mochi runs github.com/mochi-mqtt/server/v2 as a peer broker for
// shardmq-bench: one TCP listener, anonymous access, offline sessions kept,
// and inflight and queue limits as generous as the other brokers get. Its
// state is in memory, or, with -store, also in mochi's pebble storage hook
// (its default NoSync mode: every change written to pebble's log through
// the OS, none fsynced), from which a restart restores it. It lives in its own Go module so the product's go.mod
// never requires mochi.
package main

import (
	"flag"
	"io"
	"log"
	"log/slog"
	"math"
	"os"
	"os/signal"
	"syscall"

	mochi "github.com/mochi-mqtt/server/v2"
	"github.com/mochi-mqtt/server/v2/hooks/auth"
	"github.com/mochi-mqtt/server/v2/hooks/storage/pebble"
	"github.com/mochi-mqtt/server/v2/listeners"
)

func main() {
	addr := flag.String("addr", "127.0.0.1:1883", "TCP listener address")
	store := flag.String("store", "", "directory of the pebble storage hook (default: no storage, state in memory only)")
	flag.Parse()

	caps := mochi.NewDefaultServerCapabilities()
	caps.MaximumInflight = 65535
	caps.ReceiveMaximum = 65535
	caps.MaximumClientWritesPending = 64 * 1024
	// Persistent sessions of 3.1.1 clients live this long once offline;
	// mochi's default (the longest), which the sessions scenario needs: 0
	// would drop them at the next expiry sweep.
	caps.MaximumSessionExpiryInterval = math.MaxUint32
	server := mochi.New(&mochi.Options{
		Capabilities:           caps,
		SysTopicResendInterval: 3600,
		Logger:                 slog.New(slog.NewTextHandler(io.Discard, nil)),
	})
	if err := server.AddHook(new(auth.AllowHook), nil); err != nil {
		log.Fatal(err)
	}
	if *store != "" {
		if err := server.AddHook(new(pebble.Hook), &pebble.Options{Path: *store, Mode: pebble.NoSync}); err != nil {
			log.Fatal(err)
		}
	}
	if err := server.AddListener(listeners.NewTCP(listeners.Config{ID: "tcp", Address: *addr})); err != nil {
		log.Fatal(err)
	}
	if err := server.Serve(); err != nil {
		log.Fatal(err)
	}
	sigs := make(chan os.Signal, 1)
	signal.Notify(sigs, syscall.SIGINT, syscall.SIGTERM)
	<-sigs
	_ = server.Close()
}
