package e2e

import (
	"encoding/json"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/shardmq/shardmq/mqtt"
	"github.com/shardmq/shardmq/shards"
	"github.com/shardmq/shardmq/shards/auth"
)

// TestIdleClient checks conn_state idle through the API: while a real
// client's CONNECT waits for a deliberately slow bcrypt check (cost 13; 10 under the race detector),
// GET /clients?conn_state=idle lists it with its address and port and
// connected false, and GET /clients/{id} finds it; once the CONNACK is
// out, it is listed as connected.
func TestIdleClient(t *testing.T) {
	dir := t.TempDir()
	acfg := auth.Config{PasswordFile: filepath.Join(dir, "passwd"), ACLFile: filepath.Join(dir, "acl")}
	for _, f := range []string{acfg.PasswordFile, acfg.ACLFile} {
		if err := os.WriteFile(f, nil, 0o600); err != nil {
			t.Fatal(err)
		}
	}
	cost := 13 // 0.5 s or more here
	if raceEnabled {
		cost = 10 // the CONNECT timeout is 10 s
	}
	if _, err := auth.SetPassword(acfg.PasswordFile, "slow", []byte("secret"), cost); err != nil {
		t.Fatal(err)
	}
	a, err := auth.New(acfg)
	if err != nil {
		t.Fatal(err)
	}
	e := start(t, shards.Config{Auth: a})
	c, err := net.Dial("tcp", e.mqttAddr)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	p := connect(mqtt.V5, "idle-dev", "slow", true, 0)
	p.HasPassword, p.Password = true, []byte("secret")
	if _, err := c.Write(mqtt.AppendConnect(nil, p, mqtt.V5)); err != nil {
		t.Fatal(err)
	}
	port := float64(c.LocalAddr().(*net.TCPAddr).Port)
	waitFor(t, "idle-dev listed as idle", func() bool { return e.list(t, "conn_state=idle").Meta.Count == 1 })
	row := e.list(t, "conn_state=idle").Data[0]
	if row["clientid"] != "idle-dev" || row["connected"] != false || row["ip_address"] != "127.0.0.1" ||
		row["port"] != port || row["username"] != "slow" || row["disconnected_at"] != nil {
		t.Fatalf("idle row %v (client port %v)", row, port)
	}
	status, body := e.call(t, "GET", "/clients/idle-dev", "")
	var one map[string]any
	if status != http.StatusOK || json.Unmarshal(body, &one) != nil || one["connected"] != false || one["port"] != port {
		t.Fatalf("GET /clients/idle-dev while idle: %d %s", status, body)
	}
	if p := e.list(t, "conn_state=connected&clientid=idle-dev"); p.Meta.Count != 0 {
		t.Fatalf("an idle client listed as connected: %+v", p)
	}
	rc := &rawClient{t: t, c: c, v: mqtt.V5}
	h, _, err := rc.next(30 * time.Second)
	if err != nil || h.Type != mqtt.TypeConnack {
		t.Fatalf("CONNACK: %v %v", h.Type, err)
	}
	if p := e.list(t, "conn_state=connected&clientid=idle-dev"); p.Meta.Count != 1 {
		t.Fatalf("right after its CONNACK: %+v", p)
	}
	if p := e.list(t, "conn_state=idle"); p.Meta.Count != 0 {
		t.Fatalf("still idle: %+v", p)
	}
}
