package shards

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"net"
	"testing"
	"time"

	"github.com/shardmq/shardmq/mqtt"
	"github.com/shardmq/shardmq/netio"
	"go.uber.org/goleak"
)

// TestMain checks that no goroutine outlives the brokers the tests start
// (gnet's process-wide worker pool is exempt). Every test runs with the
// message lifetime checks (checkMessages: poison on release, panic on a
// use after release or a second release); benchmarks (-test.bench) measure
// the production path without them.
func TestMain(m *testing.M) {
	flag.Parse()
	checkMessages = flag.Lookup("test.bench").Value.String() == ""
	goleak.VerifyTestMain(m,
		goleak.IgnoreAnyFunction("github.com/panjf2000/ants/v2.(*poolCommon).purgeStaleWorkers"),
		goleak.IgnoreAnyFunction("github.com/panjf2000/ants/v2.(*poolCommon).ticktock"),
		goleak.IgnoreAnyFunction("github.com/panjf2000/ants/v2.(*goWorker).run.func1"))
}

// testBroker is a broker served on 127.0.0.1 with two loops.
type testBroker struct {
	*Broker
	srv  *netio.Server
	addr string
	sink *memSink
}

// startBroker starts a broker for cfg (listener on a free port) and stops
// it when the test ends.
func startBroker(t testing.TB, cfg Config, ncfg netio.Config) *testBroker {
	t.Helper()
	sink := newMemSink()
	if cfg.Sink == nil {
		cfg.Sink = sink
	}
	b, err := New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	ncfg.Listeners = []netio.Listener{{Addr: "127.0.0.1:0"}}
	if ncfg.Loops == 0 {
		ncfg.Loops = 2
	}
	if ncfg.TickInterval == 0 {
		ncfg.TickInterval = 20 * time.Millisecond
	}
	srv, err := netio.New(ncfg, b)
	if err != nil {
		t.Fatal(err)
	}
	if err := srv.Start(); err != nil {
		t.Fatal(err)
	}
	tb := &testBroker{Broker: b, srv: srv, addr: srv.Addr().String(), sink: sink}
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		if err := srv.Shutdown(ctx); err != nil {
			t.Errorf("shutdown: %v", err)
		}
	})
	return tb
}

// waitFor polls cond every 5 ms until it holds, failing the test after 20 s.
func waitFor(t testing.TB, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(20 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(5 * time.Millisecond)
	}
}

// info returns the live row of id, failing the test if it is missing.
func (tb *testBroker) info(t testing.TB, id string) ClientRow {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	r, err := tb.ClientInfo(ctx, id)
	if err != nil {
		t.Fatalf("ClientInfo(%q): %v", id, err)
	}
	return r
}

// rawClient speaks MQTT over a plain TCP socket with the codec, so tests
// control every byte (no automatic acks, no retries).
type rawClient struct {
	t    testing.TB
	c    net.Conn
	v    mqtt.Version
	recv []byte
}

// dialRaw opens a TCP connection to the broker.
func dialRaw(t testing.TB, addr string, v mqtt.Version) *rawClient {
	t.Helper()
	c, err := net.Dial("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	return &rawClient{t: t, c: c, v: v}
}

// connect sends CONNECT and returns the CONNACK.
func connectRaw(t testing.TB, addr string, p *mqtt.Connect) (*rawClient, *mqtt.Connack) {
	t.Helper()
	rc := dialRaw(t, addr, p.Version)
	rc.write(mqtt.AppendConnect(nil, p, p.Version))
	h, body := rc.read()
	if h.Type != mqtt.TypeConnack {
		t.Fatalf("got %v, want CONNACK", h.Type)
	}
	var ack mqtt.Connack
	if err := ack.Decode(h, body, p.Version); err != nil {
		t.Fatal(err)
	}
	return rc, &ack
}

func (rc *rawClient) write(b []byte) {
	rc.t.Helper()
	if _, err := rc.c.Write(b); err != nil {
		rc.t.Fatalf("write: %v", err)
	}
}

// readErr returns the next frame, or an error (io.EOF when the broker
// closed the connection).
func (rc *rawClient) readErr(timeout time.Duration) (mqtt.FixedHeader, []byte, error) {
	_ = rc.c.SetReadDeadline(time.Now().Add(timeout))
	tmp := make([]byte, 4096)
	for {
		h, n, err := mqtt.Frame(rc.recv, 0)
		if err != nil {
			return h, nil, err
		}
		if n > 0 {
			frame := append([]byte(nil), rc.recv[:n]...)
			rc.recv = rc.recv[n:]
			return h, frame[h.HeaderLen:], nil
		}
		m, err := rc.c.Read(tmp)
		rc.recv = append(rc.recv, tmp[:m]...)
		if err != nil && m == 0 {
			return h, nil, err
		}
	}
}

// read returns the next frame, failing the test on error.
func (rc *rawClient) read() (mqtt.FixedHeader, []byte) {
	rc.t.Helper()
	// Generous: a loaded CI machine (or bcrypt in an auth test) can be slow.
	h, body, err := rc.readErr(15 * time.Second)
	if err != nil {
		rc.t.Fatalf("read: %v", err)
	}
	return h, body
}

// readPublish reads the next packet and decodes it as a PUBLISH.
func (rc *rawClient) readPublish() *mqtt.Publish {
	rc.t.Helper()
	h, body := rc.read()
	if h.Type != mqtt.TypePublish {
		rc.t.Fatalf("got %v, want PUBLISH", h.Type)
	}
	p := new(mqtt.Publish)
	if err := p.Decode(h, body, rc.v); err != nil {
		rc.t.Fatal(err)
	}
	return p
}

// readPublishAck reads the two packets a client subscribed to its own
// QoS 1/2 PUBLISH gets back in one batch, in either order: the
// acknowledgement ack and the routed PUBLISH, which it decodes. It fails
// the test on any other packet and returns the PUBLISH and the bytes of
// both packets.
func (rc *rawClient) readPublishAck(ack mqtt.PacketType) (*mqtt.Publish, int) {
	rc.t.Helper()
	var p *mqtt.Publish
	acked, n := false, 0
	for range 2 {
		h, body := rc.read()
		n += h.HeaderLen + len(body)
		switch {
		case h.Type == mqtt.TypePublish && p == nil:
			p = new(mqtt.Publish)
			if err := p.Decode(h, body, rc.v); err != nil {
				rc.t.Fatal(err)
			}
		case h.Type == ack && !acked:
			acked = true
		default:
			rc.t.Fatalf("got %v, want one %v and one PUBLISH", h.Type, ack)
		}
	}
	return p, n
}

// expectClosed reads until the broker closes the connection and returns
// the reason code of a DISCONNECT received on the way (0 when none).
func (rc *rawClient) expectClosed() (mqtt.ReasonCode, bool) {
	rc.t.Helper()
	var rcode mqtt.ReasonCode
	got := false
	for {
		h, body, err := rc.readErr(15 * time.Second)
		if err != nil {
			var ne net.Error
			if errors.As(err, &ne) && ne.Timeout() {
				rc.t.Fatal("connection not closed by the broker")
			}
			if errors.Is(err, io.EOF) || errors.Is(err, net.ErrClosed) || isReset(err) {
				return rcode, got
			}
			return rcode, got // a codec error on garbage counts as closed below
		}
		if h.Type == mqtt.TypeDisconnect {
			var d mqtt.Disconnect
			if err := d.Decode(h, body, rc.v); err == nil {
				rcode, got = d.ReasonCode, true
			}
		}
		if h.Type == mqtt.TypeConnack {
			var a mqtt.Connack
			if err := a.Decode(h, body, rc.v); err == nil {
				rcode, got = a.ReasonCode, true
			}
		}
	}
}

func isReset(err error) bool {
	var oe *net.OpError
	return errors.As(err, &oe)
}

// subscribe sends SUBSCRIBE and returns the SUBACK codes.
func (rc *rawClient) subscribe(id uint16, subs ...mqtt.Subscription) []mqtt.ReasonCode {
	rc.t.Helper()
	rc.write(mqtt.AppendSubscribe(nil, &mqtt.Subscribe{PacketID: id, Subscriptions: subs}, rc.v))
	h, body := rc.read()
	var ack mqtt.Suback
	if h.Type != mqtt.TypeSuback {
		rc.t.Fatalf("got %v, want SUBACK", h.Type)
	}
	if err := ack.Decode(h, body, rc.v); err != nil {
		rc.t.Fatal(err)
	}
	return ack.ReasonCodes
}

// publish sends a PUBLISH (no waiting for acknowledgements).
func (rc *rawClient) publish(topic string, payload string, qos byte, retain bool, id uint16) {
	rc.write(mqtt.AppendPublish(nil, &mqtt.Publish{Topic: []byte(topic), Payload: []byte(payload),
		QoS: qos, Retain: retain, PacketID: id}, rc.v))
}

// expectSilence checks that nothing arrives for d.
func (rc *rawClient) expectSilence(d time.Duration) {
	rc.t.Helper()
	h, _, err := rc.readErr(d)
	if err == nil {
		rc.t.Fatalf("unexpected %v", h.Type)
	}
}

// memSink records what the broker's shards send to the catalog.
type memSink struct {
	ch chan any
}

func newMemSink() *memSink { return &memSink{ch: make(chan any, 1<<16)} }

func (m *memSink) Upsert(rows []ClientRow)     { m.push(rows) }
func (m *memSink) UpdateStats(u []StatsUpdate) { m.push(u) }
func (m *memSink) Remove(ids []string)         { m.push(ids) }
func (m *memSink) push(v any) {
	select {
	case m.ch <- v:
	default:
	}
}

func conn5(id string) *mqtt.Connect {
	return &mqtt.Connect{Version: mqtt.V5, ClientID: []byte(id), CleanStart: true, KeepAlive: 60}
}

func conn311(id string, clean bool) *mqtt.Connect {
	return &mqtt.Connect{Version: mqtt.V311, ClientID: []byte(id), CleanStart: clean, KeepAlive: 60}
}

func sub(filter string, qos byte) mqtt.Subscription {
	return mqtt.Subscription{Filter: []byte(filter), QoS: qos}
}

var _ = fmt.Sprintf
