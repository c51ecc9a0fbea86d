package main

import (
	"os"
	"runtime"
	"strings"
	"testing"
)

// runCommand runs the command in process, with an environment of env
// ("KEY=value") only, and returns its exit code, stdout and stderr. It
// must not start the broker.
func runCommand(t *testing.T, env []string, args ...string) (code int, stdout, stderr string) {
	t.Helper()
	lookup := func(k string) (string, bool) {
		for _, kv := range env {
			if key, v, _ := strings.Cut(kv, "="); key == k {
				return v, true
			}
		}
		return "", false
	}
	var out, errOut strings.Builder
	code = shardmq(args, os.Stdin, &out, &errOut, lookup)
	return code, out.String(), errOut.String()
}

// TestUsage checks that -h and --help print every command and flag to
// stdout and exit 0.
func TestUsage(t *testing.T) {
	for _, arg := range []string{"-h", "--help", "-help"} {
		code, out, errOut := runCommand(t, nil, arg)
		if code != 0 || errOut != "" {
			t.Fatalf("%s: exit %d, stderr %q", arg, code, errOut)
		}
		want := []string{"shardmq passwd [-cost N] [-role ROLE] FILE USER", "--zone NAME:KEY=VALUE,...",
			"--listener [KIND://]HOST:PORT[@ZONE][?KEY=VALUE&...]", "--config FILE", "--print-config", "--version",
			`--node STRING`, `(default "shardmq@127.0.0.1")`, "--metrics-auth\n", "--memory-limit SIZE", "--allow-anonymous true|false"}
		for _, s := range settings {
			want = append(want, strings.TrimSpace("--"+s.flag()+" "+s.kind().arg())+"\n")
		}
		for _, w := range want {
			if !strings.Contains(out, w) {
				t.Errorf("%s: usage lacks %q:\n%s", arg, w, out)
			}
		}
	}
}

// TestVersion checks --version: the version on stdout, exit 0, even with
// a configuration that would not load.
func TestVersion(t *testing.T) {
	code, out, errOut := runCommand(t, []string{"SHARDMQ_LOG_LEVEL=loud"}, "--version")
	want := "shardmq " + version() + " " + runtime.Version() + " " + runtime.GOOS + "/" + runtime.GOARCH + "\n"
	if code != 0 || out != want || errOut != "" {
		t.Fatalf("exit %d, stdout %q, stderr %q; want 0, %q", code, out, errOut, want)
	}
}

// TestCommandLineErrors checks that a bad command line exits 2 with one
// line on stderr that says what is wrong, before anything starts.
func TestCommandLineErrors(t *testing.T) {
	tests := []struct {
		name string
		args []string
		want string
	}{
		{"stray argument", []string{"stray"}, `shardmq: unexpected argument "stray": flags start with -`},
		{"stray after flags", []string{"--node", "n", "--print-config", "extra"}, `unexpected argument "extra"`},
		{"subcommand not first", []string{"--node", "n", "passwd"}, `unexpected argument "passwd"`},
		{"unknown flag", []string{"--mqtt-adr", "x"}, "flag provided but not defined: -mqtt-adr"},
		{"bad duration", []string{"--shutdown-timeout", "soon"},
			`shardmq: flag --shutdown-timeout: key shutdown_timeout: "soon" is not a duration string such as "10s"`},
		{"bad boolean", []string{"--metrics-auth=yes"}, `flag --metrics-auth: key metrics_auth: "yes" is not a boolean`},
		{"bad size", []string{"--memory-limit", "lots"}, `flag --memory-limit: key memory_limit: "lots" is not a size`},
		{"listener kind", []string{"--listener", "quic://127.0.0.1:8883"},
			`flag --listener: key listeners: listener "quic://127.0.0.1:8883": kind "quic": want tcp, ssl, ws or wss`},
		{"listener option", []string{"--listener", "tcp://127.0.0.1:1883?cert=x"}, `cert: unknown setting (want kind, addr, zone, name, certfile`},
		{"ssl without certificates", []string{"--listener", "ssl://127.0.0.1:8883"},
			`flag --listener: key listeners: listener 127.0.0.1:8883: an ssl listener needs certfile and keyfile`},
		{"tls key on tcp", []string{"--listener", "tcp://127.0.0.1:1883?certfile=x"},
			`listener 127.0.0.1:1883: certfile is not a setting of tcp listeners (only of ssl, wss)`},
		{"verify without a CA", []string{"--listener", "ssl://127.0.0.1:8883?certfile=c&keyfile=k&verify=verify_peer"},
			`verify_peer needs cacertfile`},
		{"bad verify", []string{"--listener", "ssl://127.0.0.1:8883?verify=maybe"}, `verify: want verify_none or verify_peer`},
		{"listener name", []string{"--listener", "tcp://127.0.0.1:1883?name=a.b"},
			`flag --listener: key listeners: listener 127.0.0.1:1883: name "a.b": want letters, digits, _ and -`},
		{"zone value", []string{"--zone", "a:inflight_max=70000"}, "flag --zone: key zones.a.inflight_max: 70000 is out of range"},
		{"pprof on all interfaces", []string{"--pprof-addr", ":6060"}, `flag --pprof-addr: key pprof_addr: ":6060" must be a loopback address`},
		{"cluster route address", []string{"--cluster-listen", "nohost"}, `key cluster_listen: address nohost: missing port`},
		{"cluster seeds without a route address", []string{"--cluster-join", "127.0.0.1:6222"},
			`key cluster_join: needs cluster_listen, this node's own route address`},
		{"cluster seed", []string{"--cluster-listen", "127.0.0.1:6222", "--cluster-join", "127.0.0.1:6223,seed"},
			`key cluster_join: address seed: missing port`},
		{"cluster advertised address", []string{"--cluster-listen", "127.0.0.1:6222", "--cluster-advertise", "proxy"},
			`key cluster_advertise: address proxy: missing port`},
		{"cluster advertised address without a route address", []string{"--cluster-advertise", "127.0.0.1:7222"},
			`key cluster_advertise: needs cluster_listen, the address it stands for`},
		{"registry buckets", []string{"--cluster-registry-buckets", "65"}, `key cluster_registry_buckets: 65: want 0 (1) to 64`},
		{"external NATS URL", []string{"--cluster-nats", "http://127.0.0.1:4222"},
			`key cluster_nats: "http://127.0.0.1:4222": want nats://HOST:PORT or tls://HOST:PORT`},
		{"external NATS and a route address", []string{"--cluster-nats", "nats://127.0.0.1:4222", "--cluster-listen", "127.0.0.1:6222"},
			`key cluster_nats: an external NATS excludes cluster_listen and cluster_join`},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			code, out, errOut := runCommand(t, nil, tc.args...)
			if code != 2 || out != "" || strings.Count(errOut, "\n") != 1 || !strings.HasPrefix(errOut, "shardmq: ") ||
				!strings.Contains(errOut, tc.want) {
				t.Fatalf("exit %d, stdout %q, stderr %q; want 2 and one line with %q", code, out, errOut, tc.want)
			}
		})
	}
}

// TestPrintConfigEveryKey checks that --print-config writes every setting,
// the tables included, whatever is set.
func TestPrintConfigEveryKey(t *testing.T) {
	for _, args := range [][]string{
		{"--print-config"},
		{"--print-config", "--allow-anonymous=true", "--zone", "z:mqueue_max=1", "--listener", "tcp://127.0.0.1:1@z?name=n"},
	} {
		code, out, errOut := runCommand(t, nil, args...)
		if code != 0 {
			t.Fatalf("%q: exit %d: %s", args, code, errOut)
		}
		lines := strings.Split(out, "\n")
		for _, s := range settings {
			if !containsPrefix(lines, s.key+" = ") && !containsPrefix(lines, "# "+s.key+" unset") {
				t.Errorf("%q: no %s in\n%s", args, s.key, out)
			}
		}
		if !strings.Contains(out, "[zones.") && !strings.Contains(out, "# no [zones.NAME] tables") ||
			!strings.Contains(out, "[[listeners]]") && !strings.Contains(out, "# no [[listeners]] tables") {
			t.Errorf("%q: the tables are missing:\n%s", args, out)
		}
	}
}

func containsPrefix(lines []string, prefix string) bool {
	for _, l := range lines {
		if strings.HasPrefix(l, prefix) {
			return true
		}
	}
	return false
}
