package catalog

import (
	"context"
	"fmt"
	"math/rand/v2"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"
)

// newTestCatalog returns a catalog closed at the end of the test.
func newTestCatalog(t testing.TB, cfg Config) *Catalog {
	t.Helper()
	c, err := New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if err := c.Close(); err != nil {
			t.Error(err)
		}
	})
	return c
}

// flush waits for the writer or fails the test.
func flush(t testing.TB, c *Catalog) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	if err := c.Flush(ctx); err != nil {
		t.Fatal(err)
	}
}

// waitFor polls cond every millisecond until it holds or 10 s pass.
func waitFor(t testing.TB, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(time.Millisecond)
	}
}

func ptr[T any](v T) *T { return &v }

// hostile are strings that must be stored and matched literally.
var hostile = []string{
	"'", `"`, "' OR 1=1 --", "'; DROP TABLE clients; --", "%", "_", "%%", "a%b", "a_b",
	`\`, `\\`, `\%`, `\_`, "[a]", "*", "?", "ä", "日本", "emoji-😀", "a\nb", "\t",
	"x" + strings.Repeat("y", 5000), "NULL", "null", "0", "-1", "dev-%", "dev_1",
}

// hostileNeedles adds needles that cannot occur in rows (NUL, non-UTF-8).
var hostileNeedles = append(slices.Clone(hostile),
	"\x00", "a\x00b", "\xff", "\xc3", "\xa4", "dev-\xff", "\xe6\x97", strings.Repeat("%", 3000))

// genRows returns n random rows over small domains so that random
// filters match some of them. Clientids are unique.
func genRows(rng *rand.Rand, n int) []Row {
	users := append([]string{"", "alice", "bob", "Alice", "carol"}, hostile[:12]...)
	zones := []string{"default", "z1", "z%"}
	ips := []string{"127.0.0.1", "10.0.0.2", "::1", "2001:db8::1"}
	protos := []string{"MQTT", "MQIsdp", "CoAP", "MQTT-SN"}
	states := []ConnState{Connected, Idle, Disconnected}
	listeners := []string{"tcp:default", "ssl:default", "wss:default"}
	snis := []string{"broker.example", "tenant-a.example"}
	seen := map[string]bool{}
	rows := make([]Row, 0, n)
	for len(rows) < n {
		var id string
		if rng.IntN(4) == 0 {
			id = hostile[rng.IntN(len(hostile))] + fmt.Sprint(rng.IntN(50))
		} else {
			id = fmt.Sprintf("dev-%d", rng.IntN(n*3))
		}
		if seen[id] {
			continue
		}
		seen[id] = true
		r := Row{
			Node: "node1", ClientID: id, Username: users[rng.IntN(len(users))],
			ProtoName: protos[rng.IntN(len(protos))], ProtoVer: int64(3 + rng.IntN(3)),
			IPAddress: ips[rng.IntN(len(ips))], Port: int64(rng.IntN(65536)), Listener: listeners[rng.IntN(len(listeners))],
			IsBridge: rng.IntN(10) == 0, IsPersistent: rng.IntN(2) == 0, EnableAuthn: true,
			Zone: zones[rng.IntN(len(zones))], ConnState: states[rng.IntN(len(states))],
			ConnectedAt: int64(1000 + rng.IntN(100)), CreatedAt: int64(500 + rng.IntN(100)),
			Keepalive: 60, CleanStart: rng.IntN(2) == 0, ExpiryInterval: int64(rng.IntN(3) * 3600),
		}
		if r.Listener != "tcp:default" {
			r.PeerSNI = ptr(snis[rng.IntN(len(snis))])
			if rng.IntN(2) == 0 {
				r.CN = ptr("cn-" + strconv.Itoa(rng.IntN(n/4+1)))
			}
		}
		r.Connected = r.ConnState == Connected
		if !r.Connected {
			r.DisconnectedAt = ptr(int64(2000 + rng.IntN(100)))
		}
		for _, p := range statFields(&r.Counters) {
			*p = int64(rng.IntN(4))
		}
		rows = append(rows, r)
	}
	return rows
}

// genFilter returns a random valid filter over the domains of genRows.
func genFilter(rng *rand.Rand, rows []Row) Filter {
	var f Filter
	pick := func() *Row { return &rows[rng.IntN(len(rows))] }
	maybe := func(p int) bool { return rng.IntN(100) < p }
	if maybe(10) {
		for range 1 + rng.IntN(3) {
			f.ClientIDs = append(f.ClientIDs, pick().ClientID)
		}
		if maybe(30) {
			f.ClientIDs = append(f.ClientIDs, "no-such-client")
		}
	}
	if maybe(15) {
		for range 1 + rng.IntN(2) {
			f.Usernames = append(f.Usernames, pick().Username)
		}
	}
	if maybe(15) {
		f.Zone = pick().Zone
	}
	if maybe(10) {
		f.IPAddress = pick().IPAddress
	}
	if r := pick(); r.PeerSNI != nil && maybe(15) {
		f.PeerSNI = *r.PeerSNI
	}
	if r := pick(); r.CN != nil && maybe(15) {
		f.CN = *r.CN
	}
	if maybe(15) {
		f.Listener = pick().Listener
	}
	if maybe(25) {
		f.ConnState = pick().ConnState
	}
	if maybe(15) {
		f.CleanStart = ptr(maybe(50))
	}
	if maybe(15) {
		f.ProtoName = pick().ProtoName
	}
	if maybe(15) {
		f.ProtoVer = int64(3 + rng.IntN(3))
	}
	rnd := func(lo, span int) Range {
		var r Range
		if maybe(60) {
			r.Gte = ptr(int64(lo + rng.IntN(span)))
		}
		if maybe(60) {
			r.Lte = ptr(int64(lo + rng.IntN(span)))
		}
		return r
	}
	if maybe(15) {
		f.CreatedAt = rnd(500, 100)
	}
	if maybe(15) {
		f.ConnectedAt = rnd(1000, 100)
	}
	if maybe(15) {
		id := pick().ClientID
		i := rng.IntN(len(id))
		f.LikeClientID = id[i : i+min(1+rng.IntN(3), len(id)-i)]
		if maybe(20) {
			f.LikeClientID = hostileNeedles[rng.IntN(len(hostileNeedles))]
		}
	}
	if maybe(10) {
		f.LikeUsername = []string{"a", "l", "%", "_", "'", `\`, "b"}[rng.IntN(7)]
	}
	if maybe(20) {
		for range 1 + rng.IntN(2) {
			name := statNames[rng.IntN(numStats)]
			if slices.ContainsFunc(f.Ranges, func(r ColumnRange) bool { return r.Column == name }) {
				continue
			}
			f.Ranges = append(f.Ranges, ColumnRange{Column: name, Range: rnd(0, 4)})
		}
	}
	if maybe(40) {
		var orderable []string
		for _, c := range Columns {
			if c.Orderable {
				orderable = append(orderable, c.Name)
			}
		}
		f.OrderBy = orderable[rng.IntN(len(orderable))]
	}
	f.Desc = maybe(30)
	f.Limit = 1 + rng.IntN(40)
	if maybe(20) {
		for range 1 + rng.IntN(3) {
			f.Fields = append(f.Fields, Columns[rng.IntN(len(Columns))].Name)
		}
	}
	return f
}

// match is the brute-force definition of f's conditions.
func match(f *Filter, r *Row) bool {
	if len(f.ClientIDs) > 0 {
		if !slices.Contains(f.ClientIDs, r.ClientID) {
			return false
		}
	} else if f.LikeClientID != "" && !strings.Contains(r.ClientID, f.LikeClientID) {
		return false
	}
	if len(f.Usernames) > 0 {
		if !slices.Contains(f.Usernames, r.Username) {
			return false
		}
	} else if f.LikeUsername != "" && !strings.Contains(r.Username, f.LikeUsername) {
		return false
	}
	switch {
	case f.Zone != "" && r.Zone != f.Zone,
		f.IPAddress != "" && r.IPAddress != f.IPAddress,
		f.PeerSNI != "" && (r.PeerSNI == nil || *r.PeerSNI != f.PeerSNI),
		f.CN != "" && (r.CN == nil || *r.CN != f.CN),
		f.Listener != "" && r.Listener != f.Listener,
		f.ConnState != "" && r.ConnState != f.ConnState,
		f.CleanStart != nil && r.CleanStart != *f.CleanStart,
		f.ProtoName != "" && r.ProtoName != f.ProtoName,
		f.ProtoVer != 0 && r.ProtoVer != f.ProtoVer,
		!f.CreatedAt.contains(r.CreatedAt),
		!f.ConnectedAt.contains(r.ConnectedAt):
		return false
	}
	for _, cr := range f.Ranges {
		c, _ := ColumnByName(cr.Column)
		if !cr.contains(*statFields(&r.Counters)[c.stat]) {
			return false
		}
	}
	return true
}

// bruteForce returns every row matching f in f's order.
func bruteForce(f *Filter, rows []Row) []Row {
	var out []Row
	for i := range rows {
		if match(f, &rows[i]) {
			out = append(out, rows[i])
		}
	}
	oc := f.orderColumn()
	slices.SortFunc(out, func(a, b Row) int {
		d := 0
		switch pa := oc.ptr(&a).(type) {
		case *string:
			d = strings.Compare(*pa, *oc.ptr(&b).(*string))
		case *int64:
			pb := oc.ptr(&b).(*int64)
			switch {
			case *pa < *pb:
				d = -1
			case *pa > *pb:
				d = 1
			}
		}
		if d == 0 {
			d = strings.Compare(a.ClientID, b.ClientID)
		}
		if f.Desc {
			d = -d
		}
		return d
	})
	return out
}

// project zeroes the fields of r that f's projection leaves out (keeping
// clientid and the order column, which List always fills in).
func project(f *Filter, r Row) Row {
	if len(f.Fields) == 0 {
		return r
	}
	var out Row
	keep := append([]string{"clientid", f.orderColumn().Name}, f.Fields...)
	for _, name := range keep {
		c, _ := ColumnByName(name)
		switch p := c.ptr(&r).(type) {
		case *string:
			*c.ptr(&out).(*string) = *p
		case *int64:
			*c.ptr(&out).(*int64) = *p
		case *bool:
			*c.ptr(&out).(*bool) = *p
		case **string:
			*c.ptr(&out).(**string) = *p
		case **int64:
			*c.ptr(&out).(**int64) = *p
		}
	}
	return out
}
