package main

import (
	"context"
	"encoding/json"
	"errors"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"
)

// TestStopReverse checks app.stop: the started components stop in
// reverse order, every one even when one fails, the errors joined; a
// second stop does nothing.
func TestStopReverse(t *testing.T) {
	var a app
	var order []string
	errB := errors.New("b failed")
	for _, name := range []string{"a", "b", "c"} {
		a.add(name, func(context.Context) error {
			order = append(order, name)
			if name == "b" {
				return errB
			}
			return nil
		})
	}
	err := a.stop(context.Background())
	if !slices.Equal(order, []string{"c", "b", "a"}) || !errors.Is(err, errB) || !strings.Contains(err.Error(), "b: b failed") {
		t.Fatalf("stopped %v with %v; want c, b, a and b's error", order, err)
	}
	if err := a.stop(context.Background()); err != nil || len(order) != 3 {
		t.Fatalf("second stop: %v, stopped %v", err, order)
	}
}

// listenBusy occupies a free 127.0.0.1 port until the test ends and
// returns its address.
func listenBusy(t *testing.T) string {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { l.Close() })
	return l.Addr().String()
}

// TestStartFailureStopsStarted starts the broker in process with a part
// unable to start: start returns an error naming the address, and every
// port the components started before it had opened is free again.
func TestStartFailureStopsStarted(t *testing.T) {
	tests := []struct {
		name string
		// set takes a busy address; it returns the addresses that must be
		// free after the failure.
		set func(o *Options, busy string) []string
	}{
		{"pprof, after the API and MQTT", func(o *Options, busy string) []string {
			o.PprofAddr = busy
			return []string{o.MQTTAddr, o.APIAddr}
		}},
		{"MQTT, after the API", func(o *Options, busy string) []string {
			o.MQTTAddr = busy
			return []string{o.APIAddr}
		}},
		// Not "the second MQTT listener": gnet (v2.9.7 createListeners)
		// leaves the first listener open when a later one fails to bind,
		// which only the process's exit closes.
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			o := defaultOptions()
			o.DataDir = t.TempDir()
			o.MQTTAddr, o.APIAddr = freePort(t), freePort(t)
			busy := listenBusy(t)
			free := tc.set(&o, busy)
			if err := o.Validate(); err != nil {
				t.Fatal(err)
			}
			a, err := start(o)
			if err == nil {
				_ = a.stop(context.Background())
				t.Fatal("started with an address taken")
			}
			if !strings.Contains(err.Error(), busy) {
				t.Errorf("error %q does not name %s", err, busy)
			}
			for _, addr := range free {
				l, err := net.Listen("tcp", addr)
				if err != nil {
					t.Errorf("%s still taken after the failed start: %v", addr, err)
					continue
				}
				l.Close()
			}
		})
	}
}

// TestStartFailureBinary runs the built broker with one part unable to
// start: it logs "failed to start" with the cause naming the address, and
// exits 1.
func TestStartFailureBinary(t *testing.T) {
	_, bin := buildBroker(t)
	busy := listenBusy(t)
	tests := []struct {
		name string
		args []string
		want string
	}{
		{"MQTT address taken", []string{"--mqtt-addr", busy}, "MQTT listener tcp:default on " + busy + ": "},
		{"second MQTT listener taken", []string{"--listener", freePort(t), "--listener", "tcp://" + busy + "?name=two"},
			"listener tcp:two on " + busy},
		{"API address taken", []string{"--api-addr", busy}, "API listener: listen tcp " + busy + ": bind: address already in use"},
		{"pprof address taken", []string{"--pprof-addr", busy}, "pprof listener: listen tcp " + busy},
		{"password file missing", []string{"--password-file", filepath.Join(t.TempDir(), "none")}, "no such file"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			args := append([]string{"--mqtt-addr", freePort(t), "--api-addr", freePort(t), "--data-dir", t.TempDir(),
				"--log-format", "json"}, tc.args...)
			cmd := exec.Command(bin, args...)
			cmd.Env = shardmqEnv()
			var stdout, stderr strings.Builder
			cmd.Stdout, cmd.Stderr = &stdout, &stderr
			done := make(chan error, 1)
			if err := cmd.Start(); err != nil {
				t.Fatal(err)
			}
			go func() { done <- cmd.Wait() }()
			select {
			case <-done:
			case <-time.After(20 * time.Second):
				_ = cmd.Process.Kill()
				<-done
				t.Fatalf("still running after 20 s:\n%s", stderr.String())
			}
			if code := cmd.ProcessState.ExitCode(); code != 1 {
				t.Fatalf("exit code %d, want 1\n%s", code, stderr.String())
			}
			var failed bool
			for _, line := range strings.Split(strings.TrimSpace(stderr.String()), "\n") {
				var rec struct{ Level, Msg, Err string }
				if err := json.Unmarshal([]byte(line), &rec); err != nil {
					t.Fatalf("not a JSON log line: %s", line)
				}
				if rec.Msg == "shardmq: stopped" {
					t.Errorf("a failed start logged %q", line)
				}
				if rec.Level == "ERROR" && rec.Msg == "shardmq: failed to start" && strings.Contains(rec.Err, tc.want) {
					failed = true
				}
			}
			if !failed {
				t.Fatalf("no \"failed to start\" line with %q:\n%s", tc.want, stderr.String())
			}
		})
	}
}

// TestListenersLogged starts the broker with three listeners (named,
// zoned, both, neither) and pprof, and checks the start-up lines name each
// with its zone, and that client rows say which listener and zone a client
// came through.
func TestListenersLogged(t *testing.T) {
	_, bin := buildBroker(t)
	l1, l2, l3, pp := freePort(t), freePort(t), freePort(t), freePort(t)
	b := startOps(t, bin, "--zone", "devices:mqueue_max=5",
		"--listener", "tcp://"+l1+"?name=local",
		"--listener", l2+"@devices?name=devices",
		"--listener", l3+"@devices",
		"--pprof-addr", pp)
	for i, addr := range []string{l1, l2, l3} {
		c, err := net.Dial("tcp", addr)
		if err != nil {
			t.Fatal(err)
		}
		defer c.Close()
		id := "row-" + string(rune('a'+i))
		connect := append([]byte{0x10, byte(12 + len(id)), 0, 4, 'M', 'Q', 'T', 'T', 4, 2, 0, 60, 0, byte(len(id))}, id...)
		if _, err := c.Write(connect); err != nil {
			t.Fatal(err)
		}
		ack := make([]byte, 4)
		if _, err := c.Read(ack); err != nil || ack[0] != 0x20 || ack[3] != 0 {
			t.Fatalf("CONNACK %x: %v", ack, err)
		}
	}
	want := map[string][2]string{"row-a": {"tcp:local", "default"}, "row-b": {"tcp:devices", "devices"}, "row-c": {"tcp:2", "devices"}}
	for id, w := range want {
		code, body := httpGet(b.url("/api/v5/clients/"+id), b.cred)
		var row struct{ Listener, Zone string }
		if err := json.Unmarshal([]byte(body), &row); err != nil || code != 200 || row.Listener != w[0] || row.Zone != w[1] {
			t.Errorf("GET /clients/%s: %d %s; want listener %s, zone %s", id, code, body, w[0], w[1])
		}
	}
	if code := b.stop(t); code != 0 {
		t.Fatalf("exit code %d", code)
	}
	log, err := os.ReadFile(b.logPath)
	if err != nil {
		t.Fatal(err)
	}
	for _, line := range []string{
		`msg="shardmq shardmq@127.0.0.1: MQTT on ` + l1 + `" listener=tcp:local zone=default`,
		`msg="shardmq shardmq@127.0.0.1: MQTT on ` + l2 + `" listener=tcp:devices zone=devices`,
		`msg="shardmq shardmq@127.0.0.1: MQTT on ` + l3 + `" listener=tcp:2 zone=devices`,
		`msg="shardmq: API on http://` + b.api + `/api/v5"`,
		`msg="shardmq: pprof on http://` + pp + `/debug/pprof/"`,
		`msg="shardmq: stopped"`,
	} {
		if !strings.Contains(string(log), line) {
			t.Errorf("the log lacks %s:\n%s", line, log)
		}
	}
}
