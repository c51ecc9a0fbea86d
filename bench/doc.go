// Package bench is shardmq's benchmark harness: a load generator written on
// the mqtt codec, a trivial TCP relay that measures the generator's own
// ceiling, the scenarios of issue 8 (fan-in, fan-out, point-to-point at
// QoS 0/1/2, fixed-rate latency, connection storm and idle memory, API
// under load), launchers for shardmq and its peers (Debian's mosquitto and
// mochi-mqtt built from bench/peers/mochi), and the reports: a Markdown
// table with the shardmq/best-peer ratio, a JSON file and a PNG chart.
//
// bench is a client of the broker: it never imports shards, netio, catalog
// or httpapi. cmd/shardmq-bench parses flags into a Config and calls Run.
package bench
