// Command shardmq-bench runs the side-by-side benchmark of shardmq,
// mosquitto, mochi-mqtt, NATS and aedes, or any scenario against an
// already running broker (--target), and prints the Markdown table;
// report.md, report.json and report.png go to --out (default bench/out).
// It only parses flags and wires them into bench.Run.
//
//	shardmq-bench --profile short        # about 8 minutes (make bench)
//	shardmq-bench --profile full         # repeats, 1M persistent sessions, 1M-session catalog under churn
//	shardmq-bench --brokers mosquitto --scenarios p2p-qos0 --duration 5s
//	shardmq-bench --target tcp://127.0.0.1:1883 --username u --password p --scenarios sessions --sessions 100000
package main

import (
	"context"
	"flag"
	"fmt"
	"os"
	"os/signal"
	"strings"
	"syscall"

	"github.com/shardmq/shardmq/bench"
	"github.com/shardmq/shardmq/mqtt"
)

func main() {
	bench.MaybeRunWorker() // a storm worker process exits inside

	var cfg bench.Config
	var brokers, scenarios, shardmqArgs string
	var version int
	flag.StringVar(&cfg.Profile, "profile", bench.ProfileShort, "short (about 8 minutes) or full")
	flag.StringVar(&brokers, "brokers", "", "comma-separated brokers (default shardmq,mosquitto,mochi,nats,aedes; none with --target)")
	flag.StringVar(&cfg.Target, "target", "", "URL of an already running broker to run the scenarios against, over its transport: tcp://HOST:PORT, ssl://HOST:PORT, ws://HOST:PORT/PATH or wss://HOST:PORT/PATH (PATH default /mqtt)")
	flag.StringVar(&cfg.TargetCA, "target-ca", "", "PEM file of the CA an ssl:// or wss:// --target's certificate chains to (default: the system's roots)")
	flag.StringVar(&cfg.TargetServerName, "target-servername", "", "TLS server name sent and verified for an ssl:// or wss:// --target (default: the URL's host)")
	flag.IntVar(&cfg.TargetPID, "target-pid", 0, "process id of the --target broker on this machine, to measure its CPU and memory")
	flag.Func("target-publish", "comma-separated URLs of other nodes of the --target cluster (same transport as --target) that publishers connect to in turn, so messages cross nodes", func(v string) error {
		for _, u := range strings.Split(v, ",") {
			if u = strings.TrimSpace(u); u != "" {
				cfg.TargetPublish = append(cfg.TargetPublish, u)
			}
		}
		return nil
	})
	flag.StringVar(&cfg.TargetAPI, "target-api", "", "HTTP API of the --target broker for the API scenarios: http://HOST:PORT")
	flag.StringVar(&cfg.Username, "username", "", "user name of every CONNECT (the sessions scenarios use \"bench\" when empty)")
	flag.StringVar(&cfg.Password, "password", "", "password of every CONNECT")
	flag.StringVar(&cfg.ClientPrefix, "client-prefix", "", "prefix of every client id (default bench-)")
	flag.StringVar(&cfg.TopicPrefix, "topic-prefix", "", "first topic level of every topic and filter (default bench)")
	flag.IntVar(&cfg.ConnectRate, "rate", 0, "connections/s of the storms and session scenarios over all generator processes (default: as fast as accepted)")
	flag.StringVar(&scenarios, "scenarios", "", "comma-separated scenarios (default all: "+strings.Join(bench.Scenarios(), ",")+")")
	flag.BoolVar(&cfg.NoRelay, "no-relay", false, "do not measure the generator's ceiling on the TCP relay")
	flag.IntVar(&cfg.Repeats, "repeats", 0, "runs per scenario and broker (default: profile's)")
	flag.DurationVar(&cfg.Warmup, "warmup", 0, "warm-up per run (default: profile's)")
	flag.DurationVar(&cfg.Duration, "duration", 0, "measured time per run (default: profile's)")
	flag.IntVar(&version, "mqtt-version", 4, "MQTT protocol level of the generator: 3, 4 (3.1.1) or 5")
	flag.IntVar(&cfg.PayloadSize, "payload", 0, "payload bytes, at least 16 (default 64)")
	flag.IntVar(&cfg.FanInPublishers, "fanin-publishers", 0, "fan-in publishers (default 50)")
	flag.IntVar(&cfg.SNPublishers, "mqttsn-publishers", 0, "MQTT-SN publishers of fanin-qos0-mqttsn (default 1000)")
	flag.IntVar(&cfg.FanOutSubscribers, "fanout-subscribers", 0, "fan-out subscribers (default 100)")
	flag.IntVar(&cfg.Pairs, "pairs", 0, "point-to-point pairs (default 100)")
	flag.IntVar(&cfg.Window, "window", 0, "QoS 1/2 inflight window (default 32)")
	flag.IntVar(&cfg.FixedRate, "fixed-rate", 0, "fixed-rate scenario messages/s (default 20000)")
	flag.IntVar(&cfg.StormConns, "storm-conns", 0, "connection storm size (default 10000)")
	flag.IntVar(&cfg.StormConnsMax, "storm-conns-max", 0, "conn-storm-max size (default 19000)")
	flag.IntVar(&cfg.CatalogRows, "catalog-rows", 0, "offline sessions of the api-catalog and catalog-churn scenarios (default 10000 short, 1000000 full)")
	flag.IntVar(&cfg.Sessions, "sessions", 0, "persistent sessions of the sessions scenario (default 20000 short, 1000000 full)")
	flag.IntVar(&cfg.SessionProcesses, "session-procs", 0, "generator processes of the sessions scenario (default 2)")
	flag.DurationVar(&cfg.SessionTimeout, "session-timeout", 0, "time limit of each sessions phase (create, resume) (default 10s short, 5m full)")
	flag.Int64Var(&cfg.BrokerMemLimit, "broker-mem-limit", 0, "broker RSS in bytes at which a sessions phase stops early with partial figures (default 8 GiB; negative: none)")
	flag.IntVar(&cfg.ChurnPercent, "churn-percent", 0, "sessions reconnecting per minute in catalog-churn, in percent (default 10)")
	flag.DurationVar(&cfg.ChurnDuration, "churn-duration", 0, "measured time of catalog-churn (default 1m)")
	flag.DurationVar(&cfg.IdleHold, "idle-hold", 0, "how long storm connections are held idle before the broker's RSS is sampled (default 3s)")
	flag.IntVar(&cfg.ConnsPerProcess, "conns-per-process", 0, "connections per generator process (default 5000)")
	flag.StringVar(&cfg.APIKey, "api-key", "", "API key for GET /clients (HTTP Basic)")
	flag.StringVar(&cfg.APISecret, "api-secret", "", "API secret for GET /clients")
	flag.StringVar(&cfg.RepoDir, "repo", "", "shardmq repository (default: found from the working directory)")
	flag.StringVar(&cfg.OutDir, "out", "", "output directory (default bench/out in the repository)")
	flag.StringVar(&cfg.MosquittoPath, "mosquitto", "", "mosquitto binary (default: looked up)")
	flag.StringVar(&cfg.NodePath, "node", "", "Node.js binary that runs aedes (default: looked up)")
	flag.StringVar(&shardmqArgs, "shardmq-args", "", "space-separated arguments appended to shardmq's command line, e.g. --pprof-addr=127.0.0.1:6060")
	quiet := flag.Bool("quiet", false, "no progress bar")
	flag.Parse()

	cfg.Version = mqtt.Version(version)
	cfg.Brokers = splitList(brokers)
	cfg.Scenarios = splitList(scenarios)
	cfg.ShardmqArgs = strings.Fields(shardmqArgs)
	cfg.Log = os.Stderr
	if !*quiet {
		cfg.Progress = os.Stderr
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	rep, err := bench.Run(ctx, cfg)
	if rep != nil {
		fmt.Print(rep.Markdown())
	}
	if err != nil {
		fmt.Fprintln(os.Stderr, "shardmq-bench:", err)
		os.Exit(1)
	}
}

// splitList splits a comma-separated flag value, dropping empty items.
func splitList(s string) []string {
	var out []string
	for _, f := range strings.Split(s, ",") {
		if f = strings.TrimSpace(f); f != "" {
			out = append(out, f)
		}
	}
	return out
}
