package e2e

import (
	"encoding/json"
	"net/http"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/shardmq/shardmq/mqtt"
	"github.com/shardmq/shardmq/shards"
	"github.com/shardmq/shardmq/shards/auth"
)

// TestAuthzCache checks GET and DELETE /clients/{id}/authorization/cache
// against a real ACL: the decisions a client's PUBLISHes and SUBSCRIBE
// caused are listed (allow and deny, with their time), and DELETE
// forgets them.
func TestAuthzCache(t *testing.T) {
	dir := t.TempDir()
	acfg := auth.Config{PasswordFile: filepath.Join(dir, "passwd"), ACLFile: filepath.Join(dir, "acl")}
	if err := os.WriteFile(acfg.PasswordFile, nil, 0o600); err != nil {
		t.Fatal(err)
	}
	acl := "allow all publish sensors/#\ndeny all publish #\nallow all subscribe #\n"
	if err := os.WriteFile(acfg.ACLFile, []byte(acl), 0o600); err != nil {
		t.Fatal(err)
	}
	a, err := auth.New(acfg)
	if err != nil {
		t.Fatal(err)
	}
	e := start(t, shards.Config{Auth: a})
	c := dial(t, e.mqttAddr, connect(mqtt.V5, "az-dev", "", true, 0))
	var b []byte
	b = mqtt.AppendPublish(b, &mqtt.Publish{Topic: []byte("sensors/1"), Payload: []byte("x")}, mqtt.V5)
	b = mqtt.AppendPublish(b, &mqtt.Publish{Topic: []byte("secret/x"), Payload: []byte("x")}, mqtt.V5)
	b = mqtt.AppendSubscribe(b, &mqtt.Subscribe{PacketID: 1, Subscriptions: []mqtt.Subscription{{Filter: []byte("cmd/#")}}}, mqtt.V5)
	c.c.Write(b)
	if h, _, err := c.next(5 * time.Second); err != nil || h.Type != mqtt.TypeSuback {
		t.Fatalf("SUBACK: %v %v", h.Type, err)
	}
	before := time.Now().Add(-time.Minute).UnixMilli()
	status, body := e.call(t, "GET", "/clients/az-dev/authorization/cache", "")
	var got []struct {
		Access, Topic, Result string
		UpdatedTime           int64 `json:"updated_time"`
	}
	if status != http.StatusOK || json.Unmarshal(body, &got) != nil || len(got) != 3 {
		t.Fatalf("GET cache: %d %s", status, body)
	}
	want := []string{"publish secret/x deny", "publish sensors/1 allow", "subscribe cmd/# allow"}
	for i, g := range got {
		if g.Access+" "+g.Topic+" "+g.Result != want[i] || g.UpdatedTime < before {
			t.Fatalf("entry %d: %+v, want %s", i, g, want[i])
		}
	}
	if status, _ := e.call(t, "DELETE", "/clients/az-dev/authorization/cache", ""); status != http.StatusNoContent {
		t.Fatalf("DELETE cache: %d", status)
	}
	if status, body := e.call(t, "GET", "/clients/az-dev/authorization/cache", ""); status != http.StatusOK || string(body) != "[]" {
		t.Fatalf("GET after DELETE: %d %s", status, body)
	}
	if status, _ := e.call(t, "GET", "/clients/nobody/authorization/cache", ""); status != http.StatusNotFound {
		t.Fatalf("unknown client: %d", status)
	}
}
