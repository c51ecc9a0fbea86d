package bench

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"syscall"
	"time"
)

// Run builds or finds every configured broker, runs each scenario against
// each broker in turn (a fresh broker per run, cfg.Repeats times; the
// Target as it runs), measures the generator's ceiling on the Relay, and
// writes report.md, report.json and report.png into cfg.OutDir. A broker
// that cannot be built or found is left out with a note ("shardmq not
// built: ...") and the others run; a scenario a broker cannot run is
// reported as n/a with the reason.
func Run(ctx context.Context, cfg Config) (*Report, error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	cfg = cfg.withDefaults()
	if cfg.OutDir == "" {
		cfg.OutDir = "bench-out"
		if repo, err := findRepo(cfg.RepoDir); err == nil {
			cfg.OutDir = filepath.Join(repo, "bench", "out")
		}
	}
	outDir, err := filepath.Abs(cfg.OutDir)
	if err != nil {
		return nil, err
	}
	if err := os.MkdirAll(filepath.Join(outDir, "logs"), 0o755); err != nil {
		return nil, err
	}
	raiseFileLimit()
	rep := &Report{Profile: cfg.Profile, Started: time.Now(), Settings: settingsOf(cfg)}
	brokers := prepareBrokers(ctx, cfg, outDir, rep)

	type step struct {
		scenario string
		run      int
		broker   Broker
	}
	var steps []step
	for _, s := range cfg.Scenarios {
		for run := 1; run <= cfg.Repeats; run++ {
			for _, b := range brokers {
				if b.Name() == BrokerRelay && !relayScenarios[s] {
					continue
				}
				steps = append(steps, step{s, run, b})
			}
		}
	}
	bar := newProgress(cfg.Progress, len(steps))
	for _, st := range steps {
		if ctx.Err() != nil {
			break
		}
		bar.step(fmt.Sprintf("%s on %s, run %d", st.scenario, st.broker.Name(), st.run))
		r := runOne(ctx, cfg, outDir, st.broker, st.scenario)
		r.Broker, r.Run = st.broker.Name(), st.run
		rep.Results = append(rep.Results, r)
		if r.Err != "" {
			fmt.Fprintf(cfg.Log, "\n%s on %s run %d: %s\n", st.scenario, st.broker.Name(), st.run, r.Err)
		}
		bar.finish()
	}
	bar.end()
	if err := rep.write(outDir); err != nil {
		return rep, err
	}
	return rep, ctx.Err()
}

// runOne starts a fresh broker, runs one scenario on it and stops it.
func runOne(ctx context.Context, cfg Config, outDir string, b Broker, scenario string) Result {
	if why := persistUnsupported(b.Name(), scenario); why != "" {
		return Result{Scenario: scenario, Skipped: why}
	}
	if sb, ok := b.(scenarioBroker); ok {
		b = sb.forScenario(scenario)
	}
	if lb, ok := b.(limitedBroker); ok {
		if why := lb.unsupported(cfg, scenario); why != "" {
			return Result{Scenario: scenario, Skipped: why}
		}
	}
	dir := filepath.Join(outDir, "logs", fileName(b.Name()))
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return Result{Scenario: scenario, Err: err.Error()}
	}
	in, err := b.Start(ctx, dir)
	if errors.Is(err, ErrBrokerNotReady) && ctx.Err() == nil {
		// The free port picked for it may have been taken in between.
		in, err = b.Start(ctx, dir)
	}
	if err != nil {
		return Result{Scenario: scenario, Err: err.Error()}
	}
	defer in.Stop()
	return RunScenario(ctx, cfg, in, scenario)
}

// fileName turns a broker's name (a Target is named by its URL) into a
// file name: every byte but letters, digits, '.' and '-' becomes '_'.
func fileName(name string) string {
	b := []byte(name)
	for i, c := range b {
		if !('a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' || '0' <= c && c <= '9' || c == '.' || c == '-') {
			b[i] = '_'
		}
	}
	return string(b)
}

// prepareBrokers builds or finds the configured brokers and adds the relay.
// Brokers that cannot run are reported in rep.Notes and cfg.Log.
func prepareBrokers(ctx context.Context, cfg Config, outDir string, rep *Report) []Broker {
	binDir := filepath.Join(outDir, "bin")
	_ = os.MkdirAll(binDir, 0o755)
	repo, repoErr := findRepo(cfg.RepoDir)
	var out []Broker
	var peerTLS *PeerTLS
	if usesTLS(cfg.Scenarios) || slices.Contains(cfg.Scenarios, ScenarioP2P0WS) {
		var err error
		if peerTLS, err = makePeerTLS(certDir(outDir)); err != nil {
			rep.Notes = append(rep.Notes, "no TLS certificate for the tls scenarios: "+err.Error())
		}
	}
	note := func(format string, args ...any) {
		n := fmt.Sprintf(format, args...)
		rep.Notes = append(rep.Notes, n)
		fmt.Fprintln(cfg.Log, n)
	}
	for _, name := range cfg.Brokers {
		switch name {
		case BrokerShardmq, BrokerMochi, BrokerNATS, BrokerAedes:
			if repoErr != nil {
				note("%s skipped: %v", name, repoErr)
				continue
			}
			b, err := buildFromRepo(ctx, cfg, name, repo, binDir, peerTLS)
			if err != nil {
				note("%v; running the others", err)
				continue
			}
			out = append(out, b)
		case BrokerMosquitto:
			if _, err := findBinary(cfg.MosquittoPath, "mosquitto", "/usr/sbin/mosquitto"); err != nil {
				note("mosquitto skipped: not installed (run make deps): %v", err)
				continue
			}
			out = append(out, Mosquitto{Path: cfg.MosquittoPath, TLS: peerTLS})
		}
		rep.Brokers = append(rep.Brokers, name)
	}
	if cfg.Target != "" {
		out = append(out, Target{URL: cfg.Target, CAFile: cfg.TargetCA, ServerName: cfg.TargetServerName, PID: cfg.TargetPID, API: cfg.TargetAPI, Publish: cfg.TargetPublish})
		rep.Brokers = append(rep.Brokers, cfg.Target)
	}
	if !cfg.NoRelay {
		out = append(out, relayBroker{})
		rep.Brokers = append(rep.Brokers, BrokerRelay)
	}
	return out
}

// buildFromRepo builds (or finds, for aedes) a broker that lives in the
// repository at repo.
func buildFromRepo(ctx context.Context, cfg Config, name, repo, binDir string, tls *PeerTLS) (Broker, error) {
	switch name {
	case BrokerShardmq:
		bin, err := BuildShardmq(ctx, repo, binDir)
		return Shardmq{Binary: bin, ExtraArgs: cfg.ShardmqArgs, TLS: tls}, err
	case BrokerMochi:
		bin, err := BuildMochi(ctx, repo, binDir)
		return Mochi{Binary: bin}, err
	case BrokerNATS:
		bin, err := BuildNATS(ctx, repo, binDir)
		return NATS{Binary: bin}, err
	}
	return FindAedes(repo, cfg.NodePath)
}

// write writes report.md, report.json and report.png into dir.
func (rep *Report) write(dir string) error {
	if err := os.WriteFile(filepath.Join(dir, "report.md"), []byte(rep.Markdown()), 0o644); err != nil {
		return err
	}
	if err := rep.WriteJSON(filepath.Join(dir, "report.json")); err != nil {
		return err
	}
	return rep.WriteChart(filepath.Join(dir, "report.png"))
}

// raiseFileLimit lifts the soft open-file limit to the hard one, for this
// process and the brokers and workers it starts (an explicit Setrlimit
// stops os/exec from restoring the original limit in children).
func raiseFileLimit() {
	var lim syscall.Rlimit
	if syscall.Getrlimit(syscall.RLIMIT_NOFILE, &lim) == nil && lim.Cur < lim.Max {
		lim.Cur = lim.Max
		_ = syscall.Setrlimit(syscall.RLIMIT_NOFILE, &lim)
	}
}
