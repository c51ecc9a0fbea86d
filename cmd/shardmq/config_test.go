package main

import (
	"errors"
	"flag"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"

	"github.com/BurntSushi/toml"
)

const exampleFile = "shardmq.example.toml"

// uncommented returns the example with its optional settings ("#key = ...",
// "#[table]") enabled.
func uncommented(t *testing.T) string {
	t.Helper()
	b, err := os.ReadFile(exampleFile)
	if err != nil {
		t.Fatal(err)
	}
	return regexp.MustCompile(`(?m)^#([a-z\[])`).ReplaceAllString(string(b), "$1")
}

// TestExampleNamesEverySetting checks that the example file shows every
// setting (optional ones commented out) and every zone and listener key,
// and that every flag of the broker is a setting or one of the actions.
func TestExampleNamesEverySetting(t *testing.T) {
	var plain, full map[string]any
	if _, err := toml.DecodeFile(exampleFile, &plain); err != nil {
		t.Fatalf("example as shipped: %v", err)
	}
	if _, err := toml.Decode(uncommented(t), &full); err != nil {
		t.Fatalf("example with the optional settings enabled: %v", err)
	}
	for _, s := range settings {
		if _, ok := full[s.key]; !ok {
			t.Errorf("setting %s is not in %s", s.key, exampleFile)
		}
	}
	zones, _ := full[zonesKey].(map[string]any)
	if len(zones) != 1 {
		t.Fatalf("want one example zone, got %v", full[zonesKey])
	}
	for _, z := range zones {
		zm := z.(map[string]any)
		for _, k := range zoneKeys() {
			if _, ok := zm[k]; !ok {
				t.Errorf("zone key %s is not in %s", k, exampleFile)
			}
		}
		if len(zm) != len(zoneSettings) {
			t.Errorf("example zone has %d keys, want the %d zone keys", len(zm), len(zoneSettings))
		}
	}
	ls, _ := full[listenersKey].([]map[string]any)
	shown := map[string]bool{}
	for _, l := range ls {
		for k := range l {
			shown[k] = true
		}
	}
	for _, k := range strings.Split(listenerKeyNames(), ", ") {
		if !shown[k] {
			t.Errorf("listener key %s is in no example listener of %s", k, exampleFile)
		}
	}
	gs, _ := full[gatewaysKey].([]map[string]any)
	shownGW := map[string]bool{}
	for _, g := range gs {
		for k := range g {
			shownGW[k] = true
		}
	}
	for _, k := range append([]string{"kind", "addr"}, strings.Split(gatewayKeyNames(), ", ")...) {
		if !shownGW[k] {
			t.Errorf("gateway key %s is in no example gateway of %s", k, exampleFile)
		}
	}
	// Both forms are valid configurations.
	enabled := filepath.Join(t.TempDir(), "full.toml")
	if err := os.WriteFile(enabled, []byte(uncommented(t)), 0o600); err != nil {
		t.Fatal(err)
	}
	noEnv := func(string) (string, bool) { return "", false }
	for _, path := range []string{exampleFile, enabled} {
		if _, err := loadOptions(commandLine{configFile: path}, noEnv); err != nil {
			t.Error(err)
		}
	}
	// Every flag is a setting, a table or an action.
	actions := []string{"config", "print-config", "version", "zone", "listener", "gateway"}
	newFlagSet(&commandLine{}).VisitAll(func(f *flag.Flag) {
		if !slices.Contains(actions, f.Name) && !slices.ContainsFunc(settings, func(s setting) bool { return s.flag() == f.Name }) {
			t.Errorf("flag --%s is not a setting of the configuration file", f.Name)
		}
	})
}

// shardmqEnv is the environment without SHARDMQ_ variables, plus extra.
func shardmqEnv(extra ...string) []string {
	var env []string
	for _, kv := range os.Environ() {
		if !strings.HasPrefix(kv, "SHARDMQ_") {
			env = append(env, kv)
		}
	}
	return append(env, extra...)
}

// TestConfigBinary runs the built broker with files, variables and flags:
// the precedence flags > environment > file > defaults as --print-config
// shows it, and exit code 2 with a message naming the key for every kind of
// invalid configuration.
func TestConfigBinary(t *testing.T) {
	_, bin := buildBroker(t)
	dir := t.TempDir()
	write := func(name, text string) string {
		p := filepath.Join(dir, name)
		if err := os.WriteFile(p, []byte(text), 0o600); err != nil {
			t.Fatal(err)
		}
		return p
	}
	file := write("file.toml", `mqtt_addr = "127.0.0.1:1001"
api_addr = "127.0.0.1:2001"
node = "file@host"
log_format = "json"
allow_anonymous = false
[zones.z1]
inflight_max = 5
session_expiry = 60
[[listeners]]
addr = "127.0.0.1:3001"
zone = "z1"
name = "from-file"
`)
	full := write("full.toml", uncommented(t))
	cases := []struct {
		name     string
		args     []string
		env      []string
		code     int
		want     []string // lines of stdout (--print-config) or substrings of stderr
		wantNone []string
	}{
		{name: "defaults", args: []string{"--print-config"},
			want: []string{`mqtt_addr = "127.0.0.1:1883"`, `shutdown_timeout = "10s"`, `log_level = "info"`, `# allow_anonymous unset: true on loopback listeners only`}},
		{name: "example as shipped", args: []string{"--config", exampleFile, "--print-config"},
			want: []string{`mqtt_addr = "127.0.0.1:1883"`}},
		{name: "example with every setting", args: []string{"--config", full, "--print-config"},
			want: []string{`[zones.external]`, `keepalive_multiplier = 1.5`, `addr = "0.0.0.0:1883"`, `zone = "external"`, `allow_anonymous = false`}},
		{name: "file over defaults", args: []string{"--config", file, "--print-config"},
			want: []string{`mqtt_addr = "127.0.0.1:1001"`, `node = "file@host"`, `log_format = "json"`, `allow_anonymous = false`,
				`[zones.z1]`, `inflight_max = 5`, `session_expiry = "1m0s"`, `addr = "127.0.0.1:3001"`, `zone = "z1"`,
				`name = "from-file"`, `stats_interval = "1s"`}},
		{name: "environment over file", args: []string{"--config", file, "--print-config"},
			env: []string{"SHARDMQ_MQTT_ADDR=127.0.0.1:1002", "SHARDMQ_ALLOW_ANONYMOUS=true",
				"SHARDMQ_LISTENERS=127.0.0.1:3002,tcp://127.0.0.1:3003@z1?name=from-env",
				"SHARDMQ_METRICS_AUTH=true", "SHARDMQ_SHUTDOWN_TIMEOUT=3s", "SHARDMQ_PPROF_ADDR=127.0.0.1:6061"},
			want: []string{`mqtt_addr = "127.0.0.1:1002"`, `api_addr = "127.0.0.1:2001"`, `allow_anonymous = true`, `metrics_auth = true`,
				`shutdown_timeout = "3s"`, `addr = "127.0.0.1:3002"`, `addr = "127.0.0.1:3003"`, `name = "from-env"`,
				`pprof_addr = "127.0.0.1:6061"`},
			wantNone: []string{`addr = "127.0.0.1:3001"`, `name = "from-file"`}},
		{name: "flags over environment", args: []string{"--config", file, "--mqtt-addr", "127.0.0.1:1003", "--zone", "z1:mqueue_max=7",
			"--listener", "127.0.0.1:3004@z1", "--print-config"},
			env:      []string{"SHARDMQ_MQTT_ADDR=127.0.0.1:1002", "SHARDMQ_ZONES=z1:inflight_max=9"},
			want:     []string{`mqtt_addr = "127.0.0.1:1003"`, `mqueue_max = 7`, `addr = "127.0.0.1:3004"`},
			wantNone: []string{`inflight_max = 9`, `inflight_max = 5`, `addr = "127.0.0.1:3001"`}},
		{name: "file named by SHARDMQ_CONFIG", args: []string{"--print-config"}, env: []string{"SHARDMQ_CONFIG=" + file},
			want: []string{`node = "file@host"`}},
		{name: "--config over SHARDMQ_CONFIG", args: []string{"--config", exampleFile, "--print-config"}, env: []string{"SHARDMQ_CONFIG=" + file},
			want: []string{`node = "shardmq@127.0.0.1"`}},
		{name: "environment zones", args: []string{"--print-config"}, env: []string{"SHARDMQ_ZONES=a:inflight_max=3;b:mqueue_max=4,server_keepalive=30s"},
			want: []string{`[zones.a]`, `inflight_max = 3`, `[zones.b]`, `mqueue_max = 4`, `server_keepalive = "30s"`}},

		{name: "unknown key", args: []string{"--config", write("unknown.toml", "mqtt_adr = \"x\"\n")}, code: 2,
			want: []string{"key mqtt_adr: unknown setting"}},
		{name: "wrong type", args: []string{"--config", write("type.toml", "mqtt_addr = 1883\n")}, code: 2,
			want: []string{"key mqtt_addr: want a string, not an integer"}},
		{name: "duration as a number", args: []string{"--config", write("dur.toml", "stats_interval = 5\n")}, code: 2,
			want: []string{"key stats_interval: want a duration string"}},
		{name: "syntax error", args: []string{"--config", write("syntax.toml", "node = \"a\"\nlog_level = \n")}, code: 2,
			want: []string{"syntax.toml", "line 2", "log_level"}},
		{name: "missing file", args: []string{"--config", filepath.Join(dir, "none.toml")}, code: 2,
			want: []string{"none.toml", "no such file"}},
		{name: "bad address in file", args: []string{"--config", write("addr.toml", "api_addr = \"localhost\"\n")}, code: 2,
			want: []string{"key api_addr: address localhost: missing port"}},
		{name: "bad level in environment", env: []string{"SHARDMQ_LOG_LEVEL=loud"}, code: 2,
			want: []string{"environment SHARDMQ_LOG_LEVEL: key log_level: want debug, info, warn or error"}},
		{name: "bad duration in environment", env: []string{"SHARDMQ_SHUTDOWN_TIMEOUT=soon"}, code: 2,
			want: []string{`environment SHARDMQ_SHUTDOWN_TIMEOUT: key shutdown_timeout: "soon" is not a duration`}},
		{name: "zero timeout flag", args: []string{"--shutdown-timeout", "0s"}, code: 2,
			want: []string{"flag --shutdown-timeout: key shutdown_timeout: 0s: want a positive duration"}},
		{name: "bad acl_nomatch", args: []string{"--config", write("acl.toml", "acl_nomatch = \"maybe\"\n")}, code: 2,
			want: []string{"key acl_nomatch: want allow or deny"}},
		{name: "bad boolean", args: []string{"--config", write("bool.toml", "metrics_auth = \"yes\"\n")}, code: 2,
			want: []string{"key metrics_auth: want a boolean, not a string"}},
		{name: "zone value out of range", args: []string{"--config", write("zone.toml", "[zones.a]\ninflight_max = 70000\n")}, code: 2,
			want: []string{"key zones.a.inflight_max: 70000 is out of range"}},
		{name: "unknown zone key", args: []string{"--config", write("zonekey.toml", "[zones.a]\ninflight = 1\n")}, code: 2,
			want: []string{"key zones.a.inflight: unknown key"}},
		{name: "listener of an unknown zone", args: []string{"--config", write("lz.toml", "[[listeners]]\naddr = \"127.0.0.1:1\"\nzone = \"nope\"\n")}, code: 2,
			want: []string{"key listeners:", `unknown zone "nope"`}},
		{name: "listener without addr", args: []string{"--config", write("la.toml", "[[listeners]]\nzone = \"default\"\n")}, code: 2,
			want: []string{"key listeners[0].addr: missing"}},
		{name: "listener with an unknown key", args: []string{"--config", write("lk.toml", "[[listeners]]\naddr = \":1\"\ncert = \"x\"\n")}, code: 2,
			want: []string{"key listeners[0].cert: unknown setting (want kind, addr, zone, name, certfile"}},
		{name: "ssl listener without a key file", args: []string{"--config", write("lssl.toml", "[[listeners]]\nkind = \"ssl\"\naddr = \":1\"\ncertfile = \"c.pem\"\n")}, code: 2,
			want: []string{"key listeners: listener :1: an ssl listener needs certfile and keyfile"}},
		{name: "listener names taken", args: []string{"--config", write("ln.toml", "[[listeners]]\naddr = \":1\"\n[[listeners]]\naddr = \":2\"\nname = \"default\"\n")}, code: 2,
			want: []string{`key listeners: listener :2: name "default" is taken by another tcp listener`}},
		{name: "listener kind in the environment", env: []string{"SHARDMQ_LISTENERS=quic://127.0.0.1:8083"}, code: 2,
			want: []string{`environment SHARDMQ_LISTENERS: key listeners: listener "quic://127.0.0.1:8083": kind "quic": want tcp, ssl, ws or wss`}},
		{name: "listeners of every kind", args: []string{"--print-config", "--listener", "ws://127.0.0.1:8083?path=/ws",
			"--listener", "ssl://127.0.0.1:8883?certfile=s.pem&keyfile=s.key&cacertfile=ca.pem&verify=verify_peer&fail_if_no_peer_cert=true"},
			want: []string{`kind = "ws"`, `path = "/ws"`, `kind = "ssl"`, `certfile = "s.pem"`, `keyfile = "s.key"`, `cacertfile = "ca.pem"`,
				`verify = "verify_peer"`, `fail_if_no_peer_cert = true`}},
		{name: "pprof on all interfaces in the file", args: []string{"--config", write("pprof.toml", "pprof_addr = \"0.0.0.0:6060\"\n")}, code: 2,
			want: []string{`key pprof_addr: "0.0.0.0:6060" must be a loopback address`}},
		{name: "stray argument", args: []string{"--print-config", "stray"}, code: 2,
			want: []string{`unexpected argument "stray"`}},
		{name: "bad api_base", args: []string{"--api-base", "api/"}, code: 2,
			want: []string{"flag --api-base: key api_base: must start with /"}},
		{name: "memory settings", args: []string{"--config", write("mem.toml", "gc_percent = 50\nmemory_limit = 536870912\nmemory_release_growth = \"8 MiB\"\n"), "--print-config"},
			env:  []string{"SHARDMQ_MEMORY_RELEASE_QUIET=2s"},
			want: []string{`gc_percent = 50`, `memory_limit = "512MiB"`, `memory_release = true`, `memory_release_growth = "8MiB"`, `memory_release_quiet = "2s"`, `memory_release_min_interval = "1m0s"`}},
		{name: "gc off with a limit", args: []string{"--gc-percent", "-1", "--memory-limit", "2GB", "--print-config"},
			want: []string{`gc_percent = -1`, `memory_limit = "2GiB"`}},
		{name: "gc off without a limit", args: []string{"--gc-percent", "-1"}, code: 2,
			want: []string{"flag --gc-percent: key gc_percent: -1 (off) needs a memory_limit"}},
		{name: "gc percent zero", env: []string{"SHARDMQ_GC_PERCENT=0"}, code: 2,
			want: []string{"environment SHARDMQ_GC_PERCENT: key gc_percent: 0: want a positive percentage"}},
		{name: "bad memory limit", args: []string{"--config", write("memlim.toml", "memory_limit = \"lots\"\n")}, code: 2,
			want: []string{`key memory_limit: "lots" is not a size`}},
		{name: "memory limit as a float", args: []string{"--config", write("memf.toml", "memory_limit = 1.5\n")}, code: 2,
			want: []string{`key memory_limit: want a size such as "64MiB" or a number of bytes, not a float`}},
		{name: "zero release growth", args: []string{"--memory-release-growth", "0"}, code: 2,
			want: []string{"flag --memory-release-growth: key memory_release_growth: want a positive size"}},
		{name: "zero release interval", args: []string{"--config", write("memi.toml", "memory_release_min_interval = \"0s\"\n")}, code: 2,
			want: []string{"key memory_release_min_interval: 0s: want a positive duration"}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			cmd := exec.Command(bin, tc.args...)
			cmd.Env = shardmqEnv(tc.env...)
			var stdout, stderr strings.Builder
			cmd.Stdout, cmd.Stderr = &stdout, &stderr
			err := cmd.Run()
			code := 0
			var ee *exec.ExitError
			if errors.As(err, &ee) {
				code = ee.ExitCode()
			} else if err != nil {
				t.Fatal(err)
			}
			if code != tc.code {
				t.Fatalf("exit code %d, want %d\nstdout %s\nstderr %s", code, tc.code, stdout.String(), stderr.String())
			}
			out := stdout.String()
			if tc.code != 0 {
				out = stderr.String()
				if !strings.HasPrefix(out, "shardmq: ") || strings.Count(out, "\n") != 1 {
					t.Errorf("want one line starting with shardmq:, got %q", out)
				}
			}
			for _, w := range tc.want {
				if tc.code == 0 && !slices.Contains(strings.Split(out, "\n"), w) || !strings.Contains(out, w) {
					t.Errorf("output lacks %q:\n%s", w, out)
				}
			}
			for _, w := range tc.wantNone {
				if strings.Contains(out, w) {
					t.Errorf("output has %q:\n%s", w, out)
				}
			}
		})
	}

	// --print-config writes what --config reads back to the same.
	for _, args := range [][]string{
		{"--config", full},
		{"--zone", `odd "name":mqueue_max=3`, "--listener", `127.0.0.1:1@odd "name"`, "--node", "tab\there",
			"--listener", `tcp://127.0.0.1:2@odd "name"?name=second`, "--allow-anonymous=false"},
	} {
		t.Run("round trip "+strings.Join(args, " "), func(t *testing.T) {
			first, err := exec.Command(bin, append(args, "--print-config")...).Output()
			if err != nil {
				t.Fatal(err)
			}
			p := write("printed.toml", string(first))
			second, err := exec.Command(bin, "--config", p, "--print-config").Output()
			if err != nil {
				t.Fatal(err)
			}
			if string(first) != string(second) {
				t.Fatalf("round trip differs:\n%s\n---\n%s", first, second)
			}
		})
	}
}
