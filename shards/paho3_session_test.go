package shards

import (
	"net"
	"net/url"
	"sort"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	pahov3 "github.com/eclipse/paho.mqtt.golang"
	"github.com/shardmq/shardmq/netio"
)

// v3ClientOpts connects a paho.mqtt.golang client built from o, handing the
// raw socket to conn (so a test can cut it) and counting lost connections.
func v3ClientOpts(t *testing.T, o *pahov3.ClientOptions, conn *net.Conn, lost *atomic.Int32) pahov3.Client {
	t.Helper()
	o.SetCustomOpenConnectionFn(func(u *url.URL, _ pahov3.ClientOptions) (net.Conn, error) {
		c, err := net.Dial("tcp", u.Host)
		if conn != nil {
			*conn = c
		}
		return c, err
	})
	if lost != nil {
		o.SetConnectionLostHandler(func(pahov3.Client, error) { lost.Add(1) })
	}
	c := pahov3.NewClient(o)
	if tok := c.Connect(); !tok.WaitTimeout(5*time.Second) || tok.Error() != nil {
		t.Fatalf("connect: %v", tok.Error())
	}
	t.Cleanup(func() { c.Disconnect(100) })
	return c
}

func v3Opts(addr, id string, clean bool) *pahov3.ClientOptions {
	return pahov3.NewClientOptions().AddBroker("tcp://" + addr).SetClientID(id).SetCleanSession(clean).
		SetProtocolVersion(4).SetAutoReconnect(false).SetKeepAlive(30 * time.Second).SetOrderMatters(true)
}

// TestPahoV311Sessions covers, with paho.mqtt.golang: the will on an
// abnormal loss and not on Disconnect, takeover, and a persistent session
// that receives QoS 1 and 2 messages queued while it was away.
func TestPahoV311Sessions(t *testing.T) {
	tb := startBroker(t, Config{}, netio.Config{})
	watch := &received{}
	w := v3Client(t, tb.addr, "p3s-watch", true, watch)
	v3Wait(t, w.Subscribe("p3s/will/#", 1, nil))

	t.Run("will_on_abnormal_loss", func(t *testing.T) {
		var raw net.Conn
		o := v3Opts(tb.addr, "p3s-will", true).SetWill("p3s/will/cut", "gone", 1, false)
		v3ClientOpts(t, o, &raw, nil)
		raw.Close() // the network fails under the client
		got := watch.waitN(t, 1)
		if got[0] != "p3s/will/cut 1 false gone" {
			t.Fatalf("got %v", got)
		}
	})
	t.Run("no_will_on_disconnect", func(t *testing.T) {
		o := v3Opts(tb.addr, "p3s-nowill", true).SetWill("p3s/will/clean", "gone", 1, false)
		c := v3ClientOpts(t, o, nil, nil)
		c.Disconnect(100)
		waitFor(t, "session end", func() bool {
			_, err := tb.ClientInfo(t.Context(), "p3s-nowill")
			return err == ErrClientNotFound
		})
		// The marker goes through the same subscription after the
		// disconnect was handled: a will would have come first.
		p := v3Client(t, tb.addr, "p3s-marker", true, nil)
		v3Wait(t, p.Publish("p3s/will/marker", 1, false, "end"))
		got := watch.waitN(t, 2)
		if got[1] != "p3s/will/marker 1 false end" {
			t.Fatalf("got %v", got)
		}
	})
	t.Run("takeover", func(t *testing.T) {
		var lost atomic.Int32
		v3ClientOpts(t, v3Opts(tb.addr, "p3s-dup", true), nil, &lost)
		v3ClientOpts(t, v3Opts(tb.addr, "p3s-dup", true), nil, nil)
		waitFor(t, "first client to lose its connection", func() bool { return lost.Load() == 1 })
		if !tb.info(t, "p3s-dup").Connected {
			t.Fatal("the new connection is not the session's")
		}
	})
	t.Run("persistent_session", func(t *testing.T) {
		rec := &received{}
		o := v3Opts(tb.addr, "p3s-persist", false).SetDefaultPublishHandler(func(_ pahov3.Client, m pahov3.Message) {
			rec.add(m.Topic(), m.Qos(), m.Retained(), m.Payload())
		})
		c := v3ClientOpts(t, o, nil, nil)
		v3Wait(t, c.Subscribe("p3s/q/#", 2, nil))
		c.Disconnect(100)
		waitFor(t, "offline", func() bool { return !tb.info(t, "p3s-persist").Connected })
		p := v3Client(t, tb.addr, "p3s-qpub", true, nil)
		v3Wait(t, p.Publish("p3s/q/1", 1, false, "one"))
		v3Wait(t, p.Publish("p3s/q/2", 2, false, "two"))
		waitFor(t, "queued", func() bool { return tb.info(t, "p3s-persist").MqueueLen == 2 })
		o2 := v3Opts(tb.addr, "p3s-persist", false).SetDefaultPublishHandler(func(_ pahov3.Client, m pahov3.Message) {
			rec.add(m.Topic(), m.Qos(), m.Retained(), m.Payload())
		})
		v3ClientOpts(t, o2, nil, nil)
		got := rec.waitN(t, 2)
		sort.Strings(got)
		if strings.Join(got, "|") != "p3s/q/1 1 false one|p3s/q/2 2 false two" {
			t.Fatalf("got %v", got)
		}
	})
}
