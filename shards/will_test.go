package shards

import (
	"testing"
	"time"

	"github.com/shardmq/shardmq/mqtt"
	"github.com/shardmq/shardmq/netio"
)

func willConnect(v mqtt.Version, id string, keepalive uint16) *mqtt.Connect {
	return &mqtt.Connect{Version: v, ClientID: []byte(id), CleanStart: true, KeepAlive: keepalive,
		HasWill: true, Will: mqtt.Will{QoS: 1, Topic: []byte("will/" + id), Payload: []byte("gone")}}
}

// TestWill checks that the will is published on every abnormal loss and
// never after a normal DISCONNECT.
func TestWill(t *testing.T) {
	tb := startBroker(t, Config{}, netio.Config{TickInterval: 10 * time.Millisecond})
	watcher, _ := connectRaw(t, tb.addr, conn5("will-watcher"))
	watcher.subscribe(1, sub("will/#", 1))
	tests := []struct {
		name    string
		v       mqtt.Version
		ka      uint16
		end     func(t *testing.T, rc *rawClient, id string)
		publish bool
	}{
		{"socket_close_v311", mqtt.V311, 60, func(t *testing.T, rc *rawClient, id string) { rc.c.Close() }, true},
		{"socket_close_v5", mqtt.V5, 60, func(t *testing.T, rc *rawClient, id string) { rc.c.Close() }, true},
		{"protocol_error", mqtt.V311, 60, func(t *testing.T, rc *rawClient, id string) {
			rc.write([]byte{0x20, 0x02, 0, 0}) // CONNACK from a client
			rc.expectClosed()
		}, true},
		{"keepalive_expiry", mqtt.V5, 1, func(t *testing.T, rc *rawClient, id string) {
			if code, ok := rc.expectClosed(); !ok || code != mqtt.KeepAliveTimeout {
				t.Fatalf("DISCONNECT %v (%v), want 0x8D", code, ok)
			}
		}, true},
		{"kick", mqtt.V5, 60, func(t *testing.T, rc *rawClient, id string) {
			if err := tb.Kick(t.Context(), id); err != nil {
				t.Fatal(err)
			}
			if code, ok := rc.expectClosed(); !ok || code != mqtt.AdministrativeAction {
				t.Fatalf("DISCONNECT %v (%v), want 0x98", code, ok)
			}
		}, true},
		{"disconnect_v311", mqtt.V311, 60, func(t *testing.T, rc *rawClient, id string) {
			rc.write([]byte{0xe0, 0x00})
			rc.expectClosed()
		}, false},
		{"disconnect_v5_normal", mqtt.V5, 60, func(t *testing.T, rc *rawClient, id string) {
			rc.write(mqtt.AppendDisconnect(nil, &mqtt.Disconnect{}, mqtt.V5))
			rc.expectClosed()
		}, false},
		{"disconnect_v5_with_will", mqtt.V5, 60, func(t *testing.T, rc *rawClient, id string) {
			rc.write(mqtt.AppendDisconnect(nil, &mqtt.Disconnect{ReasonCode: mqtt.DisconnectWithWill}, mqtt.V5))
			rc.expectClosed()
		}, true},
		{"disconnect_v5_client_error", mqtt.V5, 60, func(t *testing.T, rc *rawClient, id string) {
			rc.write(mqtt.AppendDisconnect(nil, &mqtt.Disconnect{ReasonCode: mqtt.UnspecifiedError}, mqtt.V5))
			rc.expectClosed()
		}, true},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			id := "will-" + tc.name
			rc, _ := connectRaw(t, tb.addr, willConnect(tc.v, id, tc.ka))
			tc.end(t, rc, id)
			if tc.publish {
				m := watcher.readPublish()
				if string(m.Topic) != "will/"+id || string(m.Payload) != "gone" {
					t.Fatalf("got %s %q", m.Topic, m.Payload)
				}
				watcher.write(mqtt.AppendPuback(nil, &mqtt.Puback{PacketID: m.PacketID}, mqtt.V5))
			} else {
				waitFor(t, "session end", func() bool {
					_, err := tb.ClientInfo(t.Context(), id)
					return err == ErrClientNotFound
				})
				watcher.expectSilence(100 * time.Millisecond)
			}
		})
	}
}

// TestWillDelay publishes a delayed will only if the session is not
// resumed in time.
func TestWillDelay(t *testing.T) {
	tb := startBroker(t, Config{}, netio.Config{TickInterval: 10 * time.Millisecond})
	watcher, _ := connectRaw(t, tb.addr, conn5("wd-watcher"))
	watcher.subscribe(1, sub("will/#", 0))
	cp := willConnect(mqtt.V5, "wd", 60)
	cp.CleanStart = false
	cp.Properties.Present.Add(mqtt.PropSessionExpiry)
	cp.Properties.SessionExpiry = 60
	cp.Will.Properties.Present.Add(mqtt.PropWillDelay)
	cp.Will.Properties.WillDelay = 1
	rc, _ := connectRaw(t, tb.addr, cp)
	rc.c.Close()
	waitFor(t, "offline", func() bool { return !tb.info(t, "wd").Connected })
	// Resumed within the delay: no will.
	rc2, ack := connectRaw(t, tb.addr, cp)
	if !ack.SessionPresent {
		t.Fatal("session not present")
	}
	watcher.expectSilence(1300 * time.Millisecond)
	rc2.c.Close()
	// Not resumed: the will comes after about a second.
	if m := watcher.readPublish(); string(m.Topic) != "will/wd" {
		t.Fatalf("got %s", m.Topic)
	}
}

func TestKeepaliveZeroNeverExpires(t *testing.T) {
	tb := startBroker(t, Config{}, netio.Config{TickInterval: 10 * time.Millisecond})
	cp := conn311("ka0", true)
	cp.KeepAlive = 0
	rc, _ := connectRaw(t, tb.addr, cp)
	rc.expectSilence(1600 * time.Millisecond)
	rc.write([]byte{0xc0, 0x00})
	if h, _ := rc.read(); h.Type != mqtt.TypePingresp {
		t.Fatalf("got %v", h.Type)
	}
}

// TestRetainedWill stores a will published with the retain flag.
func TestRetainedWill(t *testing.T) {
	tb := startBroker(t, Config{}, netio.Config{})
	cp := willConnect(mqtt.V311, "rw", 60)
	cp.Will.Retain = true
	rc, _ := connectRaw(t, tb.addr, cp)
	rc.c.Close()
	waitFor(t, "will retained", func() bool { return tb.Retained().Len() == 1 })
	s, _ := connectRaw(t, tb.addr, conn311("rw-late", true))
	s.subscribe(1, sub("will/rw", 1))
	if m := s.readPublish(); !m.Retain || string(m.Payload) != "gone" {
		t.Fatalf("got %+v", m)
	}
}

// TestWillOnTakeover: an MQTT 5 will without delay is published when the
// connection is taken over; one with a delay is cancelled by the resumed
// session; an MQTT 3.1.1 will is dropped.
func TestWillOnTakeover(t *testing.T) {
	tb := startBroker(t, Config{}, netio.Config{})
	watcher, _ := connectRaw(t, tb.addr, conn5("to-watcher"))
	watcher.subscribe(1, sub("will/#", 0))
	tests := []struct {
		name    string
		v       mqtt.Version
		delay   uint32
		publish bool
	}{
		{"v5_no_delay", mqtt.V5, 0, true},
		{"v5_delay_resumed", mqtt.V5, 30, false},
		{"v311", mqtt.V311, 0, false},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			id := "to-" + tc.name
			cp := willConnect(tc.v, id, 60)
			cp.CleanStart = false
			if tc.v == mqtt.V5 {
				cp.Properties.Present.Add(mqtt.PropSessionExpiry)
				cp.Properties.SessionExpiry = 60
				cp.Will.Properties.Present.Add(mqtt.PropWillDelay)
				cp.Will.Properties.WillDelay = tc.delay
			}
			old, _ := connectRaw(t, tb.addr, cp)
			next, _ := connectRaw(t, tb.addr, cp)
			old.expectClosed()
			// A message from the same publisher as the will would be
			// (the broker, on the session's shard) marks the end.
			next.publish("will/"+id+"/end", "end", 0, false, 0)
			first := watcher.readPublish()
			if tc.publish {
				if string(first.Topic) != "will/"+id || string(first.Payload) != "gone" {
					t.Fatalf("got %s %q, want the will", first.Topic, first.Payload)
				}
				first = watcher.readPublish()
			}
			if string(first.Topic) != "will/"+id+"/end" {
				t.Fatalf("got %s %q, want the end marker", first.Topic, first.Payload)
			}
			next.write([]byte{0xe0, 0x00}) // leave without a will
			next.expectClosed()
		})
	}
}

// TestWillDelayBoundedBySession: a will delay longer than the session is
// cut short by the session's end; with session expiry 0 the will goes at
// once [MQTT-3.1.3-9].
func TestWillDelayBoundedBySession(t *testing.T) {
	tb := startBroker(t, Config{}, netio.Config{TickInterval: 10 * time.Millisecond})
	watcher, _ := connectRaw(t, tb.addr, conn5("wb-watcher"))
	watcher.subscribe(1, sub("will/#", 0))
	for _, tc := range []struct {
		name   string
		expiry uint32
	}{{"session_expiry_0", 0}, {"session_expiry_1s", 1}} {
		t.Run(tc.name, func(t *testing.T) {
			id := "wb-" + tc.name
			cp := willConnect(mqtt.V5, id, 60)
			cp.CleanStart = false
			cp.Properties.Present.Add(mqtt.PropSessionExpiry)
			cp.Properties.SessionExpiry = tc.expiry
			cp.Will.Properties.Present.Add(mqtt.PropWillDelay)
			cp.Will.Properties.WillDelay = 300
			rc, _ := connectRaw(t, tb.addr, cp)
			rc.c.Close()
			if m := watcher.readPublish(); string(m.Topic) != "will/"+id {
				t.Fatalf("got %s", m.Topic)
			}
			if _, err := tb.ClientInfo(t.Context(), id); err != ErrClientNotFound {
				t.Fatalf("session still there: %v", err)
			}
		})
	}
}
