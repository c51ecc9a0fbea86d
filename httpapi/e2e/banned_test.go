package e2e

import (
	"encoding/json"
	"errors"
	"io"
	"net"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/shardmq/shardmq/mqtt"
	"github.com/shardmq/shardmq/shards"
)

// banPage is a decoded GET /banned answer.
type banPage struct {
	Meta struct {
		Page    int  `json:"page"`
		Limit   int  `json:"limit"`
		HasNext bool `json:"hasnext"`
		Count   int  `json:"count"`
	} `json:"meta"`
	Data []map[string]string `json:"data"`
}

func (e *env) bans(t *testing.T, query string) banPage {
	t.Helper()
	status, body := e.call(t, "GET", "/banned?"+query, "")
	var p banPage
	if status != http.StatusOK || json.Unmarshal(body, &p) != nil {
		t.Fatalf("GET /banned?%s: %d %s", query, status, body)
	}
	return p
}

// expectKicked reads until the broker closes c and checks that it sent
// DISCONNECT 0x98 first.
func expectKicked(t *testing.T, c *rawClient, id string) {
	t.Helper()
	h, body, err := c.next(5 * time.Second)
	if err != nil || h.Type != mqtt.TypeDisconnect {
		t.Fatalf("%s: want DISCONNECT, got %v %v", id, h.Type, err)
	}
	var d mqtt.Disconnect
	if err := d.Decode(h, body, mqtt.V5); err != nil || d.ReasonCode != mqtt.AdministrativeAction {
		t.Fatalf("%s: DISCONNECT %v %v", id, d.ReasonCode, err)
	}
	if _, _, err := c.next(5 * time.Second); !errors.Is(err, io.EOF) && !isReset(err) {
		t.Fatalf("%s: connection not closed: %v", id, err)
	}
}

// connackOf sends CONNECT p and returns the CONNACK's reason code.
func connackOf(t *testing.T, addr string, p *mqtt.Connect) mqtt.ReasonCode {
	t.Helper()
	c, err := net.Dial("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	rc := &rawClient{t: t, c: c, v: p.Version}
	if _, err := c.Write(mqtt.AppendConnect(nil, p, p.Version)); err != nil {
		t.Fatal(err)
	}
	h, body, err := rc.next(5 * time.Second)
	if err != nil || h.Type != mqtt.TypeConnack {
		t.Fatalf("CONNECT %s: %v %v", p.ClientID, h.Type, err)
	}
	var ack mqtt.Connack
	if err := ack.Decode(h, body, p.Version); err != nil {
		t.Fatal(err)
	}
	return ack.ReasonCode
}

// TestBanned drives the ban list through the API against a real broker:
// a ban kicks the connected clients it matches at once (the others stay),
// refuses their CONNECT with 0x8A (MQTT 3.1.1: 5), lists in EMQX 5's shape
// with paging and filters, refuses a duplicate with ALREADY_EXISTS, and
// DELETE lifts it.
func TestBanned(t *testing.T) {
	e := start(t, shards.Config{})
	victims := []*rawClient{
		dial(t, e.mqttAddr, connect(mqtt.V5, "ban-a", "mallory", false, 300)),
		dial(t, e.mqttAddr, connect(mqtt.V5, "ban-b", "mallory", true, 0)),
	}
	bystander := dial(t, e.mqttAddr, connect(mqtt.V5, "ban-c", "alice", true, 0))
	status, body := e.call(t, "POST", "/banned", `{"as":"username","who":"mallory","reason":"abuse","by":"ops"}`)
	var ban map[string]string
	if status != http.StatusOK || json.Unmarshal(body, &ban) != nil || ban["as"] != "username" || ban["who"] != "mallory" ||
		ban["by"] != "ops" || ban["reason"] != "abuse" || ban["until"] != "infinity" || ban["at"] == "" {
		t.Fatalf("POST /banned: %d %s", status, body)
	}
	for i, c := range victims {
		expectKicked(t, c, []string{"ban-a", "ban-b"}[i])
	}
	for _, id := range []string{"ban-a", "ban-b"} {
		if status, _ := e.call(t, "GET", "/clients/"+id, ""); status != http.StatusNotFound {
			t.Fatalf("GET /clients/%s after the ban: %d", id, status)
		}
	}
	bystander.c.Write([]byte{0xC0, 0}) // PINGREQ
	if h, _, err := bystander.next(5 * time.Second); err != nil || h.Type != mqtt.TypePingresp {
		t.Fatalf("bystander: %v %v", h.Type, err)
	}
	if rc := connackOf(t, e.mqttAddr, connect(mqtt.V5, "ban-a", "mallory", true, 0)); rc != mqtt.Banned {
		t.Fatalf("CONNECT of a banned user: %#x", rc)
	}
	if rc := connackOf(t, e.mqttAddr, connect(mqtt.V311, "ban-d", "mallory", true, 0)); rc != mqtt.ConnRefusedNotAuthorized {
		t.Fatalf("MQTT 3.1.1 CONNECT of a banned user: %#x", rc)
	}

	status, body = e.call(t, "POST", "/banned", `{"as":"username","who":"mallory"}`)
	if status != http.StatusBadRequest || !strings.Contains(string(body), `"ALREADY_EXISTS"`) {
		t.Fatalf("duplicate: %d %s", status, body)
	}
	for _, b := range []string{
		`{"as":"peerhost_net","who":"10.1.2.3/8"}`,
		`{"as":"clientid_re","who":"^bot-[0-9]+$","until":4102444800}`,
		`{"as":"peerhost","who":"2001:DB8::1"}`,
		`{"as":"clientid","who":"ban-x"}`,
	} {
		if status, body := e.call(t, "POST", "/banned", b); status != http.StatusOK {
			t.Fatalf("POST %s: %d %s", b, status, body)
		}
	}
	all := e.bans(t, "")
	var got []string
	for _, d := range all.Data {
		got = append(got, d["as"]+"="+d["who"])
	}
	want := "clientid=ban-x username=mallory peerhost=2001:db8::1 clientid_re=^bot-[0-9]+$ peerhost_net=10.0.0.0/8"
	if strings.Join(got, " ") != want || all.Meta.Count != 5 || all.Meta.HasNext {
		t.Fatalf("GET /banned: %v %+v, want %s", got, all.Meta, want)
	}
	if p := e.bans(t, "page=2&limit=2"); len(p.Data) != 2 || p.Data[0]["who"] != "2001:db8::1" || !p.Meta.HasNext || p.Meta.Count != 5 {
		t.Fatalf("page 2: %+v", p)
	}
	if p := e.bans(t, "like_clientid=ban"); p.Meta.Count != 1 || p.Data[0]["who"] != "ban-x" {
		t.Fatalf("like_clientid: %+v", p)
	}
	if p := e.bans(t, "peerhost=2001:db8:0::1"); p.Meta.Count != 1 {
		t.Fatalf("peerhost: %+v", p)
	}
	if status, body := e.call(t, "DELETE", "/banned/peerhost_net/10.0.0.0%2F8", ""); status != http.StatusNoContent {
		t.Fatalf("DELETE peerhost_net: %d %s", status, body)
	}
	if status, body := e.call(t, "DELETE", "/banned/peerhost_net/10.0.0.0%2F8", ""); status != http.StatusNotFound ||
		!strings.Contains(string(body), `"NOT_FOUND"`) {
		t.Fatalf("DELETE again: %d %s", status, body)
	}
	if status, body := e.call(t, "DELETE", "/banned/username/mallory", ""); status != http.StatusNoContent {
		t.Fatalf("DELETE username: %d %s", status, body)
	}
	dial(t, e.mqttAddr, connect(mqtt.V5, "ban-a", "mallory", true, 0)) // accepted again
	if status, _ := e.call(t, "DELETE", "/banned", ""); status != http.StatusNoContent {
		t.Fatalf("DELETE /banned: %d", status)
	}
	if p := e.bans(t, ""); p.Meta.Count != 0 || len(p.Data) != 0 {
		t.Fatalf("after clear: %+v", p)
	}
}
