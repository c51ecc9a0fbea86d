package main

import (
	"context"
	"encoding/json"
	"errors"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/eclipse/paho.golang/paho"
)

// brokerFDs counts the broker process's open descriptors, once the test's
// idle HTTP connections to the API are closed.
func brokerFDs(t *testing.T, b *opsBroker) int {
	t.Helper()
	http.DefaultClient.CloseIdleConnections()
	entries, err := os.ReadDir("/proc/" + strconv.Itoa(b.cmd.Process.Pid) + "/fd")
	if err != nil {
		t.Skip("no /proc/PID/fd")
	}
	return len(entries)
}

// TestListenerStopStartBinary drives PUT /listeners/{id}/stop, start and
// restart on a broker with two listeners, with real clients: mosquitto_sub
// on tcp:default is disconnected by the stop (its will published, its
// session kept offline)
// and cannot come back while the port refuses connections; a paho.golang
// client on tcp:other keeps receiving throughout; after start
// mosquitto_sub reconnects by itself and receives again; a restart
// disconnects it once more and leaves the other listener's client alone.
// GET /listeners shows running and the connection counts at each step,
// bad ids and methods answer JSON errors, the broker ends with the
// descriptors it had, and a stopped listener stays stopped across a
// restart of the broker until a start.
func TestListenerStopStartBinary(t *testing.T) {
	needTools(t, "mosquitto_sub", "mosquitto_pub")
	_, bin := buildBroker(t)
	def, other := freePort(t), freePort(t)
	data := filepath.Join(t.TempDir(), "data")
	args := []string{"--data-dir", data, "--listener-control", "--listener", "tcp://" + def, "--listener", "tcp://" + other + "?name=other"}
	b := startOps(t, bin, args...)
	base := b.url("/api/v5")
	host, defPort, _ := strings.Cut(def, ":")
	_, otherPort, _ := strings.Cut(other, ":")

	// mosquitto_sub on tcp:default, with a session that outlives its
	// connection.
	subOut := &syncBuffer{}
	ctx, cancel := context.WithCancel(context.Background())
	sub := exec.CommandContext(ctx, "mosquitto_sub", "-h", host, "-p", defPort, "-V", "mqttv5", "-i", "sub-default",
		"-c", "-x", "300", "-q", "1", "-t", "lt/#", "-v", "--will-topic", "lt/will", "--will-payload", "gone")
	sub.Stdout, sub.Stderr = subOut, subOut
	if err := sub.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { cancel(); _ = sub.Wait() })
	connected := func(id string) (bool, bool) {
		code, out := apiCall(t, "GET", base+"/clients/"+id, b.cred, "")
		var row struct {
			Connected bool `json:"connected"`
		}
		if code != http.StatusOK || json.Unmarshal([]byte(out), &row) != nil {
			return false, false
		}
		return row.Connected, true
	}
	waitUntil(t, "mosquitto_sub connected", func() bool { on, _ := connected("sub-default"); return on })

	// paho.golang on tcp:other, subscribed to the same topics.
	got := make(chan string, 16)
	conn, err := net.Dial("tcp", other)
	if err != nil {
		t.Fatal(err)
	}
	pc := paho.NewClient(paho.ClientConfig{ClientID: "paho-other", Conn: conn, OnClientError: func(error) {},
		OnPublishReceived: []func(paho.PublishReceived) (bool, error){func(p paho.PublishReceived) (bool, error) {
			got <- string(p.Packet.Payload)
			return true, nil
		}}})
	cctx, ccancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer ccancel()
	if ack, err := pc.Connect(cctx, &paho.Connect{ClientID: "paho-other", CleanStart: true, KeepAlive: 30}); err != nil || ack.ReasonCode != 0 {
		t.Fatalf("paho connect: %v %v", err, ack)
	}
	if _, err := pc.Subscribe(cctx, &paho.Subscribe{Subscriptions: []paho.SubscribeOptions{{Topic: "lt/#", QoS: 1}}}); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = pc.Disconnect(&paho.Disconnect{}) })
	publish := func(port, payload string) error {
		out, err := exec.Command("mosquitto_pub", "-h", host, "-p", port, "-V", "mqttv5", "-q", "1",
			"-t", "lt/x", "-m", payload).CombinedOutput()
		if err != nil {
			return errors.New(string(out))
		}
		return nil
	}
	// receive waits for payload at the paho client.
	receive := func(payload string) {
		t.Helper()
		timeout := time.After(10 * time.Second)
		for {
			select {
			case p := <-got:
				if p == payload {
					return
				}
			case <-timeout:
				t.Fatalf("paho on tcp:other did not receive %q", payload)
			}
		}
	}
	if err := publish(otherPort, "before"); err != nil {
		t.Fatal(err)
	}
	receive("before")
	waitUntil(t, "mosquitto_sub receives before", func() bool { return strings.Contains(subOut.String(), "lt/x before") })

	type listenerRow struct {
		ID      string `json:"id"`
		Enable  bool   `json:"enable"`
		Running bool   `json:"running"`
		Current int    `json:"current_connections"`
		Status  struct {
			Running bool `json:"running"`
		} `json:"status"`
	}
	listeners := func() map[string]listenerRow {
		code, out := apiCall(t, "GET", base+"/listeners", b.cred, "")
		var ls []listenerRow
		if code != http.StatusOK || json.Unmarshal([]byte(out), &ls) != nil {
			t.Fatalf("GET /listeners: %d %s", code, out)
		}
		m := map[string]listenerRow{}
		for _, l := range ls {
			m[l.ID] = l
		}
		return m
	}
	action := func(method, id, act string) {
		t.Helper()
		code, out := apiCall(t, method, base+"/listeners/"+id+"/"+act, b.cred, "")
		if code != http.StatusOK || out != "" {
			t.Fatalf("%s /listeners/%s/%s: %d %q", method, id, act, code, out)
		}
	}
	fds := brokerFDs(t, b)

	// Stop: the client is disconnected (its will published), its session
	// stays; the port refuses connections; the other listener goes on.
	action("PUT", "tcp:default", "stop")
	receive("gone")
	waitUntil(t, "mosquitto_sub disconnected", func() bool { on, ok := connected("sub-default"); return ok && !on })
	if c, err := net.DialTimeout("tcp", def, 2*time.Second); err == nil || !errors.Is(err, syscall.ECONNREFUSED) {
		if c != nil {
			c.Close()
		}
		t.Fatalf("connect to the stopped listener: %v, want refused", err)
	}
	if err := publish(defPort, "refused"); err == nil {
		t.Fatal("mosquitto_pub reached the stopped listener")
	}
	if err := publish(otherPort, "while-stopped"); err != nil {
		t.Fatal(err)
	}
	receive("while-stopped")
	waitUntil(t, "GET /listeners after stop", func() bool {
		ls := listeners()
		return !ls["tcp:default"].Running && !ls["tcp:default"].Status.Running && !ls["tcp:default"].Enable &&
			ls["tcp:default"].Current == 0 && ls["tcp:other"].Running && ls["tcp:other"].Enable && ls["tcp:other"].Current == 1
	})
	action("POST", "tcp:default", "stop") // already stopped: nothing to do, as EMQX

	// Start: mosquitto_sub reconnects by itself and gets what its session
	// queued while it was away.
	action("PUT", "tcp:default", "start")
	waitUntil(t, "mosquitto_sub reconnected", func() bool { on, _ := connected("sub-default"); return on })
	waitUntil(t, "the queued message delivered", func() bool { return strings.Contains(subOut.String(), "lt/x while-stopped") })
	if err := publish(defPort, "after-start"); err != nil {
		t.Fatal(err)
	}
	receive("after-start")
	waitUntil(t, "mosquitto_sub receives after-start", func() bool { return strings.Contains(subOut.String(), "lt/x after-start") })

	// Restart: the listener's client is disconnected and comes back; the
	// other listener's client stays connected throughout.
	action("POST", "tcp:default", "restart")
	waitUntil(t, "mosquitto_sub back after restart", func() bool {
		ls := listeners()
		on, _ := connected("sub-default")
		return on && ls["tcp:default"].Running && ls["tcp:default"].Current == 1
	})
	if err := publish(defPort, "after-restart"); err != nil {
		t.Fatal(err)
	}
	receive("after-restart")
	if on, _ := connected("paho-other"); !on {
		t.Fatal("the other listener's client was disconnected")
	}
	waitUntil(t, "the broker's descriptors back to their count", func() bool { return brokerFDs(t, b) <= fds })

	// Bad input: JSON errors, never a 5xx.
	for _, tc := range []struct {
		method, path string
		status       int
		code         string
	}{
		{"PUT", "/listeners/tcp:nobody/stop", http.StatusNotFound, "BAD_LISTENER_ID"},
		{"PUT", "/listeners/nocolon/stop", http.StatusBadRequest, "BAD_LISTENER_ID"},
		{"PUT", "/listeners/tcp:default/pause", http.StatusNotFound, "NOT_FOUND"},
		{"GET", "/listeners/tcp:default/stop", http.StatusMethodNotAllowed, "METHOD_NOT_ALLOWED"},
		{"DELETE", "/listeners/tcp:default/restart", http.StatusMethodNotAllowed, "METHOD_NOT_ALLOWED"},
		{"PUT", "/listeners/tcp:default/stop?force=1", http.StatusBadRequest, "BAD_REQUEST"},
	} {
		code, out := apiCall(t, tc.method, base+tc.path, b.cred, "")
		var e struct{ Code, Message string }
		if code != tc.status || json.Unmarshal([]byte(out), &e) != nil || e.Code != tc.code || e.Message == "" {
			t.Errorf("%s %s: %d %s, want %d %s", tc.method, tc.path, code, out, tc.status, tc.code)
		}
	}
	if ls := listeners(); !ls["tcp:default"].Running || !ls["tcp:other"].Running {
		t.Fatalf("listeners after the bad requests: %+v", ls)
	}

	// A stop outlives a restart of the broker (the data directory's
	// listeners.json), as in EMQX; a start through the API ends it.
	action("PUT", "tcp:other", "stop")
	_ = pc.Disconnect(&paho.Disconnect{})
	if code := b.stop(t); code != 0 {
		t.Fatalf("exit code %d", code)
	}
	cred := b.cred // printed at the first start only
	b = startOps(t, bin, args...)
	b.cred, base = cred, b.url("/api/v5")
	if ls := listeners(); !ls["tcp:default"].Running || ls["tcp:other"].Running {
		t.Fatalf("listeners after a restart: %+v, want tcp:other still stopped", ls)
	}
	if c, err := net.DialTimeout("tcp", other, 2*time.Second); err == nil || !errors.Is(err, syscall.ECONNREFUSED) {
		if c != nil {
			c.Close()
		}
		t.Fatalf("connect to the listener stopped before the restart: %v, want refused", err)
	}
	action("PUT", "tcp:other", "start")
	if err := publish(otherPort, "reopened"); err != nil {
		t.Fatal(err)
	}
	if code := b.stop(t); code != 0 {
		t.Fatalf("exit code %d", code)
	}
	b = startOps(t, bin, args...)
	b.cred, base = cred, b.url("/api/v5")
	if ls := listeners(); !ls["tcp:default"].Running || !ls["tcp:other"].Running {
		t.Fatalf("listeners after a start and a restart: %+v, want both running", ls)
	}
	if code := b.stop(t); code != 0 {
		t.Fatalf("exit code %d", code)
	}
}

// TestListenerControlOff checks that without --listener-control the
// listener commands answer a 400 that says how to turn them on, and the
// listener keeps serving.
func TestListenerControlOff(t *testing.T) {
	_, bin := buildBroker(t)
	b := startOps(t, bin)
	code, out := apiCall(t, "PUT", b.url("/api/v5/listeners/tcp:default/stop"), b.cred, "")
	var e struct{ Code, Message string }
	if code != http.StatusBadRequest || json.Unmarshal([]byte(out), &e) != nil || e.Code != "BAD_REQUEST" ||
		!strings.Contains(e.Message, "--listener-control") {
		t.Fatalf("stop without listener control: %d %s", code, out)
	}
	if code, out := apiCall(t, "PUT", b.url("/api/v5/listeners/tcp:nobody/stop"), b.cred, ""); code != http.StatusNotFound {
		t.Fatalf("unknown listener without listener control: %d %s", code, out)
	}
	c, err := net.Dial("tcp", b.mqtt)
	if err != nil {
		t.Fatalf("the listener after a refused stop: %v", err)
	}
	c.Close()
	if code := b.stop(t); code != 0 {
		t.Fatalf("exit code %d", code)
	}
}
