// Command shardmq runs the shardmq MQTT broker.
package main

import (
	"context"
	"flag"
	"log/slog"
	"os"
	"os/signal"
	"syscall"
)

func main() {
	if len(os.Args) > 1 && os.Args[1] == "passwd" {
		os.Exit(passwdMain(os.Args[2:], os.Stdin, os.Stdout, os.Stderr))
	}
	var o options
	flag.StringVar(&o.mqttAddr, "mqtt-addr", "127.0.0.1:1883", "MQTT listener address")
	flag.StringVar(&o.apiAddr, "api-addr", "127.0.0.1:18083", "HTTP API listener address")
	flag.StringVar(&o.node, "node", "shardmq@127.0.0.1", "node name reported on client rows")
	flag.StringVar(&o.dataDir, "data-dir", "data", "directory for the broker's files (API keys)")
	flag.Parse()
	if code, exit := configMain(os.Stdout, os.Stderr); exit {
		os.Exit(code)
	}
	slog.SetDefault(newLogger(os.Stderr))

	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	if err := run(ctx, o); err != nil {
		slog.Error("shardmq: stopped", "err", err)
		os.Exit(1)
	}
}
