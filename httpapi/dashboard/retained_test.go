package dashboard_test

import (
	"bytes"
	"context"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
	"github.com/eclipse/paho.golang/paho"
)

// TestBrowserRetainedAndTopics publishes retained messages with real
// clients (text, markup, binary, one above the display cap) and checks the
// Retained page shows each payload safely and deletes one; and that the
// Topics page lists the routes of real subscriptions and searches them.
func TestBrowserRetainedAndTopics(t *testing.T) {
	chromiumPath(t)
	s := startStack(t, nil, "")
	pub := v5(t, s.mqtt, "retainer", nil)
	binary := make([]byte, 256)
	for i := range binary {
		binary[i] = byte(i)
	}
	big := bytes.Repeat([]byte("0123456789abcdef"), 1024) // 16 KiB of text
	for _, m := range []struct {
		topic   string
		payload []byte
	}{
		{"ret/text", []byte("22.5 °C")},
		{"ret/markup", []byte(`<script>alert(1)</script><img src=x onerror=alert(2)>`)},
		{"ret/binary", binary},
		{"ret/big", big},
	} {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		if _, err := pub.Publish(ctx, &paho.Publish{Topic: m.topic, QoS: 1, Retain: true, Payload: m.payload}); err != nil {
			t.Fatal(err)
		}
		cancel()
	}
	for _, id := range []string{"sub-a", "sub-b"} {
		c := v5(t, s.mqtt, id, nil)
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		if _, err := c.Subscribe(ctx, &paho.Subscribe{Subscriptions: []paho.SubscribeOptions{{Topic: "plant/+/temp"}, {Topic: "$share/g1/alarms/#"}, {Topic: id + "/cmd"}}}); err != nil {
			t.Fatal(err)
		}
		cancel()
	}

	b := newBrowser(t)
	defer b.check(t)
	b.login(t, s.url, adminKey, adminSecret)

	// Retained: four messages; each payload as text or hex, capped.
	b.do(t, "open Retained", chromedp.Click(chromedp.CSS(`header nav a[href="/dashboard/retained"]`)))
	b.waitFor(t, "four retained messages", `(document.getElementById('retained-total') || {}).textContent === '4'`)
	view := func(topic string) (mode, text, info string) {
		t.Helper()
		b.do(t, "view "+topic, chromedp.Click(chromedp.CSS(`#retained tr[data-topic="`+topic+`"] button[data-action=view]`)))
		b.waitFor(t, "the payload of "+topic, `(() => { const v = document.getElementById('payload-view'); return v && !v.hidden && v.querySelector('h3 .topic').textContent === '`+topic+`'; })()`)
		type shown struct{ Text, Info string }
		v := eval[shown](t, b, `({text: document.getElementById('payload').textContent, info: document.querySelector('#payload-view p').textContent})`)
		mode = "text"
		if strings.Contains(v.Info, "shown as hex") {
			mode = "hex"
		}
		return mode, v.Text, v.Info
	}
	if mode, text, _ := view("ret/text"); mode != "text" || text != "22.5 °C" {
		t.Errorf("ret/text: %s %q", mode, text)
	}
	if mode, text, _ := view("ret/markup"); mode != "text" || text != `<script>alert(1)</script><img src=x onerror=alert(2)>` {
		t.Errorf("ret/markup: %s %q", mode, text)
	}
	if n := eval[int](t, b, `document.querySelectorAll('main script, main img').length`); n != 0 {
		t.Errorf("the markup payload became %d elements", n)
	}
	if mode, text, _ := view("ret/binary"); mode != "hex" || !strings.HasPrefix(text, "000000  00 01 02 03") || !strings.Contains(text, "0000f0  f0 f1 f2 f3 f4 f5 f6 f7 f8 f9 fa fb fc fd fe ff") {
		t.Errorf("ret/binary: %s %q", mode, text)
	}
	b.do(t, "as text", chromedp.Click(chromedp.CSS(`#payload-view button[data-action=as-text]`)))
	if got := eval[string](t, b, `document.querySelector('#payload-view p').textContent`); !strings.Contains(got, "shown as hex") {
		t.Errorf("binary asked as text shows %q, want hex", got)
	}
	if mode, text, info := view("ret/big"); mode != "text" || len(text) != 4096 || !strings.Contains(info, "16.0 KiB") || !strings.Contains(info, "the first 4,096 bytes") {
		t.Errorf("ret/big: %s, %d characters, %q", mode, len(text), info)
	}
	b.do(t, "as hex", chromedp.Click(chromedp.CSS(`#payload-view button[data-action=as-hex]`)))
	if got := eval[string](t, b, `document.getElementById('payload').textContent.split('\n')[0]`); got != "000000  30 31 32 33 34 35 36 37 38 39 61 62 63 64 65 66" {
		t.Errorf("ret/big as hex starts %q", got)
	}
	b.do(t, "delete ret/markup", chromedp.Click(chromedp.CSS(`#retained tr[data-topic="ret/markup"] button[data-action=delete]`)),
		chromedp.Click(chromedp.CSS(`dialog[open] button[data-action=confirm]`)))
	b.waitFor(t, "three retained messages", `(document.getElementById('retained-total') || {}).textContent === '3' && document.querySelector('#retained tr[data-topic="ret/markup"]') === null`)
	if code := s.get(t, "/retainer/message/ret%2Fmarkup", nil); code != http.StatusNotFound {
		t.Errorf("GET the deleted message: %d", code)
	}
	b.do(t, "filter by a wildcard", chromedp.SendKeys(chromedp.CSS(`#retained-filters input[name=topic]`), "ret/+"),
		chromedp.Click(chromedp.CSS(`#retained-filters button[type=submit]`)))
	b.waitFor(t, "the filtered list", `location.search === '?topic=ret%2F%2B' && (document.getElementById('retained-total') || {}).textContent === '3'`)

	// Topics: the routes of the real subscriptions, searched, linked to
	// their subscriptions.
	b.do(t, "open Topics", chromedp.Click(chromedp.CSS(`header nav a[href="/dashboard/topics"]`)))
	b.waitFor(t, "four routes", `(document.getElementById('topics-total') || {}).textContent === '4'`)
	got := eval[[]string](t, b, `[...document.querySelectorAll('#topics tbody tr')].map((tr) => tr.dataset.topic)`)
	if strings.Join(got, " ") != "alarms/# plant/+/temp sub-a/cmd sub-b/cmd" {
		t.Errorf("routes %q", got)
	}
	b.do(t, "search a filter", chromedp.SendKeys(chromedp.CSS(`#topic-filters input[name=topic]`), "plant/+/temp"),
		chromedp.Click(chromedp.CSS(`#topic-filters button[type=submit]`)))
	b.waitFor(t, "one route", `(document.getElementById('topics-total') || {}).textContent === '1'`)
	b.do(t, "its subscriptions", chromedp.Click(chromedp.CSS(`#topics tbody a`)))
	b.waitFor(t, "the two subscribers", `location.pathname === '/dashboard/subscriptions' && (document.getElementById('subs-total') || {}).textContent === '2'`)

	// A viewer may look at payloads but not delete.
	viewer := newBrowser(t)
	defer viewer.check(t)
	viewer.login(t, s.url, viewerKey, viewerSecret)
	viewer.do(t, "open Retained", chromedp.Navigate(s.url+"/dashboard/retained"))
	viewer.waitFor(t, "the list", `(document.getElementById('retained-total') || {}).textContent === '3'`)
	if n := eval[int](t, viewer, `document.querySelectorAll('#retained [data-action=delete]').length`); n != 0 {
		t.Errorf("a viewer sees %d delete buttons", n)
	}
	if n := eval[int](t, viewer, `document.querySelectorAll('#retained [data-action=view]').length`); n != 3 {
		t.Errorf("a viewer sees %d view buttons", n)
	}
}
