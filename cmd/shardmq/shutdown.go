package main

import "flag"

func init() {
	flag.DurationVar(&shutdownTimeout, "shutdown-timeout", shutdownTimeout,
		"deadline of a graceful stop on SIGTERM/SIGINT: MQTT 5 clients get DISCONNECT 0x8B, queued writes are flushed, "+
			"API requests in flight finish")
}
