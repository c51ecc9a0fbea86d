package dashboard_test

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
	"github.com/shardmq/shardmq/catalog"
)

// catalogRows is the size of the catalog of the performance test.
const catalogRows = 100_000

// loads is how many times each filtered page is loaded; the median counts.
const loads = 5

// maxRenderMs is the budget from the request of a filtered page to the
// table drawn with its total.
const maxRenderMs = 300

// fill100k fills a catalog with catalogRows clients: ids dev-000000..,
// user names u000..u999, protocol versions 3, 4 and 5 (3 + i%3), three in
// four connected (i%4 != 0), counters spread out.
func fill100k(t testing.TB) *catalog.Catalog {
	t.Helper()
	cat, err := catalog.New(catalog.Config{StatsInterval: time.Second})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { cat.Close() })
	now := time.Now().UnixMilli()
	rows := make([]catalog.Row, 0, 10_000)
	for i := 0; i < catalogRows; i++ {
		connected := i%4 != 0
		r := catalog.Row{Node: node, ClientID: fmt.Sprintf("dev-%06d", i), Username: fmt.Sprintf("u%03d", i%1000),
			ProtoName: "MQTT", ProtoVer: int64(3 + i%3), IPAddress: fmt.Sprintf("10.%d.%d.%d", i>>16&255, i>>8&255, i&255), Port: 40000 + int64(i%20000),
			Listener: "tcp:default", Zone: "default", Connected: connected, ConnState: catalog.Connected,
			ConnectedAt: now - int64(i)*1000, CreatedAt: now - int64(i)*1000, Keepalive: 60, CleanStart: i%2 == 0, ExpiryInterval: 7200}
		if !connected {
			r.ConnState = catalog.Disconnected
			at := now - int64(i)*500
			r.DisconnectedAt = &at
			r.IsPersistent = true
		}
		r.SubscriptionsCnt, r.InflightMax, r.MqueueMax, r.AwaitingRelMax = int64(i%7), 32, 1000, 100
		r.MqueueLen, r.RecvMsg, r.SendMsg, r.RecvOct, r.SendOct = int64(i%50), int64(i%10_000), int64(i%9_000), int64(i*13%1_000_000), int64(i*7%1_000_000)
		rows = append(rows, r)
		if len(rows) == cap(rows) {
			cat.Upsert(rows)
			rows = rows[:0]
		}
	}
	cat.Upsert(rows)
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	if err := cat.Flush(ctx); err != nil {
		t.Fatal(err)
	}
	return cat
}

// TestBrowserClientsPage100k measures, in Chromium, the clients page over a
// catalog of 100,000 clients: from the request of a filtered page
// (performance.now() before the fetch) to the table and its total drawn
// (the next animation frame after the rows are in the DOM). Each filter is
// loaded five times; the median must take at most 300 ms.
func TestBrowserClientsPage100k(t *testing.T) {
	chromiumPath(t)
	if raceEnabled {
		t.Skip("the race detector slows the broker's Go code several times over, so the page budget is not measured under it; " +
			"make test runs this test again without -race")
	}
	cat := fill100k(t)
	s := startStack(t, cat, "")
	b := newBrowser(t)
	defer b.check(t)
	b.login(t, s.url, adminKey, adminSecret)
	b.do(t, "open Clients", chromedp.Click(chromedp.CSS(`header nav a[href="/dashboard/clients"]`)))
	if _, total := b.clientsTable(t, "/dashboard/clients"); total != "100,000" {
		t.Fatalf("unfiltered total %q, want 100,000", total)
	}
	cases := []struct {
		name string
		// text and choice are the form's inputs and selects to set; sort
		// is a column header to click after.
		text, choice [][2]string
		sort         string
		query        string
		// match selects the rows of the catalog the filter must count.
		match func(i int) bool
		rows  int
	}{
		{"client id contains", [][2]string{{"like_clientid", "dev-0421"}}, nil, "", "like_clientid=dev-0421",
			func(i int) bool { return i/100 == 421 }, 50},
		{"protocol version", nil, [][2]string{{"proto_ver", "5"}}, "", "proto_ver=5",
			func(i int) bool { return i%3 == 2 }, 50},
		{"version, state, 500 a page", nil, [][2]string{{"proto_ver", "5"}, {"conn_state", "disconnected"}, {"_limit", "500"}}, "",
			"conn_state=disconnected&proto_ver=5&_limit=500", func(i int) bool { return i%3 == 2 && i%4 == 0 }, 500},
		{"user name and version", [][2]string{{"username", "u042"}}, [][2]string{{"proto_ver", "3"}}, "", "username=u042&proto_ver=3",
			func(i int) bool { return i%1000 == 42 && i%3 == 0 }, 34},
		{"client id contains, sorted by messages in", [][2]string{{"like_clientid", "77"}}, nil, "recv_msg", "like_clientid=77&order_by=recv_msg",
			func(i int) bool { return strings.Contains(fmt.Sprintf("dev-%06d", i), "77") }, 50},
	}
	worst, slowest := 0.0, 0.0
	for _, c := range cases {
		// Each filter is set in the form and applied as a user does.
		b.do(t, "reset", chromedp.Navigate(s.url+"/dashboard/clients"))
		b.clientsTable(t, "/dashboard/clients")
		for _, in := range c.text {
			b.do(t, c.name, chromedp.SendKeys(chromedp.CSS(`#client-filters input[name=`+in[0]+`]`), in[1]))
		}
		for _, in := range c.choice {
			eval[chromedp.Void](t, b, fmt.Sprintf(`document.querySelector('#client-filters select[name=%s]').value = %q`, in[0], in[1]))
		}
		b.do(t, c.name, chromedp.Click(chromedp.CSS(`#client-filters button[data-action=search]`)))
		if c.sort != "" {
			b.clientsTable(t, "/dashboard/clients?"+strings.TrimSuffix(c.query, "&order_by="+c.sort))
			b.do(t, "sort", chromedp.Click(chromedp.CSS(`#clients th button[data-sort="`+c.sort+`"]`)))
		}
		want := "/dashboard/clients?" + c.query
		n := 0
		for i := 0; i < catalogRows; i++ {
			if c.match(i) {
				n++
			}
		}
		wantTotal := commas(n)
		// Five loads of the page (Search again), as the machine is
		// shared: the median must fit the budget; all five are logged.
		var draws []float64
		var total string
		var rows int
		for run := 0; run < loads; run++ {
			if run > 0 {
				b.do(t, "search again", chromedp.Click(chromedp.CSS(`#client-filters button[data-action=search]`)))
			}
			_, total = b.clientsTable(t, want)
			ms := eval[float64](t, b, `Number(document.querySelector('#clients').dataset.renderMs)`)
			fetchMs := eval[float64](t, b, `Number(document.querySelector('#clients').dataset.fetchMs)`)
			rows = eval[int](t, b, `document.querySelectorAll('#clients tbody tr[data-clientid]').length`)
			t.Logf("%s (%s): %d rows of %s drawn in %.1f ms (response in %.1f ms)", c.name, c.query, rows, total, ms, fetchMs)
			draws = append(draws, ms)
		}
		if total != wantTotal || rows != c.rows {
			t.Errorf("%s: %d rows of %q, want %d of %s", c.name, rows, total, c.rows, wantTotal)
		}
		slices.Sort(draws)
		ms := draws[loads/2]
		if ms > maxRenderMs {
			t.Errorf("%s: median %.1f ms from request to table drawn (of %v), want at most %d ms", c.name, ms, draws, maxRenderMs)
		}
		if c.sort != "" {
			col := eval[[]float64](t, b, `(() => {
				const i = [...document.querySelectorAll('#clients thead th')].findIndex((th) => th.querySelector('[data-sort="`+c.sort+`"]'));
				return [...document.querySelectorAll('#clients tbody tr')].map((tr) => Number(tr.children[i].textContent.replaceAll(',', '')));
			})()`)
			if len(col) != c.rows || !slices.IsSorted(col) {
				t.Errorf("%s: column %s is %v, want ascending", c.name, c.sort, col)
			}
		}
		worst = max(worst, ms)
		slowest = max(slowest, draws[loads-1])
	}
	t.Logf("over %d clients, the worst median of %d filters: %.1f ms, the slowest single load: %.1f ms (budget %d ms)",
		catalogRows, len(cases), worst, slowest, maxRenderMs)
}

// commas formats n as the page does (en-US grouping).
func commas(n int) string {
	s := fmt.Sprint(n)
	for i := len(s) - 3; i > 0; i -= 3 {
		s = s[:i] + "," + s[i:]
	}
	return s
}
