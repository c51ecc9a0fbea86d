package e2e

import (
	"context"
	"encoding/json"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/shardmq/shardmq/catalog"
	"github.com/shardmq/shardmq/cmd/shardmq/wire"
	"github.com/shardmq/shardmq/httpapi"
	"github.com/shardmq/shardmq/mqtt"
	"github.com/shardmq/shardmq/netio"
	"github.com/shardmq/shardmq/shards"
	"github.com/shardmq/shardmq/shards/banned"
)

const (
	adminKey, adminSecret = "admin", "admin-secret"
	node                  = "e2e@127.0.0.1"
)

// env is a running broker, catalog and API.
type env struct {
	mqttAddr string
	api      *httptest.Server
	broker   *shards.Broker
	cat      *catalog.Catalog
}

func start(t testing.TB, bcfg shards.Config) *env {
	t.Helper()
	cat, err := catalog.New(catalog.Config{StatsInterval: 50 * time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { cat.Close() })
	bcfg.Node = node
	bcfg.Sink = wire.Sink{Catalog: cat}
	if bcfg.StatsInterval == 0 {
		bcfg.StatsInterval = 50 * time.Millisecond
	}
	bans := banned.New()
	bcfg.Banned = bans
	b, err := shards.New(bcfg)
	if err != nil {
		t.Fatal(err)
	}
	srv, err := netio.New(netio.Config{Listeners: []netio.Listener{{Addr: "127.0.0.1:0"}}, Loops: 2, TickInterval: 20 * time.Millisecond}, b)
	if err != nil {
		t.Fatal(err)
	}
	if err := srv.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		srv.Shutdown(ctx)
	})
	keys := httpapi.NewKeyStore()
	if err := keys.Add(adminKey, adminSecret, httpapi.RoleAdministrator); err != nil {
		t.Fatal(err)
	}
	api, err := httpapi.New(httpapi.Config{Node: node}, cat, wire.Broker{Broker: b, Node: node, BanList: bans}, keys)
	if err != nil {
		t.Fatal(err)
	}
	hs := httptest.NewServer(api)
	t.Cleanup(hs.Close)
	return &env{mqttAddr: srv.Addr().String(), api: hs, broker: b, cat: cat}
}

// call sends an API request as the administrator; body is JSON text or "".
func (e *env) call(t testing.TB, method, path, body string) (int, []byte) {
	t.Helper()
	var rd io.Reader
	if body != "" {
		rd = strings.NewReader(body)
	}
	req, err := http.NewRequest(method, e.api.URL+"/api/v5"+path, rd)
	if err != nil {
		t.Fatal(err)
	}
	req.SetBasicAuth(adminKey, adminSecret)
	if body != "" {
		req.Header.Set("Content-Type", "application/json")
	}
	res, err := e.api.Client().Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	b, err := io.ReadAll(res.Body)
	if err != nil {
		t.Fatal(err)
	}
	return res.StatusCode, b
}

// page is a decoded GET /clients answer.
type page struct {
	Meta struct {
		Page    int    `json:"page"`
		Limit   int    `json:"limit"`
		HasNext bool   `json:"hasnext"`
		Count   int    `json:"count"`
		Cursor  string `json:"cursor"`
	} `json:"meta"`
	Data []map[string]any `json:"data"`
}

func (e *env) list(t testing.TB, query string) page {
	t.Helper()
	status, body := e.call(t, "GET", "/clients?"+query, "")
	if status != http.StatusOK {
		t.Fatalf("GET /clients?%s: %d %s", query, status, body)
	}
	var p page
	if err := json.Unmarshal(body, &p); err != nil {
		t.Fatal(err)
	}
	return p
}

func (p page) ids() []string {
	out := make([]string, len(p.Data))
	for i, d := range p.Data {
		out[i], _ = d["clientid"].(string)
	}
	return out
}

// waitFor polls cond every 10 ms until it holds or 10 s pass.
func waitFor(t testing.TB, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// rawClient is an MQTT connection driven byte by byte with the codec.
type rawClient struct {
	t   testing.TB
	c   net.Conn
	v   mqtt.Version
	buf []byte
}

// dial connects and completes CONNECT/CONNACK.
func dial(t testing.TB, addr string, p *mqtt.Connect) *rawClient {
	t.Helper()
	c, err := net.Dial("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	rc := &rawClient{t: t, c: c, v: p.Version}
	t.Cleanup(func() { c.Close() })
	if _, err := c.Write(mqtt.AppendConnect(nil, p, p.Version)); err != nil {
		t.Fatal(err)
	}
	h, body, err := rc.next(5 * time.Second)
	if err != nil || h.Type != mqtt.TypeConnack {
		t.Fatalf("connect %s: %v %v", p.ClientID, h.Type, err)
	}
	var ack mqtt.Connack
	if err := ack.Decode(h, body, p.Version); err != nil || ack.ReasonCode != 0 {
		t.Fatalf("connack %s: %v %v", p.ClientID, ack.ReasonCode, err)
	}
	return rc
}

// next reads the next packet.
func (rc *rawClient) next(timeout time.Duration) (mqtt.FixedHeader, []byte, error) {
	rc.c.SetReadDeadline(time.Now().Add(timeout))
	for {
		h, n, err := mqtt.Frame(rc.buf, 0)
		if err != nil {
			return h, nil, err
		}
		if n > 0 {
			frame := append([]byte(nil), rc.buf[:n]...)
			rc.buf = rc.buf[n:]
			return h, frame[h.HeaderLen:], nil
		}
		tmp := make([]byte, 4096)
		m, err := rc.c.Read(tmp)
		if err != nil {
			return h, nil, err
		}
		rc.buf = append(rc.buf, tmp[:m]...)
	}
}

// nextPublish returns the next PUBLISH, acknowledging QoS 1.
func (rc *rawClient) nextPublish(timeout time.Duration) (*mqtt.Publish, error) {
	for {
		h, body, err := rc.next(timeout)
		if err != nil {
			return nil, err
		}
		if h.Type != mqtt.TypePublish {
			continue
		}
		var p mqtt.Publish
		if err := p.Decode(h, body, rc.v); err != nil {
			return nil, err
		}
		if p.QoS == 1 {
			rc.c.Write(mqtt.AppendPuback(nil, &mqtt.Puback{PacketID: p.PacketID}, rc.v))
		}
		return &p, nil
	}
}

func connect(v mqtt.Version, id, user string, clean bool, expiry uint32) *mqtt.Connect {
	p := &mqtt.Connect{Version: v, ClientID: []byte(id), CleanStart: clean, KeepAlive: 60}
	if user != "" {
		p.HasUsername, p.Username = true, []byte(user)
	}
	if v == mqtt.V5 && expiry > 0 {
		p.Properties.Present.Add(mqtt.PropSessionExpiry)
		p.Properties.SessionExpiry = expiry
	}
	return p
}
