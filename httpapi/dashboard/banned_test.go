package dashboard_test

import (
	"context"
	"net"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
	"github.com/eclipse/paho.golang/paho"
)

// connectAck connects an MQTT 5 client and returns the CONNACK's reason
// code (paho reports a refusal as an error carrying the CONNACK).
func connectAck(t testing.TB, addr, id string) byte {
	t.Helper()
	conn, err := net.Dial("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	c := paho.NewClient(paho.ClientConfig{ClientID: id, Conn: conn, OnClientError: func(error) {}})
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	ack, err := c.Connect(ctx, &paho.Connect{ClientID: id, CleanStart: true, KeepAlive: 60})
	if ack == nil {
		t.Fatalf("connect %s: no CONNACK: %v", id, err)
	}
	if ack.ReasonCode == 0 {
		c.Disconnect(&paho.Disconnect{})
	}
	conn.Close()
	return ack.ReasonCode
}

// TestBrowserBanned bans a connected client from the Banned page: the real
// client is kicked and its next CONNECT refused (0x8A); lifting the ban
// lets it in again. A viewer sees the list without the controls.
func TestBrowserBanned(t *testing.T) {
	chromiumPath(t)
	s := startStack(t, nil, "")
	kicked := make(chan byte, 1)
	v5(t, s.mqtt, "rogue-1", kicked)
	s.waitCount(t, "clientid=rogue-1", 1)

	b := newBrowser(t)
	defer b.check(t)
	b.login(t, s.url, adminKey, adminSecret)
	b.do(t, "open Banned", chromedp.Click(chromedp.CSS(`header nav a[href="/dashboard/banned"]`)))
	b.waitFor(t, "the empty list", `(document.getElementById('ban-total') || {}).textContent === '0'`)
	b.do(t, "ban rogue-1",
		chromedp.SendKeys(chromedp.CSS(`#ban input[name=who]`), "rogue-1"),
		chromedp.SendKeys(chromedp.CSS(`#ban input[name=reason]`), "<b>flooding</b>"),
		chromedp.Click(chromedp.CSS(`#ban button[data-action=ban]`)),
		chromedp.Click(chromedp.CSS(`dialog[open] button[data-action=confirm]`)))
	b.waitFor(t, "the ban listed", `(document.getElementById('ban-total') || {}).textContent === '1' && document.querySelector('#banned tr[data-who="rogue-1"]') !== null`)
	if got := eval[string](t, b, `document.querySelector('#banned tbody td:nth-child(3)').textContent`); got != "<b>flooding</b>" {
		t.Errorf("the reason shows %q", got)
	}
	select {
	case rc := <-kicked:
		if rc != 0x98 {
			t.Errorf("kicked with 0x%02x", rc)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("the banned client stays connected")
	}
	if rc := connectAck(t, s.mqtt, "rogue-1"); rc != 0x8A {
		t.Errorf("a banned client's CONNECT: 0x%02x, want 0x8A", rc)
	}

	// A viewer sees the ban, and no ban form or lift button.
	viewer := newBrowser(t)
	defer viewer.check(t)
	viewer.login(t, s.url, viewerKey, viewerSecret)
	viewer.do(t, "open Banned", chromedp.Navigate(s.url+"/dashboard/banned"))
	viewer.waitFor(t, "the list", `(document.getElementById('ban-total') || {}).textContent === '1'`)
	if n := eval[int](t, viewer, `document.querySelectorAll('#ban, [data-action=lift], [data-action=lift-all]').length`); n != 0 {
		t.Errorf("a viewer sees %d ban controls", n)
	}

	b.do(t, "lift the ban", chromedp.Click(chromedp.CSS(`#banned button[data-action=lift]`)),
		chromedp.Click(chromedp.CSS(`dialog[open] button[data-action=confirm]`)))
	b.waitFor(t, "the empty list", `(document.getElementById('ban-total') || {}).textContent === '0'`)
	if rc := connectAck(t, s.mqtt, "rogue-1"); rc != 0 {
		t.Errorf("after the lift, CONNECT: 0x%02x", rc)
	}
}
