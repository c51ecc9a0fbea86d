package coap_test

import (
	"bytes"
	"context"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/eclipse/paho.golang/paho"
	pahov3 "github.com/eclipse/paho.mqtt.golang"
	"github.com/plgd-dev/go-coap/v3/message"
	"github.com/plgd-dev/go-coap/v3/message/codes"
	"github.com/plgd-dev/go-coap/v3/message/pool"
	"github.com/plgd-dev/go-coap/v3/udp"
	"github.com/plgd-dev/go-coap/v3/udp/coder"
	"github.com/shardmq/shardmq/internal/gatewaytest"
	"github.com/shardmq/shardmq/shards"
	"github.com/shardmq/shardmq/shards/auth"
	"github.com/shardmq/shardmq/shards/gateway/coap"
)

type env struct {
	b   *shards.Broker
	gw  *coap.Gateway
	tcp string
	udp string
}

func start(t *testing.T, gcfg coap.Config, mut func(*shards.Config)) *env {
	t.Helper()
	gw, err := coap.New(gcfg)
	if err != nil {
		t.Fatal(err)
	}
	e := gatewaytest.Start(t, gw, "coap", "CoAP", mut)
	return &env{b: e.Broker, gw: gw, tcp: e.TCP, udp: e.UDP}
}

type received = gatewaytest.Received

func mqttSub(t *testing.T, addr, filter string) *received {
	t.Helper()
	rec := &received{}
	o := pahov3.NewClientOptions().AddBroker("tcp://" + addr).SetClientID("sub-" + filter).SetAutoReconnect(false).
		SetDefaultPublishHandler(rec.Add)
	c := pahov3.NewClient(o)
	if tok := c.Connect(); !tok.WaitTimeout(5*time.Second) || tok.Error() != nil {
		t.Fatal(tok.Error())
	}
	t.Cleanup(func() { c.Disconnect(50) })
	if tok := c.Subscribe(filter, 1, nil); !tok.WaitTimeout(5*time.Second) || tok.Error() != nil {
		t.Fatal(tok.Error())
	}
	return rec
}

func mqttPub(t *testing.T, addr, topic string, qos byte, payload []byte) {
	t.Helper()
	c := pahov3.NewClient(pahov3.NewClientOptions().AddBroker("tcp://" + addr).SetClientID("pub").SetAutoReconnect(false))
	if tok := c.Connect(); !tok.WaitTimeout(5*time.Second) || tok.Error() != nil {
		t.Fatal(tok.Error())
	}
	defer c.Disconnect(50)
	if tok := c.Publish(topic, qos, false, payload); !tok.WaitTimeout(5*time.Second) || tok.Error() != nil {
		t.Fatal(tok.Error())
	}
}

// coapClient runs Debian's coap-client (libcoap3-bin) and returns its
// output.
func coapClient(t *testing.T, args ...string) string {
	t.Helper()
	bin, err := exec.LookPath("coap-client-notls")
	if err != nil {
		t.Fatal("coap-client-notls not found: run `make deps` (libcoap3-bin) first")
	}
	out, err := exec.Command(bin, append([]string{"-B", "5"}, args...)...).CombinedOutput()
	if err != nil {
		t.Fatalf("coap-client %v: %v\n%s", args, err, out)
	}
	return strings.TrimSpace(string(out))
}

// TestCoapClientPublish: coap-client publishes connectionless (client id
// in the query) and through a connection with a token; an MQTT subscriber
// gets both; a wrong token is refused; DELETE ends the session.
func TestCoapClientPublish(t *testing.T) {
	e := start(t, coap.Config{}, nil)
	rec := mqttSub(t, e.tcp, "sensors/#")
	base := "coap://" + e.udp
	if out := coapClient(t, "-m", "post", "-e", "21.5", base+"/ps/sensors/t1?clientid=dev1&qos=1"); out != "" {
		t.Fatalf("coap-client said %q", out)
	}
	token := coapClient(t, "-m", "post", base+"/mqtt/connection?clientid=dev2&username=u&password=p")
	if len(token) != 16 {
		t.Fatalf("token %q", token)
	}
	coapClient(t, "-m", "post", "-e", "on", base+"/ps/sensors/t2?clientid=dev2&token="+token)
	got := rec.Wait(t, 2)
	if got[0] != "sensors/t1 1 21.5" || got[1] != "sensors/t2 0 on" {
		t.Fatalf("MQTT got %q", got)
	}
	if out := coapClient(t, "-m", "post", "-e", "x", base+"/ps/sensors/t2?clientid=dev2&token=bad"); !strings.Contains(out, "4.01") {
		t.Fatalf("wrong token: %q", out)
	}
	if out := coapClient(t, "-m", "post", "-e", "x", base+"/ps/sensors/t2?clientid=dev2"); !strings.Contains(out, "4.01") {
		t.Fatalf("no token for a connected client: %q", out)
	}
	coapClient(t, "-m", "put", base+"/mqtt/connection?clientid=dev2&token="+token)
	row, err := e.b.ClientInfo(context.Background(), "dev2")
	if err != nil || row.ProtoName != "CoAP" || row.ProtoVer != 1 || row.Listener != "udp:coap" || row.Username != "u" {
		t.Fatalf("row %+v %v", row, err)
	}
	coapClient(t, "-m", "delete", base+"/mqtt/connection?clientid=dev2&token="+token)
	gatewaytest.WaitFor(t, "the session gone", func() bool {
		_, err := e.b.ClientInfo(context.Background(), "dev2")
		return err != nil
	})
}

// TestObserve: a go-coap client observes a filter; MQTT publishes reach it
// as notifications, one larger than a block in Block2 blocks; cancelling
// unsubscribes.
func TestObserve(t *testing.T) {
	e := start(t, coap.Config{BlockSize: 64}, nil)
	cc, err := udp.Dial(e.udp)
	if err != nil {
		t.Fatal(err)
	}
	defer cc.Close()
	got := make(chan []byte, 10)
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	obs, err := cc.Observe(ctx, "/ps/alerts/+", func(m *pool.Message) {
		if m.Code() != codes.Content {
			return
		}
		b, _ := m.ReadBody()
		if len(b) > 0 {
			got <- b
		}
	}, message.Option{ID: message.URIQuery, Value: []byte("clientid=watcher")}, message.Option{ID: message.URIQuery, Value: []byte("qos=1")})
	if err != nil {
		t.Fatal(err)
	}
	gatewaytest.WaitFor(t, "the subscription", func() bool {
		subs, err := e.b.Subscriptions(context.Background(), "watcher")
		return err == nil && len(subs) == 1 && subs[0].Topic == "alerts/+"
	})
	mqttPub(t, e.tcp, "alerts/fire", 1, []byte("fire!"))
	select {
	case b := <-got:
		if string(b) != "fire!" {
			t.Fatalf("notification %q", b)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("no notification")
	}
	big := bytes.Repeat([]byte("0123456789"), 30) // 300 B: 5 blocks of 64
	mqttPub(t, e.tcp, "alerts/log", 0, big)
	select {
	case b := <-got:
		if !bytes.Equal(b, big) {
			t.Fatalf("block-wise notification: %d bytes %q", len(b), b)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("no block-wise notification")
	}
	if err := obs.Cancel(ctx, message.Option{ID: message.URIQuery, Value: []byte("clientid=watcher")}); err != nil {
		t.Fatal(err)
	}
	gatewaytest.WaitFor(t, "the unsubscription", func() bool {
		subs, err := e.b.Subscriptions(context.Background(), "watcher")
		return err == nil && len(subs) == 0
	})
}

// TestBlock1: coap-client sends a body in 64-byte blocks; the broker gets
// it whole.
func TestBlock1(t *testing.T) {
	e := start(t, coap.Config{MaxBody: 4096}, nil)
	rec := mqttSub(t, e.tcp, "fw/#")
	body := bytes.Repeat([]byte("abcdefgh"), 250) // 2000 B
	file := filepath.Join(t.TempDir(), "body")
	if err := os.WriteFile(file, body, 0o600); err != nil {
		t.Fatal(err)
	}
	coapClient(t, "-m", "post", "-b", "64", "-f", file, "coap://"+e.udp+"/ps/fw/image?clientid=up1")
	got := rec.Wait(t, 1)
	if got[0] != "fw/image 0 "+string(body) {
		t.Fatalf("got %d bytes", len(got[0]))
	}
	big := filepath.Join(t.TempDir(), "big")
	if err := os.WriteFile(big, bytes.Repeat([]byte{'x'}, 5000), 0o600); err != nil {
		t.Fatal(err)
	}
	if out := coapClient(t, "-m", "post", "-b", "64", "-f", big, "coap://"+e.udp+"/ps/fw/image?clientid=up1"); !strings.Contains(out, "4.13") {
		t.Fatalf("a body over MaxBody: %q", out)
	}
}

// raw sends one CoAP message over UDP and returns the reply.
func raw(t *testing.T, c net.Conn, m *message.Message) *message.Message {
	t.Helper()
	size, _ := coder.DefaultCoder.Size(*m)
	b := make([]byte, size)
	if _, err := coder.DefaultCoder.Encode(*m, b); err != nil {
		t.Fatal(err)
	}
	if _, err := c.Write(b); err != nil {
		t.Fatal(err)
	}
	return readRaw(t, c)
}

func readRaw(t *testing.T, c net.Conn) *message.Message {
	t.Helper()
	buf := make([]byte, 2048)
	_ = c.SetReadDeadline(time.Now().Add(5 * time.Second))
	n, err := c.Read(buf)
	if err != nil {
		t.Fatal(err)
	}
	r := message.Message{Options: make(message.Options, 0, 16)}
	if _, err := coder.DefaultCoder.Decode(buf[:n], &r); err != nil {
		t.Fatal(err)
	}
	r.Payload = append([]byte(nil), r.Payload...)
	return &r
}

func post(path string, mid int32, queries ...string) *message.Message {
	m := &message.Message{Type: message.Confirmable, Code: codes.POST, MessageID: mid, Token: []byte{1, 2}, Payload: []byte("p")}
	for _, seg := range strings.Split(strings.Trim(path, "/"), "/") {
		m.Options = append(m.Options, message.Option{ID: message.URIPath, Value: []byte(seg)})
	}
	for _, q := range queries {
		m.Options = append(m.Options, message.Option{ID: message.URIQuery, Value: []byte(q)})
	}
	return m
}

// TestDuplicateAndErrors: a confirmable request sent twice is handled once
// and answered twice alike; bad requests get their CoAP codes; datagrams
// that are not CoAP are counted (a confirmable one gets RST).
func TestDuplicateAndErrors(t *testing.T) {
	dir := t.TempDir()
	acl := filepath.Join(dir, "acl")
	if err := os.WriteFile(acl, []byte("allow all all open/#\nallow clientid sub-# all #\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	az, err := auth.New(auth.Config{ACLFile: acl})
	if err != nil {
		t.Fatal(err)
	}
	e := start(t, coap.Config{}, func(c *shards.Config) { c.Auth = az })
	rec := mqttSub(t, e.tcp, "#")
	c, err := net.Dial("udp", e.udp)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	first := raw(t, c, post("/ps/open/once", 100, "clientid=d1", "qos=1"))
	second := raw(t, c, post("/ps/open/once", 100, "clientid=d1", "qos=1"))
	if first.Code != codes.Changed || first.Type != message.Acknowledgement || first.MessageID != 100 ||
		second.Code != first.Code || second.MessageID != 100 {
		t.Fatalf("answers %v / %v", first, second)
	}
	time.Sleep(200 * time.Millisecond)
	if got := rec.Wait(t, 1); len(got) != 1 {
		t.Fatalf("a duplicate was published again: %q", got)
	}
	for _, tc := range []struct {
		m    *message.Message
		code codes.Code
	}{
		{post("/nothing", 101, "clientid=d1"), codes.NotFound},
		{post("/ps/open/x", 102), codes.BadRequest},                         // no client id
		{post("/ps/open/x", 103, "clientid=d1", "qos=7"), codes.BadRequest}, // bad qos
		{post("/ps/closed/x", 104, "clientid=d1", "qos=1"), codes.Forbidden},
		{post("/ps/open/x", 105, "clientid=d1", "token=nope"), codes.Unauthorized},
		{&message.Message{Type: message.Confirmable, Code: codes.DELETE, MessageID: 106, Options: message.Options{
			{ID: message.URIPath, Value: []byte("ps")}, {ID: message.URIPath, Value: []byte("x")},
			{ID: message.URIQuery, Value: []byte("clientid=d1")}}}, codes.MethodNotAllowed},
	} {
		if r := raw(t, c, tc.m); r.Code != tc.code || r.MessageID != tc.m.MessageID {
			t.Errorf("%v: got %v, want %v", tc.m, r.Code, tc.code)
		}
	}
	// A confirmable message with a token length of 9 (at most 8): RST
	// (RFC 7252 section 4.2); another CoAP version is ignored.
	if _, err := c.Write([]byte{0x00, 0x01, 0x02, 0x03}); err != nil {
		t.Fatal(err)
	}
	if _, err := c.Write([]byte{0x49, 0x01, 0x02, 0x03}); err != nil {
		t.Fatal(err)
	}
	if r := readRaw(t, c); r.Type != message.Reset || r.MessageID != 0x0203 {
		t.Fatalf("malformed: %v", r)
	}
	if s := e.gw.Stats(); s.Dropped[0] != 2 || s.Dropped[2] != 1 {
		t.Fatalf("stats %+v", s)
	}

	e2 := start(t, coap.Config{ConnectionRequired: true}, nil)
	c2, _ := net.Dial("udp", e2.udp)
	defer c2.Close()
	if r := raw(t, c2, post("/ps/a", 1, "clientid=d2")); r.Code != codes.Unauthorized {
		t.Fatalf("connection required: %v", r.Code)
	}
}

// TestToMQTT5: a CoAP publish reaches an MQTT 5 subscriber (paho.golang)
// with its QoS and retain flag.
func TestToMQTT5(t *testing.T) {
	e := start(t, coap.Config{}, nil)
	conn, err := net.Dial("tcp", e.tcp)
	if err != nil {
		t.Fatal(err)
	}
	got := make(chan *paho.Publish, 4)
	pc := paho.NewClient(paho.ClientConfig{ClientID: "v5sub", Conn: conn, OnClientError: func(error) {},
		OnPublishReceived: []func(paho.PublishReceived) (bool, error){func(pr paho.PublishReceived) (bool, error) {
			got <- pr.Packet
			return true, nil
		}}})
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if _, err := pc.Connect(ctx, &paho.Connect{ClientID: "v5sub", CleanStart: true, KeepAlive: 30}); err != nil {
		t.Fatal(err)
	}
	defer pc.Disconnect(&paho.Disconnect{})
	if _, err := pc.Subscribe(ctx, &paho.Subscribe{Subscriptions: []paho.SubscribeOptions{{Topic: "meter/#", QoS: 1}}}); err != nil {
		t.Fatal(err)
	}
	coapClient(t, "-m", "post", "-e", "42kWh", "coap://"+e.udp+"/ps/meter/7?clientid=meter7&qos=1&retain=true")
	select {
	case p := <-got:
		if p.Topic != "meter/7" || string(p.Payload) != "42kWh" || p.QoS != 1 {
			t.Fatalf("MQTT 5 subscriber got %+v", p)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("nothing reached the MQTT 5 subscriber")
	}
}

func observeReq(mid int32, token byte, filter string, observe byte, queries ...string) *message.Message {
	m := &message.Message{Type: message.Confirmable, Code: codes.GET, MessageID: mid, Token: []byte{token}}
	m.Options = append(m.Options, message.Option{ID: message.Observe, Value: []byte{observe}})
	for _, seg := range strings.Split(filter, "/") {
		m.Options = append(m.Options, message.Option{ID: message.URIPath, Value: []byte(seg)})
	}
	for _, q := range queries {
		m.Options = append(m.Options, message.Option{ID: message.URIQuery, Value: []byte(q)})
	}
	if observe == 0 {
		m.Options[0].Value = nil // Observe 0 is the empty uint
	}
	return m
}

// TestConfirmableNotifications: a notification of a QoS 1 message is
// confirmable and sent again until acknowledged; an unacknowledged one
// ends the observation after MaxRetransmit, and so does an RST.
func TestConfirmableNotifications(t *testing.T) {
	e := start(t, coap.Config{AckTimeout: 100 * time.Millisecond, MaxRetransmit: 2}, nil)
	c, err := net.Dial("udp", e.udp)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	subs := func(id string) int {
		s, err := e.b.Subscriptions(context.Background(), id)
		if err != nil {
			return -1
		}
		return len(s)
	}
	if r := raw(t, c, observeReq(1, 7, "ps/dev/+/cmd", 0, "clientid=obs", "qos=1")); r.Code != codes.Content {
		t.Fatalf("observe: %v", r)
	}
	mqttPub(t, e.tcp, "dev/1/cmd", 1, []byte("reboot"))
	n := readRaw(t, c)
	if n.Type != message.Confirmable || n.Code != codes.Content || string(n.Payload) != "reboot" || n.Token[0] != 7 {
		t.Fatalf("notification %v", n)
	}
	again := readRaw(t, c) // not acknowledged: sent again, same message id
	if again.MessageID != n.MessageID || string(again.Payload) != "reboot" {
		t.Fatalf("retransmission %v", again)
	}
	ack, _ := encode(&message.Message{Type: message.Acknowledgement, Code: codes.Empty, MessageID: n.MessageID})
	c.Write(ack)
	mqttPub(t, e.tcp, "dev/2/cmd", 1, []byte("ignored"))
	readRaw(t, c)
	readRaw(t, c)
	readRaw(t, c) // the first send and MaxRetransmit (2) more, then the observation ends
	gatewaytest.WaitFor(t, "the observation ended", func() bool { return subs("obs") == 0 })
	if s := e.gw.Stats(); s.Retransmitted != 3 || s.Dropped[4] != 1 {
		t.Fatalf("stats %+v", s)
	}

	if r := raw(t, c, observeReq(2, 8, "ps/dev/+/cmd", 0, "clientid=obs", "qos=1")); r.Code != codes.Content {
		t.Fatalf("observe: %v", r)
	}
	mqttPub(t, e.tcp, "dev/3/cmd", 1, []byte("x"))
	n = readRaw(t, c)
	rst, _ := encode(&message.Message{Type: message.Reset, Code: codes.Empty, MessageID: n.MessageID})
	c.Write(rst)
	gatewaytest.WaitFor(t, "the observation ended by RST", func() bool { return subs("obs") == 0 })

	if r := raw(t, c, observeReq(3, 9, "ps/dev/#", 0, "clientid=obs")); r.Code != codes.Content {
		t.Fatalf("observe: %v", r)
	}
	if r := raw(t, c, observeReq(4, 9, "ps/dev/#", 1, "clientid=obs")); r.Code != codes.Content {
		t.Fatalf("cancel: %v", r)
	}
	gatewaytest.WaitFor(t, "the observation cancelled", func() bool { return subs("obs") == 0 })
}

// TestHeartbeat: a connectionless client silent past 1.5 × the heartbeat
// is lost; PUT /mqtt/connection keeps a connected one.
func TestHeartbeat(t *testing.T) {
	e := start(t, coap.Config{Heartbeat: time.Second}, nil)
	base := "coap://" + e.udp
	coapClient(t, "-m", "post", "-e", "x", base+"/ps/a?clientid=quiet")
	token := coapClient(t, "-m", "post", base+"/mqtt/connection?clientid=alive")
	start := time.Now()
	for time.Since(start) < 2500*time.Millisecond {
		coapClient(t, "-m", "put", base+"/mqtt/connection?clientid=alive&token="+token)
		time.Sleep(300 * time.Millisecond)
	}
	if _, err := e.b.ClientInfo(context.Background(), "quiet"); err == nil {
		t.Fatal("the silent client is still there")
	}
	if row, err := e.b.ClientInfo(context.Background(), "alive"); err != nil || !row.Connected {
		t.Fatalf("the client with heartbeats: %+v %v", row, err)
	}
}

func encode(m *message.Message) ([]byte, error) {
	size, err := coder.DefaultCoder.Size(*m)
	if err != nil {
		return nil, err
	}
	b := make([]byte, size)
	_, err = coder.DefaultCoder.Encode(*m, b)
	return b, err
}

// TestClientBound: requests naming new client ids beyond MaxClients are
// answered 5.03 and counted; oversized datagrams are dropped and counted.
func TestClientBound(t *testing.T) {
	e := start(t, coap.Config{MaxClients: 3, MaxDatagram: 512}, nil)
	c, err := net.Dial("udp", e.udp)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	for i := 0; i < 5; i++ {
		r := raw(t, c, post("/ps/flood", int32(200+i), fmt.Sprintf("clientid=f%d", i)))
		want := codes.Changed
		if i >= 3 {
			want = codes.ServiceUnavailable
		}
		if r.Code != want {
			t.Fatalf("client %d: %v, want %v", i, r.Code, want)
		}
	}
	big := post("/ps/flood", 300, "clientid=f0")
	big.Payload = make([]byte, 600)
	b, _ := encode(big)
	c.Write(b)
	gatewaytest.WaitFor(t, "the oversized datagram counted", func() bool { return e.gw.Stats().Dropped[1] == 1 })
	if s := e.gw.Stats(); s.Dropped[6] != 2 || s.Clients != 3 {
		t.Fatalf("stats %+v", s)
	}
}
