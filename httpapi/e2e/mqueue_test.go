package e2e

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"net/http"
	"net/url"
	"os/exec"
	"strings"
	"testing"
	"time"

	"github.com/shardmq/shardmq/mqtt"
	"github.com/shardmq/shardmq/shards"
)

type msgPage struct {
	Data []map[string]any `json:"data"`
	Meta struct {
		Start    string `json:"start"`
		Position string `json:"position"`
	} `json:"meta"`
}

func (e *env) msgs(t *testing.T, path string) msgPage {
	t.Helper()
	status, body := e.call(t, "GET", path, "")
	var p msgPage
	if status != http.StatusOK || json.Unmarshal(body, &p) != nil {
		t.Fatalf("GET %s: %d %s", path, status, body)
	}
	return p
}

// TestQueueInspected checks GET /clients/{id}/mqueue_messages while the
// subscriber is offline: messages mosquitto_pub sent are listed oldest
// first, paged by position without a skip or a repeat, with payloads in
// base64 or plain, then delivered when the subscriber comes back; and
// /inflight_messages shows what a connected MQTT 5 subscriber (Receive
// Maximum 1) has not acknowledged.
func TestQueueInspected(t *testing.T) {
	pub, err := exec.LookPath("mosquitto_pub")
	if err != nil {
		t.Skip("mosquitto_pub not installed (make deps installs mosquitto-clients)")
	}
	e := start(t, shards.Config{})
	sub := dial(t, e.mqttAddr, connect(mqtt.V5, "mq-sub", "", false, 600))
	sub.c.Write(mqtt.AppendSubscribe(nil, &mqtt.Subscribe{PacketID: 1, Subscriptions: []mqtt.Subscription{
		{Filter: []byte("mq/#"), QoS: 1}}}, mqtt.V5))
	if h, _, err := sub.next(5 * time.Second); err != nil || h.Type != mqtt.TypeSuback {
		t.Fatalf("SUBACK: %v %v", h.Type, err)
	}
	sub.c.Write(mqtt.AppendDisconnect(nil, &mqtt.Disconnect{}, mqtt.V5))
	sub.c.Close()
	waitFor(t, "mq-sub offline", func() bool { return e.list(t, "clientid=mq-sub&conn_state=disconnected").Meta.Count == 1 })

	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	host, port, _ := strings.Cut(e.mqttAddr, ":")
	for i := range 5 {
		if out, err := exec.CommandContext(ctx, pub, "-h", host, "-p", port, "-i", "mq-pub", "-q", "1",
			"-t", fmt.Sprintf("mq/%d", i), "-m", fmt.Sprintf("payload-%d", i)).CombinedOutput(); err != nil {
			t.Fatalf("mosquitto_pub: %v %s", err, out)
		}
	}
	var topics []string
	position := ""
	for pages := 0; pages < 5; pages++ {
		q := "/clients/mq-sub/mqueue_messages?limit=2"
		if position != "" {
			q += "&position=" + url.QueryEscape(position)
		}
		p := e.msgs(t, q)
		if len(p.Data) == 0 {
			break
		}
		for _, m := range p.Data {
			topics = append(topics, m["topic"].(string))
			want := base64.StdEncoding.EncodeToString([]byte("payload-" + strings.TrimPrefix(m["topic"].(string), "mq/")))
			if m["payload"] != want || m["from_clientid"] != "mq-pub" || m["qos"] != 1.0 {
				t.Fatalf("queued message %v", m)
			}
		}
		position = p.Meta.Position
	}
	if strings.Join(topics, ",") != "mq/0,mq/1,mq/2,mq/3,mq/4" {
		t.Fatalf("paged through %v", topics)
	}
	if p := e.msgs(t, "/clients/mq-sub/mqueue_messages?payload=plain&limit=1"); len(p.Data) != 1 || p.Data[0]["payload"] != "payload-0" {
		t.Fatalf("payload=plain: %+v", p)
	}
	if p := e.msgs(t, "/clients/mq-sub/mqueue_messages?max_payload_bytes=20"); len(p.Data) != 1 {
		t.Fatalf("max_payload_bytes=20 listed %d messages of 12 base64 bytes... each", len(p.Data))
	}

	// Back online with Receive Maximum 1 and no acknowledgement: one
	// message inflight, four still queued.
	p := connect(mqtt.V5, "mq-sub", "", false, 600)
	p.Properties.Present.Add(mqtt.PropReceiveMaximum)
	p.Properties.ReceiveMaximum = 1
	back := dial(t, e.mqttAddr, p)
	h, _, err := back.next(5 * time.Second)
	if err != nil || h.Type != mqtt.TypePublish {
		t.Fatalf("first queued message: %v %v", h.Type, err)
	}
	in := e.msgs(t, "/clients/mq-sub/inflight_messages")
	if len(in.Data) != 1 || in.Data[0]["topic"] != "mq/0" || in.Meta.Start == "none" {
		t.Fatalf("inflight: %+v", in)
	}
	if q := e.msgs(t, "/clients/mq-sub/mqueue_messages"); len(q.Data) != 4 || q.Data[0]["topic"] != "mq/1" {
		t.Fatalf("queue with one inflight: %+v", q)
	}
	if status, _ := e.call(t, "GET", "/clients/nobody/mqueue_messages", ""); status != http.StatusNotFound {
		t.Fatalf("unknown client: %d", status)
	}
}
