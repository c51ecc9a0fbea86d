package main

import (
	"bytes"
	"context"
	"encoding/json"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"syscall"
	"testing"
	"time"
)

// storeBroker is the broker binary on a fixed data directory and fixed
// ports, started again after a kill.
type storeBroker struct {
	bin, dataDir, mqtt, api string
	args                    []string
	cmd                     *exec.Cmd
	exited                  chan struct{}
	log                     *syncBuffer // written by exec's copying goroutine
}

func newStoreBroker(t *testing.T, bin string, args ...string) *storeBroker {
	return &storeBroker{bin: bin, dataDir: filepath.Join(t.TempDir(), "data"), mqtt: freePort(t), api: freePort(t), args: args}
}

// start runs the broker and waits until GET /status answers 200.
func (b *storeBroker) start(t *testing.T) {
	t.Helper()
	b.log = &syncBuffer{}
	b.cmd = exec.Command(b.bin, append([]string{"--mqtt-addr", b.mqtt, "--api-addr", b.api,
		"--data-dir", b.dataDir, "--stats-interval", "100ms", "--sys-interval", "0"}, b.args...)...)
	b.cmd.Env = shardmqEnv()
	b.cmd.Stdout, b.cmd.Stderr = b.log, b.log
	if err := b.cmd.Start(); err != nil {
		t.Fatal(err)
	}
	b.exited = make(chan struct{})
	cmd, exited := b.cmd, b.exited
	go func() { _ = cmd.Wait(); close(exited) }()
	t.Cleanup(func() {
		select {
		case <-exited:
		default:
			_ = cmd.Process.Kill()
			<-exited
		}
	})
	deadline := time.Now().Add(20 * time.Second)
	for {
		if code, _ := httpGet("http://"+b.api+"/status", ""); code == http.StatusOK {
			return
		}
		select {
		case <-exited:
			t.Fatalf("broker exited at start:\n%s", b.log)
		default:
		}
		if time.Now().After(deadline) {
			t.Fatalf("broker not ready:\n%s", b.log)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// kill sends SIGKILL and waits for the process to go.
func (b *storeBroker) kill(t *testing.T) {
	t.Helper()
	_ = b.cmd.Process.Signal(syscall.SIGKILL)
	<-b.exited
}

// credential returns the API key the first start created and logged.
func (b *storeBroker) credential(t *testing.T) string {
	t.Helper()
	m := regexp.MustCompile(`API key: ([^ ]+:[^ ]+) `).FindStringSubmatch(b.log.String())
	if m == nil {
		t.Fatalf("no API key in the log:\n%s", b.log)
	}
	return m[1]
}

// mosq runs a mosquitto client against b and returns its output.
func (b *storeBroker) mosq(t *testing.T, tool string, args ...string) string {
	t.Helper()
	host, port, _ := strings.Cut(b.mqtt, ":")
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	out, err := exec.CommandContext(ctx, tool, append([]string{"-h", host, "-p", port}, args...)...).CombinedOutput()
	if err != nil {
		t.Fatalf("%s %v: %v\n%s\nbroker:\n%s", tool, args, err, out, b.log)
	}
	return string(out)
}

// TestRestartKill9 is the restart a user tries: a persistent session
// (mosquitto_sub -c -q 1), a QoS 1 message published while it is offline
// and a retained message, then kill -9 and a start on the same data
// directory: the catalog lists the session, disconnected, with its
// subscription and the queued message, and mosquitto_sub -c receives it.
func TestRestartKill9(t *testing.T) {
	needTools(t, "mosquitto_sub", "mosquitto_pub")
	_, bin := buildBroker(t)
	b := newStoreBroker(t, bin)
	b.start(t)
	b.mosq(t, "mosquitto_sub", "-c", "-q", "1", "-i", "durable-sub", "-t", "restart/#", "-E")
	b.mosq(t, "mosquitto_pub", "-q", "1", "-i", "pub", "-t", "restart/a", "-m", "queued while offline")
	b.mosq(t, "mosquitto_pub", "-q", "1", "-i", "pub", "-t", "kept/r", "-r", "-m", "retained")
	// batch durability: what was acknowledged is on disk within
	// flush_interval (100 ms).
	time.Sleep(500 * time.Millisecond)
	cred := b.credential(t)
	_, before := httpGet("http://"+b.api+"/api/v5/clients/durable-sub", cred)
	b.kill(t)

	b.start(t)
	if !strings.Contains(b.log.String(), "recovered from") || !strings.Contains(b.log.String(), "sessions=1") {
		t.Fatalf("no recovery line with the session:\n%s", b.log)
	}
	code, body := httpGet("http://"+b.api+"/api/v5/clients/durable-sub", cred)
	if code != http.StatusOK {
		t.Fatalf("GET /clients/durable-sub after the restart: %d %s", code, body)
	}
	var row, old map[string]any
	if err := json.Unmarshal([]byte(body), &row); err != nil {
		t.Fatal(err)
	}
	_ = json.Unmarshal([]byte(before), &old)
	if row["connected"] != false || row["subscriptions_cnt"] != float64(1) || row["mqueue_len"] != float64(1) ||
		row["created_at"] != old["created_at"] {
		t.Fatalf("recovered row %s\nbefore the kill %s", body, before)
	}
	got := b.mosq(t, "mosquitto_sub", "-c", "-q", "1", "-i", "durable-sub", "-t", "restart/#", "-C", "1", "-W", "10")
	if strings.TrimSpace(got) != "queued while offline" {
		t.Fatalf("mosquitto_sub -c after kill -9 and restart got %q", got)
	}
	got = b.mosq(t, "mosquitto_sub", "-q", "1", "-i", "reader", "-t", "kept/#", "-C", "1", "-W", "10")
	if strings.TrimSpace(got) != "retained" {
		t.Fatalf("retained after kill -9 and restart: %q", got)
	}
}

// TestStoreRefusals: a second broker on the same data directory, and a
// store that is not one, stop the start with a message naming the file;
// the broker never starts empty in their place.
func TestStoreRefusals(t *testing.T) {
	_, bin := buildBroker(t)
	first := newStoreBroker(t, bin)
	first.start(t)
	run := func(dataDir string) (int, string) {
		ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
		defer cancel()
		out, err := exec.CommandContext(ctx, bin, "--mqtt-addr", freePort(t), "--api-addr", freePort(t), "--data-dir", dataDir).CombinedOutput()
		if ctx.Err() != nil {
			t.Fatalf("the broker started on %s instead of refusing:\n%s", dataDir, out)
		}
		code := 0
		if ee, ok := err.(*exec.ExitError); ok {
			code = ee.ExitCode()
		} else if err != nil {
			t.Fatal(err)
		}
		return code, string(out)
	}
	code, out := run(first.dataDir)
	if code == 0 || !strings.Contains(out, filepath.Join(first.dataDir, "store", "LOCK")) {
		t.Fatalf("second broker on the same data directory: exit %d\n%s", code, out)
	}

	// A store whose manifest is damaged at its start.
	first.kill(t)
	ms, _ := filepath.Glob(filepath.Join(first.dataDir, "store", "MANIFEST-*"))
	if len(ms) == 0 {
		t.Fatal("no manifest in the store")
	}
	f, err := os.OpenFile(ms[0], os.O_WRONLY, 0)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := f.WriteAt(bytes.Repeat([]byte{0xA5}, 64), 0); err != nil {
		t.Fatal(err)
	}
	f.Close()
	code, out = run(first.dataDir)
	if code == 0 || !strings.Contains(out, filepath.Base(ms[0])) || !strings.Contains(out, "refusing to start") {
		t.Fatalf("damaged store: exit %d\n%s", code, out)
	}
}
