// Package bench is shardmq's benchmark harness: a load generator written on
// the mqtt codec, a trivial TCP relay that measures the generator's own
// ceiling, the scenarios of issue 8 (fan-in, fan-out, point-to-point at
// QoS 0/1/2, fixed-rate latency, connection storms and idle memory, API
// under load and over a large catalog), launchers for shardmq and its peers
// (Debian's mosquitto and mochi-mqtt built from bench/peers/mochi, its own
// Go module), and the reports: a Markdown table with the shardmq/best-peer
// ratio, a JSON file and a PNG chart.
//
// Method. Every run starts a fresh broker. Subscribers connect and
// subscribe before publishers start; the load runs for Config.Warmup, then
// deliveries are counted for Config.Duration. Each payload carries its
// send time (monotonic, same process), so latency is measured per delivery
// into a log-bucket Histogram. Publishers are closed-loop so that queues
// stay bounded and the measured rate is sustainable: QoS 1/2 publishers
// keep Config.Window packets unacknowledged, QoS 0 publishers keep
// Config.QoS0Window messages undelivered (a window that does not drain
// within a second is reset and counted as a stall: lost messages). The
// fixed-rate scenario is open-loop and stamps each message with its
// intended send time, so a late generator shows as latency
// (coordinated omission). Broker CPU and RSS come from /proc; the relay runs
// in its own process so the ceiling is measured the same way. Connection
// storms larger than Config.ConnsPerProcess re-execute the binary as worker
// processes (MaybeRunWorker), since a process may hold at most 20,000 open
// files; each storm job connects from its own loopback source address
// (stormSource). Idle memory is sampled after the storm's connections were
// held idle for Config.IdleHold, then until the RSS is stable.
//
// bench is a client of the broker: it never imports shards, netio, catalog
// or httpapi. cmd/shardmq-bench parses flags into a Config and calls Run.
package bench
