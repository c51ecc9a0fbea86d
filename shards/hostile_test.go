package shards

import (
	"fmt"
	"net"
	"sync"
	"testing"
	"time"

	"github.com/shardmq/shardmq/mqtt"
	"github.com/shardmq/shardmq/netio"
)

// TestHostileInputs sends malformed and hostile input over raw TCP: each
// offending connection is closed (MQTT 5 ones with the right reason code)
// while a healthy client keeps being served.
func TestHostileInputs(t *testing.T) {
	tb := startBroker(t, Config{MaxPacketSize: 1024, TopicAliasMaximum: 5},
		netio.Config{MaxPacketSize: 1024, ConnectTimeout: 500 * time.Millisecond, TickInterval: 10 * time.Millisecond})
	healthy, _ := connectRaw(t, tb.addr, conn311("healthy", true))
	healthy.subscribe(1, sub("health", 0))
	check := func(t *testing.T) {
		t.Helper()
		p, _ := connectRaw(t, tb.addr, conn5(""))
		p.publish("health", "ok", 0, false, 0)
		if m := healthy.readPublish(); string(m.Payload) != "ok" {
			t.Fatalf("healthy client got %q", m.Payload)
		}
	}
	tests := []struct {
		name      string
		connected bool   // send a v5 CONNECT first
		send      []byte // then these bytes
		wantCode  mqtt.ReasonCode
	}{
		{name: "varint_too_long", send: []byte{0x10, 0xff, 0xff, 0xff, 0xff, 0x01}},
		{name: "reserved_type", send: []byte{0x00, 0x00}},
		{name: "connect_truncated", send: []byte{0x10, 0x04, 0, 4, 'M', 'Q'}},
		{name: "connect_bad_protocol_name", send: []byte{0x10, 0x0c, 0, 4, 'M', 'Q', 'X', 'X', 4, 2, 0, 60, 0, 0}},
		{name: "connect_reserved_flag", send: []byte{0x10, 0x0d, 0, 4, 'M', 'Q', 'T', 'T', 4, 0x03, 0, 60, 0, 1, 'a'}},
		{name: "connect_invalid_utf8_v5", send: []byte{0x10, 0x0e, 0, 4, 'M', 'Q', 'T', 'T', 5, 0x02, 0, 60, 0, 0, 2, 0xc3, 0x28},
			wantCode: mqtt.MalformedPacket},
		{name: "connect_oversized", send: []byte{0x10, 0xff, 0x7f}},
		{name: "subscribe_before_connect", send: []byte{0x82, 0x06, 0, 1, 0, 1, 'a', 0}},
		{name: "publish_qos3", connected: true, send: []byte{0x36, 0x05, 0, 1, 'a', 0, 1}, wantCode: mqtt.MalformedPacket},
		{name: "subscribe_bad_flags", connected: true, send: []byte{0x80, 0x07, 0, 1, 0, 0, 1, 'a', 0}, wantCode: mqtt.MalformedPacket},
		{name: "publish_invalid_utf8", connected: true, send: []byte{0x30, 0x05, 0, 2, 0xc3, 0x28, 0}, wantCode: mqtt.MalformedPacket},
		{name: "publish_wildcard_topic", connected: true, send: []byte{0x30, 0x04, 0, 1, '#', 0}, wantCode: mqtt.TopicNameInvalid},
		{name: "publish_oversized", connected: true, send: []byte{0x30, 0x80, 0x10}, wantCode: mqtt.PacketTooLarge},
		{name: "publish_remaining_length_lies", connected: true, send: []byte{0x30, 0x02, 0, 9}, wantCode: mqtt.MalformedPacket},
		{name: "topic_alias_zero", connected: true, send: []byte{0x30, 0x07, 0, 1, 'a', 3, 0x23, 0, 0}, wantCode: mqtt.TopicAliasInvalid},
		{name: "topic_alias_above_max", connected: true, send: []byte{0x30, 0x07, 0, 1, 'a', 3, 0x23, 0, 9}, wantCode: mqtt.TopicAliasInvalid},
		{name: "second_connect", connected: true, send: mqtt.AppendConnect(nil, conn5("x2"), mqtt.V5), wantCode: mqtt.ProtocolError},
		{name: "connack_from_client", connected: true, send: []byte{0x20, 0x03, 0, 0, 0}, wantCode: mqtt.ProtocolError},
		{name: "pubrel_bad_flags", connected: true, send: []byte{0x60, 0x02, 0, 1}, wantCode: mqtt.MalformedPacket},
		{name: "garbage", send: []byte("GET / HTTP/1.1\r\nHost: x\r\n\r\n")},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			var rc *rawClient
			if tc.connected {
				rc, _ = connectRaw(t, tb.addr, conn5("hostile-"+tc.name))
			} else {
				rc = dialRaw(t, tb.addr, mqtt.V5)
			}
			rc.write(tc.send)
			code, got := rc.expectClosed()
			if tc.wantCode != 0 && (!got || code != tc.wantCode) {
				t.Fatalf("reason %v (sent: %v), want %v", code, got, tc.wantCode)
			}
			check(t)
		})
	}
	t.Run("slowloris", func(t *testing.T) {
		rc := dialRaw(t, tb.addr, mqtt.V311)
		connect := mqtt.AppendConnect(nil, conn311("slow", true), mqtt.V311)
		done := make(chan struct{})
		go func() {
			defer close(done)
			for _, b := range connect[:len(connect)-1] {
				if _, err := rc.c.Write([]byte{b}); err != nil {
					return
				}
				time.Sleep(100 * time.Millisecond)
			}
		}()
		rc.expectClosed() // after ConnectTimeout, before the CONNECT completes
		<-done
		check(t)
	})
	t.Run("connect_flood", func(t *testing.T) {
		var wg sync.WaitGroup
		for i := 0; i < 200; i++ {
			wg.Add(1)
			go func(i int) {
				defer wg.Done()
				c, err := net.Dial("tcp", tb.addr)
				if err != nil {
					return
				}
				defer c.Close()
				_, _ = c.Write(mqtt.AppendConnect(nil, conn311(fmt.Sprintf("flood-%d", i%20), true), mqtt.V311))
				_ = c.SetReadDeadline(time.Now().Add(5 * time.Second))
				b := make([]byte, 4)
				_, _ = c.Read(b)
			}(i)
		}
		wg.Wait()
		check(t)
		waitFor(t, "flood sessions to end", func() bool { return tb.Sessions() <= 3 })
	})
}

// TestTopicAliasMemoryBound: a client that parks more than 256 KiB of topic
// names behind aliases is disconnected with 0x97.
func TestTopicAliasMemoryBound(t *testing.T) {
	tb := startBroker(t, Config{MaxPacketSize: 1 << 20}, netio.Config{})
	p, _ := connectRaw(t, tb.addr, conn5("alias-hog"))
	topic := make([]byte, 60000)
	for i := range topic {
		topic[i] = 'a'
	}
	for a := uint16(1); a <= 6; a++ {
		m := &mqtt.Publish{Topic: topic}
		m.Properties.Present.Add(mqtt.PropTopicAlias)
		m.Properties.TopicAlias = a
		p.write(mqtt.AppendPublish(nil, m, mqtt.V5))
	}
	if code, ok := p.expectClosed(); !ok || code != mqtt.QuotaExceeded {
		t.Fatalf("code %v (%v), want 0x97", code, ok)
	}
}
