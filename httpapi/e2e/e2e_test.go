package e2e

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"slices"
	"sort"
	"strconv"
	"testing"
	"time"

	"github.com/shardmq/shardmq/mqtt"
	"github.com/shardmq/shardmq/shards"
)

// TestFilters connects real clients with different usernames, protocol
// versions, clean start flags and creation seconds, and checks every seed
// filter in both spellings against them.
func TestFilters(t *testing.T) {
	e := start(t, shards.Config{})
	dial(t, e.mqttAddr, connect(mqtt.V311, "v311-a", "alice", true, 0))
	dial(t, e.mqttAddr, connect(mqtt.V311, "v311-b", "bob", false, 0))
	dial(t, e.mqttAddr, connect(mqtt.V31, "v31-c", "alice", true, 0))
	waitFor(t, "3 clients listed", func() bool { return e.list(t, "").Meta.Count == 3 })
	// The second group is created in a later second, for the seed's
	// second-precision time filters.
	first := time.Now().Unix()
	waitFor(t, "the next second", func() bool { return time.Now().Unix() > first })
	second := time.Now()
	d := dial(t, e.mqttAddr, connect(mqtt.V5, "v5-d", "carol", false, 300))
	dial(t, e.mqttAddr, connect(mqtt.V5, "v5-e", "", true, 0))
	d.c.Write(mqtt.AppendDisconnect(nil, &mqtt.Disconnect{}, mqtt.V5))
	waitFor(t, "v5-d offline in the catalog", func() bool {
		p := e.list(t, "conn_state=disconnected")
		return p.Meta.Count == 1 && p.ids()[0] == "v5-d"
	})
	waitFor(t, "5 clients listed", func() bool { return e.list(t, "").Meta.Count == 5 })

	secFrom := strconv.FormatInt(second.Unix(), 10)
	msFrom := strconv.FormatInt(second.Unix()*1000, 10)
	rfcFrom := url.QueryEscape(time.Unix(second.Unix(), 0).UTC().Format(time.RFC3339))
	secTo := strconv.FormatInt(second.Unix()-1, 10)
	msTo := strconv.FormatInt(second.Unix()*1000-1, 10)
	all := []string{"v311-a", "v311-b", "v31-c", "v5-d", "v5-e"}
	tests := []struct {
		queries []string
		want    []string
	}{
		{[]string{"", "_page=1&_limit=50", "page=1&limit=50"}, all},
		{[]string{"clientid=v5-e", "clientid=v5-e&clientid=nobody"}, []string{"v5-e"}},
		{[]string{"username=alice"}, []string{"v311-a", "v31-c"}},
		{[]string{"username=alice&username=carol"}, []string{"v311-a", "v31-c", "v5-d"}},
		{[]string{"zone=default", "ip_address=127.0.0.1"}, all},
		// The broker names MQTT 3.1 "MQIsdp", as the protocol (and EMQX) does.
		{[]string{"proto_name=MQTT"}, []string{"v311-a", "v311-b", "v5-d", "v5-e"}},
		{[]string{"proto_name=MQIsdp"}, []string{"v31-c"}},
		{[]string{"zone=other", "proto_name=CoAP", "ip_address=::1"}, nil},
		{[]string{"conn_state=connected"}, []string{"v311-a", "v311-b", "v31-c", "v5-e"}},
		{[]string{"conn_state=disconnected"}, []string{"v5-d"}},
		{[]string{"conn_state=idle"}, nil},
		{[]string{"clean_start=true"}, []string{"v311-a", "v31-c", "v5-e"}},
		{[]string{"clean_start=false"}, []string{"v311-b", "v5-d"}},
		{[]string{"proto_ver=3"}, []string{"v31-c"}},
		{[]string{"proto_ver=4"}, []string{"v311-a", "v311-b"}},
		{[]string{"proto_ver=5"}, []string{"v5-d", "v5-e"}},
		{[]string{"_gte_created_at=" + secFrom, "gte_created_at=" + msFrom, "gte_created_at=" + rfcFrom}, []string{"v5-d", "v5-e"}},
		{[]string{"_lte_created_at=" + secTo, "lte_created_at=" + msTo}, []string{"v311-a", "v311-b", "v31-c"}},
		{[]string{"_gte_connected_at=" + secFrom, "gte_connected_at=" + msFrom}, []string{"v5-d", "v5-e"}},
		{[]string{"_lte_connected_at=" + secTo, "lte_connected_at=" + msTo}, []string{"v311-a", "v311-b", "v31-c"}},
		{[]string{"like_clientid=v5", "like_clientid=5-"}, []string{"v5-d", "v5-e"}},
		{[]string{"like_username=o"}, []string{"v311-b", "v5-d"}},
		{[]string{"username=alice&proto_ver=4&clean_start=true&conn_state=connected"}, []string{"v311-a"}},
	}
	for _, tc := range tests {
		sort.Strings(tc.want)
		for _, q := range tc.queries {
			t.Run(q, func(t *testing.T) {
				p := e.list(t, q)
				if got := p.ids(); !slices.Equal(got, tc.want) && len(got)+len(tc.want) > 0 {
					t.Fatalf("ids %v, want %v", got, tc.want)
				}
				if p.Meta.Count != len(tc.want) || p.Meta.HasNext {
					t.Fatalf("meta %+v", p.Meta)
				}
			})
		}
	}

	// The single-client read is live and has the seed's shape.
	status, body := e.call(t, "GET", "/clients/v5-d", "")
	var obj map[string]any
	if err := json.Unmarshal(body, &obj); status != http.StatusOK || err != nil {
		t.Fatalf("GET v5-d: %d %s", status, body)
	}
	if obj["connected"] != false || obj["disconnected_at"] == nil || obj["expiry_interval"] != 300.0 || obj["username"] != "carol" ||
		obj["proto_ver"] != 5.0 || obj["node"] != node || obj["clean_start"] != false || len(obj) != 55 {
		t.Fatalf("v5-d object: %s", body)
	}
	status, body = e.call(t, "GET", "/clients/v5-e", "")
	obj = nil
	json.Unmarshal(body, &obj)
	if _, has := obj["disconnected_at"]; status != http.StatusOK || has || obj["username"] != nil || obj["connected"] != true {
		t.Fatalf("v5-e object: %s", body)
	}
	if status, _ := e.call(t, "GET", "/clients/nobody", ""); status != http.StatusNotFound {
		t.Fatalf("unknown client: %d", status)
	}
}

// TestSubscribePublish checks that an API subscription is in force when the
// 200 comes back (online, and queued for an offline persistent session),
// and that unsubscribing stops delivery.
func TestSubscribePublish(t *testing.T) {
	e := start(t, shards.Config{})
	for _, v := range []mqtt.Version{mqtt.V311, mqtt.V5} {
		t.Run(fmt.Sprintf("online v%d", v), func(t *testing.T) {
			id := fmt.Sprintf("sub-%d", v)
			c := dial(t, e.mqttAddr, connect(v, id, "", true, 0))
			topic := "t/" + id
			if status, body := e.call(t, "POST", "/clients/"+id+"/subscribe/bulk",
				`[{"topic":"`+topic+`","qos":1},{"topic":"ctl/`+id+`","qos":0}]`); status != http.StatusOK {
				t.Fatalf("subscribe: %d %s", status, body)
			}
			status, body := e.call(t, "POST", "/publish", `{"topic":"`+topic+`","payload":"one","qos":1}`)
			if status != http.StatusOK {
				t.Fatalf("publish: %d %s", status, body)
			}
			p, err := c.nextPublish(5 * time.Second)
			if err != nil || string(p.Topic) != topic || string(p.Payload) != "one" || p.QoS != 1 {
				t.Fatalf("delivery: %+v %v", p, err)
			}
			var obj map[string]any
			_, body = e.call(t, "GET", "/clients/"+id, "")
			json.Unmarshal(body, &obj)
			if obj["subscriptions_cnt"] != 2.0 {
				t.Fatalf("subscriptions_cnt %v", obj["subscriptions_cnt"])
			}
			if status, body := e.call(t, "POST", "/clients/"+id+"/unsubscribe", `{"topic":"`+topic+`"}`); status != http.StatusNoContent {
				t.Fatalf("unsubscribe: %d %s", status, body)
			}
			if status, body := e.call(t, "POST", "/publish", `{"topic":"`+topic+`","payload":"two"}`); status != http.StatusAccepted {
				t.Fatalf("publish after unsubscribe: %d %s", status, body)
			}
			// The control message published after it must be the next one
			// the client sees: "two" was not delivered.
			e.call(t, "POST", "/publish", `{"topic":"ctl/`+id+`","payload":"ctl"}`)
			p, err = c.nextPublish(5 * time.Second)
			if err != nil || string(p.Payload) != "ctl" {
				t.Fatalf("after unsubscribe got %+v %v", p, err)
			}
		})
	}
	t.Run("offline persistent session queues", func(t *testing.T) {
		c := dial(t, e.mqttAddr, connect(mqtt.V5, "off-1", "", false, 300))
		c.c.Write(mqtt.AppendDisconnect(nil, &mqtt.Disconnect{}, mqtt.V5))
		waitFor(t, "off-1 offline", func() bool {
			_, body := e.call(t, "GET", "/clients/off-1", "")
			var obj map[string]any
			json.Unmarshal(body, &obj)
			return obj["connected"] == false
		})
		if status, body := e.call(t, "POST", "/clients/off-1/subscribe", `{"topic":"q/1","qos":1}`); status != http.StatusOK {
			t.Fatalf("subscribe offline: %d %s", status, body)
		}
		if status, body := e.call(t, "POST", "/publish", `{"topic":"q/1","payload":"queued","qos":1}`); status != http.StatusOK {
			t.Fatalf("publish to offline: %d %s", status, body)
		}
		var obj map[string]any
		_, body := e.call(t, "GET", "/clients/off-1", "")
		json.Unmarshal(body, &obj)
		if obj["mqueue_len"] != 1.0 || obj["subscriptions_cnt"] != 1.0 {
			t.Fatalf("offline session: %s", body)
		}
		c2 := dial(t, e.mqttAddr, connect(mqtt.V5, "off-1", "", false, 300))
		p, err := c2.nextPublish(5 * time.Second)
		if err != nil || string(p.Topic) != "q/1" || string(p.Payload) != "queued" {
			t.Fatalf("queued delivery: %+v %v", p, err)
		}
	})
	t.Run("subscriptions listing", func(t *testing.T) {
		// The listing asks the shards (live), so no wait for the catalog.
		for _, tc := range []struct {
			query string
			count int
		}{
			{"match_topic=q/1", 1},
			{"clientid=off-1", 1},
			{"clientid=nobody", 0},
			{"clientid=off-1&topic=q/2", 0},
		} {
			status, body := e.call(t, "GET", "/subscriptions?"+tc.query, "")
			var l struct {
				Meta struct{ Count int } `json:"meta"`
			}
			if err := json.Unmarshal(body, &l); err != nil || status != http.StatusOK || l.Meta.Count != tc.count {
				t.Errorf("GET /subscriptions?%s: %d %s, want count %d", tc.query, status, body, tc.count)
			}
		}
	})
}

// TestKick checks that DELETE closes the connection with DISCONNECT 0x98,
// discards the session and makes the client unknown.
func TestKick(t *testing.T) {
	e := start(t, shards.Config{})
	c := dial(t, e.mqttAddr, connect(mqtt.V5, "kick-1", "", false, 300))
	waitFor(t, "kick-1 listed", func() bool { return e.list(t, "clientid=kick-1").Meta.Count == 1 })
	if status, body := e.call(t, "DELETE", "/clients/kick-1", ""); status != http.StatusNoContent {
		t.Fatalf("kick: %d %s", status, body)
	}
	h, body, err := c.next(5 * time.Second)
	if err != nil || h.Type != mqtt.TypeDisconnect {
		t.Fatalf("want DISCONNECT, got %v %v", h.Type, err)
	}
	var d mqtt.Disconnect
	if err := d.Decode(h, body, mqtt.V5); err != nil || d.ReasonCode != 0x98 {
		t.Fatalf("DISCONNECT reason %v %v", d.ReasonCode, err)
	}
	if _, _, err := c.next(5 * time.Second); !errors.Is(err, io.EOF) && !isReset(err) {
		t.Fatalf("connection not closed: %v", err)
	}
	if status, _ := e.call(t, "GET", "/clients/kick-1", ""); status != http.StatusNotFound {
		t.Fatalf("GET after kick: %d", status)
	}
	waitFor(t, "kick-1 gone from the list", func() bool { return e.list(t, "clientid=kick-1").Meta.Count == 0 })
	// The session was discarded: reconnecting finds none.
	c2 := dial(t, e.mqttAddr, connect(mqtt.V311, "kick-1", "", false, 0))
	_ = c2
	status, body2 := e.call(t, "GET", "/clients/kick-1", "")
	var obj map[string]any
	json.Unmarshal(body2, &obj)
	if status != http.StatusOK || obj["proto_ver"] != 4.0 {
		t.Fatalf("new session: %d %s", status, body2)
	}
	if status, _ := e.call(t, "POST", "/clients/kickout/bulk", `["kick-1","nobody"]`); status != http.StatusNoContent {
		t.Fatalf("kickout bulk: %d", status)
	}
	if status, _ := e.call(t, "GET", "/clients/kick-1", ""); status != http.StatusNotFound {
		t.Fatalf("GET after bulk kick: %d", status)
	}
}

func isReset(err error) bool {
	var ne *net.OpError
	return errors.As(err, &ne)
}

// connectMany opens n raw MQTT 3.1.1 connections with ids prefix%05d.
func connectMany(t testing.TB, addr, prefix string, n int) {
	t.Helper()
	buf := make([]byte, 64)
	for i := 0; i < n; i++ {
		c, err := net.Dial("tcp", addr)
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { c.Close() })
		p := connect(mqtt.V311, fmt.Sprintf("%s%05d", prefix, i), fmt.Sprintf("user%d", i%10), true, 0)
		if _, err := c.Write(mqtt.AppendConnect(nil, p, mqtt.V311)); err != nil {
			t.Fatal(err)
		}
		c.SetReadDeadline(time.Now().Add(10 * time.Second))
		if _, err := io.ReadFull(c, buf[:4]); err != nil || buf[0] != 0x20 || buf[3] != 0 {
			t.Fatalf("connack %d: % x %v", i, buf[:4], err)
		}
	}
}

// TestPagingThousand pages through 1,000 connected clients with both
// spellings and with the cursor: no duplicate, no gap.
func TestPagingThousand(t *testing.T) {
	e := start(t, shards.Config{})
	const n = 1000
	connectMany(t, e.mqttAddr, "p", n)
	waitFor(t, "1000 clients listed", func() bool { return e.list(t, "_limit=1").Meta.Count == n })
	want := make([]string, n)
	for i := range want {
		want[i] = fmt.Sprintf("p%05d", i)
	}
	for _, spelling := range []string{"_page=%d&_limit=37", "page=%d&limit=37"} {
		t.Run(spelling, func(t *testing.T) {
			var got []string
			for page := 1; ; page++ {
				p := e.list(t, fmt.Sprintf(spelling, page))
				if p.Meta.Count != n || p.Meta.Page != page {
					t.Fatalf("meta %+v", p.Meta)
				}
				got = append(got, p.ids()...)
				if !p.Meta.HasNext {
					break
				}
			}
			if !slices.Equal(got, want) {
				t.Fatalf("%d ids joined, want %d in order without duplicates", len(got), n)
			}
		})
	}
	t.Run("cursor", func(t *testing.T) {
		var got []string
		p := e.list(t, "limit=37")
		for {
			got = append(got, p.ids()...)
			if !p.Meta.HasNext {
				break
			}
			p = e.list(t, "limit=37&cursor="+url.QueryEscape(p.Meta.Cursor))
		}
		if !slices.Equal(got, want) {
			t.Fatalf("%d ids joined by cursor, want %d", len(got), n)
		}
	})
	t.Run("filtered pages", func(t *testing.T) {
		var got []string
		for page := 1; ; page++ {
			p := e.list(t, fmt.Sprintf("username=user3&_page=%d&_limit=9", page))
			if p.Meta.Count != n/10 {
				t.Fatalf("count %d", p.Meta.Count)
			}
			got = append(got, p.ids()...)
			if !p.Meta.HasNext {
				break
			}
		}
		if len(got) != n/10 || !sort.StringsAreSorted(got) {
			t.Fatalf("%d ids", len(got))
		}
	})
}
