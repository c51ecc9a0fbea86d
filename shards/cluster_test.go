package shards

import (
	"slices"
	"strings"
	"sync"
	"testing"

	"github.com/shardmq/shardmq/mqtt"
	"github.com/shardmq/shardmq/netio"
	"github.com/shardmq/shardmq/shards/store"
)

// fakeCluster is a cluster of this node and one other, "node-b", as the
// shards see it: node-b owns the client ids that start with "b-" and wants
// the topics under "remote/".
type fakeCluster struct {
	mu        sync.Mutex
	interest  []string // "+filter" or "-filter", in call order
	forwarded []*store.Message
}

func (f *fakeCluster) Alone() bool { return false }

func (f *fakeCluster) Owner(clientID string) string {
	if strings.HasPrefix(clientID, "b-") {
		return "node-b"
	}
	return ""
}

func (f *fakeCluster) Interest(filter string, on bool) {
	f.mu.Lock()
	defer f.mu.Unlock()
	sign := "-"
	if on {
		sign = "+"
	}
	f.interest = append(f.interest, sign+filter)
}

func (f *fakeCluster) Remote(topic []byte) bool { return strings.HasPrefix(string(topic), "remote/") }

func (f *fakeCluster) Forward(m *store.Message) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.forwarded = append(f.forwarded, m)
}

func (f *fakeCluster) calls() ([]string, []*store.Message) {
	f.mu.Lock()
	defer f.mu.Unlock()
	return slices.Clone(f.interest), slices.Clone(f.forwarded)
}

// TestClusterSeam checks the calls the shards make on a cluster that is
// not alone: interest once per filter gained and lost (shared groups
// included, session end included), messages forwarded when another node
// wants their topic (which counts as a match for MQTT 5's PUBACK), and a
// CONNECT for another node's client id sent there.
func TestClusterSeam(t *testing.T) {
	fc := &fakeCluster{}
	tb := startBroker(t, Config{Cluster: fc}, netio.Config{})

	a, _ := connectRaw(t, tb.addr, conn5("ca"))
	b, _ := connectRaw(t, tb.addr, conn5("cb"))
	a.subscribe(1, sub("x/+", 0), sub("$share/g/y", 0))
	b.subscribe(1, sub("x/+", 0), sub("$share/g/y", 0))
	a.write(unsubscribe5(2, "x/+"))
	a.read()
	waitFor(t, "interest gained", func() bool { in, _ := fc.calls(); return len(in) == 2 })
	b.c.Close() // its session ends: the last subscriber of both filters
	waitFor(t, "x/+ lost", func() bool { in, _ := fc.calls(); return len(in) == 3 })
	a.write(unsubscribe5(3, "$share/g/y"))
	a.read()
	waitFor(t, "$share/g/y lost", func() bool { in, _ := fc.calls(); return len(in) == 4 })
	in, _ := fc.calls()
	want := []string{"+x/+", "+$share/g/y", "-x/+", "-$share/g/y"}
	if strings.Join(in, " ") != strings.Join(want, " ") {
		t.Fatalf("interest calls %q, want %q", in, want)
	}

	a.write(mqtt.AppendPublish(nil, &mqtt.Publish{Topic: []byte("remote/t"), Payload: []byte("over"), QoS: 1,
		PacketID: 9}, mqtt.V5))
	h, body := a.read()
	var ack mqtt.Puback
	if h.Type != mqtt.TypePuback || ack.Decode(h, body, mqtt.V5) != nil || ack.ReasonCode != mqtt.Success {
		t.Fatalf("PUBACK %v %+v, want Success (node-b wants the topic)", h.Type, ack)
	}
	_, fw := fc.calls()
	if len(fw) != 1 || fw[0].Topic != "remote/t" || string(fw[0].Payload) != "over" || fw[0].QoS != 1 || fw[0].From != "ca" {
		t.Fatalf("forwarded %+v", fw)
	}
	a.write(mqtt.AppendPublish(nil, &mqtt.Publish{Topic: []byte("local/t"), QoS: 1, PacketID: 10}, mqtt.V5))
	h, body = a.read()
	if ack.Decode(h, body, mqtt.V5) != nil || ack.ReasonCode != mqtt.NoMatchingSubscribers {
		t.Fatalf("PUBACK %+v, want No matching subscribers", ack)
	}
	if _, fw := fc.calls(); len(fw) != 1 {
		t.Fatalf("a topic no node wants was forwarded: %d", len(fw))
	}

	for _, v := range []mqtt.Version{mqtt.V5, mqtt.V311} {
		p := conn5("b-device")
		p.Version = v
		_, cack := connectRaw(t, tb.addr, p)
		wantRC := mqtt.UseAnotherServer
		if v != mqtt.V5 {
			wantRC = mqtt.ReasonCode(mqtt.ConnRefusedServerUnavailable)
		}
		if cack.ReasonCode != wantRC || v == mqtt.V5 && string(cack.Properties.ServerReference) != "node-b" {
			t.Fatalf("v%d CONNACK %v reference %q, want %v naming node-b", v, cack.ReasonCode,
				cack.Properties.ServerReference, wantRC)
		}
	}
	if _, ok := tb.registry.Load("b-device"); ok {
		t.Fatal("a session was made for another node's client id")
	}
}

// unsubscribe5 encodes an MQTT 5 UNSUBSCRIBE of one filter (the codec
// encodes UNSUBSCRIBE only in its own tests: the broker never sends one).
func unsubscribe5(id uint16, filter string) []byte {
	body := []byte{byte(id >> 8), byte(id), 0, byte(len(filter) >> 8), byte(len(filter))} // id, no properties
	body = append(body, filter...)
	return append([]byte{byte(mqtt.TypeUnsubscribe)<<4 | 0x02, byte(len(body))}, body...)
}
