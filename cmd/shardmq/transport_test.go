package main

import (
	"bufio"
	"context"
	"crypto/tls"
	"encoding/json"
	"net/http"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/eclipse/paho.golang/autopaho"
	"github.com/eclipse/paho.golang/paho"
	"github.com/shardmq/shardmq/internal/testpki"
)

// transportBroker is a broker with ssl (verify_peer, fail_if_no_peer_cert),
// ws and wss listeners, and the certificates its tests use.
type transportBroker struct {
	*opsBroker
	ssl, ws, wss   string
	ca             *testpki.CA
	server, device testpki.Issued
	untrusted      testpki.Issued
	nodeModules    string
	mqttjsScript   string
}

func startTransportBroker(t *testing.T) *transportBroker {
	t.Helper()
	needTools(t, "mosquitto_pub", "mosquitto_sub", "node")
	modules, err := filepath.Abs("../../.ci/node/node_modules")
	if err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(filepath.Join(modules, "mqtt", "package.json")); err != nil {
		t.Fatalf("MQTT.js is not installed in %s: run `make deps` first", modules)
	}
	tb := &transportBroker{ssl: freePort(t), ws: freePort(t), wss: freePort(t), nodeModules: modules}
	tb.mqttjsScript, _ = filepath.Abs("testdata/mqttjs.js")
	dir := t.TempDir()
	if tb.ca, err = testpki.New(dir, "fleet CA"); err != nil {
		t.Fatal(err)
	}
	must := func(c testpki.Issued, err error) testpki.Issued {
		if err != nil {
			t.Fatal(err)
		}
		return c
	}
	tb.server = must(tb.ca.Issue(testpki.Cert{Name: "server", CN: "localhost", Server: true}))
	tb.device = must(tb.ca.Issue(testpki.Cert{Name: "device-1", CN: "device-1", Org: "Fleet"}))
	other, err := testpki.New(t.TempDir(), "other CA")
	if err != nil {
		t.Fatal(err)
	}
	tb.untrusted = must(other.Issue(testpki.Cert{Name: "intruder", CN: "intruder"}))
	_, bin := buildBroker(t)
	files := "certfile=" + tb.server.CertFile + "&keyfile=" + tb.server.KeyFile
	tb.opsBroker = startOps(t, bin, "--log-level", "debug",
		"--listener", "ssl://"+tb.ssl+"?"+files+"&cacertfile="+tb.ca.File+"&verify=verify_peer&fail_if_no_peer_cert=true",
		"--listener", "ws://"+tb.ws,
		"--listener", "wss://"+tb.wss+"?"+files)
	return tb
}

// mosquitto returns a mosquitto client command for the ssl listener with
// the device's certificate and ALPN mqtt.
func (tb *transportBroker) mosquitto(tool string, args ...string) *exec.Cmd {
	host, port, _ := strings.Cut(tb.ssl, ":")
	return exec.Command(tool, append([]string{"-h", host, "-p", port, "--cafile", tb.ca.File,
		"--cert", tb.device.CertFile, "--key", tb.device.KeyFile, "--tls-alpn", "mqtt"}, args...)...)
}

// mqttjs runs MQTT.js against url and fails the test unless it reports ok.
func (tb *transportBroker) mqttjs(t *testing.T, url, topic, message string, ca bool) {
	t.Helper()
	args := []string{tb.mqttjsScript, url, topic, message}
	if ca {
		args = append(args, tb.ca.File)
	}
	cmd := exec.Command("node", args...)
	cmd.Env = append(os.Environ(), "NODE_PATH="+tb.nodeModules)
	out, err := cmd.CombinedOutput()
	if err != nil || strings.TrimSpace(string(out)) != "ok" {
		t.Fatalf("MQTT.js on %s: %v\n%s", url, err, out)
	}
}

// pahoWSS publishes message to topic with paho.golang over wss.
func (tb *transportBroker) pahoWSS(t *testing.T, topic, message string) {
	t.Helper()
	u, _ := url.Parse("wss://" + tb.wss + "/mqtt")
	ctx, cancel := context.WithTimeout(context.Background(), 15*time.Second)
	defer cancel()
	cm, err := autopaho.NewConnection(ctx, autopaho.ClientConfig{
		ServerUrls: []*url.URL{u}, TlsCfg: &tls.Config{RootCAs: tb.ca.Pool, ServerName: "localhost"},
		KeepAlive: 30, CleanStartOnInitialConnection: true, ConnectTimeout: 5 * time.Second,
		OnConnectError: func(err error) { t.Logf("paho over wss: %v", err) },
		ClientConfig:   paho.ClientConfig{ClientID: "paho-wss"},
	})
	if err != nil {
		t.Fatal(err)
	}
	if err := cm.AwaitConnection(ctx); err != nil {
		t.Fatal(err)
	}
	if _, err := cm.Publish(ctx, &paho.Publish{Topic: topic, QoS: 1, Payload: []byte(message)}); err != nil {
		t.Fatal(err)
	}
	if err := cm.Disconnect(ctx); err != nil {
		t.Fatal(err)
	}
}

// TestTransportsBinary runs real clients against the broker's ssl, ws and
// wss listeners: mosquitto_sub with a client certificate and ALPN mqtt
// receives what mosquitto_pub (TLS), paho.golang (wss) and MQTT.js (ws,
// wss) publish, across a certificate reload (SIGHUP); refused clients are
// counted in /metrics and logged at debug level.
func TestTransportsBinary(t *testing.T) {
	tb := startTransportBroker(t)
	sub := tb.mosquitto("mosquitto_sub", "-i", "sub-tls", "-V", "mqttv311", "-t", "fleet/#", "-v", "-C", "5", "-W", "40")
	stdout, err := sub.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	var stderr strings.Builder
	sub.Stderr = &stderr
	if err := sub.Start(); err != nil {
		t.Fatal(err)
	}
	lines := make(chan string, 8)
	go func() {
		s := bufio.NewScanner(stdout)
		for s.Scan() {
			lines <- s.Text()
		}
		close(lines)
	}()
	defer func() { _ = sub.Process.Kill(); _ = sub.Wait() }()
	waitUntil(t, "the TLS subscription", func() bool {
		_, body := httpGet(tb.url("/metrics"), "")
		return metricValue(body, "shardmq_subscriptions") >= 1
	})

	if out, err := tb.mosquitto("mosquitto_pub", "-t", "fleet/mosquitto", "-m", "mosquitto over tls").CombinedOutput(); err != nil {
		t.Fatalf("mosquitto_pub over TLS: %v\n%s", err, out)
	}
	tb.pahoWSS(t, "fleet/paho", "paho over wss")
	tb.mqttjs(t, "ws://"+tb.ws+"/mqtt", "fleet/mqttjs-ws", "mqtt.js over ws", false)
	tb.mqttjs(t, "wss://"+tb.wss+"/mqtt", "fleet/mqttjs-wss", "mqtt.js over wss", true)

	// A new server certificate, read on SIGHUP: the subscriber stays.
	renewed, err := tb.ca.Issue(testpki.Cert{Name: "server-renewed", CN: "localhost", Server: true, RSA: true})
	if err != nil {
		t.Fatal(err)
	}
	for _, f := range [][2]string{{renewed.CertFile, tb.server.CertFile}, {renewed.KeyFile, tb.server.KeyFile}} {
		b, _ := os.ReadFile(f[0])
		if err := os.WriteFile(f[1], b, 0o600); err != nil {
			t.Fatal(err)
		}
	}
	if err := tb.cmd.Process.Signal(syscall.SIGHUP); err != nil {
		t.Fatal(err)
	}
	waitUntil(t, "the TLS reload", func() bool {
		log, _ := os.ReadFile(tb.logPath)
		return strings.Contains(string(log), "reloaded TLS certificates")
	})
	if out, err := tb.mosquitto("mosquitto_pub", "-t", "fleet/renewed", "-m", "after the reload").CombinedOutput(); err != nil {
		t.Fatalf("mosquitto_pub after the reload: %v\n%s", err, out)
	}

	var got []string
	for line := range lines {
		got = append(got, line)
	}
	want := []string{"fleet/mosquitto mosquitto over tls", "fleet/paho paho over wss", "fleet/mqttjs-ws mqtt.js over ws",
		"fleet/mqttjs-wss mqtt.js over wss", "fleet/renewed after the reload"}
	slices.Sort(got)
	slices.Sort(want)
	if !slices.Equal(got, want) {
		t.Fatalf("mosquitto_sub over TLS got %q, want %q (stderr %s)", got, want, stderr.String())
	}

	// Refused: no client certificate, an untrusted one, plain MQTT on the
	// TLS port, HTTP without Upgrade on the WebSocket port.
	host, port, _ := strings.Cut(tb.ssl, ":")
	refused := []*exec.Cmd{
		exec.Command("mosquitto_pub", "-h", host, "-p", port, "--cafile", tb.ca.File, "-t", "x", "-m", "no cert"),
		exec.Command("mosquitto_pub", "-h", host, "-p", port, "--cafile", tb.ca.File, "--cert", tb.untrusted.CertFile,
			"--key", tb.untrusted.KeyFile, "-t", "x", "-m", "untrusted"),
		exec.Command("mosquitto_pub", "-h", host, "-p", port, "-t", "x", "-m", "plain"),
	}
	for _, c := range refused {
		if out, err := c.CombinedOutput(); err == nil {
			t.Fatalf("%s succeeded: %s", c, out)
		}
	}
	if code, _ := httpGet("http://"+tb.ws+"/mqtt", ""); code != http.StatusUpgradeRequired {
		t.Fatalf("GET without Upgrade on ws: %d, want 426", code)
	}
	var body string
	refusals := func() bool {
		_, body = httpGet(tb.url("/metrics"), "")
		return metricValue(body, `shardmq_transport_refused_total{listener="ssl:default",reason="tls_certificate"}`) >= 2 &&
			metricValue(body, `shardmq_transport_refused_total{listener="ssl:default",reason="not_tls"}`) >= 1 &&
			metricValue(body, `shardmq_transport_refused_total{listener="ws:default",reason="ws_upgrade"}`) == 1 &&
			metricValue(body, `shardmq_tls_handshakes_total{listener="wss:default"}`) >= 2
	}
	for deadline := time.Now().Add(15 * time.Second); !refusals(); time.Sleep(50 * time.Millisecond) {
		if time.Now().After(deadline) {
			var lines []string
			for _, l := range strings.Split(body, "\n") {
				if strings.HasPrefix(l, "shardmq_transport_refused_total") || strings.HasPrefix(l, "shardmq_tls_") {
					lines = append(lines, l)
				}
			}
			t.Fatalf("refusals in /metrics:\n%s", strings.Join(lines, "\n"))
		}
	}
	log, _ := os.ReadFile(tb.logPath)
	if !strings.Contains(string(log), "transport refused a connection") || !strings.Contains(string(log), "reason=tls_certificate") {
		t.Fatalf("no debug line for the refusals:\n%s", log)
	}
	if code := tb.stop(t); code != 0 {
		t.Fatalf("exit code %d", code)
	}
}

// TestPeerCertIdentity connects mosquitto_sub with a device certificate
// to an ssl listener that takes the client id from the certificate's CN,
// the user name from its DN and the tenant from the SNI, and reads the
// client's row: EMQX's peer_cert_as_clientid, peer_cert_as_username and
// tenant_from as the row shows them.
func TestPeerCertIdentity(t *testing.T) {
	needTools(t, "mosquitto_sub")
	dir := t.TempDir()
	ca, err := testpki.New(dir, "fleet CA")
	if err != nil {
		t.Fatal(err)
	}
	server, err := ca.Issue(testpki.Cert{Name: "server", CN: "localhost", Server: true})
	if err != nil {
		t.Fatal(err)
	}
	device, err := ca.Issue(testpki.Cert{Name: "device-7", CN: "device-7", Org: "Fleet"})
	if err != nil {
		t.Fatal(err)
	}
	_, bin := buildBroker(t)
	ssl := freePort(t)
	b := startOps(t, bin, "--listener", "ssl://"+ssl+"?name=devices&certfile="+server.CertFile+"&keyfile="+server.KeyFile+
		"&cacertfile="+ca.File+"&verify=verify_peer&fail_if_no_peer_cert=true"+
		"&peer_cert_as_clientid=cn&peer_cert_as_username=dn&tenant_from=peersni")
	_, port, _ := strings.Cut(ssl, ":")
	sub := exec.Command("mosquitto_sub", "-h", "localhost", "-p", port, "--cafile", ca.File, "--cert", device.CertFile,
		"--key", device.KeyFile, "-i", "the-id-the-client-sent", "-u", "the-name-it-sent", "-t", "cmd/#", "-W", "30")
	if err := sub.Start(); err != nil {
		t.Fatal(err)
	}
	defer func() { _ = sub.Process.Kill(); _ = sub.Wait() }()
	var row struct {
		ClientID     string  `json:"clientid"`
		Username     string  `json:"username"`
		Listener     string  `json:"listener"`
		PeerSNI      *string `json:"peersni"`
		CN           *string `json:"cn"`
		DN           *string `json:"dn"`
		TenantIDFrom *string `json:"tenant_id_from"`
		Connected    bool    `json:"connected"`
	}
	waitUntil(t, "the client's row", func() bool {
		code, body := httpGet(b.url("/api/v5/clients/device-7"), b.cred)
		return code == http.StatusOK && json.Unmarshal([]byte(body), &row) == nil && row.Connected
	})
	str := func(p *string) string {
		if p == nil {
			return "<null>"
		}
		return *p
	}
	if row.ClientID != "device-7" || row.Username != str(row.DN) || !strings.Contains(str(row.DN), "CN=device-7") ||
		str(row.CN) != "device-7" || str(row.PeerSNI) != "localhost" || str(row.TenantIDFrom) != "peersni" ||
		row.Listener != "ssl:devices" {
		t.Fatalf("row %+v (peersni %s, cn %s, dn %s, tenant_id_from %s)", row, str(row.PeerSNI), str(row.CN),
			str(row.DN), str(row.TenantIDFrom))
	}
	var code int
	var body string
	waitUntil(t, "the filtered listing", func() bool {
		code, body = httpGet(b.url("/api/v5/clients?cn=device-7&peersni=localhost&listener=ssl:devices"), b.cred)
		return code == http.StatusOK && strings.Contains(body, `"count":1`)
	})
}
