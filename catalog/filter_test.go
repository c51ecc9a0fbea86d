package catalog

import (
	"context"
	"errors"
	"strings"
	"testing"
)

func TestFilterValidate(t *testing.T) {
	tests := []struct {
		name  string
		f     Filter
		field string // "" means valid
	}{
		{"zero", Filter{}, ""},
		{"full", Filter{ClientIDs: []string{"a"}, ConnState: Idle, ProtoName: "MQTT-SN", Limit: MaxLimit, OrderBy: "recv_oct", Desc: true, Fields: []string{"recv_msg.qos0"}, Ranges: []ColumnRange{{Column: "mqueue_len"}}}, ""},
		{"conn_state", Filter{ConnState: "foo"}, "conn_state"},
		{"proto_name", Filter{ProtoName: "mqtt"}, "proto_name"},
		{"proto_ver", Filter{ProtoVer: -1}, "proto_ver"},
		{"page", Filter{Page: -1}, "page"},
		{"limit high", Filter{Limit: MaxLimit + 1}, "limit"},
		{"limit negative", Filter{Limit: -1}, "limit"},
		{"order_by unknown", Filter{OrderBy: "clientid; DROP TABLE clients"}, "order_by"},
		{"order_by not orderable", Filter{OrderBy: "zone"}, "order_by"},
		{"range not rangeable", Filter{Ranges: []ColumnRange{{Column: "clientid"}}}, "clientid"},
		{"range injection", Filter{Ranges: []ColumnRange{{Column: "1=1 OR recv_oct"}}}, "1=1 OR recv_oct"},
		{"range twice", Filter{Ranges: []ColumnRange{{Column: "recv_oct"}, {Column: "recv_oct"}}}, "recv_oct"},
		{"fields unknown", Filter{Fields: []string{"clientid", "password"}}, "fields"},
		{"too many ids", Filter{ClientIDs: make([]string, MaxValues+1)}, "clientid"},
		{"too many usernames", Filter{Usernames: make([]string, MaxValues+1)}, "username"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			err := tc.f.Validate()
			if tc.field == "" {
				if err != nil {
					t.Fatalf("Validate: %v", err)
				}
				return
			}
			var fe *FieldError
			if !errors.As(err, &fe) || fe.Field != tc.field || !errors.Is(err, ErrInvalidFilter) {
				t.Fatalf("Validate = %v, want a FieldError for %q", err, tc.field)
			}
		})
	}
}

func TestCursorTamper(t *testing.T) {
	ctx := context.Background()
	c := newTestCatalog(t, Config{})
	c.Upsert([]Row{row("a", Connected), row("b", Connected), row("c", Connected)})
	flush(t, c)
	f := Filter{Limit: 1, OrderBy: "created_at"}
	p, err := c.List(ctx, f)
	if err != nil || !p.HasNext {
		t.Fatalf("%+v %v", p, err)
	}
	other := newTestCatalog(t, Config{})
	flip := []byte(p.NextCursor)
	flip[len(flip)/2] ^= 1
	tests := []struct {
		name string
		cat  *Catalog
		f    Filter
		tok  string
	}{
		{"flipped", c, f, string(flip)},
		{"truncated", c, f, p.NextCursor[:len(p.NextCursor)-3]},
		{"garbage", c, f, "%%%"},
		{"empty payload", c, f, "AAAA"},
		{"other filter", c, Filter{Limit: 1, OrderBy: "created_at", Zone: "default"}, p.NextCursor},
		{"other order", c, Filter{Limit: 1, OrderBy: "created_at", Desc: true}, p.NextCursor},
		{"other catalog", other, f, p.NextCursor},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			g := tc.f
			g.Cursor = tc.tok
			_, err := tc.cat.List(ctx, g)
			var fe *FieldError
			if !errors.Is(err, ErrInvalidCursor) || !errors.As(err, &fe) || fe.Field != "cursor" {
				t.Fatalf("List = %v, want ErrInvalidCursor", err)
			}
		})
	}
	// The untouched token still works, with another limit too.
	g := f
	g.Cursor, g.Limit = p.NextCursor, 5
	if p2, err := c.List(ctx, g); err != nil || len(p2.Rows) != 2 || p2.Count != 3 {
		t.Fatalf("%+v %v", p2, err)
	}
}

func TestConfigValidate(t *testing.T) {
	tests := []struct {
		name string
		cfg  Config
		ok   bool
	}{
		{"zero", Config{}, true},
		{"negative interval", Config{StatsInterval: -1}, false},
		{"negative budget", Config{ChunkBudget: -1}, false},
		{"too many readers", Config{Readers: 65}, false},
		{"negative analyze", Config{AnalyzeInterval: -1}, false},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			err := tc.cfg.Validate()
			if (err == nil) != tc.ok || (err != nil && !errors.Is(err, ErrInvalidConfig)) {
				t.Fatalf("Validate = %v", err)
			}
			if _, err := New(tc.cfg); (err == nil) != tc.ok {
				t.Fatalf("New = %v", err)
			}
		})
	}
}

func TestQueryTextHasNoValues(t *testing.T) {
	evil := "x' OR '1'='1"
	f := Filter{ClientIDs: []string{evil}, Usernames: []string{evil, evil}, Zone: evil, IPAddress: evil,
		LikeUsername: evil, ProtoName: "MQTT", Ranges: []ColumnRange{{Column: "recv_oct", Range: Range{Gte: ptr(int64(5))}}}}
	for _, q := range []string{func() string { s, _ := idsSQL(&f, nil, 0, plan{}); return s }(), func() string { s, _ := countSQL(&f, plan{}); return s }()} {
		if strings.Contains(q, "x'") || strings.Contains(q, "MQTT") || strings.Contains(q, "5") {
			t.Fatalf("a value leaked into SQL text: %s", q)
		}
	}
}
