package e2e

import (
	"encoding/json"
	"net/http"
	"testing"
	"time"

	pahov3 "github.com/eclipse/paho.mqtt.golang"
	"github.com/shardmq/shardmq/mqtt"
	"github.com/shardmq/shardmq/shards"
)

// TestSetKeepalive checks PUT /clients/{id}/keepalive with a real client
// (paho.mqtt.golang, keep alive 60 s, so it pings once a minute): after
// the keep alive is set to 1 s, the broker closes its connection after
// 1.5 s of silence, which the client reports as lost; the answer is the
// client object with the new keep alive. An offline session is a 400.
func TestSetKeepalive(t *testing.T) {
	e := start(t, shards.Config{})
	lost := make(chan error, 1)
	opts := pahov3.NewClientOptions().AddBroker("tcp://" + e.mqttAddr).SetClientID("ka-dev").
		SetKeepAlive(60 * time.Second).SetAutoReconnect(false).SetProtocolVersion(4).
		SetConnectionLostHandler(func(_ pahov3.Client, err error) { lost <- err })
	c := pahov3.NewClient(opts)
	if tok := c.Connect(); !tok.WaitTimeout(10*time.Second) || tok.Error() != nil {
		t.Fatalf("connect: %v", tok.Error())
	}
	defer c.Disconnect(0)
	status, body := e.call(t, "PUT", "/clients/ka-dev/keepalive", `{"interval":1}`)
	var obj map[string]any
	if status != http.StatusOK || json.Unmarshal(body, &obj) != nil || obj["keepalive"] != 1.0 || obj["clientid"] != "ka-dev" {
		t.Fatalf("PUT keepalive: %d %s", status, body)
	}
	set := time.Now()
	select {
	case <-lost:
		t.Logf("connection lost %v after the keep alive was set to 1 s", time.Since(set).Round(10*time.Millisecond))
	case <-time.After(15 * time.Second):
		t.Fatal("the client kept its connection 15 s after its keep alive was set to 1 s")
	}
	// The socket closes before the broker's close handler has run: the
	// list follows within the batch.
	waitFor(t, "ka-dev gone from the list", func() bool { return e.list(t, "clientid=ka-dev").Meta.Count == 0 })

	dial(t, e.mqttAddr, connect(mqtt.V5, "ka-off", "", false, 600)).c.Close()
	waitFor(t, "ka-off offline", func() bool { return e.list(t, "clientid=ka-off&conn_state=disconnected").Meta.Count == 1 })
	if status, body := e.call(t, "PUT", "/clients/ka-off/keepalive", `{"interval":5}`); status != http.StatusBadRequest {
		t.Fatalf("PUT keepalive of an offline session: %d %s", status, body)
	}
	if status, _ := e.call(t, "PUT", "/clients/nobody/keepalive", `{"interval":5}`); status != http.StatusNotFound {
		t.Fatalf("PUT keepalive of an unknown client: %d", status)
	}
}
