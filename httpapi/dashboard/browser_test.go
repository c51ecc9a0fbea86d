package dashboard_test

import (
	"fmt"
	"io"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
	"github.com/eclipse/paho.golang/paho"
)

// xssID is a client id that is also markup: the dashboard must show it as
// text and never run it.
const xssID = `<img src=x onerror=alert(1)>`

// maxAssetBytes bounds the JavaScript and CSS a page loads, compressed.
const maxAssetBytes = 150 << 10

// TestBrowser drives the dashboard in a real Chromium against a real
// broker with real MQTT clients: login, filters, paging, a client's page,
// subscribe, unsubscribe and kick, a hostile client id, and a viewer. Any
// console error, uncaught exception or JavaScript dialog fails it.
func TestBrowser(t *testing.T) {
	chromiumPath(t)
	s := startStack(t, nil, "")
	// 25 MQTT 5 clients dev5-00.., 30 MQTT 3.1.1 clients dev4-00.., the
	// hostile id (3.1.1) and the one to kick (5).
	for i := 0; i < 25; i++ {
		v5(t, s.mqtt, fmt.Sprintf("dev5-%02d", i), nil)
	}
	for i := 0; i < 30; i++ {
		v4(t, s.mqtt, fmt.Sprintf("dev4-%02d", i))
	}
	v4(t, s.mqtt, xssID)
	kicked := make(chan byte, 1)
	kickme := v5(t, s.mqtt, "kick-me", kicked)
	s.waitCount(t, "conn_state=connected", 57)

	b := newBrowser(t)
	defer b.check(t)
	b.login(t, s.url, adminKey, adminSecret)

	// The page loads at most 150 KiB of JavaScript and CSS, gzipped.
	type res struct {
		Name    string  `json:"name"`
		Encoded float64 `json:"encoded"`
		Decoded float64 `json:"decoded"`
	}
	loaded := eval[[]res](t, b, `performance.getEntriesByType('resource').filter((e) => /\.(js|css)$/.test(new URL(e.name).pathname))
		.map((e) => ({name: new URL(e.name).pathname, encoded: e.encodedBodySize, decoded: e.decodedBodySize}))`)
	var enc, dec float64
	for _, r := range loaded {
		enc, dec = enc+r.Encoded, dec+r.Decoded
	}
	t.Logf("JavaScript and CSS: %d files, %.0f bytes transferred gzipped (%.1f KiB), %.0f bytes decoded", len(loaded), enc, enc/1024, dec)
	if len(loaded) < 5 || enc <= 0 || enc > maxAssetBytes || enc >= dec {
		t.Errorf("JavaScript and CSS: %d files, %.0f bytes compressed, %.0f decoded; want gzip and at most %d bytes", len(loaded), enc, dec, maxAssetBytes)
	}

	// Overview: its tiles show the broker's counts.
	b.waitFor(t, "the overview's connection count", `(document.querySelector('[data-stat="live_connections"] .tile-value') || {}).textContent === '57'`)

	// Clients, filtered by a client id prefix through the form.
	b.do(t, "open Clients", chromedp.Click(chromedp.CSS(`header nav a[href="/dashboard/clients"]`)))
	b.clientsTable(t, "/dashboard/clients")
	b.do(t, "filter by client id", chromedp.SendKeys(chromedp.CSS(`#client-filters input[name=like_clientid]`), "dev5-"),
		chromedp.Click(chromedp.CSS(`#client-filters button[data-action=search]`)))
	ids, total := b.clientsTable(t, "/dashboard/clients?like_clientid=dev5-")
	if total != "25" || len(ids) != 25 || !allPrefixed(ids, "dev5-") || !slices.IsSorted(ids) {
		t.Errorf("like_clientid=dev5-: total %q, rows %q; want the 25 dev5- clients in order", total, ids)
	}

	// By protocol version (a select applies at once), with the id filter
	// cleared: 30 dev4 clients and the hostile id.
	b.do(t, "reset", chromedp.Click(chromedp.CSS(`#client-filters button[data-action=reset]`)))
	b.clientsTable(t, "/dashboard/clients")
	eval[chromedp.Void](t, b, `(() => { const s = document.querySelector('#client-filters select[name=proto_ver]'); s.value = '4'; s.dispatchEvent(new Event('change', {bubbles: true})); })()`)
	ids, total = b.clientsTable(t, "/dashboard/clients?proto_ver=4")
	if total != "31" || len(ids) != 31 || !slices.Contains(ids, xssID) {
		t.Errorf("proto_ver=4: total %q, %d rows; want 31 with the hostile id", total, len(ids))
	}

	// Pages of 20: forward, back, and the browser's back button.
	eval[chromedp.Void](t, b, `(() => { const s = document.querySelector('#client-filters select[name=_limit]'); s.value = '20'; s.dispatchEvent(new Event('change', {bubbles: true})); })()`)
	page1, total := b.clientsTable(t, "/dashboard/clients?proto_ver=4&_limit=20")
	if total != "31" || len(page1) != 20 {
		t.Fatalf("page 1 of 20: total %q, %d rows", total, len(page1))
	}
	if got := eval[string](t, b, `document.querySelector('.page-info').textContent`); got != "page 1 of 2" {
		t.Errorf("pager says %q", got)
	}
	b.do(t, "next page", chromedp.Click(chromedp.CSS(`.pager button[data-action=next]`)))
	page2, _ := b.clientsTable(t, "/dashboard/clients?proto_ver=4&_limit=20&_page=2")
	if len(page2) != 11 || slices.ContainsFunc(page2, func(id string) bool { return slices.Contains(page1, id) }) || page2[0] <= page1[19] {
		t.Errorf("page 2: %q after page 1 %q", page2, page1)
	}
	if eval[bool](t, b, `document.querySelector('.pager button[data-action=next]').disabled`) != true {
		t.Error("next is enabled on the last page")
	}
	b.do(t, "previous page", chromedp.Click(chromedp.CSS(`.pager button[data-action=prev]`)))
	back, _ := b.clientsTable(t, "/dashboard/clients?proto_ver=4&_limit=20")
	if !slices.Equal(back, page1) {
		t.Errorf("back on page 1: %q, want %q", back, page1)
	}
	b.do(t, "browser back", chromedp.NavigateBack())
	again, _ := b.clientsTable(t, "/dashboard/clients?proto_ver=4&_limit=20&_page=2")
	if !slices.Equal(again, page2) {
		t.Errorf("browser back to page 2: %q, want %q", again, page2)
	}

	// The hostile id is text in the list, and on its own page.
	b.do(t, "all clients", chromedp.Navigate(s.url+"/dashboard/clients?like_clientid="+url.QueryEscape("<img")))
	ids, _ = b.clientsTable(t, "/dashboard/clients?like_clientid=%3Cimg")
	if !slices.Equal(ids, []string{xssID}) {
		t.Errorf("like_clientid=<img: %q", ids)
	}
	if n := eval[int](t, b, `document.querySelectorAll('main img').length`); n != 0 {
		t.Errorf("the client id became %d <img> elements", n)
	}
	if got := eval[string](t, b, `document.querySelector('#clients tbody a').textContent`); got != xssID {
		t.Errorf("the list shows %q", got)
	}
	b.do(t, "open the hostile client", chromedp.Click(chromedp.CSS(`#clients tbody a`)))
	b.waitFor(t, "its fields", `document.querySelector('dd[data-field=clientid]') !== null`)
	if got := eval[string](t, b, `document.querySelector('dd[data-field=clientid]').textContent + '|' + document.getElementById('client-id').textContent`); got != xssID+"|"+xssID {
		t.Errorf("the client page shows %q", got)
	}
	if n := eval[int](t, b, `document.querySelectorAll('main img').length`); n != 0 {
		t.Errorf("the client page holds %d <img> elements", n)
	}

	// A client's page: every field of the object, grouped.
	b.do(t, "open kick-me", chromedp.Navigate(s.url+"/dashboard/clients?clientid=kick-me"))
	b.clientsTable(t, "/dashboard/clients?clientid=kick-me")
	b.do(t, "click its row", chromedp.Click(chromedp.CSS(`#clients tbody tr[data-clientid="kick-me"] td:nth-child(3)`)))
	b.waitFor(t, "kick-me's fields", `location.pathname === '/dashboard/clients/kick-me' && document.querySelector('dd[data-field=send_msg\\.dropped\\.too_large]') !== null`)
	var obj map[string]any
	s.get(t, "/clients/kick-me", &obj)
	shown := eval[[]string](t, b, `[...document.querySelectorAll('dd[data-field]')].map((d) => d.dataset.field)`)
	for k := range obj {
		if !slices.Contains(shown, k) {
			t.Errorf("the client page lacks field %q", k)
		}
	}
	if got := eval[string](t, b, `document.querySelector('dd[data-field=proto_ver]').textContent`); got != "5" {
		t.Errorf("proto_ver shows %q", got)
	}

	// Subscribe and unsubscribe, each confirmed.
	b.do(t, "subscribe", chromedp.SendKeys(chromedp.CSS(`#subscribe input[name=topic]`), "dash/+/cmd"),
		chromedp.Click(chromedp.CSS(`#subscribe button[data-action=subscribe]`)),
		chromedp.Click(chromedp.CSS(`dialog[open] button[data-action=confirm]`)))
	b.waitFor(t, "the new subscription", `document.querySelector('#client-subscriptions tr[data-topic="dash/+/cmd"]') !== null`)
	var subs []struct{ Topic string }
	s.get(t, "/clients/kick-me/subscriptions", &subs)
	if len(subs) != 1 || subs[0].Topic != "dash/+/cmd" {
		t.Errorf("after subscribe the broker has %+v", subs)
	}
	pubCtx, cancelPub := contextTimeout(5 * time.Second)
	got := make(chan string, 1)
	kickme.AddOnPublishReceived(func(pr paho.PublishReceived) (bool, error) {
		got <- pr.Packet.Topic
		return true, nil
	})
	if _, err := v5(t, s.mqtt, "publisher", nil).Publish(pubCtx, &paho.Publish{Topic: "dash/7/cmd", Payload: []byte("on")}); err != nil {
		t.Fatal(err)
	}
	cancelPub()
	select {
	case topic := <-got:
		if topic != "dash/7/cmd" {
			t.Errorf("received on %q", topic)
		}
	case <-time.After(5 * time.Second):
		t.Error("the subscription made in the dashboard delivers nothing")
	}
	b.do(t, "unsubscribe", chromedp.Click(chromedp.CSS(`#client-subscriptions button[data-action=unsubscribe]`)),
		chromedp.Click(chromedp.CSS(`dialog[open] button[data-action=confirm]`)))
	b.waitFor(t, "no subscription", `document.querySelector('#client-subscriptions tr[data-topic]') === null && document.querySelector('#client-subscriptions td.empty') !== null`)
	s.get(t, "/clients/kick-me/subscriptions", &subs)
	if len(subs) != 0 {
		t.Errorf("after unsubscribe the broker has %+v", subs)
	}

	// Kick: cancelling does nothing; confirming disconnects the real client.
	b.do(t, "kick, then cancel", chromedp.Click(chromedp.CSS(`button[data-action=kick]`)),
		chromedp.Click(chromedp.CSS(`dialog[open] button[data-action=cancel]`)))
	if code := s.get(t, "/clients/kick-me", nil); code != http.StatusOK {
		t.Fatalf("after a cancelled kick GET /clients/kick-me is %d", code)
	}
	b.do(t, "kick", chromedp.Click(chromedp.CSS(`button[data-action=kick]`)),
		chromedp.Click(chromedp.CSS(`dialog[open] button[data-action=confirm]`)))
	select {
	case rc := <-kicked:
		if rc != 0x98 {
			t.Errorf("kicked with reason 0x%02x, want 0x98 (administrative action)", rc)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("the kicked client was not disconnected")
	}
	select {
	case <-kickme.Done():
	case <-time.After(5 * time.Second):
		t.Error("the kicked client's connection stays open")
	}
	b.waitFor(t, "back on the list", `location.pathname === '/dashboard/clients'`)
	if code := s.get(t, "/clients/kick-me", nil); code != http.StatusNotFound {
		t.Errorf("after the kick GET /clients/kick-me is %d", code)
	}

	// The subscriptions page lists and filters by a topic they match.
	for _, id := range []string{"dev5-03", "dev4-07"} {
		s.post(t, "/clients/"+id+"/subscribe", `{"topic":"sensors/`+id+`/#","qos":1}`)
	}
	b.do(t, "open Subscriptions", chromedp.Click(chromedp.CSS(`header nav a[href="/dashboard/subscriptions"]`)))
	b.waitFor(t, "the subscriptions table", `(document.getElementById('subs-total') || {}).textContent === '2'`)
	b.do(t, "match a topic", chromedp.SendKeys(chromedp.CSS(`#subscription-filters input[name=match_topic]`), "sensors/dev4-07/temp"),
		chromedp.Click(chromedp.CSS(`#subscription-filters button[type=submit]`)))
	b.waitFor(t, "the matching subscription", `location.search === '?match_topic=sensors%2Fdev4-07%2Ftemp' && (document.getElementById('subs-total') || {}).textContent === '1'`)
	if got := eval[string](t, b, `[...document.querySelectorAll('#subscriptions tbody td')].slice(0, 3).map((td) => td.textContent).join(' ')`); got != "dev4-07 sensors/dev4-07/# 1" {
		t.Errorf("the matching subscription shows %q", got)
	}
	b.check(t)

	// A viewer: no kick button, no subscribe form; the API refuses anyway.
	b.do(t, "log out", chromedp.Click(chromedp.CSS(`button[data-action=logout]`)))
	b.waitFor(t, "the login form", `location.pathname === '/dashboard/login'`)
	b.do(t, "log in as viewer",
		chromedp.SendKeys(chromedp.CSS(`#login input[name=username]`), viewerKey),
		chromedp.SendKeys(chromedp.CSS(`#login input[name=password]`), viewerSecret),
		chromedp.Click(chromedp.CSS(`#login button[type=submit]`)))
	b.waitFor(t, "the overview", `location.pathname === '/dashboard/' && (document.getElementById('role') || {}).textContent === 'viewer'`)
	b.do(t, "open dev5-03", chromedp.Navigate(s.url+"/dashboard/clients/dev5-03"))
	b.waitFor(t, "dev5-03's fields", `document.querySelector('dd[data-field=clientid]') !== null && document.querySelector('#client-subscriptions td') !== null`)
	if n := eval[int](t, b, `document.querySelectorAll('[data-action=kick], #subscribe, [data-action=unsubscribe]').length`); n != 0 {
		t.Errorf("a viewer sees %d kick, subscribe or unsubscribe controls", n)
	}
	viewer, vcsrf := s.session(t, viewerKey, viewerSecret)
	code, body := call(t, viewer, http.MethodDelete, s.url+"/api/v5/clients/dev5-03", vcsrf)
	if code != http.StatusForbidden || !strings.Contains(body, `"code":"UNAUTHORIZED_ROLE"`) {
		t.Errorf("a viewer's kick: %d %s", code, body)
	}
	if code := s.get(t, "/clients/dev5-03", nil); code != http.StatusOK {
		t.Errorf("dev5-03 after the viewer's refused kick: %d", code)
	}
}

// call sends a request with a dashboard session (cookie in c) and the
// CSRF token, and returns the status and body.
func call(t testing.TB, c *http.Client, method, u, csrf string) (int, string) {
	t.Helper()
	req, _ := http.NewRequest(method, u, nil)
	if csrf != "" {
		req.Header.Set("X-CSRF-Token", csrf)
	}
	res, err := c.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	b, _ := io.ReadAll(res.Body)
	return res.StatusCode, string(b)
}

func allPrefixed(ids []string, prefix string) bool {
	for _, id := range ids {
		if !strings.HasPrefix(id, prefix) {
			return false
		}
	}
	return true
}
