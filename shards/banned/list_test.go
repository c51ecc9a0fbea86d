package banned

import (
	"errors"
	"fmt"
	"net/netip"
	"os"
	"path/filepath"
	"testing"
)

func mustAdd(t *testing.T, l *List, as Kind, who string) Entry {
	t.Helper()
	e, err := l.Add(Entry{As: as, Who: who})
	if err != nil {
		t.Fatalf("Add %s %q: %v", as, who, err)
	}
	return e
}

// TestBannedKinds checks each kind against clients it bans and clients it
// does not.
func TestBannedKinds(t *testing.T) {
	type client struct {
		id, user, addr string
	}
	cases := []struct {
		name   string
		as     Kind
		who    string
		banned []client
		free   []client
	}{
		{"clientid", ClientID, "dev-1",
			[]client{{"dev-1", "", "10.0.0.1"}},
			[]client{{"dev-10", "", "10.0.0.1"}, {"Dev-1", "dev-1", "10.0.0.1"}}},
		{"username", Username, "alice",
			[]client{{"x", "alice", "10.0.0.1"}},
			[]client{{"alice", "", "10.0.0.1"}, {"x", "alice2", "10.0.0.1"}}},
		{"peerhost v4", Peerhost, "10.0.0.7",
			[]client{{"x", "", "10.0.0.7"}, {"x", "", "::ffff:10.0.0.7"}},
			[]client{{"x", "", "10.0.0.8"}}},
		{"peerhost v6 canonical", Peerhost, "2001:DB8:0::1",
			[]client{{"x", "", "2001:db8::1"}},
			[]client{{"x", "", "2001:db8::2"}}},
		{"clientid_re anchored", ClientIDRe, `^bot-[0-9]+$`,
			[]client{{"bot-12", "", "10.0.0.1"}},
			[]client{{"bot-", "", "10.0.0.1"}, {"xbot-12", "", "10.0.0.1"}, {"bot-12x", "", "10.0.0.1"}}},
		{"clientid_re unanchored", ClientIDRe, `evil`,
			[]client{{"an-evil-one", "", "10.0.0.1"}},
			[]client{{"ev-il", "", "10.0.0.1"}}},
		{"clientid_re case-insensitive", ClientIDRe, `(?i)evil`,
			[]client{{"EVIL", "", "10.0.0.1"}},
			[]client{{"good", "", "10.0.0.1"}}},
		{"username_re", UsernameRe, `^guest\d*$`,
			[]client{{"x", "guest", "10.0.0.1"}, {"x", "guest42", "10.0.0.1"}},
			[]client{{"guest", "", "10.0.0.1"}, {"x", "guests", "10.0.0.1"}}},
		{"username_re never matches an absent name", UsernameRe, `^$`,
			nil,
			[]client{{"x", "", "10.0.0.1"}}},
		{"peerhost_net v4", PeerhostNet, "192.168.7.99/24",
			[]client{{"x", "", "192.168.7.1"}, {"x", "", "192.168.7.255"}, {"x", "", "::ffff:192.168.7.3"}},
			[]client{{"x", "", "192.168.8.1"}, {"x", "", "2001:db8::1"}}},
		{"peerhost_net v6", PeerhostNet, "2001:db8::/32",
			[]client{{"x", "", "2001:db8:ffff::1"}},
			[]client{{"x", "", "2001:db9::1"}, {"x", "", "10.0.0.1"}}},
		{"peerhost_net mapped v4", PeerhostNet, "::ffff:10.0.0.0/104",
			[]client{{"x", "", "10.1.2.3"}},
			[]client{{"x", "", "11.0.0.1"}}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			l := New()
			// Another entry of every kind that bans none of the clients.
			for _, other := range []Entry{{As: ClientID, Who: "zz"}, {As: Username, Who: "zz"},
				{As: Peerhost, Who: "203.0.113.9"}, {As: ClientIDRe, Who: "^zz$"}, {As: UsernameRe, Who: "^zz$"},
				{As: PeerhostNet, Who: "203.0.113.0/30"}} {
				if _, err := l.Add(other); err != nil {
					t.Fatal(err)
				}
			}
			e := mustAdd(t, l, tc.as, tc.who)
			for _, c := range tc.banned {
				a := netip.MustParseAddr(c.addr)
				if !l.Banned(c.id, c.user, a) {
					t.Errorf("%+v not banned by %s %q", c, tc.as, e.Who)
				}
				if !e.Matches(c.id, c.user, a) {
					t.Errorf("%+v not matched by the entry", c)
				}
			}
			for _, c := range tc.free {
				a := netip.MustParseAddr(c.addr)
				if l.Banned(c.id, c.user, a) {
					t.Errorf("%+v banned by %s %q", c, tc.as, e.Who)
				}
				if e.Matches(c.id, c.user, a) {
					t.Errorf("%+v matched by the entry", c)
				}
			}
			if err := l.Delete(tc.as, tc.who); err != nil {
				t.Fatalf("Delete: %v", err)
			}
			for _, c := range tc.banned {
				if l.Banned(c.id, c.user, netip.MustParseAddr(c.addr)) {
					t.Errorf("%+v still banned after Delete", c)
				}
			}
		})
	}
}

// TestAddRules checks defaults, canonical forms, duplicates, expiry and
// invalid entries.
func TestAddRules(t *testing.T) {
	now := int64(1_700_000_000)
	l := New()
	l.now = func() int64 { return now }
	e := mustAdd(t, l, PeerhostNet, "10.1.2.3/8")
	if e.Who != "10.0.0.0/8" || e.By != "mgmt_api" || e.At != now || e.Until != 0 {
		t.Fatalf("kept %+v", e)
	}
	_, err := l.Add(Entry{As: PeerhostNet, Who: "10.9.9.9/8"})
	var ex *ExistsError
	if !errors.As(err, &ex) || !errors.Is(err, ErrExists) || ex.Entry.Who != "10.0.0.0/8" {
		t.Fatalf("duplicate: %v", err)
	}
	if _, err := l.Add(Entry{As: ClientID, Who: "c", Until: now}); !errors.Is(err, ErrInvalid) {
		t.Fatalf("until now: %v", err)
	}
	mustAddUntil := func(who string, until int64) {
		if _, err := l.Add(Entry{As: ClientID, Who: who, Until: until}); err != nil {
			t.Fatal(err)
		}
	}
	mustAddUntil("short", now+10)
	if !l.Banned("short", "", netip.Addr{}) {
		t.Fatal("short not banned")
	}
	now += 10
	if l.Banned("short", "", netip.Addr{}) {
		t.Fatal("short banned at its until")
	}
	if _, ok := l.Lookup(ClientID, "short"); ok {
		t.Fatal("expired entry found")
	}
	if err := l.Delete(ClientID, "short"); !errors.Is(err, ErrNotFound) {
		t.Fatalf("delete expired: %v", err)
	}
	mustAddUntil("short", now+10) // an expired entry is replaced
	if got := len(l.Entries()); got != 2 {
		t.Fatalf("%d entries", got)
	}
	for _, bad := range []Entry{
		{As: ClientID}, {As: Peerhost, Who: "10.0.0.1:80"}, {As: Peerhost, Who: "fe80::1%eth0"},
		{As: PeerhostNet, Who: "10.0.0.0"}, {As: ClientIDRe, Who: "a("}, {As: UsernameRe, Who: `\p{Nope}`},
		{As: ClientID, Who: "a\x00b"}, {As: ClientID, Who: "\xff"}, {As: 9, Who: "x"},
		{As: ClientID, Who: "x", Reason: string(make([]byte, MaxText+1))},
	} {
		if _, err := l.Add(bad); !errors.Is(err, ErrInvalid) {
			t.Errorf("Add %+v: %v", bad, err)
		}
	}
	if err := l.Clear(); err != nil || l.Len() != 0 {
		t.Fatalf("Clear: %v, %d left", err, l.Len())
	}
}

// TestPersist checks that entries survive a new List on the same file,
// without the expired ones, and that a broken file is refused.
func TestPersist(t *testing.T) {
	path := filepath.Join(t.TempDir(), "banned.json")
	now := int64(1_700_000_000)
	l := New()
	l.now = func() int64 { return now }
	if err := l.Persist(path); err != nil {
		t.Fatal(err)
	}
	if fi, err := os.Stat(path); err != nil || fi.Mode().Perm() != 0o600 {
		t.Fatalf("file: %v %v", fi, err)
	}
	for _, e := range []Entry{{As: ClientID, Who: "a", Reason: "r", By: "ops"}, {As: UsernameRe, Who: "^g"},
		{As: PeerhostNet, Who: "10.0.0.0/8"}, {As: Peerhost, Who: "::1", Until: now + 5}} {
		if _, err := l.Add(e); err != nil {
			t.Fatal(err)
		}
	}
	if err := l.Delete(UsernameRe, "^g"); err != nil {
		t.Fatal(err)
	}
	l2 := New()
	l2.now = func() int64 { return now }
	if err := l2.Persist(path); err != nil {
		t.Fatal(err)
	}
	got := l2.Entries()
	if len(got) != 3 || got[0].Who != "a" || got[0].Reason != "r" || got[0].By != "ops" || got[0].At != now {
		t.Fatalf("reloaded %+v", got)
	}
	if !l2.Banned("x", "", netip.MustParseAddr("10.2.3.4")) || !l2.Banned("x", "", netip.MustParseAddr("::1")) {
		t.Fatal("reloaded list does not ban")
	}
	l3 := New()
	l3.now = func() int64 { return now + 5 }
	if err := l3.Persist(path); err != nil || len(l3.Entries()) != 2 {
		t.Fatalf("expired entry kept: %v %+v", err, l3.Entries())
	}
	for name, doc := range map[string]string{
		"not json":    "{",
		"version":     `{"version":2,"banned":[]}`,
		"kind":        `{"version":1,"banned":[{"as":"nope","who":"x"}]}`,
		"bad network": `{"version":1,"banned":[{"as":"peerhost_net","who":"x"}]}`,
		"twice":       `{"version":1,"banned":[{"as":"clientid","who":"x"},{"as":"clientid","who":"x"}]}`,
		"unknown key": `{"version":1,"banned":[],"extra":1}`,
	} {
		p := filepath.Join(t.TempDir(), "b.json")
		if err := os.WriteFile(p, []byte(doc), 0o600); err != nil {
			t.Fatal(err)
		}
		if err := New().Persist(p); err == nil {
			t.Errorf("%s: loaded", name)
		}
	}
}

// TestPrefilter checks the prefilter never rejects what the
// expression matches.
func TestPrefilter(t *testing.T) {
	cases := []struct {
		expr  string
		lits  []string
		match []string
	}{
		{`^bot-[0-9]+$`, []string{"bot-"}, []string{"bot-1"}},
		{`evil`, []string{"evil"}, []string{"xevilx"}},
		{`a.*b`, []string{"a", "b"}, []string{"a--b"}},
		{`(?i)evil`, nil, []string{"EvIl"}},
		{`foo|bar`, nil, []string{"bar"}},
		{`(dev)-1`, []string{"-1"}, []string{"dev-1"}},
		{`^[A-Z]{3}\d+$`, nil, []string{"ABC1"}},
		{`(?i)^admin`, nil, []string{"ADMIN", "admin"}},
		{`^(a|Éb)c`, []string{"c"}, []string{"ac", "Ébc"}},
		{`^.*x`, []string{"x"}, []string{"yx"}},
		{`^\x{212A}`, []string{"\u212A"}, []string{"\u212A"}},
		{`(?i)^k`, nil, []string{"\u212A", "K", "k"}},
	}
	for _, tc := range cases {
		got, _ := prefilter(tc.expr)
		if fmt.Sprint(got) != fmt.Sprint(tc.lits) {
			t.Errorf("%s: literals %q, want %q", tc.expr, got, tc.lits)
		}
		e := Entry{As: ClientIDRe, Who: tc.expr}
		if err := e.Compile(); err != nil {
			t.Fatal(err)
		}
		for _, m := range tc.match {
			if !e.matchRe(m) {
				t.Errorf("%s does not match %q", tc.expr, m)
			}
		}
	}
}

// TestBannedAllocs holds the check at zero allocations.
func TestBannedAllocs(t *testing.T) {
	l := benchList(t)
	a := netip.MustParseAddr("172.31.5.6")
	if n := testing.AllocsPerRun(100, func() { l.Banned("sensor-000123", "fleet-user", a) }); n != 0 {
		t.Fatalf("%v allocs", n)
	}
}

// benchList returns a list of 10,000 entries: 9,800 exact ones (client
// ids, user names, addresses), 100 expressions and 100 networks of
// assorted lengths, none of which bans the benchmark's client.
func benchList(tb testing.TB) *List {
	tb.Helper()
	var es []*Entry
	add := func(as Kind, who string) {
		e := &Entry{As: as, Who: who, By: "bench", At: 1}
		if err := e.Compile(); err != nil {
			tb.Fatal(err)
		}
		es = append(es, e)
	}
	for i := 0; i < 9800; i++ {
		switch i % 3 {
		case 0:
			add(ClientID, fmt.Sprintf("attacker-%05d", i))
		case 1:
			add(Username, fmt.Sprintf("stolen-%05d", i))
		default:
			add(Peerhost, netip.AddrFrom4([4]byte{100, 64, byte(i >> 8), byte(i)}).String())
		}
	}
	for i := 0; i < 100; i++ {
		switch i % 4 {
		case 0:
			add(ClientIDRe, fmt.Sprintf(`^bot-%03d-[0-9a-f]+$`, i))
		case 1:
			add(ClientIDRe, fmt.Sprintf(`scan(ner)?%d`, i))
		case 2:
			add(UsernameRe, fmt.Sprintf(`^[A-Z]{%d}[0-9]{%d}$`, 3+i%5, 1+i/4))
		default:
			add(UsernameRe, fmt.Sprintf(`(?i)^admin%d`, i))
		}
	}
	for i := 0; i < 100; i++ {
		switch i % 4 {
		case 0:
			add(PeerhostNet, fmt.Sprintf("10.%d.0.0/16", i))
		case 1:
			add(PeerhostNet, fmt.Sprintf("192.168.%d.0/24", i))
		case 2:
			add(PeerhostNet, fmt.Sprintf("198.18.%d.%d/32", i, i))
		default:
			add(PeerhostNet, fmt.Sprintf("2001:db8:%x::/48", i))
		}
	}
	l := New()
	l.cur.Store(build(es))
	return l
}

// BenchmarkBanned measures the CONNECT-time check of a client no entry
// bans (every index consulted), with no entries and with 10,000.
func BenchmarkBanned(b *testing.B) {
	a := netip.MustParseAddr("172.31.5.6")
	for _, n := range []int{0, 10000} {
		b.Run(fmt.Sprintf("entries=%d", n), func(b *testing.B) {
			l := New()
			if n > 0 {
				l = benchList(b)
			}
			b.ReportAllocs()
			for b.Loop() {
				if l.Banned("sensor-000123", "fleet-user", a) {
					b.Fatal("banned")
				}
			}
		})
	}
}
