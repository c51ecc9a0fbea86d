package shards

import (
	"fmt"
	"testing"

	"github.com/shardmq/shardmq/mqtt"
	"github.com/shardmq/shardmq/netio"
)

// BenchmarkRoute measures routing one message on its shard, without
// sockets: match, shared-group resolution, the fold into one delivery per
// session and the delivery itself, to subs offline sessions of the same
// shard whose queues stay full (each delivery drops the oldest message).
// overlap=true gives every session two matching subscriptions with
// identifiers, so the fold merges them into one copy carrying both (whose
// second identifier the delivery keeps in a slice of its own).
func BenchmarkRoute(b *testing.B) {
	for _, subs := range []int{1, 10, 100} {
		for _, overlap := range []bool{false, true} {
			b.Run(fmt.Sprintf("subs=%d/overlap=%v", subs, overlap), func(b *testing.B) {
				br, err := New(Config{MqueueMax: 16})
				if err != nil {
					b.Fatal(err)
				}
				sh := newShard(br, &netio.Loop{}, 0)
				for i := 0; i < subs; i++ {
					s := newSession(sh, fmt.Sprintf("route-%d", i), sh.loop.Now())
					sh.sessions[s.id] = s
					first := SubOptions{QoS: 1}
					if overlap {
						first.ID = 1
					}
					if _, err := s.subscribe("a/+/c", first); err != nil {
						b.Fatal(err)
					}
					if overlap {
						if _, err := s.subscribe("a/#", SubOptions{QoS: 2, ID: 2}); err != nil {
							b.Fatal(err)
						}
					}
				}
				p := &mqtt.Publish{QoS: 1, Topic: []byte("a/b/c"), Payload: []byte("payload")}
				b.ReportAllocs()
				b.ResetTimer()
				for i := 0; i < b.N; i++ {
					m := br.newMessage(p, p.Topic, []byte("pub"), nil, sh.loop.Now())
					sh.publish(m)
					m.release()
				}
			})
		}
	}
}
