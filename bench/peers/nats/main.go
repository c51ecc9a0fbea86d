// Command nats runs github.com/nats-io/nats-server/v2 with its MQTT
// listener as a peer broker for shardmq-bench: JetStream on (NATS keeps MQTT
// sessions, subscriptions and QoS 1/2 state in it) with its store in a
// directory given on the command line, no authentication, and a NATS client
// listener on a port of the kernel's choice that the harness does not use.
// It lives in its own Go module so the product's go.mod never requires
// nats-server.
package main

import (
	"flag"
	"log"
	"net"
	"os"
	"os/signal"
	"strconv"
	"syscall"
	"time"

	"github.com/nats-io/nats-server/v2/server"
)

func main() {
	addr := flag.String("addr", "127.0.0.1:1883", "MQTT listener address")
	store := flag.String("store", "", "JetStream store directory (default: a new temporary directory, removed at exit)")
	flag.Parse()

	host, portText, err := net.SplitHostPort(*addr)
	if err != nil {
		log.Fatal(err)
	}
	port, err := strconv.Atoi(portText)
	if err != nil {
		log.Fatal(err)
	}
	dir := *store
	if dir == "" {
		if dir, err = os.MkdirTemp("", "nats-peer-"); err != nil {
			log.Fatal(err)
		}
		defer os.RemoveAll(dir)
	}
	opts := &server.Options{
		ServerName: "shardmq-bench-nats", // MQTT requires a server name
		Host:       "127.0.0.1",
		Port:       server.RANDOM_PORT,
		NoSigs:     true,
		JetStream:  true,
		StoreDir:   dir,
		MQTT:       server.MQTTOpts{Host: host, Port: port},
		// Every QoS 1 or 2 subscription of a persistent MQTT session is a
		// JetStream consumer, and a stream takes at most 1,000 consumers by
		// default: a fleet of persistent sessions needs the limit lifted
		// (default_max_consumers: -1 in a configuration file).
		JetStreamLimits: server.JSLimitOpts{DefaultMaxConsumers: -1},
	}
	s, err := server.NewServer(opts)
	if err != nil {
		log.Fatal(err)
	}
	s.ConfigureLogger()
	go s.Start()
	if !s.ReadyForConnections(15 * time.Second) {
		log.Fatal("nats-server did not become ready")
	}
	sigs := make(chan os.Signal, 1)
	signal.Notify(sigs, syscall.SIGINT, syscall.SIGTERM)
	<-sigs
	s.Shutdown()
	s.WaitForShutdown()
}
