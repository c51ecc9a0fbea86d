package shards

import (
	"context"
	"errors"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/shardmq/shardmq/mqtt"
	"github.com/shardmq/shardmq/netio"
)

func TestCommands(t *testing.T) {
	tb := startBroker(t, Config{}, netio.Config{})
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()

	t.Run("unknown_client", func(t *testing.T) {
		if _, err := tb.ClientInfo(ctx, "nobody"); !errors.Is(err, ErrClientNotFound) {
			t.Fatalf("err %v", err)
		}
		if err := tb.Kick(ctx, "nobody"); !errors.Is(err, ErrClientNotFound) {
			t.Fatalf("err %v", err)
		}
	})
	t.Run("subscribe_offline_session", func(t *testing.T) {
		c, _ := connectRaw(t, tb.addr, conn311("cmd-off", false))
		c.c.Close()
		waitFor(t, "offline", func() bool { return !tb.info(t, "cmd-off").Connected })
		subs, err := tb.Subscribe(ctx, "cmd-off", []SubscribeRequest{{Topic: "cmd/+", Options: SubOptions{QoS: 1}}})
		if err != nil || len(subs) != 1 || subs[0].Topic != "cmd/+" {
			t.Fatalf("subscribe %v %v", subs, err)
		}
		// In effect before Subscribe returned: publish through the API.
		n, err := tb.Publish(ctx, PublishRequest{Topic: "cmd/x", Payload: []byte("api"), QoS: 1})
		if err != nil || n != 1 {
			t.Fatalf("publish matched %d, %v", n, err)
		}
		if r := tb.info(t, "cmd-off"); r.MqueueLen != 1 || r.SubscriptionsCnt != 1 {
			t.Fatalf("queue %d subs %d", r.MqueueLen, r.SubscriptionsCnt)
		}
		list, err := tb.Subscriptions(ctx, "cmd-off")
		if err != nil || len(list) != 1 || list[0].Options.QoS != 1 {
			t.Fatalf("list %v %v", list, err)
		}
		c2, ack := connectRaw(t, tb.addr, conn311("cmd-off", false))
		if !ack.SessionPresent {
			t.Fatal("no session")
		}
		if m := c2.readPublish(); string(m.Payload) != "api" || m.QoS != 1 {
			t.Fatalf("got %+v", m)
		}
		if err := tb.Unsubscribe(ctx, "cmd-off", []string{"cmd/+", "not/there"}); err != nil {
			t.Fatal(err)
		}
		if n, _ := tb.Publish(ctx, PublishRequest{Topic: "cmd/x", Payload: []byte("gone")}); n != 0 {
			t.Fatalf("matched %d after unsubscribe", n)
		}
	})
	t.Run("kick_discards_session", func(t *testing.T) {
		c, _ := connectRaw(t, tb.addr, conn5("cmd-kick"))
		if err := tb.Kick(ctx, "cmd-kick"); err != nil {
			t.Fatal(err)
		}
		if code, ok := c.expectClosed(); !ok || code != mqtt.AdministrativeAction {
			t.Fatalf("code %v %v", code, ok)
		}
		if _, err := tb.ClientInfo(ctx, "cmd-kick"); !errors.Is(err, ErrClientNotFound) {
			t.Fatalf("session kept after kick: %v", err)
		}
		off, _ := connectRaw(t, tb.addr, conn311("cmd-kick-off", false))
		off.c.Close()
		waitFor(t, "offline", func() bool { return !tb.info(t, "cmd-kick-off").Connected })
		if err := tb.Kick(ctx, "cmd-kick-off"); err != nil {
			t.Fatal(err)
		}
		if _, err := tb.ClientInfo(ctx, "cmd-kick-off"); !errors.Is(err, ErrClientNotFound) {
			t.Fatalf("offline session kept after kick: %v", err)
		}
	})
	t.Run("retained_via_api", func(t *testing.T) {
		if _, err := tb.Publish(ctx, PublishRequest{Topic: "cmd/ret", Payload: []byte("r"), Retain: true}); err != nil {
			t.Fatal(err)
		}
		c, _ := connectRaw(t, tb.addr, conn5("cmd-ret"))
		c.subscribe(1, sub("cmd/ret", 0))
		if m := c.readPublish(); !m.Retain || string(m.Payload) != "r" {
			t.Fatalf("got %+v", m)
		}
	})
}

// TestSnapshotSink checks that lifecycle changes reach the sink promptly,
// that counters changed after the row follow as a stats update, and that an
// ended session is removed.
func TestSnapshotSink(t *testing.T) {
	tb := startBroker(t, Config{StatsInterval: 50 * time.Millisecond}, netio.Config{TickInterval: 10 * time.Millisecond})
	c, _ := connectRaw(t, tb.addr, conn311("sink", true))
	var sawRow, sawStats, sawRemove bool
	pinged := false
	deadline := time.After(5 * time.Second)
	for !sawRow || !sawStats {
		if sawRow && !pinged {
			// The row carried the counters; a PINGREQ changes them, so a
			// stats update must follow.
			pinged = true
			c.write([]byte{0xc0, 0x00})
			if h, _ := c.read(); h.Type != mqtt.TypePingresp {
				t.Fatalf("got %v, want PINGRESP", h.Type)
			}
		}
		select {
		case v := <-tb.sink.ch:
			switch v := v.(type) {
			case []ClientRow:
				for _, r := range v {
					sawRow = sawRow || (r.ClientID == "sink" && r.Connected)
				}
			case []StatsUpdate:
				for _, u := range v {
					sawStats = sawStats || (pinged && u.ClientID == "sink")
				}
			}
		case <-deadline:
			t.Fatalf("row %v stats %v", sawRow, sawStats)
		}
	}
	c.write([]byte{0xe0, 0x00})
	for !sawRemove {
		select {
		case v := <-tb.sink.ch:
			if ids, ok := v.([]string); ok {
				for _, id := range ids {
					sawRemove = sawRemove || id == "sink"
				}
			}
		case <-deadline:
			t.Fatal("no removal")
		}
	}
}

func TestBrokerStatsAndListSubscriptions(t *testing.T) {
	tb := startBroker(t, Config{}, netio.Config{})
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	a, _ := connectRaw(t, tb.addr, conn311("st-a", false))
	a.subscribe(1, sub("x/#", 1), sub("$share/g/y", 0))
	b, _ := connectRaw(t, tb.addr, conn5("st-b"))
	b.subscribe(1, sub("x/#", 0))
	b.publish("r/1", "kept", 0, true, 0)
	waitFor(t, "retained", func() bool { return tb.Retained().Len() == 1 })
	a.c.Close()
	waitFor(t, "a offline", func() bool { return !tb.info(t, "st-a").Connected })
	st, err := tb.Stats(ctx)
	if err != nil {
		t.Fatal(err)
	}
	want := BrokerStats{Connections: 2, ConnectionsMax: 2, LiveConnections: 1, LiveConnectionsMax: 2,
		Sessions: 2, SessionsMax: 2, Subscriptions: 3, SubscriptionsMax: 3, SubscriptionsShared: 1,
		SubscriptionsSharedMax: 1, Topics: 2, TopicsMax: 2, Retained: 1, RetainedMax: 1}
	if st != want {
		t.Fatalf("stats\n got %+v\nwant %+v", st, want)
	}
	var seen []string
	if err := tb.ListSubscriptions(ctx, func(s Subscription) bool {
		seen = append(seen, s.ClientID+" "+s.Topic)
		return true
	}); err != nil {
		t.Fatal(err)
	}
	slices.Sort(seen)
	if strings.Join(seen, ",") != "st-a $share/g/y,st-a x/#,st-b x/#" {
		t.Fatalf("subscriptions %v", seen)
	}
}
