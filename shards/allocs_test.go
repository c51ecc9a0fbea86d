package shards

import (
	"fmt"
	"testing"

	"github.com/shardmq/shardmq/mqtt"
	"github.com/shardmq/shardmq/netio"
)

// TestRouteAllocs holds the routing path to its allocation budget: none.
// A publish matched by ten sessions of the same shard takes its message
// from the pool and gives it back once the last holder releases it; the
// sessions are offline, so delivery ends in their queues, which stop
// growing once full (the oldest message dropped and released).
func TestRouteAllocs(t *testing.T) {
	b, err := New(Config{MqueueMax: 16})
	if err != nil {
		t.Fatal(err)
	}
	sh := newShard(b, &netio.Loop{}, 0)
	for i := 0; i < 10; i++ {
		s := newSession(sh, fmt.Sprintf("alloc-%d", i), sh.loop.Now())
		sh.sessions[s.id] = s
		if _, err := s.subscribe("a/+/c", SubOptions{QoS: 1}); err != nil {
			t.Fatal(err)
		}
	}
	for _, tc := range []struct {
		name string
		p    *mqtt.Publish
	}{
		{"v311", &mqtt.Publish{QoS: 1, Topic: []byte("a/b/c"), Payload: []byte("payload")}},
		{"v5-properties", &mqtt.Publish{QoS: 2, Topic: []byte("a/b/c"), Payload: []byte("payload"),
			Properties: mqtt.Properties{Present: 1<<mqtt.PropContentType | 1<<mqtt.PropMessageExpiry,
				ContentType: []byte("text/plain"), MessageExpiry: 60,
				User: []mqtt.UserProperty{{Key: []byte("k"), Value: []byte("v")}}}}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			assertNoAllocs(t, func() {
				m := b.newMessage(tc.p, tc.p.Topic, []byte("pub"), nil, sh.loop.Now())
				if n := sh.publish(m); n != 10 {
					t.Fatalf("matched %d", n)
				}
				m.release()
			})
		})
	}
}

// TestOverlapDedupManyHits checks one copy per client, at the highest QoS
// with every identifier, on both dedup paths: few hits (scan) and many
// (map).
func TestOverlapDedupManyHits(t *testing.T) {
	for _, clients := range []int{3, 20} {
		t.Run(fmt.Sprintf("clients=%d", clients), func(t *testing.T) {
			b, err := New(Config{})
			if err != nil {
				t.Fatal(err)
			}
			sh := newShard(b, &netio.Loop{}, 0)
			var ss []*session
			for i := 0; i < clients; i++ {
				s := newSession(sh, fmt.Sprintf("dd-%d", i), sh.loop.Now())
				sh.sessions[s.id] = s
				if _, err := s.subscribe("a/+/c", SubOptions{QoS: 0, ID: 1}); err != nil {
					t.Fatal(err)
				}
				if _, err := s.subscribe("a/#", SubOptions{QoS: 2, ID: 2}); err != nil {
					t.Fatal(err)
				}
				ss = append(ss, s)
			}
			p := &mqtt.Publish{QoS: 2, Topic: []byte("a/b/c"), Payload: []byte("x")}
			m := b.newMessage(p, p.Topic, nil, nil, sh.loop.Now())
			if n := sh.publish(m); n != 2*clients {
				t.Fatalf("matched %d", n)
			}
			m.release()
			for _, s := range ss {
				if s.queueLen() != 1 {
					t.Fatalf("%s queued %d copies", s.id, s.queueLen())
				}
				d := s.x.queue[s.x.queueHead]
				if ids := d.ids(nil); d.qos != 2 || len(ids) != 2 {
					t.Fatalf("%s: qos %d ids %v", s.id, d.qos, ids)
				}
			}
		})
	}
}

// TestSessExtraAllocs holds a session's take and give-back of its
// sessExtra to no allocation once the shard's free list has one: a message
// queued for an offline session takes an extra, and emptying the queue
// gives it back, as a subscriber acknowledging each QoS 1 message does.
func TestSessExtraAllocs(t *testing.T) {
	b, err := New(Config{})
	if err != nil {
		t.Fatal(err)
	}
	sh := newShard(b, &netio.Loop{}, 0)
	s := newSession(sh, "extra-allocs", sh.loop.Now())
	sh.sessions[s.id] = s
	p := &mqtt.Publish{QoS: 1, Topic: []byte("a/b"), Payload: []byte("payload")}
	assertNoAllocs(t, func() {
		m := b.newMessage(p, p.Topic, []byte("pub"), nil, sh.loop.Now())
		s.deliver(delivery{msg: m, qos: 1}) // offline: queued
		m.release()
		if s.x == nil || s.queueLen() != 1 {
			t.Fatalf("queued %d with extra %p", s.queueLen(), s.x)
		}
		d := s.dequeue()
		d.msg.release()
		s.releaseExtra()
		if s.x != nil || len(sh.extras) != 1 {
			t.Fatalf("extra %p kept, %d on the free list", s.x, len(sh.extras))
		}
	})
}
