package main

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"strings"
	"testing"
	"time"

	"github.com/eclipse/paho.golang/paho"
)

// snPeer is a minimal MQTT-SN 1.2 client over UDP: each message is Length,
// MsgType and the body (section 5.2), sent as one datagram.
type snPeer struct {
	t *testing.T
	c *net.UDPConn
}

func dialMQTTSN(t *testing.T, addr string) *snPeer {
	t.Helper()
	ra, _ := net.ResolveUDPAddr("udp", addr)
	c, err := net.DialUDP("udp", nil, ra)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	return &snPeer{t, c}
}

func (p *snPeer) send(typ byte, body ...byte) {
	p.t.Helper()
	if _, err := p.c.Write(append([]byte{byte(len(body) + 2), typ}, body...)); err != nil {
		p.t.Fatal(err)
	}
}

// recv returns the type and body of the next message.
func (p *snPeer) recv() (byte, []byte) {
	p.t.Helper()
	b := make([]byte, 2048)
	_ = p.c.SetReadDeadline(time.Now().Add(5 * time.Second))
	n, err := p.c.Read(b)
	if err != nil || n < 2 || int(b[0]) != n {
		p.t.Fatalf("recv: %v (% x)", err, b[:n])
	}
	return b[1], b[2:n]
}

func (p *snPeer) port() int { return p.c.LocalAddr().(*net.UDPAddr).Port }

// connect sends CONNECT (clean session, duration 60 s) and checks CONNACK.
func (p *snPeer) connect(id string) {
	p.t.Helper()
	p.send(0x04, append([]byte{0x04, 0x01, 0, 60}, id...)...)
	if typ, body := p.recv(); typ != 0x05 || body[0] != 0 {
		p.t.Fatalf("CONNACK %x % x", typ, body)
	}
}

func freeUDP(t *testing.T) string {
	t.Helper()
	c, err := net.ListenUDP("udp", &net.UDPAddr{IP: net.IPv4(127, 0, 0, 1)})
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	return c.LocalAddr().String()
}

func apiDo(t *testing.T, b *opsBroker, method, path, body string) (int, string) {
	t.Helper()
	req, _ := http.NewRequest(method, b.url(path), strings.NewReader(body))
	k, s, _ := strings.Cut(b.cred, ":")
	req.SetBasicAuth(k, s)
	req.Header.Set("Content-Type", "application/json")
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	out, _ := io.ReadAll(res.Body)
	return res.StatusCode, string(out)
}

type clientList struct {
	Data []struct {
		ClientID  string `json:"clientid"`
		ProtoName string `json:"proto_name"`
		ProtoVer  int    `json:"proto_ver"`
		Listener  string `json:"listener"`
		IPAddress string `json:"ip_address"`
		Port      int    `json:"port"`
	} `json:"data"`
	Meta struct {
		Count int `json:"count"`
	} `json:"meta"`
}

func listClients(t *testing.T, b *opsBroker, query string) clientList {
	t.Helper()
	code, body := apiDo(t, b, "GET", "/api/v5/clients?"+query, "")
	if code != 200 {
		t.Fatalf("GET /clients?%s: %d %s", query, code, body)
	}
	var l clientList
	if err := json.Unmarshal([]byte(body), &l); err != nil {
		t.Fatal(err)
	}
	return l
}

// TestGatewayAPI runs the broker binary with an MQTT-SN gateway: its
// clients are listed by proto_name with exact counts beside MQTT clients,
// are subscribed and kicked through the API, and show in /metrics.
func TestGatewayAPI(t *testing.T) {
	needTools(t, "coap-client-notls")
	_, bin := buildBroker(t)
	udp, coapAddr := freeUDP(t), freeUDP(t)
	b := startOps(t, bin, "--gateway", "mqttsn://"+udp+"?name=sn&predefined=7:fleet/alarm", "--gateway", "coap://"+coapAddr)

	var sns []*snPeer
	for i := range 3 {
		p := dialMQTTSN(t, udp)
		p.connect(fmt.Sprintf("sn-%d", i))
		sns = append(sns, p)
	}
	pub := pahoV5(t, b.mqtt, "mqtt-pub", nil)
	pahoV5(t, b.mqtt, "mqtt-other", nil)

	var l clientList
	waitUntil(t, "3 MQTT-SN rows", func() bool { l = listClients(t, b, "proto_name=MQTT-SN"); return l.Meta.Count == 3 })
	if len(l.Data) != 3 {
		t.Fatalf("%d rows", len(l.Data))
	}
	for _, r := range l.Data {
		var port int
		fmt.Sscanf(r.ClientID, "sn-%d", &port)
		if r.ProtoName != "MQTT-SN" || r.ProtoVer != 1 || r.Listener != "udp:sn" || r.IPAddress != "127.0.0.1" ||
			r.Port != sns[port].port() {
			t.Fatalf("row %+v", r)
		}
	}
	if l := listClients(t, b, "proto_name=MQTT"); l.Meta.Count != 2 {
		t.Fatalf("MQTT rows: %d, want 2", l.Meta.Count)
	}
	// Two CoAP clients with coap-client (libcoap3-bin): connectionless,
	// then with a token.
	out, err := exec.Command("coap-client-notls", "-B", "5", "-m", "post", "-e", "1",
		"coap://"+coapAddr+"/ps/fleet/coap?clientid=coap-1").CombinedOutput()
	if err != nil || len(out) != 0 {
		t.Fatalf("coap-client: %v %s", err, out)
	}
	token, err := exec.Command("coap-client-notls", "-B", "5", "-m", "post",
		"coap://"+coapAddr+"/mqtt/connection?clientid=coap-2").CombinedOutput()
	if err != nil || len(strings.TrimSpace(string(token))) != 16 {
		t.Fatalf("coap-client: %v %q", err, token)
	}
	var cl clientList
	waitUntil(t, "2 CoAP rows", func() bool { cl = listClients(t, b, "proto_name=CoAP"); return cl.Meta.Count == 2 })
	for _, r := range cl.Data {
		if r.ProtoName != "CoAP" || r.ProtoVer != 1 || r.Listener != "udp:coap" || r.IPAddress != "127.0.0.1" {
			t.Fatalf("row %+v", r)
		}
	}
	if code, body := apiDo(t, b, "DELETE", "/api/v5/clients/coap-2", ""); code != 204 {
		t.Fatalf("kick: %d %s", code, body)
	}
	waitUntil(t, "1 CoAP row", func() bool { return listClients(t, b, "proto_name=CoAP").Meta.Count == 1 })

	// Subscribe sn-0 through the API; an MQTT publish reaches it.
	if code, body := apiDo(t, b, "POST", "/api/v5/clients/sn-0/subscribe", `{"topic":"fleet/#","qos":1}`); code != 200 {
		t.Fatalf("subscribe: %d %s", code, body)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if _, err := pub.Publish(ctx, &paho.Publish{Topic: "fleet/alarm", QoS: 1, Payload: []byte("fire")}); err != nil {
		t.Fatal(err)
	}
	typ, body := sns[0].recv()
	if typ != 0x0C || body[0]&0x03 != 0x01 || body[1] != 0 || body[2] != 7 || !bytes.Equal(body[5:], []byte("fire")) {
		t.Fatalf("PUBLISH %x % x, want predefined topic 7", typ, body)
	}
	sns[0].send(0x0D, body[1], body[2], body[3], body[4], 0) // PUBACK

	// Kick sn-1: it hears DISCONNECT and leaves the list.
	if code, body := apiDo(t, b, "DELETE", "/api/v5/clients/sn-1", ""); code != 204 {
		t.Fatalf("kick: %d %s", code, body)
	}
	if typ, _ := sns[1].recv(); typ != 0x18 {
		t.Fatalf("got %x, want DISCONNECT", typ)
	}
	waitUntil(t, "2 MQTT-SN rows", func() bool { return listClients(t, b, "proto_name=MQTT-SN").Meta.Count == 2 })

	_, metrics := httpGet(b.url("/metrics"), b.cred)
	if v := metricValue(metrics, `shardmq_gateway_datagrams_total{direction="in",listener="udp:sn"}`); v != 4 { // 3 CONNECTs, 1 PUBACK
		t.Fatalf("gateway datagrams in: %v", v)
	}
	if v := metricValue(metrics, `shardmq_gateway_clients{listener="udp:sn"}`); v != 2 {
		t.Fatalf("gateway clients: %v", v)
	}
	if v := metricValue(metrics, `shardmq_gateway_clients{listener="udp:coap"}`); v != 1 {
		t.Fatalf("CoAP gateway clients: %v", v)
	}
	if code := b.stop(t); code != 0 {
		t.Fatalf("exit code %d", code)
	}
}

// TestGatewayOptions reads gateways from the flag, the environment and
// the file, with their defaults and their errors, and --print-config
// writes them back to the same options.
func TestGatewayOptions(t *testing.T) {
	noEnv := func(string) (string, bool) { return "", false }
	cl, err := parseCommandLine([]string{"--gateway", "mqttsn://127.0.0.1?predefined=1:a/b,2:c&retry_interval=2s"})
	if err != nil {
		t.Fatal(err)
	}
	o, err := loadOptions(cl, noEnv)
	if err != nil {
		t.Fatal(err)
	}
	g := o.Gateways[0].resolved()
	if g.Addr != "127.0.0.1:1884" || g.Name != "mqttsn" || g.Predefined[1] != "a/b" || g.Predefined[2] != "c" ||
		g.RetryInterval != 2*time.Second || g.listener().rowName() != "udp:mqttsn" || g.listener().Zone != "default" {
		t.Fatalf("gateway %+v", g)
	}
	var buf bytes.Buffer
	if err := writeConfig(&buf, &o); err != nil {
		t.Fatal(err)
	}
	path := t.TempDir() + "/printed.toml"
	if err := os.WriteFile(path, buf.Bytes(), 0o600); err != nil {
		t.Fatal(err)
	}
	back, err := loadOptions(commandLine{configFile: path}, noEnv)
	if err != nil {
		t.Fatal(err)
	}
	if fmt.Sprint(back.Gateways) != fmt.Sprint(o.Gateways) {
		t.Fatalf("printed %+v, read back %+v", o.Gateways, back.Gateways)
	}
	env := func(k string) (string, bool) {
		if k == "SHARDMQ_GATEWAYS" {
			return "mqttsn://[::1]:2000@default?name=six", true
		}
		return "", false
	}
	if o, err := loadOptions(commandLine{}, env); err != nil || o.Gateways[0].resolved().Addr != "[::1]:2000" {
		t.Fatalf("environment: %+v %v", o.Gateways, err)
	}
	cl, _ = parseCommandLine([]string{"--gateway", "coap://127.0.0.1?connection_required=true&heartbeat=10s"})
	o, err = loadOptions(cl, noEnv)
	if err != nil {
		t.Fatal(err)
	}
	if g := o.Gateways[0].resolved(); g.Addr != "127.0.0.1:5683" || g.Name != "coap" || !g.ConnectionRequired ||
		g.Heartbeat != 10*time.Second || g.listener().protocol != "CoAP" {
		t.Fatalf("coap gateway %+v", g)
	}
	for _, bad := range []string{
		"coapx://127.0.0.1", "mqttsn://127.0.0.1?predefined=0:a", "mqttsn://127.0.0.1?predefined=1:a,1:b",
		"mqttsn://127.0.0.1@nozone", "mqttsn://127.0.0.1?name=a.b", "mqttsn://127.0.0.1?bogus=1",
		"mqttsn://127.0.0.1?advertise_interval=1s", "mqttsn://127.0.0.1?gateway_id=256",
		"coap://127.0.0.1?predefined=1:a", "mqttsn://127.0.0.1?heartbeat=1s", "coap://127.0.0.1?block_size=100",
	} {
		cl, err := parseCommandLine([]string{"--gateway", bad})
		if err == nil {
			_, err = loadOptions(cl, noEnv)
		}
		if err == nil {
			t.Errorf("%s: accepted", bad)
		}
	}
	cl, _ = parseCommandLine([]string{"--gateway", "mqttsn://127.0.0.1:1", "--gateway", "mqttsn://127.0.0.1:2"})
	if _, err := loadOptions(cl, noEnv); err == nil || !strings.Contains(err.Error(), "taken") {
		t.Errorf("two gateways named mqttsn: %v", err)
	}
}

// TestGatewaysQuickStart runs docs/gateways.md's quick start exactly.
func TestGatewaysQuickStart(t *testing.T) {
	docRun(t, "../../docs/gateways.md", "## Quick start", "127.0.0.1:1887", "mosquitto_sub", "curl")
}
