package retained

import (
	"errors"
	"fmt"
	"slices"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

func newTestStore(t *testing.T, cfg Config) *Store {
	t.Helper()
	s, err := New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	return s
}

func retainedTopics(ms []*Message) []string {
	out := make([]string, 0, len(ms))
	for _, m := range ms {
		out = append(out, m.Topic)
	}
	slices.Sort(out)
	return out
}

func TestRetainSetReplaceDelete(t *testing.T) {
	s := newTestStore(t, Config{})
	steps := []struct {
		name    string
		topic   string
		payload string
		props   string
		count   int
		bytes   int64
		get     string // payload Get(topic) must return; "" for none
	}{
		{"store", "a/b", "hello", "", 1, 3 + 5, "hello"},
		{"replace", "a/b", "hi", "pp", 1, 3 + 2 + 2, "hi"},
		{"second", "a", "x", "", 2, 7 + 2, "x"},
		{"delete by empty payload", "a/b", "", "", 1, 2, ""},
		{"delete missing", "zz", "", "", 1, 2, ""},
		{"delete last", "a", "", "", 0, 0, ""},
	}
	for _, st := range steps {
		t.Run(st.name, func(t *testing.T) {
			m := &Message{Topic: st.topic, Payload: []byte(st.payload), Properties: []byte(st.props), QoS: 1}
			if err := s.Set(m); err != nil {
				t.Fatal(err)
			}
			if s.Len() != st.count || s.Bytes() != st.bytes {
				t.Fatalf("Len=%d Bytes=%d, want %d %d", s.Len(), s.Bytes(), st.count, st.bytes)
			}
			got := s.Get(st.topic)
			if (st.get == "") != (got == nil) || (got != nil && string(got.Payload) != st.get) {
				t.Fatalf("Get(%q) = %+v, want payload %q", st.topic, got, st.get)
			}
		})
	}
	if len(s.root.children) != 0 {
		t.Fatalf("empty store kept %d root children", len(s.root.children))
	}
	if s.Delete("a") {
		t.Fatal("Delete of a missing topic reported true")
	}
}

func TestRetainMatch(t *testing.T) {
	s := newTestStore(t, Config{})
	topics := []string{"a", "a/b", "a/b/c", "a/c", "a/", "a//c", "b/b", "/a", "$SYS/up", "$SYS/a/b", "a/$x"}
	for _, tp := range topics {
		if err := s.Set(&Message{Topic: tp, Payload: []byte("p")}); err != nil {
			t.Fatal(err)
		}
	}
	tests := []struct {
		filter string
		want   []string
	}{
		{"a", []string{"a"}},
		{"a/b", []string{"a/b"}},
		{"nope", nil},
		{"a/+", []string{"a/", "a/$x", "a/b", "a/c"}},
		{"a/#", []string{"a", "a/", "a//c", "a/$x", "a/b", "a/b/c", "a/c"}},
		{"a/+/c", []string{"a//c", "a/b/c"}},
		{"+", []string{"a"}},
		{"+/b", []string{"a/b", "b/b"}},
		{"+/+", []string{"/a", "a/", "a/$x", "a/b", "a/c", "b/b"}},
		{"#", []string{"/a", "a", "a/", "a//c", "a/$x", "a/b", "a/b/c", "a/c", "b/b"}},
		{"+/#", []string{"/a", "a", "a/", "a//c", "a/$x", "a/b", "a/b/c", "a/c", "b/b"}},
		{"$SYS/#", []string{"$SYS/a/b", "$SYS/up"}},
		{"$SYS/+", []string{"$SYS/up"}},
		{"/+", []string{"/a"}},
	}
	for _, tc := range tests {
		t.Run("filter="+tc.filter, func(t *testing.T) {
			got := retainedTopics(s.Match(tc.filter, time.Time{}, nil))
			slices.Sort(tc.want)
			if !slices.Equal(got, tc.want) {
				t.Fatalf("Match(%q) = %v, want %v", tc.filter, got, tc.want)
			}
		})
	}
}

func TestRetainExpiry(t *testing.T) {
	s := newTestStore(t, Config{})
	t0 := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	for i, exp := range []uint32{0, 10, 20} {
		if err := s.Set(&Message{Topic: fmt.Sprintf("e/%d", i), Payload: []byte("p"), Stored: t0, ExpiryInterval: exp}); err != nil {
			t.Fatal(err)
		}
	}
	tests := []struct {
		at        time.Duration
		live      []string
		remaining uint32 // of e/2
	}{
		{0, []string{"e/0", "e/1", "e/2"}, 20},
		{9500 * time.Millisecond, []string{"e/0", "e/1", "e/2"}, 10},
		{10 * time.Second, []string{"e/0", "e/2"}, 10},
		{25 * time.Second, []string{"e/0"}, 0},
	}
	for _, tc := range tests {
		t.Run(fmt.Sprintf("at=%s", tc.at), func(t *testing.T) {
			now := t0.Add(tc.at)
			if got := retainedTopics(s.Match("e/#", now, nil)); !slices.Equal(got, tc.live) {
				t.Fatalf("Match at +%s = %v, want %v", tc.at, got, tc.live)
			}
			if got := s.Get("e/2").Remaining(now); got != tc.remaining {
				t.Fatalf("Remaining at +%s = %d, want %d", tc.at, got, tc.remaining)
			}
		})
	}
	if n := s.DeleteExpired(t0.Add(15 * time.Second)); n != 1 || s.Len() != 2 {
		t.Fatalf("DeleteExpired = %d, Len = %d; want 1 and 2", n, s.Len())
	}
	if got := retainedTopics(s.Match("#", time.Time{}, nil)); !slices.Equal(got, []string{"e/0", "e/2"}) {
		t.Fatalf("after DeleteExpired: %v", got)
	}
}

func TestRetainLimits(t *testing.T) {
	tests := []struct {
		name string
		cfg  Config
		sets []string // topic=payload; the last one is checked against err
		err  error
	}{
		{"payload limit", Config{MaxPayload: 3}, []string{"a=abcd"}, ErrTooLarge},
		{"payload at limit", Config{MaxPayload: 3}, []string{"a=abc"}, nil},
		{"count limit", Config{MaxMessages: 2}, []string{"a=1", "b=1", "c=1"}, ErrFull},
		{"replace at count limit", Config{MaxMessages: 2}, []string{"a=1", "b=1", "b=2"}, nil},
		{"byte limit", Config{MaxBytes: 10}, []string{"a=1234", "b=12345"}, ErrFull},
		{"replace within byte limit", Config{MaxBytes: 10}, []string{"a=1234", "b=1234", "b=12345678"}, ErrFull},
		{"delete at limit", Config{MaxMessages: 1}, []string{"a=1", "a="}, nil},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			s := newTestStore(t, tc.cfg)
			var err error
			var before int
			for i, kv := range tc.sets {
				topic, payload, _ := cut(kv, '=')
				before = s.Len()
				err = s.Set(&Message{Topic: topic, Payload: []byte(payload)})
				if i < len(tc.sets)-1 && err != nil {
					t.Fatalf("Set(%s): %v", kv, err)
				}
			}
			if !errors.Is(err, tc.err) {
				t.Fatalf("last Set = %v, want %v", err, tc.err)
			}
			if err != nil && s.Len() != before {
				t.Fatalf("a refused Set changed Len from %d to %d", before, s.Len())
			}
		})
	}
	if _, err := New(Config{MaxBytes: -1}); !errors.Is(err, ErrConfig) {
		t.Fatalf("New with a negative limit: %v", err)
	}
}

func cut(s string, sep byte) (string, string, bool) {
	for i := 0; i < len(s); i++ {
		if s[i] == sep {
			return s[:i], s[i+1:], true
		}
	}
	return s, "", false
}

// TestRetainConcurrent sets, replaces and deletes messages while readers look them up; run it with
// -race. Readers check that a stable message is always found and that every message they get
// matches their filter.
func TestRetainConcurrent(t *testing.T) {
	s := newTestStore(t, Config{})
	if err := s.Set(&Message{Topic: "stable/x", Payload: []byte("p")}); err != nil {
		t.Fatal(err)
	}
	var stop atomic.Bool
	var wg sync.WaitGroup
	errs := make(chan error, 2)
	for range 2 {
		wg.Go(func() {
			var dst []*Message
			for i := 0; !stop.Load() && i < 1_000_000; i++ {
				dst = s.Match("+/x", time.Time{}, dst[:0])
				stable := 0
				for _, m := range dst {
					if len(m.Topic) < 2 || m.Topic[len(m.Topic)-2:] != "/x" {
						errs <- fmt.Errorf("Match(+/x) returned %q", m.Topic)
						return
					}
					if m.Topic == "stable/x" {
						stable++
					}
				}
				if stable != 1 {
					errs <- fmt.Errorf("stable/x found %d times", stable)
					return
				}
			}
		})
	}
	for i := range 3000 {
		topic := fmt.Sprintf("t%d/x", i%37)
		payload := []byte("v")
		if i%3 == 2 {
			payload = nil
		}
		if err := s.Set(&Message{Topic: topic, Payload: payload}); err != nil {
			t.Fatal(err)
		}
	}
	stop.Store(true)
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Error(err)
	}
	if got := len(s.Match("#", time.Time{}, nil)); got != s.Len() {
		t.Fatalf("Match(#) found %d, Len is %d", got, s.Len())
	}
}
