package natscluster

import (
	"bytes"
	"testing"

	"github.com/shardmq/shardmq/shards/cluster"
	"github.com/shardmq/shardmq/shards/store"
)

func TestToken(t *testing.T) {
	for _, s := range []string{"a", "node-1_x", "", "a.b", "emqx@127.0.0.1", "$SYS", "with space", "ü", "="} {
		tok := token(s)
		valid := plainToken(tok) || tok == "=" || tok[0] == '=' && plainToken(tok[1:])
		if !valid {
			t.Fatalf("token(%q) = %q is not a subject token", s, tok)
		}
		if got, ok := untoken(tok); !ok || got != s {
			t.Fatalf("untoken(token(%q)) = %q, %v", s, got, ok)
		}
	}
}

func TestRetainedKey(t *testing.T) {
	for _, topic := range []string{"a/b/c", "$SYS/brokers/x", "a//b", "/", "sensor/1.5/temp", "x y/z"} {
		key := retainedKey(topic)
		if got, ok := retainedTopic(key); !ok || got != topic {
			t.Fatalf("retainedTopic(retainedKey(%q)=%q) = %q, %v", topic, key, got, ok)
		}
	}
}

func TestMessageCodec(t *testing.T) {
	m := store.Message{Topic: "a/b", Payload: []byte("hello"), QoS: 2, Retain: true,
		Properties: []byte{1, 2, 3}, ExpireAt: 1234567, From: "c1"}
	gs := []cluster.Group{{Name: "g", Filter: "a/+"}, {Name: "$queue", Filter: "#"}}
	b := appendMessage(nil, &m, gs)
	b = appendMessage(b, &store.Message{Topic: "t"}, nil)
	r := newReader(b)
	var got, second store.Message
	gotGs := r.readMessage(&got, nil)
	gotGs2 := r.readMessage(&second, nil)
	if !r.done() {
		t.Fatal("not done")
	}
	if got.Topic != m.Topic || !bytes.Equal(got.Payload, m.Payload) || got.QoS != 2 || !got.Retain ||
		!bytes.Equal(got.Properties, m.Properties) || got.ExpireAt != m.ExpireAt || got.From != "c1" {
		t.Fatalf("got %+v", got)
	}
	if len(gotGs) != 2 || gotGs[0] != gs[0] || gotGs[1] != gs[1] || len(gotGs2) != 0 || second.Topic != "t" {
		t.Fatalf("groups %+v %+v", gotGs, gotGs2)
	}
	for i := range len(b) - 1 { // every truncation is refused, none panics
		r := newReader(b[:i])
		var x store.Message
		r.readMessage(&x, nil)
		r.readMessage(&x, nil)
		if r.done() {
			t.Fatalf("a frame cut at %d decodes", i)
		}
	}
}

func TestApplied(t *testing.T) {
	var a applied
	for _, s := range []uint64{1, 2, 4, 5} {
		a.add(s)
	}
	if !a.has(1) || !a.has(2) || a.has(3) || !a.has(4) || !a.has(5) || a.has(6) {
		t.Fatalf("applied %+v", a)
	}
	a.add(3)
	if a.low != 5 || len(a.above) != 0 {
		t.Fatalf("after the gap filled: %+v", a)
	}
}

func FuzzDecode(f *testing.F) {
	f.Add(appendMessage(nil, &store.Message{Topic: "a", Payload: []byte("p")}, []cluster.Group{{Name: "g", Filter: "a"}}))
	f.Add(appendPage(nil, cluster.Page{Count: 3, Rows: []cluster.Row{{Key: []byte("k"), Data: []byte("d")}}}))
	f.Add(appendQuery(nil, cluster.Query{Filter: []byte("f"), After: []byte("a"), Limit: 10}))
	f.Fuzz(func(t *testing.T, b []byte) {
		r := newReader(b)
		var m store.Message
		for !r.bad && r.off < len(r.b) {
			r.readMessage(&m, nil)
		}
		_, _ = decodePage(b)
		_, _ = decodeQuery(b)
		_, _ = decodeInterest(b)
	})
}
