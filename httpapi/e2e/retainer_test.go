package e2e

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"net/http"
	"os/exec"
	"strings"
	"testing"
	"time"

	"github.com/shardmq/shardmq/mqtt"
	"github.com/shardmq/shardmq/shards"
)

// TestTopicsAndRetainer checks GET /topics and the retainer endpoints with
// a real broker: routes of real subscriptions (a shared one without its
// prefix), retained messages published by mosquitto_pub listed by a
// wildcard filter with their publisher, one read with its payload, and
// one deleted so that a new subscriber no longer receives it.
func TestTopicsAndRetainer(t *testing.T) {
	pub, err := exec.LookPath("mosquitto_pub")
	if err != nil {
		t.Skip("mosquitto_pub not installed (make deps installs mosquitto-clients)")
	}
	e := start(t, shards.Config{})
	sub := dial(t, e.mqttAddr, connect(mqtt.V5, "top-sub", "", true, 0))
	sub.c.Write(mqtt.AppendSubscribe(nil, &mqtt.Subscribe{PacketID: 1, Subscriptions: []mqtt.Subscription{
		{Filter: []byte("sensors/+/temp")}, {Filter: []byte("$share/g/jobs/#")}}}, mqtt.V5))
	if h, _, err := sub.next(5 * time.Second); err != nil || h.Type != mqtt.TypeSuback {
		t.Fatalf("SUBACK: %v %v", h.Type, err)
	}
	status, body := e.call(t, "GET", "/topics", "")
	var tp struct {
		Data []map[string]string `json:"data"`
		Meta struct{ Count int } `json:"meta"`
	}
	if status != http.StatusOK || json.Unmarshal(body, &tp) != nil || tp.Meta.Count != 2 ||
		tp.Data[0]["topic"] != "jobs/#" || tp.Data[1]["topic"] != "sensors/+/temp" || tp.Data[0]["node"] != node {
		t.Fatalf("GET /topics: %d %s", status, body)
	}
	if status, body := e.call(t, "GET", "/topics?topic=jobs/%23", ""); status != http.StatusOK || !strings.Contains(string(body), `"count":1`) {
		t.Fatalf("GET /topics?topic=: %d %s", status, body)
	}

	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	host, port, _ := strings.Cut(e.mqttAddr, ":")
	for _, m := range [][2]string{{"ret/a", "alpha"}, {"ret/b", "beta"}, {"other/c", "gamma"}} {
		if out, err := exec.CommandContext(ctx, pub, "-h", host, "-p", port, "-i", "ret-pub", "-r",
			"-t", m[0], "-m", m[1]).CombinedOutput(); err != nil {
			t.Fatalf("mosquitto_pub: %v %s", err, out)
		}
	}
	status, body = e.call(t, "GET", "/retainer/messages?topic=ret/%2B", "")
	var rp struct {
		Data []map[string]any    `json:"data"`
		Meta struct{ Count int } `json:"meta"`
	}
	if status != http.StatusOK || json.Unmarshal(body, &rp) != nil || rp.Meta.Count != 2 || rp.Data[0]["topic"] != "ret/a" ||
		rp.Data[0]["from_clientid"] != "ret-pub" || rp.Data[0]["payload"] != nil {
		t.Fatalf("GET /retainer/messages?topic=ret/+: %d %s", status, body)
	}
	status, body = e.call(t, "GET", "/retainer/message/ret%2Fa", "")
	var one map[string]any
	if status != http.StatusOK || json.Unmarshal(body, &one) != nil || one["payload"] != base64.StdEncoding.EncodeToString([]byte("alpha")) {
		t.Fatalf("GET /retainer/message/ret%%2Fa: %d %s", status, body)
	}
	if status, body := e.call(t, "DELETE", "/retainer/message/ret%2Fa", ""); status != http.StatusNoContent {
		t.Fatalf("DELETE: %d %s", status, body)
	}
	if status, _ := e.call(t, "GET", "/retainer/message/ret%2Fa", ""); status != http.StatusNotFound {
		t.Fatalf("GET after DELETE: %d", status)
	}
	late := dial(t, e.mqttAddr, connect(mqtt.V5, "late-sub", "", true, 0))
	late.c.Write(mqtt.AppendSubscribe(nil, &mqtt.Subscribe{PacketID: 1, Subscriptions: []mqtt.Subscription{
		{Filter: []byte("ret/#")}}}, mqtt.V5))
	var got []string
	for {
		h, body, err := late.next(time.Second)
		if err != nil {
			break // no more retained messages
		}
		if h.Type == mqtt.TypePublish {
			var p mqtt.Publish
			if p.Decode(h, body, mqtt.V5) == nil {
				got = append(got, string(p.Topic))
			}
		}
	}
	if strings.Join(got, ",") != "ret/b" {
		t.Fatalf("a new subscriber to ret/# got retained %v, want ret/b only", got)
	}
}
