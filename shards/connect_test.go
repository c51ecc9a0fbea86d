package shards

import (
	"fmt"
	"testing"
	"time"

	"github.com/shardmq/shardmq/mqtt"
	"github.com/shardmq/shardmq/netio"
)

func TestConnectNegotiation(t *testing.T) {
	tb := startBroker(t, Config{}, netio.Config{})
	tests := []struct {
		name string
		raw  []byte // CONNECT bytes
		want []byte // CONNACK bytes
	}{
		{
			// "MQTT" level 6: unknown, answered in the 3.1.1 form with
			// 0x01 (as mosquitto does), not in the MQTT 5 form.
			name: "level=6",
			raw:  []byte{0x10, 0x0d, 0, 4, 'M', 'Q', 'T', 'T', 6, 0x02, 0, 60, 0, 0, 0, 0, 0},
			want: []byte{0x20, 0x02, 0x00, 0x01},
		},
		{
			// "MQTT" level 0x86: bridge bit and level 6, the same.
			name: "level=6_bridge",
			raw:  []byte{0x10, 0x0d, 0, 4, 'M', 'Q', 'T', 'T', 0x86, 0x02, 0, 60, 0, 0, 0, 0, 0},
			want: []byte{0x20, 0x02, 0x00, 0x01},
		},
		{
			// "MQTT" level 2: below every version, 3.1.1 form.
			name: "level=2",
			raw:  []byte{0x10, 0x0c, 0, 4, 'M', 'Q', 'T', 'T', 2, 0x02, 0, 60, 0, 1, 'a'},
			want: []byte{0x20, 0x02, 0x00, 0x01},
		},
		{
			// "MQIsdp" (3.1's name) at level 5: 3.1.1 form, 0x01.
			name: "level=5_with_MQIsdp",
			raw:  []byte{0x10, 0x0f, 0, 6, 'M', 'Q', 'I', 's', 'd', 'p', 5, 0x02, 0, 60, 0, 0, 1, 'a'},
			want: []byte{0x20, 0x02, 0x00, 0x01},
		},
		{
			// "MQIsdp" at level 4 (3.1.1's level): 3.1.1 form, 0x01.
			name: "level=4_with_MQIsdp",
			raw:  []byte{0x10, 0x0e, 0, 6, 'M', 'Q', 'I', 's', 'd', 'p', 4, 0x02, 0, 60, 0, 1, 'a'},
			want: []byte{0x20, 0x02, 0x00, 0x01},
		},
		{
			// An unknown name at level 5: the MQTT 5 form, 0x84
			// [MQTT-3.1.2-1].
			name: "level=5_with_unknown_name",
			raw:  []byte{0x10, 0x0d, 0, 4, 'M', 'Q', 'T', 'X', 5, 0x02, 0, 60, 0, 0, 0, 0, 0},
			want: []byte{0x20, 0x03, 0x00, 0x84, 0x00},
		},
		{
			// "MQTT" level 3 (3.1 needs "MQIsdp"): 3.x form, 0x01.
			name: "level=3_with_MQTT",
			raw:  []byte{0x10, 0x0c, 0, 4, 'M', 'Q', 'T', 'T', 3, 0x02, 0, 60, 0, 1, 'a'},
			want: []byte{0x20, 0x02, 0x00, 0x01},
		},
		{
			// 3.1.1, empty client id without clean session: 0x02.
			name: "v311_empty_id_persistent",
			raw:  []byte{0x10, 0x0c, 0, 4, 'M', 'Q', 'T', 'T', 4, 0x00, 0, 60, 0, 0},
			want: []byte{0x20, 0x02, 0x00, 0x02},
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			rc := dialRaw(t, tb.addr, mqtt.V311)
			tc.raw[1] = byte(len(tc.raw) - 2)
			rc.write(tc.raw)
			got := make([]byte, len(tc.want))
			_ = rc.c.SetReadDeadline(time.Now().Add(5 * time.Second))
			if _, err := ioReadFull(rc, got); err != nil {
				t.Fatal(err)
			}
			if string(got) != string(tc.want) {
				t.Fatalf("CONNACK % x, want % x", got, tc.want)
			}
			rc.expectClosed()
		})
	}
}

func ioReadFull(rc *rawClient, b []byte) (int, error) {
	n := 0
	for n < len(b) {
		m, err := rc.c.Read(b[n:])
		n += m
		if err != nil {
			return n, err
		}
	}
	return n, nil
}

func TestAssignedClientID(t *testing.T) {
	tb := startBroker(t, Config{}, netio.Config{})
	t.Run("v5", func(t *testing.T) {
		_, ack := connectRaw(t, tb.addr, conn5(""))
		if ack.ReasonCode != mqtt.Success || len(ack.Properties.AssignedClientID) == 0 {
			t.Fatalf("ack %+v: want success with an assigned client id", ack)
		}
		tb.info(t, string(ack.Properties.AssignedClientID))
	})
	t.Run("v311_clean", func(t *testing.T) {
		_, ack := connectRaw(t, tb.addr, conn311("", true))
		if ack.ReasonCode != mqtt.Success {
			t.Fatalf("ack %+v", ack)
		}
	})
}

func TestSecondConnectIsProtocolError(t *testing.T) {
	tb := startBroker(t, Config{}, netio.Config{})
	rc, _ := connectRaw(t, tb.addr, conn5("twice"))
	rc.write(mqtt.AppendConnect(nil, conn5("twice"), mqtt.V5))
	if code, ok := rc.expectClosed(); !ok || code != mqtt.ProtocolError {
		t.Fatalf("DISCONNECT %v (sent %v), want 0x82", code, ok)
	}
}

func TestTakeover(t *testing.T) {
	tb := startBroker(t, Config{}, netio.Config{Loops: 2})
	for _, v := range []mqtt.Version{mqtt.V311, mqtt.V5} {
		t.Run("version="+v.String(), func(t *testing.T) {
			id := "takeover-" + v.String()
			p := &mqtt.Connect{Version: v, ClientID: []byte(id), KeepAlive: 60}
			p.Properties.Present.Add(mqtt.PropSessionExpiry)
			p.Properties.SessionExpiry = 60
			first, _ := connectRaw(t, tb.addr, p)
			first.subscribe(1, sub("to/"+id, 1))
			// Several connections so that the new one may land on the
			// other loop and be moved to the session's.
			for i := 0; i < 3; i++ {
				next, ack := connectRaw(t, tb.addr, p)
				if !ack.SessionPresent {
					t.Fatalf("takeover %d: session not present", i)
				}
				code, got := first.expectClosed()
				if v == mqtt.V5 && (!got || code != mqtt.SessionTakenOver) {
					t.Fatalf("old connection got %v (%v), want DISCONNECT 0x8E", code, got)
				}
				first = next
			}
			// The subscription survived every takeover.
			pub, _ := connectRaw(t, tb.addr, conn5("pub-"+id))
			pub.publish("to/"+id, "x", 0, false, 0)
			if m := first.readPublish(); string(m.Payload) != "x" {
				t.Fatalf("payload %q", m.Payload)
			}
		})
	}
}

func TestPacketBeforeConnect(t *testing.T) {
	tb := startBroker(t, Config{}, netio.Config{})
	rc := dialRaw(t, tb.addr, mqtt.V311)
	rc.write([]byte{0xc0, 0x00}) // PINGREQ
	rc.expectClosed()
}

// TestSessionExpiry ends an offline MQTT 5 session after its Session
// Expiry Interval, and lets DISCONNECT change the interval (but not from
// 0 to non-zero, a protocol error).
func TestSessionExpiry(t *testing.T) {
	tb := startBroker(t, Config{}, netio.Config{TickInterval: 10 * time.Millisecond})
	gone := func(id string) func() bool {
		return func() bool {
			_, err := tb.ClientInfo(t.Context(), id)
			return err == ErrClientNotFound
		}
	}
	t.Run("expires", func(t *testing.T) {
		cp := conn5("exp-1")
		cp.CleanStart = false
		cp.Properties.Present.Add(mqtt.PropSessionExpiry)
		cp.Properties.SessionExpiry = 1
		c, _ := connectRaw(t, tb.addr, cp)
		c.c.Close()
		waitFor(t, "offline", func() bool { return !tb.info(t, "exp-1").Connected })
		waitFor(t, "expired", gone("exp-1"))
	})
	t.Run("disconnect_sets_zero", func(t *testing.T) {
		cp := conn5("exp-2")
		cp.Properties.Present.Add(mqtt.PropSessionExpiry)
		cp.Properties.SessionExpiry = 600
		c, _ := connectRaw(t, tb.addr, cp)
		d := &mqtt.Disconnect{}
		d.Properties.Present.Add(mqtt.PropSessionExpiry)
		c.write(mqtt.AppendDisconnect(nil, d, mqtt.V5))
		c.expectClosed()
		waitFor(t, "ended at once", gone("exp-2"))
	})
	t.Run("disconnect_zero_to_nonzero", func(t *testing.T) {
		c, _ := connectRaw(t, tb.addr, conn5("exp-3"))
		d := &mqtt.Disconnect{}
		d.Properties.Present.Add(mqtt.PropSessionExpiry)
		d.Properties.SessionExpiry = 60
		c.write(mqtt.AppendDisconnect(nil, d, mqtt.V5))
		if code, ok := c.expectClosed(); !ok || code != mqtt.ProtocolError {
			t.Fatalf("code %v %v", code, ok)
		}
	})
}

// TestReconnectWithPipelinedPackets reconnects a persistent session many
// times sending CONNECT, SUBSCRIBE and PINGREQ in one write: whichever loop
// the connection lands on, the packets after CONNECT are served in order
// (a connection moved to the session's loop carries them along).
func TestReconnectWithPipelinedPackets(t *testing.T) {
	tb := startBroker(t, Config{}, netio.Config{Loops: 2})
	cp := conn311("pipelined", false)
	for i := 0; i < 6; i++ {
		rc := dialRaw(t, tb.addr, mqtt.V311)
		b := mqtt.AppendConnect(nil, cp, mqtt.V311)
		b = mqtt.AppendSubscribe(b, &mqtt.Subscribe{PacketID: uint16(i + 1), Subscriptions: []mqtt.Subscription{sub("pl/t", 1)}}, mqtt.V311)
		b = append(b, 0xc0, 0x00)
		rc.write(b)
		for _, want := range []mqtt.PacketType{mqtt.TypeConnack, mqtt.TypeSuback, mqtt.TypePingresp} {
			if h, _ := rc.read(); h.Type != want {
				t.Fatalf("round %d: got %v, want %v", i, h.Type, want)
			}
		}
		rc.c.Close()
		waitFor(t, "offline", func() bool { return !tb.info(t, "pipelined").Connected })
	}
	if n := tb.info(t, "pipelined").SubscriptionsCnt; n != 1 {
		t.Fatalf("subscriptions %d", n)
	}
	if tb.srv.Migrations() == 0 {
		t.Fatal("no reconnect landed on the other loop: the move was not exercised")
	}
}

// TestResponseInformation sends Response Information only to a client
// that requests it.
func TestResponseInformation(t *testing.T) {
	tb := startBroker(t, Config{ResponseInformation: "resp/"}, netio.Config{})
	for _, ask := range []byte{0, 1} {
		cp := conn5("ri")
		if ask == 1 {
			cp.Properties.Present.Add(mqtt.PropRequestResponseInfo)
			cp.Properties.RequestResponseInfo = 1
		}
		_, ack := connectRaw(t, tb.addr, cp)
		if got := string(ack.Properties.ResponseInfo); (got == "resp/") != (ask == 1) {
			t.Fatalf("request %d: response information %q", ask, got)
		}
	}
}

// TestMaxKeepalive: MaxKeepalive caps the keep alive a client asks for,
// 0 counting as more than the cap (mosquitto's max_keepalive). An MQTT 5
// client held to the cap is told in Server Keep Alive [MQTT-3.2.2-21]; an
// MQTT 3 client cannot be told, but its idle timeout follows the cap too.
// ServerKeepalive still replaces what an MQTT 5 client asks.
func TestMaxKeepalive(t *testing.T) {
	capped := startBroker(t, Config{MaxKeepalive: 10 * time.Second}, netio.Config{})
	both := startBroker(t, Config{MaxKeepalive: 10 * time.Second, ServerKeepalive: 7 * time.Second}, netio.Config{})
	zoned := startBroker(t, Config{Zones: map[string]ZoneConfig{"z": {MaxKeepalive: 10 * time.Second}},
		Listeners: []ListenerConfig{{Addr: "127.0.0.1:0", Zone: "z"}}}, netio.Config{})
	tests := []struct {
		name   string
		tb     *testBroker
		v      mqtt.Version
		asked  uint16
		told   int // Server Keep Alive in CONNACK; -1 when absent
		usedKA int64
	}{
		{"v5 asks more", capped, mqtt.V5, 60, 10, 10},
		{"v5 asks less", capped, mqtt.V5, 5, -1, 5},
		{"v5 asks the cap", capped, mqtt.V5, 10, -1, 10},
		{"v5 asks none", capped, mqtt.V5, 0, 10, 10},
		{"v311 asks more", capped, mqtt.V311, 60, -1, 10},
		{"v311 asks less", capped, mqtt.V311, 5, -1, 5},
		{"v311 asks none", capped, mqtt.V311, 0, -1, 10},
		{"v31 asks more", capped, mqtt.V31, 600, -1, 10},
		{"v5 server keepalive first", both, mqtt.V5, 5, 7, 7},
		{"v311 capped beside server keepalive", both, mqtt.V311, 60, -1, 10},
		{"zone v5 asks more", zoned, mqtt.V5, 60, 10, 10},
		{"zone v311 asks more", zoned, mqtt.V311, 60, -1, 10},
	}
	for i, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			id := fmt.Sprintf("mk-%d", i)
			p := &mqtt.Connect{Version: tc.v, ClientID: []byte(id), CleanStart: true, KeepAlive: tc.asked}
			_, ack := connectRaw(t, tc.tb.addr, p)
			told := -1
			if ack.Properties.Present.Has(mqtt.PropServerKeepAlive) {
				told = int(ack.Properties.ServerKeepAlive)
			}
			if ack.ReasonCode != mqtt.Success || told != tc.told {
				t.Fatalf("CONNACK %v Server Keep Alive %d, want success and %d", ack.ReasonCode, told, tc.told)
			}
			if got := tc.tb.info(t, id).Keepalive; got != tc.usedKA {
				t.Fatalf("keepalive %d, want %d", got, tc.usedKA)
			}
		})
	}
}

// TestMaxKeepaliveIdleTimeout: a client held to a 1 s MaxKeepalive is
// closed after 1.5 s of silence [MQTT-3.1.2-24], whatever it asked for
// (an MQTT 3.1.1 client asking 60 s, an MQTT 5 client asking none).
func TestMaxKeepaliveIdleTimeout(t *testing.T) {
	tb := startBroker(t, Config{MaxKeepalive: time.Second}, netio.Config{})
	for _, p := range []*mqtt.Connect{conn311("mki-311", true), {Version: mqtt.V5, ClientID: []byte("mki-5"), CleanStart: true}} {
		t.Run("version="+p.Version.String(), func(t *testing.T) {
			c, _ := connectRaw(t, tb.addr, p)
			rc, _ := c.expectClosed()
			if p.Version == mqtt.V5 && rc != mqtt.KeepAliveTimeout {
				t.Fatalf("DISCONNECT %v, want 0x8D", rc)
			}
		})
	}
}

// TestConnackTooLarge: a CONNACK larger than the client's Maximum Packet
// Size is not sent [MQTT-3.1.2-24]; the connection is closed instead,
// before the CONNECT has any effect on a session (no takeover).
func TestConnackTooLarge(t *testing.T) {
	tb := startBroker(t, Config{}, netio.Config{})
	first, _ := connectRaw(t, tb.addr, conn5("big-ack"))
	p := conn5("big-ack")
	p.CleanStart = false
	p.Properties.Present.Add(mqtt.PropMaximumPacketSize)
	p.Properties.MaximumPacketSize = 15 // the CONNACK's three limits take 16
	c := dialRaw(t, tb.addr, mqtt.V5)
	c.write(mqtt.AppendConnect(nil, p, mqtt.V5))
	if h, _, err := c.readErr(15 * time.Second); err == nil {
		t.Fatalf("got %v of a client whose maximum packet size is 15, want the connection closed", h.Type)
	}
	// The first connection was not taken over: it still answers.
	first.write([]byte{byte(mqtt.TypePingreq) << 4, 0}) // PINGREQ
	if h, _ := first.read(); h.Type != mqtt.TypePingresp {
		t.Fatalf("first connection got %v, want PINGRESP", h.Type)
	}
	if got := tb.info(t, "big-ack"); !got.Connected {
		t.Fatalf("session %+v, want still connected", got)
	}
}
