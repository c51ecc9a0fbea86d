// Package bench is shardmq's benchmark harness: a load generator written on
// the mqtt codec, a trivial TCP relay that measures the generator's own
// ceiling, the scenarios (fan-in, fan-out, point-to-point at QoS 0/1/2,
// fixed-rate latency, connection storms and idle memory, persistent-session
// storms and offline memory, API under load, over a large catalog and over
// a churning one), launchers for shardmq and its peers (Debian's mosquitto;
// mochi-mqtt and nats-server's MQTT listener built from bench/peers/mochi
// and bench/peers/nats, each its own Go module; aedes on Node.js from
// bench/peers/aedes), a Target for a broker already running elsewhere, and
// the reports: a Markdown table with the shardmq/best-peer ratio and each
// rate as a fraction of the relay ceiling, a JSON file and a PNG chart.
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
// in its own process so the ceiling is measured the same way, in the
// topology of each message scenario (pairs; one publisher copied to many
// subscribers; many publishers' frames merged into one subscriber).
// Connection storms larger than Config.ConnsPerProcess re-execute the
// binary as worker processes (MaybeRunWorker), since a process may hold at
// most 20,000 open files; the sessions scenario spreads its clients over
// Config.SessionProcesses workers. Each job connects from its own loopback
// source address (stormSource) when the broker is on a loopback address.
// Idle memory is sampled after the storm's connections were held idle for
// Config.IdleHold, then until the RSS is stable; offline-session memory
// the same way once the sessions are created and disconnected. Every load
// loop is bounded in count and in time (Config.SessionTimeout per sessions
// phase) and stops by itself.
//
// bench is a client of the broker: it never imports shards, netio, catalog
// or httpapi. cmd/shardmq-bench parses flags into a Config and calls Run.
package bench
