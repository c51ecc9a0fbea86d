package bench

import (
	"context"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"time"
)

// Mosquitto starts Debian's mosquitto with a configuration file the harness
// writes: one listener on 127.0.0.1, anonymous access, no persistence (or,
// with Persistence, mosquitto.db in a fresh directory with the default
// autosave), and inflight and queue limits as generous as the other
// brokers get.
type Mosquitto struct {
	// Path is the mosquitto binary. If empty, "mosquitto" is looked up in
	// PATH and then /usr/sbin/mosquitto is tried.
	Path string
	// TLS, if set, adds a TLS listener with this certificate.
	TLS *PeerTLS
	// Persistence turns mosquitto's persistence on.
	Persistence bool
}

// Name returns "mosquitto".
func (Mosquitto) Name() string { return BrokerMosquitto }

// mosquittoConf is the configuration for one run; the verbs are the port
// and the persistence lines.
const mosquittoConf = `# written by shardmq-bench
listener %s 127.0.0.1
allow_anonymous true
%s
max_inflight_messages 0
max_queued_messages 1000000
max_queued_bytes 0
set_tcp_nodelay true
sys_interval 0
log_dest stderr
log_type error
log_type warning
`

// Start writes mosquitto.conf into dir and starts mosquitto with it.
func (m Mosquitto) Start(ctx context.Context, dir string) (*Instance, error) {
	path, err := findBinary(m.Path, "mosquitto", "/usr/sbin/mosquitto")
	if err != nil {
		return nil, fmt.Errorf("%w: mosquitto: %v (run make deps)", ErrNotBuilt, err)
	}
	addr, err := freeAddr()
	if err != nil {
		return nil, err
	}
	_, port, _ := net.SplitHostPort(addr)
	conf := filepath.Join(dir, "mosquitto.conf")
	persist := "persistence false"
	if m.Persistence {
		db := filepath.Join(dir, "mosquitto-db")
		if err := os.RemoveAll(db); err != nil {
			return nil, err
		}
		if err := os.MkdirAll(db, 0o755); err != nil {
			return nil, err
		}
		// Started as root, mosquitto drops to its own user, which must
		// be able to write the database there.
		if err := os.Chmod(db, 0o777); err != nil {
			return nil, err
		}
		persist = "persistence true\npersistence_location " + db + "/"
	}
	text := fmt.Sprintf(mosquittoConf, port, persist)
	var tlsAddr string
	if m.TLS != nil {
		if tlsAddr, err = freeAddr(); err != nil {
			return nil, err
		}
		_, tlsPort, _ := net.SplitHostPort(tlsAddr)
		text += fmt.Sprintf("listener %s 127.0.0.1\ncertfile %s\nkeyfile %s\n", tlsPort, m.TLS.CertFile, m.TLS.KeyFile)
	}
	if err := os.WriteFile(conf, []byte(text), 0o644); err != nil {
		return nil, err
	}
	in, err := startProcess(ctx, dir, "mosquitto.log", addr, path, "-c", conf)
	if err == nil && m.TLS != nil {
		in.TLSAddr, in.caFile = tlsAddr, m.TLS.CAFile
	}
	return in, err
}

// findBinary returns path if set, else the first of the candidates found.
func findBinary(path string, candidates ...string) (string, error) {
	if path != "" {
		return exec.LookPath(path)
	}
	var err error
	for _, c := range candidates {
		var p string
		if p, err = exec.LookPath(c); err == nil {
			return p, nil
		}
	}
	return "", err
}

// Mochi starts mochi-mqtt v2.7.9, built from the small main in
// bench/peers/mochi, its own Go module.
type Mochi struct {
	// Binary is the built peer (see BuildMochi).
	Binary string
	// Store adds mochi's pebble storage hook, in a fresh directory.
	Store bool
}

// Name returns "mochi".
func (Mochi) Name() string { return BrokerMochi }

// Start starts the mochi peer on a free port.
func (m Mochi) Start(ctx context.Context, dir string) (*Instance, error) {
	addr, err := freeAddr()
	if err != nil {
		return nil, err
	}
	args := []string{"-addr", addr}
	if m.Store {
		store := filepath.Join(dir, "mochi-store")
		if err := os.RemoveAll(store); err != nil {
			return nil, err
		}
		args = append(args, "-store", store)
	}
	return startProcess(ctx, dir, "mochi.log", addr, m.Binary, args...)
}

// BuildMochi builds bench/peers/mochi of the repository at repo into
// outDir and returns the binary's path.
func BuildMochi(ctx context.Context, repo, outDir string) (string, error) {
	return buildPeer(ctx, repo, outDir, "mochi")
}

// buildPeer builds the Go module bench/peers/NAME of the repository at
// repo into outDir/NAME-peer and returns the binary's path.
func buildPeer(ctx context.Context, repo, outDir, name string) (string, error) {
	bin := filepath.Join(outDir, name+"-peer")
	if err := goBuild(ctx, filepath.Join(repo, "bench", "peers", name), bin, "."); err != nil {
		return "", fmt.Errorf("%w: %s: %v", ErrNotBuilt, name, err)
	}
	return bin, nil
}

// Shardmq starts the product broker with --mqtt-addr and --api-addr.
type Shardmq struct {
	// Binary is the built broker (see BuildShardmq).
	Binary string
	// ExtraArgs are appended to the command line.
	ExtraArgs []string
	// TLS, if set, adds an ssl listener with this certificate, and a ws
	// listener.
	TLS *PeerTLS
}

// Name returns "shardmq".
func (Shardmq) Name() string { return BrokerShardmq }

// Start starts shardmq on free MQTT and API ports with a fresh data
// directory. The API scenarios wait for the API listener and take the
// credentials the broker creates on first start from the curl example it
// logs.
func (s Shardmq) Start(ctx context.Context, dir string) (*Instance, error) {
	addr, err := freeAddr()
	if err != nil {
		return nil, err
	}
	api, err := freeAddr()
	if err != nil {
		return nil, err
	}
	data := filepath.Join(dir, "data")
	if err := os.RemoveAll(data); err != nil {
		return nil, err
	}
	sn, err := freeUDPAddr()
	if err != nil {
		return nil, err
	}
	args := []string{"--mqtt-addr", addr, "--api-addr", api, "--data-dir", data, "--gateway", "mqttsn://" + sn}
	var tlsAddr, wsAddr string
	if s.TLS != nil {
		if tlsAddr, err = freeAddr(); err != nil {
			return nil, err
		}
		if wsAddr, err = freeAddr(); err != nil {
			return nil, err
		}
		args = append(args, "--listener", "tcp://"+addr,
			"--listener", "ssl://"+tlsAddr+"?certfile="+s.TLS.CertFile+"&keyfile="+s.TLS.KeyFile,
			"--listener", "ws://"+wsAddr)
	}
	in, err := startProcess(ctx, dir, "shardmq.log", addr, s.Binary, append(args, s.ExtraArgs...)...)
	if err != nil {
		return nil, err
	}
	if s.TLS != nil {
		in.TLSAddr, in.WSAddr, in.caFile = tlsAddr, wsAddr, s.TLS.CAFile
	}
	in.APIAddr, in.SNAddr = api, sn
	in.awaitAPI = func(ctx context.Context) error {
		if err := waitListening(ctx, api, nil, apiWait); err != nil {
			return fmt.Errorf("shardmq's HTTP API did not listen on %s within %v (not wired into cmd/shardmq yet?)", api, apiWait)
		}
		if b, err := os.ReadFile(filepath.Join(dir, "shardmq.log")); err == nil {
			if m := curlCreds.FindSubmatch(b); m != nil {
				in.APIKey, in.APISecret = string(m[1]), string(m[2])
			}
		}
		return nil
	}
	return in, nil
}

// apiWait bounds the wait for shardmq's API listener once MQTT is up.
const apiWait = 3 * time.Second

// curlCreds finds the credentials in the "curl -u key:secret" example a
// broker prints when it creates its first API key.
var curlCreds = regexp.MustCompile(`curl -u ([^\s:']+):([^\s']+) `)

// BuildShardmq builds ./cmd/shardmq of the repository at repo into outDir.
// It fails with ErrNotBuilt ("shardmq not built") when the package does not
// exist yet or does not build.
func BuildShardmq(ctx context.Context, repo, outDir string) (string, error) {
	src := filepath.Join(repo, "cmd", "shardmq")
	matches, _ := filepath.Glob(filepath.Join(src, "*.go"))
	if len(matches) == 0 {
		return "", fmt.Errorf("%w: shardmq not built: %s has no Go files yet", ErrNotBuilt, src)
	}
	bin := filepath.Join(outDir, "shardmq")
	if err := goBuild(ctx, repo, bin, "./cmd/shardmq"); err != nil {
		return "", fmt.Errorf("%w: shardmq not built: %v", ErrNotBuilt, err)
	}
	return bin, nil
}

// goBuild runs "go build -o out pkg" in dir.
func goBuild(ctx context.Context, dir, out, pkg string) error {
	cmd := exec.CommandContext(ctx, "go", "build", "-o", out, pkg)
	cmd.Dir = dir
	b, err := cmd.CombinedOutput()
	if err != nil {
		msg := strings.TrimSpace(string(b))
		if len(msg) > 600 {
			msg = msg[:600] + "…"
		}
		return fmt.Errorf("%v: %s", err, msg)
	}
	return nil
}
