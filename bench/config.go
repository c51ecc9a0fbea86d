package bench

import (
	"fmt"
	"io"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"time"

	"github.com/shardmq/shardmq/mqtt"
)

// Profiles select the defaults of a Config.
const (
	// ProfileShort takes about eight minutes for all brokers.
	ProfileShort = "short"
	// ProfileFull runs longer, with three repeats and a catalog of a
	// million sessions.
	ProfileFull = "full"
)

// Config configures a benchmark run. A zero field takes the profile's
// default; Validate reports fields out of range.
type Config struct {
	// Profile is ProfileShort or ProfileFull. If empty, ProfileShort.
	Profile string
	// Brokers are the brokers to compare, in order. If empty, shardmq,
	// mosquitto, mochi, nats and aedes, or none when Target is set. The
	// relay ceiling is added unless NoRelay.
	Brokers []string
	// Target is the URL of an already running broker to run the scenarios
	// against, besides Brokers: "tcp://HOST:PORT", "ssl://HOST:PORT",
	// "ws://HOST:PORT/PATH" or "wss://HOST:PORT/PATH" (Target.URL); every
	// scenario then runs over that transport. Reports name it by its URL.
	Target string
	// TargetCA is the PEM file of the CA an ssl:// or wss:// Target's
	// certificate chains to; empty: the system's roots.
	TargetCA string
	// TargetServerName is the TLS server name (SNI, verified) of an
	// ssl:// or wss:// Target; empty: the URL's host.
	TargetServerName string
	// TargetPID is the target's process id when it runs on this machine:
	// its CPU and resident memory are then read from /proc. If zero, they
	// are not measured (and the memory rows show no figure for it).
	TargetPID int
	// TargetAPI is the target's HTTP API, "http://HOST:PORT", for the API
	// scenarios (with APIKey and APISecret). If empty, they are n/a.
	TargetAPI string
	// TargetPublish are URLs of other nodes of the Target's cluster that
	// the flows' publishers connect to in turn ("tcp://HOST:PORT"), so
	// that every message crosses nodes; empty: Target.
	TargetPublish []string
	// Username and Password go into every CONNECT when set. The sessions
	// and catalog-churn scenarios log in with Username, or "bench" when it
	// is empty: a user name is part of those scenarios.
	Username, Password string
	// ClientPrefix starts every client id the generator uses. If empty,
	// "bench-".
	ClientPrefix string
	// TopicPrefix is the first level of every topic and filter. If empty,
	// "bench".
	TopicPrefix string
	// ConnectRate caps new connections per second of the connection storms
	// and the sessions scenario, over all generator processes. If zero,
	// connections open as fast as the broker accepts them.
	ConnectRate int
	// NoRelay leaves out the generator's ceiling measured on the Relay.
	NoRelay bool
	// Scenarios are the scenarios to run (see Scenarios). If empty, all.
	Scenarios []string
	// Repeats is how many times each scenario runs on each broker, each
	// time on a fresh broker. If zero, 2 (short) or 3 (full).
	Repeats int
	// Warmup runs load before measuring. If zero, 500ms (short) or 3s (full).
	Warmup time.Duration
	// Duration is the measured time. If zero, 2s (short) or 15s (full).
	Duration time.Duration
	// Version is the MQTT protocol version of the generator. If zero, 3.1.1.
	Version mqtt.Version
	// PayloadSize is the PUBLISH payload size in bytes, at least 16 (the
	// send timestamp and the publisher index). If zero, 64.
	PayloadSize int
	// FanInPublishers publish to one wildcard subscriber. If zero, 50.
	FanInPublishers int
	// SNPublishers are the MQTT-SN clients of fanin-qos0-mqttsn. If zero,
	// 1000.
	SNPublishers int
	// FanOutSubscribers receive every message of one publisher. If zero, 100.
	FanOutSubscribers int
	// Pairs is the number of point-to-point pairs. If zero, 100.
	Pairs int
	// Window is the QoS 1 and 2 inflight window per publisher. If zero, 32.
	Window int
	// QoS0Window bounds the QoS 0 messages a publisher has sent but its
	// subscribers have not yet received, so queues stay bounded and the
	// rate measured is sustainable. If zero, 64.
	QoS0Window int
	// FixedRate is the total rate of the fixed-rate scenario in messages
	// per second. If zero, 20000.
	FixedRate int
	// FixedRatePairs share FixedRate. If zero, 10.
	FixedRatePairs int
	// StormConns is the number of connections of the connection storm and
	// idle-memory scenario. If zero, 10000 in both profiles: the issue's
	// scale, and a storm long enough (0.5–2.5 s) to measure a connect rate
	// above the machine's scheduling noise (a 1,000-connection storm lasts
	// ~70 ms).
	StormConns int
	// StormConnsMax is the size of the conn-storm-max scenario. If zero,
	// 19000 in both profiles: just below the 20,000 open files a broker
	// process may have.
	StormConnsMax int
	// CatalogRows is the number of offline sessions the api-catalog and
	// catalog-churn scenarios create before they measure GET /clients. If
	// zero, 10000 (short) or 1000000 (full).
	CatalogRows int
	// Sessions is the number of persistent sessions the sessions scenario
	// creates and then resumes. If zero, 20000 (short) or 1000000 (full).
	// The short profile's size is what fits its eight minutes beside the
	// other scenarios on five brokers: the 200,000 takes 15–30 s
	// per phase on the fast brokers and, capped by SessionTimeout, all of
	// it on the slow ones: over three minutes per repeat, twice.
	Sessions int
	// SessionProcesses is the number of generator processes the sessions
	// scenario spreads its clients over, each with StormConcurrency
	// connections in flight. If zero, 2.
	SessionProcesses int
	// SessionTimeout bounds each phase (create, resume) of the sessions
	// scenario and the creation of the catalog-churn sessions. A broker
	// slower than Sessions/SessionTimeout gives partial figures, over the
	// sessions it created in time (Result.Partial), in the sessions
	// scenario, and fails catalog-churn. If zero, 10s (short: at the
	// issue's 13–15k sessions/s shardmq and mosquitto create 20,000 in
	// under 2 s; NATS and aedes created 1,300–1,600 a second on the shared
	// machine, so they give partial figures) or 5m (full).
	SessionTimeout time.Duration
	// BrokerMemLimit stops a sessions phase early, with partial figures,
	// when the broker's resident memory passes it, so that a peer that
	// needs tens of kilobytes per session cannot exhaust the machine at a
	// million sessions. If zero, 8 GiB; negative, no limit.
	BrokerMemLimit int64
	// ChurnPercent is the share of the catalog-churn sessions that
	// reconnect (resume their session) per minute while GET /clients is
	// measured. If zero, 10.
	ChurnPercent int
	// ChurnDuration is how long catalog-churn measures. If zero, one
	// minute.
	ChurnDuration time.Duration
	// IdleHold is how long the storm's connections are held idle before the
	// broker's idle RSS is sampled (then until two samples 500 ms apart
	// agree within 1 %). If zero, 3s.
	IdleHold time.Duration
	// StormConcurrency is the number of connects in flight per generator
	// process. If zero, 100.
	StormConcurrency int
	// ConnsPerProcess is the most connections one generator process
	// opens; larger storms re-execute the binary as workers (the per-process
	// open-file cap is 20,000). If zero, 5000.
	ConnsPerProcess int
	// APIKey and APISecret authenticate GET /clients (HTTP Basic). If
	// empty, the credentials shardmq prints when it creates its first key.
	APIKey, APISecret string
	// APIPath is the path of the client list. If empty, "/api/v5/clients".
	APIPath string
	// RepoDir is the shardmq repository (to build cmd/shardmq and
	// bench/peers/mochi). If empty, the nearest parent of the working
	// directory holding shardmq's go.mod.
	RepoDir string
	// OutDir receives report.md, report.json, report.png, broker logs and
	// built binaries. If empty, bench/out in RepoDir (ignored by git), or
	// "bench-out" when there is no repository.
	OutDir string
	// MosquittoPath is the mosquitto binary. If empty, looked up.
	MosquittoPath string
	// NodePath is the Node.js binary that runs aedes. If empty, looked up.
	NodePath string
	// ShardmqArgs are appended to shardmq's command line (for example
	// --pprof-addr to profile it while a scenario runs).
	ShardmqArgs []string
	// Progress receives the progress bar. If nil, no progress is drawn.
	Progress io.Writer
	// Log receives one line per notable event (skips, errors). If nil,
	// io.Discard.
	Log io.Writer
}

// withDefaults returns c with zero fields set from its profile.
func (c Config) withDefaults() Config {
	full := c.Profile == ProfileFull
	if c.Profile == "" {
		c.Profile = ProfileShort
	}
	pick := func(short, long int) int {
		if full {
			return long
		}
		return short
	}
	setInt := func(p *int, v int) {
		if *p == 0 {
			*p = v
		}
	}
	setDur := func(p *time.Duration, v time.Duration) {
		if *p == 0 {
			*p = v
		}
	}
	if len(c.Brokers) == 0 && c.Target == "" {
		c.Brokers = slices.Clone(knownBrokers)
	}
	if len(c.Scenarios) == 0 {
		c.Scenarios = Scenarios()
		if !full {
			// A million-session catalog under churn is the full profile's.
			c.Scenarios = slices.DeleteFunc(c.Scenarios, func(s string) bool { return s == ScenarioCatalogChurn })
		}
	}
	setInt(&c.Repeats, pick(2, 3))
	setDur(&c.Warmup, time.Duration(pick(500, 3000))*time.Millisecond)
	setDur(&c.Duration, time.Duration(pick(2, 15))*time.Second)
	if c.Version == 0 {
		c.Version = mqtt.V311
	}
	setInt(&c.PayloadSize, 64)
	setInt(&c.FanInPublishers, 50)
	setInt(&c.SNPublishers, 1000)
	setInt(&c.FanOutSubscribers, 100)
	setInt(&c.Pairs, 100)
	setInt(&c.Window, 32)
	setInt(&c.QoS0Window, 64)
	setInt(&c.FixedRate, 20000)
	setInt(&c.FixedRatePairs, 10)
	setInt(&c.StormConns, 10000)
	setInt(&c.StormConnsMax, 19000)
	setInt(&c.CatalogRows, pick(10000, 1000000))
	setInt(&c.Sessions, pick(20000, 1000000))
	setInt(&c.SessionProcesses, 2)
	setDur(&c.SessionTimeout, time.Duration(pick(10, 300))*time.Second)
	setInt(&c.ChurnPercent, 10)
	if c.BrokerMemLimit == 0 {
		c.BrokerMemLimit = 8 << 30
	}
	setDur(&c.ChurnDuration, time.Minute)
	if c.ClientPrefix == "" {
		c.ClientPrefix = "bench-"
	}
	if c.TopicPrefix == "" {
		c.TopicPrefix = "bench"
	}
	setDur(&c.IdleHold, 3*time.Second)
	setInt(&c.StormConcurrency, 100)
	setInt(&c.ConnsPerProcess, 5000)
	if c.APIPath == "" {
		c.APIPath = "/api/v5/clients"
	}
	if c.Log == nil {
		c.Log = io.Discard
	}
	return c
}

// Validate reports the first invalid field of c (after defaults), wrapped
// in ErrConfig.
func (c Config) Validate() error {
	c = c.withDefaults()
	bad := func(field, why string) error { return fmt.Errorf("%w: %s %s", ErrConfig, field, why) }
	if c.Profile != ProfileShort && c.Profile != ProfileFull {
		return bad("Profile", fmt.Sprintf("%q is neither short nor full", c.Profile))
	}
	for _, b := range c.Brokers {
		if !slices.Contains(knownBrokers, b) {
			return bad("Brokers", fmt.Sprintf("%q unknown (%s)", b, strings.Join(knownBrokers, ", ")))
		}
	}
	if c.Target != "" {
		if _, err := targetAddr(c.Target); err != nil {
			return bad("Target", err.Error())
		}
	}
	for _, u := range c.TargetPublish {
		if c.Target == "" {
			return bad("TargetPublish", "needs Target")
		}
		if _, err := targetAddr(u); err != nil {
			return bad("TargetPublish", err.Error())
		}
	}
	if c.TargetAPI != "" {
		if _, err := apiHost(c.TargetAPI); err != nil {
			return bad("TargetAPI", err.Error())
		}
	}
	if (c.TargetCA != "" || c.TargetServerName != "") && c.Target == "" {
		return bad("TargetCA", "needs Target")
	}
	if c.TargetCA != "" {
		if _, err := os.Stat(c.TargetCA); err != nil {
			return bad("TargetCA", err.Error())
		}
	}
	if c.TargetPID < 0 {
		return bad("TargetPID", "must not be negative")
	}
	if strings.ContainsAny(c.TopicPrefix, "+#") || strings.HasPrefix(c.TopicPrefix, "$") {
		return bad("TopicPrefix", "must not hold a wildcard or start with $")
	}
	for _, s := range c.Scenarios {
		if !slices.Contains(Scenarios(), s) {
			return bad("Scenarios", fmt.Sprintf("%q unknown (%s)", s, strings.Join(Scenarios(), ", ")))
		}
	}
	switch {
	case !c.Version.Valid():
		return bad("Version", "must be 3, 4 or 5")
	case c.Repeats < 1 || c.Repeats > 100:
		return bad("Repeats", "must be 1..100")
	case c.Warmup < 0 || c.Duration < 0:
		return bad("Duration", "must not be negative")
	case c.IdleHold < 0:
		return bad("IdleHold", "must not be negative")
	case c.PayloadSize < payloadHeader || c.PayloadSize > 1<<20:
		return bad("PayloadSize", fmt.Sprintf("must be %d..1048576", payloadHeader))
	case c.FanInPublishers < 1 || c.FanInPublishers > 65535:
		return bad("FanInPublishers", "must be 1..65535")
	case c.SNPublishers < 1 || c.SNPublishers > 65535:
		return bad("SNPublishers", "must be 1..65535")
	case c.FanOutSubscribers < 1 || c.Pairs < 1 || c.Pairs > 65535 || c.FixedRatePairs < 1 || c.FixedRatePairs > 65535:
		return bad("Pairs", "subscriber and pair counts must be 1..65535")
	case c.Window < 1 || c.Window > 65535 || c.QoS0Window < 1:
		return bad("Window", "must be 1..65535")
	case c.FixedRate < 1:
		return bad("FixedRate", "must be positive")
	case c.StormConns < 1 || c.StormConcurrency < 1 || c.ConnsPerProcess < 1 || c.CatalogRows < 1 || c.StormConnsMax < 1:
		return bad("StormConns", "storm sizes must be positive")
	case c.ConnectRate < 0:
		return bad("ConnectRate", "must not be negative")
	case c.Sessions < 1 || c.SessionProcesses < 1 || c.SessionProcesses > c.Sessions:
		return bad("Sessions", "and SessionProcesses must be positive, with at most one process per session")
	case c.SessionProcesses > maxStormJobs:
		return bad("SessionProcesses", fmt.Sprintf("must be at most %d", maxStormJobs))
	case c.SessionTimeout < 0 || c.ChurnDuration < 0:
		return bad("SessionTimeout", "and ChurnDuration must not be negative")
	case c.ChurnPercent < 1 || c.ChurnPercent > 100:
		return bad("ChurnPercent", "must be 1..100")
	case stormJobs(max(c.StormConns, c.StormConnsMax), c.ConnsPerProcess) > maxStormJobs:
		return bad("ConnsPerProcess", fmt.Sprintf("a storm needs more than %d generator processes", maxStormJobs))
	}
	return nil
}

// connectOptions returns the CONNECT options of a generator client: c's
// credentials, if any, and the given id.
func (c Config) connectOptions(clientID string, persistent bool) connectOptions {
	return connectOptions{clientID: clientID, persistent: persistent, username: c.Username, password: c.Password}
}

// sessionUser is the user name of the sessions scenarios: Username, or
// "bench".
func (c Config) sessionUser() string {
	if c.Username != "" {
		return c.Username
	}
	return "bench"
}

// findRepo returns dir if set, else the nearest parent of the working
// directory whose go.mod declares shardmq's module.
func findRepo(dir string) (string, error) {
	if dir != "" {
		return filepath.Abs(dir)
	}
	wd, err := os.Getwd()
	if err != nil {
		return "", err
	}
	for d := wd; ; d = filepath.Dir(d) {
		b, err := os.ReadFile(filepath.Join(d, "go.mod"))
		if err == nil && strings.Contains(string(b), "module github.com/shardmq/shardmq\n") {
			return d, nil
		}
		if filepath.Dir(d) == d {
			return "", fmt.Errorf("%w: RepoDir: no shardmq go.mod above %s", ErrConfig, wd)
		}
	}
}
