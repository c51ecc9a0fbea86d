package catalog

import (
	"context"
	"flag"
	"fmt"
	"os"
	"testing"
	"time"

	"github.com/mattn/go-sqlite3"
)

// rowPagesDump is where BenchmarkRowPages writes each catalog it builds,
// serialized (FILE.connected.db, FILE.offline.db), for SQLite's dbstat:
//
//	sqlite3 FILE.connected.db "SELECT name, count(*), sum(pgsize) FROM dbstat GROUP BY name"
var rowPagesDump = flag.String("catalog.dump", "", "BenchmarkRowPages: serialize its catalogs to this path plus .connected.db and .offline.db")

// BenchmarkRowPages measures the SQLite database pages one client row
// costs, indexes included, in the catalog the broker builds during a
// connection storm (10,000 MQTT 3.1.1 clients connected from one address,
// a user name, no TLS) and after a persistent-session storm (the same
// clients offline, one subscription each). Rows are handed in 100 at a
// time, as the shards' flushes do during a storm, so the B-trees grow as
// they do in the broker (in insertion order, with the page splits that
// brings; a catalog built in one batch packs tighter).
func BenchmarkRowPages(b *testing.B) {
	const n = 10_000
	for _, kind := range []string{"connected", "offline"} {
		b.Run("rows="+kind, func(b *testing.B) {
			var pages, pageSize int64
			for b.Loop() {
				pages, pageSize = buildRowPages(b, n, kind)
			}
			b.ReportMetric(float64(pages*pageSize)/n, "B/row")
			b.ReportMetric(float64(pages), "pages")
		})
	}
}

// buildRowPages builds a catalog of n storm rows of kind and returns its
// page count and page size.
func buildRowPages(b *testing.B, n int, kind string) (pages, pageSize int64) {
	const node = "shardmq@127.0.0.1"
	c, err := New(Config{StatsInterval: time.Hour, Node: node})
	if err != nil {
		b.Fatal(err)
	}
	defer c.Close()
	now := time.Now().UnixMilli()
	rows := make([]Row, n)
	for i := range rows {
		rows[i] = Row{Node: node, ClientID: fmt.Sprintf("benchstorm%d-%d", i%2, i), Username: "bench",
			ProtoName: "MQTT", ProtoVer: 4, IPAddress: "127.0.0.2", Port: int64(30000 + i), Listener: "tcp:default",
			Zone: "default", Connected: true, ConnState: Connected, ConnectedAt: now + int64(i), CreatedAt: now + int64(i),
			Keepalive: 60, CleanStart: true,
			Counters: Counters{InflightMax: 32, MqueueMax: 1000, AwaitingRelMax: 100,
				RecvOct: 40, RecvCnt: 1, RecvPkt: 1, SendOct: 4, SendCnt: 1, SendPkt: 1, Reductions: 1}}
		if kind == "offline" {
			r := &rows[i]
			r.IsPersistent, r.CleanStart, r.ExpiryInterval = true, false, 7200
			r.Connected, r.ConnState, r.DisconnectedAt = false, Disconnected, ptr(now+int64(i)+100)
			r.SubscriptionsCnt = 1
			r.RecvOct, r.RecvCnt, r.RecvPkt, r.SendOct, r.SendCnt, r.SendPkt = 72, 3, 3, 9, 2, 2
		}
	}
	for i := 0; i < n; i += 100 {
		c.Upsert(rows[i : i+100])
	}
	ctx := context.Background()
	if err := c.Flush(ctx); err != nil {
		b.Fatal(err)
	}
	if err := c.rdb.QueryRowContext(ctx, "PRAGMA page_count").Scan(&pages); err != nil {
		b.Fatal(err)
	}
	if err := c.rdb.QueryRowContext(ctx, "PRAGMA page_size").Scan(&pageSize); err != nil {
		b.Fatal(err)
	}
	if *rowPagesDump == "" {
		return pages, pageSize
	}
	err = c.w.conn.Raw(func(dc any) error {
		db, err := dc.(*sqlite3.SQLiteConn).Serialize("main")
		if err != nil {
			return err
		}
		return os.WriteFile(*rowPagesDump+"."+kind+".db", db, 0o644)
	})
	if err != nil {
		b.Fatal(err)
	}
	return pages, pageSize
}
