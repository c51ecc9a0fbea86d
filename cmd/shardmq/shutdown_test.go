package main

import (
	"bufio"
	"bytes"
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"io"
	"net"
	"net/http"
	"os"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/eclipse/paho.golang/paho"
	"github.com/shardmq/shardmq/mqtt"
)

// rawV5 is an MQTT 5 subscriber on a plain socket: the test decides when
// it reads.
type rawV5 struct {
	c   *net.TCPConn
	buf []byte
}

func dialRawV5(t *testing.T, addr, id, filter string) *rawV5 {
	t.Helper()
	c, err := net.Dial("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	r := &rawV5{c: c.(*net.TCPConn)}
	// A small socket buffer keeps what the test does not read in the
	// broker's outbound queue.
	_ = r.c.SetReadBuffer(32 << 10)
	r.write(t, mqtt.AppendConnect(nil, &mqtt.Connect{Version: mqtt.V5, ClientID: []byte(id), CleanStart: true, KeepAlive: 60}, mqtt.V5))
	if h, _ := r.next(t); h.Type != mqtt.TypeConnack {
		t.Fatalf("got %v, want CONNACK", h.Type)
	}
	r.write(t, mqtt.AppendSubscribe(nil, &mqtt.Subscribe{PacketID: 1,
		Subscriptions: []mqtt.Subscription{{Filter: []byte(filter)}}}, mqtt.V5))
	if h, _ := r.next(t); h.Type != mqtt.TypeSuback {
		t.Fatalf("got %v, want SUBACK", h.Type)
	}
	return r
}

func (r *rawV5) write(t *testing.T, b []byte) {
	t.Helper()
	if _, err := r.c.Write(b); err != nil {
		t.Fatal(err)
	}
}

// next returns the next packet; io.EOF once the broker closed the
// connection.
func (r *rawV5) nextErr() (mqtt.FixedHeader, []byte, error) {
	_ = r.c.SetReadDeadline(time.Now().Add(10 * time.Second))
	tmp := make([]byte, 64<<10)
	for {
		h, n, err := mqtt.Frame(r.buf, 0)
		if err != nil {
			return h, nil, err
		}
		if n > 0 {
			body := bytes.Clone(r.buf[h.HeaderLen:n])
			r.buf = r.buf[n:]
			return h, body, nil
		}
		m, err := r.c.Read(tmp)
		r.buf = append(r.buf, tmp[:m]...)
		if err != nil && m == 0 {
			if errors.Is(err, syscall.ECONNRESET) {
				err = io.EOF
			}
			return h, nil, err
		}
	}
}

func (r *rawV5) next(t *testing.T) (mqtt.FixedHeader, []byte) {
	t.Helper()
	h, body, err := r.nextErr()
	if err != nil {
		t.Fatal(err)
	}
	return h, body
}

// TestGracefulShutdown stops a real broker with SIGTERM while an MQTT 5
// subscriber has not read hundreds of messages: it gets every one of them,
// then DISCONNECT 0x8B (server shutting down), then the close; a paho
// client gets 0x8B too; the process exits 0 and its JSON log says so.
func TestGracefulShutdown(t *testing.T) {
	_, bin := buildBroker(t)
	b := startOps(t, bin, "--shutdown-timeout", "8s", "--log-format", "json")
	slow := dialRawV5(t, b.mqtt, "slow", "flush/#")
	reasons := make(chan byte, 1)
	pahoV5(t, b.mqtt, "watcher", func(d *paho.Disconnect) { reasons <- d.ReasonCode })
	pub := pahoV5(t, b.mqtt, "pub", nil)

	const n = 400
	payload := bytes.Repeat([]byte{'x'}, 1000)
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	for i := 0; i < n; i++ {
		if _, err := pub.Publish(ctx, &paho.Publish{Topic: "flush/x", Payload: payload}); err != nil {
			t.Fatal(err)
		}
	}
	// The broker has handed every message to the slow subscriber's
	// connection (its counters say so) before the signal.
	waitUntil(t, "the broker to send all messages", func() bool {
		_, body := httpGet(b.url("/metrics"), "")
		return metricValue(body, `shardmq_messages_sent_total{qos="0"}`) == n
	})
	if err := b.cmd.Process.Signal(syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}

	select {
	case rc := <-reasons:
		if rc != byte(mqtt.ServerShuttingDown) {
			t.Fatalf("paho client got DISCONNECT %#x, want 0x8B", rc)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("paho client got no DISCONNECT")
	}

	// Now read quickly: a larger window.
	_ = slow.c.SetReadBuffer(4 << 20)
	got := 0
	var disconnect *mqtt.Disconnect
	for {
		h, body, err := slow.nextErr()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			t.Fatalf("after %d messages: %v", got, err)
		}
		switch h.Type {
		case mqtt.TypePublish:
			if disconnect != nil {
				t.Fatal("PUBLISH after DISCONNECT")
			}
			got++
		case mqtt.TypeDisconnect:
			disconnect = new(mqtt.Disconnect)
			if err := disconnect.Decode(h, body, mqtt.V5); err != nil {
				t.Fatal(err)
			}
		default:
			t.Fatalf("unexpected %v", h.Type)
		}
	}
	if got != n || disconnect == nil || disconnect.ReasonCode != mqtt.ServerShuttingDown {
		t.Fatalf("slow subscriber got %d of %d messages, then %+v; want all, then DISCONNECT 0x8B", got, n, disconnect)
	}

	if code := b.wait(t); code != 0 {
		log, _ := os.ReadFile(b.logPath)
		t.Fatalf("exit code %d\n%s", code, log)
	}
	log, err := os.ReadFile(b.logPath)
	if err != nil {
		t.Fatal(err)
	}
	stopping := false
	for _, line := range bytes.Split(bytes.TrimSpace(log), []byte("\n")) {
		var rec struct {
			Level, Msg string
			Deadline   string `json:"deadline"`
		}
		if err := json.Unmarshal(line, &rec); err != nil || rec.Level == "" || rec.Msg == "" {
			t.Fatalf("log line is not a JSON record: %s", line)
		}
		if rec.Msg == "shardmq: stopping" && rec.Deadline == "8s" {
			stopping = true
		}
	}
	if !stopping {
		t.Fatalf("no stopping record in the log:\n%s", log)
	}
}

// TestShutdownAPIRequests checks the API's part of the stop: a request in
// flight when SIGTERM arrives is answered before the process exits, and
// one that does not finish within shutdown_timeout is cut at the deadline
// (exit code 1, the reason logged).
func TestShutdownAPIRequests(t *testing.T) {
	_, bin := buildBroker(t)
	body := `{"topic":"t/1","payload":"hello"}`
	// startRequest sends a publish request's headers and the first byte of
	// its body, and waits until the broker has read them.
	startRequest := func(b *opsBroker) net.Conn {
		c, err := net.Dial("tcp", b.api)
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { c.Close() })
		k, s, _ := strings.Cut(b.cred, ":")
		req := "POST /api/v5/publish HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n" +
			"Authorization: Basic " + base64.StdEncoding.EncodeToString([]byte(k+":"+s)) + "\r\n" +
			"Content-Length: " + strconv.Itoa(len(body)) + "\r\n\r\n" + body[:1]
		if _, err := io.WriteString(c, req); err != nil {
			t.Fatal(err)
		}
		return c
	}
	t.Run("in flight is answered", func(t *testing.T) {
		b := startOps(t, bin, "--shutdown-timeout", "10s")
		c := startRequest(b)
		if code, _ := httpGet(b.url("/status"), ""); code != http.StatusOK {
			t.Fatalf("status %d", code)
		}
		if err := b.cmd.Process.Signal(syscall.SIGTERM); err != nil {
			t.Fatal(err)
		}
		// While the API drains, /status says 503 (or the MQTT side is
		// already gone and the listener closed).
		waitUntil(t, "GET /status to stop answering 200", func() bool {
			code, _ := httpGet(b.url("/status"), "")
			return code != http.StatusOK
		})
		if _, err := io.WriteString(c, body[1:]); err != nil {
			t.Fatal(err)
		}
		_ = c.SetReadDeadline(time.Now().Add(10 * time.Second))
		res, err := http.ReadResponse(bufio.NewReader(c), nil)
		if err != nil {
			t.Fatalf("the in-flight request got no answer: %v", err)
		}
		res.Body.Close()
		if res.StatusCode != http.StatusAccepted { // no subscriber: 202
			t.Fatalf("status %d", res.StatusCode)
		}
		if code := b.wait(t); code != 0 {
			log, _ := os.ReadFile(b.logPath)
			t.Fatalf("exit code %d\n%s", code, log)
		}
	})
	t.Run("deadline", func(t *testing.T) {
		b := startOps(t, bin, "--shutdown-timeout", "300ms")
		startRequest(b) // never finished
		if code, _ := httpGet(b.url("/status"), ""); code != http.StatusOK {
			t.Fatalf("status %d", code)
		}
		if err := b.cmd.Process.Signal(syscall.SIGTERM); err != nil {
			t.Fatal(err)
		}
		code := b.wait(t)
		log, _ := os.ReadFile(b.logPath)
		if code != 1 || !bytes.Contains(log, []byte("context deadline exceeded")) {
			t.Fatalf("exit code %d, want 1 with the deadline logged\n%s", code, log)
		}
	})
}
