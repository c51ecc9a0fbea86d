package shards

import (
	"context"
	"fmt"
	"net"
	"net/netip"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/shardmq/shardmq/mqtt"
	"github.com/shardmq/shardmq/netio"
	"github.com/shardmq/shardmq/shards/banned"
)

// TestBannedConnect checks the refusal of banned clients at CONNECT: MQTT 5
// gets CONNACK 0x8A, MQTT 3.1.1 return code 5 (not authorized), by client
// id, user name, expression and network; others connect.
func TestBannedConnect(t *testing.T) {
	bl := banned.New()
	for _, e := range []banned.Entry{{As: banned.ClientID, Who: "bad-id"}, {As: banned.Username, Who: "bad-user"},
		{As: banned.ClientIDRe, Who: "^bot-[0-9]+$"}, {As: banned.PeerhostNet, Who: "203.0.113.0/24"}} {
		if _, err := bl.Add(e); err != nil {
			t.Fatal(err)
		}
	}
	tb := startBroker(t, Config{Banned: bl}, netio.Config{})
	withUser := func(p *mqtt.Connect, u string) *mqtt.Connect {
		p.HasUsername, p.Username = true, []byte(u)
		return p
	}
	cases := []struct {
		name string
		p    *mqtt.Connect
		want mqtt.ReasonCode
	}{
		{"v5 clientid", conn5("bad-id"), mqtt.Banned},
		{"v311 clientid", conn311("bad-id", true), mqtt.ConnRefusedNotAuthorized},
		{"v5 username", withUser(conn5("fine"), "bad-user"), mqtt.Banned},
		{"v311 username", withUser(conn311("fine", true), "bad-user"), mqtt.ConnRefusedNotAuthorized},
		{"v5 clientid_re", conn5("bot-42"), mqtt.Banned},
		{"v5 free", conn5("bot-42x"), mqtt.Success},
		{"v311 free", withUser(conn311("fine", true), "good-user"), mqtt.Success},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			rc, ack := connectRaw(t, tb.addr, tc.p)
			if ack.ReasonCode != tc.want {
				t.Fatalf("CONNACK %#x, want %#x", ack.ReasonCode, tc.want)
			}
			if tc.want != mqtt.Success {
				rc.expectClosed()
				if _, err := tb.ClientInfo(context.Background(), string(tc.p.ClientID)); err == nil {
					t.Fatal("a refused client has a session")
				}
			}
		})
	}
	// The broker sees 127.0.0.1: a network ban covering it refuses all.
	if _, err := bl.Add(banned.Entry{As: banned.PeerhostNet, Who: "127.0.0.0/8"}); err != nil {
		t.Fatal(err)
	}
	if _, ack := connectRaw(t, tb.addr, conn5("anyone")); ack.ReasonCode != mqtt.Banned {
		t.Fatalf("CONNACK %#x from a banned network", ack.ReasonCode)
	}
}

// TestBannedMosquitto checks that mosquitto_pub is refused by a ban (it
// reports the CONNACK's reason) and is accepted once the ban is lifted.
func TestBannedMosquitto(t *testing.T) {
	bl := banned.New()
	if _, err := bl.Add(banned.Entry{As: banned.ClientID, Who: "mosq-banned"}); err != nil {
		t.Fatal(err)
	}
	tb := startBroker(t, Config{Banned: bl}, netio.Config{})
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	for _, v := range []struct{ flag, says string }{{"mqttv5", "banned"}, {"mqttv311", "not authorised"}} {
		out, err := mosquitto(ctx, t, "mosquitto_pub", tb.addr, "-V", v.flag, "-i", "mosq-banned",
			"-t", "t", "-m", "x").CombinedOutput()
		if err == nil || !strings.Contains(strings.ToLower(string(out)), v.says) {
			t.Fatalf("%s: mosquitto_pub of a banned id: %v %q", v.flag, err, out)
		}
	}
	if err := bl.Delete(banned.ClientID, "mosq-banned"); err != nil {
		t.Fatal(err)
	}
	if out, err := mosquitto(ctx, t, "mosquitto_pub", tb.addr, "-V", "mqttv5", "-i", "mosq-banned",
		"-t", "t", "-m", "x").CombinedOutput(); err != nil {
		t.Fatalf("mosquitto_pub after the ban was lifted: %v %s", err, out)
	}
}

// TestKickMatching checks that a new ban's kick closes exactly the
// connected clients it matches (MQTT 5: DISCONNECT 0x98), discards their
// sessions, and leaves the others connected.
func TestKickMatching(t *testing.T) {
	tb := startBroker(t, Config{}, netio.Config{})
	var clients []*rawClient
	for i := range 6 {
		p := conn5(fmt.Sprintf("k-%d", i))
		if i%2 == 0 {
			p.HasUsername, p.Username = true, []byte("team-a")
		}
		p.Properties.Present.Add(mqtt.PropSessionExpiry)
		p.Properties.SessionExpiry = 3600 // persistent: the kick still discards it
		rc, ack := connectRaw(t, tb.addr, p)
		if ack.ReasonCode != mqtt.Success {
			t.Fatalf("CONNACK %#x", ack.ReasonCode)
		}
		clients = append(clients, rc)
	}
	e := banned.Entry{As: banned.Username, Who: "team-a"}
	if err := e.Compile(); err != nil {
		t.Fatal(err)
	}
	n, err := tb.KickMatching(context.Background(), e.Matches)
	if err != nil || n != 3 {
		t.Fatalf("KickMatching: %d, %v", n, err)
	}
	for i, rc := range clients {
		id := fmt.Sprintf("k-%d", i)
		_, infoErr := tb.ClientInfo(context.Background(), id)
		if i%2 == 0 {
			if code, got := rc.expectClosed(); !got || code != mqtt.AdministrativeAction {
				t.Errorf("%s: DISCONNECT %#x (%v), want 0x98", id, code, got)
			}
			if infoErr == nil {
				t.Errorf("%s: session kept after the kick", id)
			}
		} else if infoErr != nil {
			t.Errorf("%s: %v", id, infoErr)
		}
	}
	clients[1].write([]byte{0xC0, 0}) // PINGREQ
	if h, _ := clients[1].read(); h.Type != mqtt.TypePingresp {
		t.Fatalf("got %v after the kick, want PINGRESP", h.Type)
	}
}

// benchBanFile writes a ban list file of 10,000 entries in banned's
// documented format: 9,800 exact (client ids, user names, addresses), 100
// expressions and 100 networks, none of which bans 127.0.0.1 or the
// benchmark's clients.
func benchBanFile(tb testing.TB) string {
	var b strings.Builder
	b.WriteString(`{"version":1,"banned":[`)
	add := func(as, who string) {
		if b.Len() > 30 {
			b.WriteByte(',')
		}
		fmt.Fprintf(&b, `{"as":%q,"who":%q,"by":"bench","reason":"","at":1,"until":0}`, as, who)
	}
	for i := 0; i < 9800; i++ {
		switch i % 3 {
		case 0:
			add("clientid", fmt.Sprintf("attacker-%05d", i))
		case 1:
			add("username", fmt.Sprintf("stolen-%05d", i))
		default:
			add("peerhost", netip.AddrFrom4([4]byte{100, 64, byte(i >> 8), byte(i)}).String())
		}
	}
	for i := 0; i < 100; i++ {
		switch i % 4 {
		case 0:
			add("clientid_re", fmt.Sprintf(`^bot-%03d-[0-9a-f]+$`, i))
		case 1:
			add("clientid_re", fmt.Sprintf(`scan(ner)?%d`, i))
		case 2:
			add("username_re", fmt.Sprintf(`^[A-Z]{%d}[0-9]{%d}$`, 3+i%5, 1+i/4))
		default:
			add("username_re", fmt.Sprintf(`(?i)^admin%d`, i))
		}
	}
	for i := 0; i < 100; i++ {
		switch i % 4 {
		case 0:
			add("peerhost_net", fmt.Sprintf("10.%d.0.0/16", i))
		case 1:
			add("peerhost_net", fmt.Sprintf("192.168.%d.0/24", i))
		case 2:
			add("peerhost_net", fmt.Sprintf("198.18.%d.%d/32", i, i))
		default:
			add("peerhost_net", fmt.Sprintf("2001:db8:%x::/48", i))
		}
	}
	b.WriteString("]}")
	path := filepath.Join(tb.TempDir(), "banned.json")
	if err := os.WriteFile(path, []byte(b.String()), 0o600); err != nil {
		tb.Fatal(err)
	}
	return path
}

// BenchmarkConnectBanned measures the CONNECT rate with no ban list
// (entries=0) and with 10,000 entries of which 100 are expressions and
// 100 networks (entries=10000): 8 clients on 127.0.0.1 each dial, send an
// MQTT 3.1.1 CONNECT with a client id and a user name, read the CONNACK
// and close, b.N times in all. connects/s is the rate; the clients run on
// the same cores as the broker.
func BenchmarkConnectBanned(b *testing.B) {
	for _, n := range []int{0, 10000} {
		b.Run(fmt.Sprintf("entries=%d", n), func(b *testing.B) {
			cfg := Config{}
			if n > 0 {
				bl := banned.New()
				if err := bl.Persist(benchBanFile(b)); err != nil {
					b.Fatal(err)
				}
				if bl.Len() != n {
					b.Fatalf("%d entries loaded", bl.Len())
				}
				cfg.Banned = bl
			}
			tb := startBroker(b, cfg, netio.Config{})
			b.ReportAllocs()
			var next atomic.Int64
			var wg sync.WaitGroup
			var failed atomic.Value
			start := time.Now()
			b.ResetTimer()
			for w := range 8 {
				wg.Add(1)
				go func() {
					defer wg.Done()
					buf := make([]byte, 64)
					for {
						i := next.Add(1)
						if i > int64(b.N) {
							return
						}
						p := conn311(fmt.Sprintf("sensor-%d-%d", w, i), true)
						p.HasUsername, p.Username = true, []byte("fleet-user")
						c, err := net.Dial("tcp", tb.addr)
						if err != nil {
							failed.Store(err)
							return
						}
						_, err = c.Write(mqtt.AppendConnect(nil, p, p.Version))
						if err == nil {
							_ = c.SetReadDeadline(time.Now().Add(10 * time.Second))
							var m int
							m, err = c.Read(buf)
							if err == nil && (m < 4 || buf[0] != 0x20 || buf[3] != 0) {
								err = fmt.Errorf("CONNACK % x", buf[:m])
							}
						}
						c.Write([]byte{0xE0, 0}) // DISCONNECT
						c.Close()
						if err != nil {
							failed.Store(err)
							return
						}
					}
				}()
			}
			wg.Wait()
			b.StopTimer()
			if err, _ := failed.Load().(error); err != nil {
				b.Fatal(err)
			}
			b.ReportMetric(float64(b.N)/time.Since(start).Seconds(), "connects/s")
		})
	}
}
