package dashboard_test

import (
	"context"
	"fmt"
	"net"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
	"github.com/eclipse/paho.golang/paho"
)

// TestBrowserQueueAndInflight shows a session's queued messages (an
// offline persistent session subscribed at QoS 1) and its in-flight window
// (a connected client that never acknowledges) on the client's page, with
// real clients.
func TestBrowserQueueAndInflight(t *testing.T) {
	chromiumPath(t)
	s := startStack(t, nil, "")
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()

	// "away": persistent, subscribed, then gone.
	conn, err := net.Dial("tcp", s.mqtt)
	if err != nil {
		t.Fatal(err)
	}
	away := paho.NewClient(paho.ClientConfig{ClientID: "away", Conn: conn, OnClientError: func(error) {}})
	expiry := uint32(3600)
	if _, err := away.Connect(ctx, &paho.Connect{ClientID: "away", CleanStart: true, KeepAlive: 60,
		Properties: &paho.ConnectProperties{SessionExpiryInterval: &expiry}}); err != nil {
		t.Fatal(err)
	}
	if _, err := away.Subscribe(ctx, &paho.Subscribe{Subscriptions: []paho.SubscribeOptions{{Topic: "q/#", QoS: 1}}}); err != nil {
		t.Fatal(err)
	}
	away.Disconnect(&paho.Disconnect{})
	<-away.Done()

	// "slow": connected, acknowledges nothing.
	conn2, err := net.Dial("tcp", s.mqtt)
	if err != nil {
		t.Fatal(err)
	}
	slow := paho.NewClient(paho.ClientConfig{ClientID: "slow", Conn: conn2, EnableManualAcknowledgment: true, OnClientError: func(error) {}})
	if _, err := slow.Connect(ctx, &paho.Connect{ClientID: "slow", CleanStart: true, KeepAlive: 60}); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { slow.Disconnect(&paho.Disconnect{}) })
	if _, err := slow.Subscribe(ctx, &paho.Subscribe{Subscriptions: []paho.SubscribeOptions{{Topic: "q/#", QoS: 1}}}); err != nil {
		t.Fatal(err)
	}

	pub := v5(t, s.mqtt, "pub", nil)
	for i := 0; i < 5; i++ {
		payload := []byte(fmt.Sprintf("reading %d", i))
		if i == 4 {
			payload = []byte{0xde, 0xad, 0xbe, 0xef}
		}
		if _, err := pub.Publish(ctx, &paho.Publish{Topic: fmt.Sprintf("q/%d", i), QoS: 1, Payload: payload}); err != nil {
			t.Fatal(err)
		}
	}

	b := newBrowser(t)
	defer b.check(t)
	b.login(t, s.url, adminKey, adminSecret)
	for _, c := range []struct{ id, section string }{{"away", "mqueue"}, {"slow", "inflight"}} {
		b.do(t, "open "+c.id, chromedp.Navigate(s.url+"/dashboard/clients/"+c.id))
		b.waitFor(t, c.id+"'s "+c.section, `document.querySelectorAll('#`+c.section+` tbody tr[data-msgid]').length === 5`)
		type row struct{ Topic, Payload string }
		rows := eval[[]row](t, b, `[...document.querySelectorAll('#`+c.section+` tbody tr[data-msgid]')].map((tr) => ({topic: tr.children[0].textContent, payload: tr.querySelector('pre').textContent}))`)
		for i, r := range rows[:4] {
			if r.Topic != fmt.Sprintf("q/%d", i) || r.Payload != fmt.Sprintf("reading %d", i) {
				t.Errorf("%s %d: %+v", c.section, i, r)
			}
		}
		if rows[4].Payload != "000000  de ad be ef" {
			t.Errorf("%s binary payload: %q", c.section, rows[4].Payload)
		}
	}
}
