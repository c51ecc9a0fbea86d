package mqtt

import (
	"errors"
	"strings"
	"testing"
)

func TestValidTopicName(t *testing.T) {
	long := strings.Repeat("a", maxTopicLen)
	tests := []struct {
		name  string
		topic string
		ok    bool
	}{
		{"simple", "sport/tennis/player1", true},
		{"single level", "a", true},
		{"leading slash", "/finance", true},
		{"trailing slash", "finance/", true},
		{"only slash", "/", true},
		{"empty levels", "a//b", true},
		{"space", "sport/tennis player", true},
		{"dollar", "$SYS/broker/load", true},
		{"unicode", "haus/küche/温度", true},
		{"max length", long, true},
		{"empty", "", false},
		{"too long", long + "a", false},
		{"plus", "sport/+", false},
		{"plus inside level", "a+b", false},
		{"hash", "sport/#", false},
		{"hash inside level", "a#b", false},
		{"nul", "a\x00b", false},
		{"invalid utf8", "a\xffb", false},
		{"truncated utf8", "a\xc3", false},
		{"surrogate", "a\xed\xa0\x80", false}, // U+D800 [MQTT-1.5.4-1]
		{"overlong nul", "a\xc0\x80", false},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			err := ValidTopicName([]byte(tc.topic))
			if tc.ok && err != nil {
				t.Fatalf("ValidTopicName(%q) = %v, want nil", tc.topic, err)
			}
			if !tc.ok && !errors.Is(err, TopicNameInvalid) {
				t.Fatalf("ValidTopicName(%q) = %v, want TopicNameInvalid", tc.topic, err)
			}
		})
	}
}

func TestValidTopicFilter(t *testing.T) {
	long := strings.Repeat("a", maxTopicLen)
	tests := []struct {
		name   string
		filter string
		ok     bool
	}{
		{"literal", "sport/tennis/player1", true},
		{"spec hash", "sport/tennis/player1/#", true},
		{"spec plus", "sport/+", true},
		{"spec plus plus", "+/+", true},
		{"spec slash plus", "/+", true},
		{"spec plus middle", "sport/+/player1", true},
		{"spec plus hash", "+/tennis/#", true},
		{"hash alone", "#", true},
		{"plus alone", "+", true},
		{"sys", "$SYS/#", true},
		{"empty levels", "a//b", true},
		{"empty level plus", "a//+", true},
		{"only slash", "/", true},
		{"max length", long, true},
		{"share", "$share/g/sport/#", true},
		{"share plus", "$share/g/+", true},
		{"share dollar group", "$share/$g/a", true},
		{"queue", "$queue/sport/#", true},
		{"share word alone", "$share", true},
		{"queue word alone", "$queue", true},
		{"empty", "", false},
		{"too long", long + "a", false},
		{"spec hash not last", "sport/tennis/#/ranking", false},
		{"spec hash in level", "sport/tennis#", false},
		{"spec plus in level", "sport+", false},
		{"plus prefix", "+a/b", false},
		{"plus suffix", "a/b+", false},
		{"hash prefix", "#a", false},
		{"hash slash", "#/", false},
		{"double hash", "a/##", false},
		{"nul", "a/\x00", false},
		{"invalid utf8", "a/\xff", false},
		{"share no group", "$share//a", false},
		{"share only prefix", "$share/", false},
		{"share no filter", "$share/g", false},
		{"share empty filter", "$share/g/", false},
		{"share group plus", "$share/g+/a", false},
		{"share group hash", "$share/#/a", false},
		{"share bad filter", "$share/g/a#", false},
		{"share nul", "$share/g/\x00", false},
		{"queue empty filter", "$queue/", false},
		{"queue bad filter", "$queue/a/#/b", false},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			err := ValidTopicFilter([]byte(tc.filter))
			if tc.ok && err != nil {
				t.Fatalf("ValidTopicFilter(%q) = %v, want nil", tc.filter, err)
			}
			if !tc.ok && !errors.Is(err, TopicFilterInvalid) {
				t.Fatalf("ValidTopicFilter(%q) = %v, want TopicFilterInvalid", tc.filter, err)
			}
		})
	}
}

func TestParseShare(t *testing.T) {
	tests := []struct {
		name   string
		in     string
		group  string
		filter string
		ok     bool
	}{
		{"share", "$share/g1/sport/#", "g1", "sport/#", true},
		{"share single level", "$share/g/a", "g", "a", true},
		{"share filter with slash first", "$share/g//a", "g", "/a", true},
		{"share wildcard group left to validation", "$share/+/a", "+", "a", true},
		{"queue", "$queue/a/b", "$queue", "a/b", true},
		{"plain", "sport/#", "", "", false},
		{"share word", "$share", "", "", false},
		{"share empty group", "$share//a", "", "", false},
		{"share no filter", "$share/g", "", "", false},
		{"share empty filter", "$share/g/", "", "", false},
		{"queue empty", "$queue/", "", "", false},
		{"case matters", "$SHARE/g/a", "", "", false},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			g, f, ok := ParseShare([]byte(tc.in))
			if ok != tc.ok || string(g) != tc.group || string(f) != tc.filter {
				t.Fatalf("ParseShare(%q) = %q, %q, %v; want %q, %q, %v",
					tc.in, g, f, ok, tc.group, tc.filter, tc.ok)
			}
		})
	}
}

func TestParseShareQueueGroupNotShared(t *testing.T) {
	g, _, ok := ParseShare([]byte("$queue/a"))
	if !ok {
		t.Fatal("ParseShare($queue/a) not ok")
	}
	g = append(g, 'x') // must copy, never write into the package's value
	if g2, _, _ := ParseShare([]byte("$queue/b")); string(g2) != "$queue" {
		t.Fatalf("group after append = %q, want $queue", g2)
	}
	if string(g) != "$queuex" {
		t.Fatalf("appended group = %q", g)
	}
}

// matchTests are shared by TestMatch, the benchmarks and the fuzz seeds.
var matchTests = []struct {
	name   string
	filter string
	topic  string
	want   bool
}{
	// Examples from MQTT 5.0 section 4.7.1.
	{"spec hash player1", "sport/tennis/player1/#", "sport/tennis/player1", true},
	{"spec hash ranking", "sport/tennis/player1/#", "sport/tennis/player1/ranking", true},
	{"spec hash wimbledon", "sport/tennis/player1/#", "sport/tennis/player1/score/wimbledon", true},
	{"spec sport hash parent", "sport/#", "sport", true},
	{"spec plus player1", "sport/tennis/+", "sport/tennis/player1", true},
	{"spec plus player2", "sport/tennis/+", "sport/tennis/player2", true},
	{"spec plus not deeper", "sport/tennis/+", "sport/tennis/player1/ranking", false},
	{"spec sport plus not sport", "sport/+", "sport", false},
	{"spec sport plus empty level", "sport/+", "sport/", true},
	{"spec plus plus slash finance", "+/+", "/finance", true},
	{"spec slash plus", "/+", "/finance", true},
	{"spec plus not slash finance", "+", "/finance", false},
	// Section 4.7.2: $ topics.
	{"hash not sys", "#", "$SYS/x", false},
	{"hash not sys alone", "#", "$SYS", false},
	{"plus monitor not sys", "+/monitor/Clients", "$SYS/monitor/Clients", false},
	{"sys hash", "$SYS/#", "$SYS/monitor/Clients", true},
	{"sys hash parent", "$SYS/#", "$SYS", true},
	{"sys plus", "$SYS/monitor/+", "$SYS/monitor/Clients", true},
	{"literal dollar", "$SYS/x", "$SYS/x", true},
	{"dollar later level", "+/$x", "a/$x", true},
	{"hash dollar later level", "a/#", "a/$x", true},
	// Hash and plus.
	{"hash everything", "#", "a/b/c", true},
	{"hash leading slash", "#", "/a", true},
	{"hash slash", "#", "/", true},
	{"hash one level", "#", "a", true},
	{"plus one level", "+", "a", true},
	{"plus not two levels", "+", "a/b", false},
	{"plus empty topic level", "+", "/", false},
	{"plus slash plus slash", "+/+", "/", true},
	{"plus hash parent", "+/#", "a", true},
	{"plus hash deep", "+/#", "a/b/c", true},
	{"a hash trailing slash", "a/#", "a/", true},
	{"a hash other", "a/#", "ab", false},
	{"a hash prefix mismatch", "a/#", "b/c", false},
	{"mid plus", "a/+/c", "a/b/c", true},
	{"mid plus empty", "a/+/c", "a//c", true},
	{"mid plus wrong tail", "a/+/c", "a/b/d", false},
	{"mid plus short", "a/+/c", "a/b", false},
	{"plus then hash", "a/+/#", "a/b", true},
	{"plus then hash none", "a/+/#", "a", false},
	{"hash needs parent", "a/b/#", "a", false},
	{"hash parent differs", "a/b/#", "a/c", false},
	// Literal filters and empty levels.
	{"equal", "a/b/c", "a/b/c", true},
	{"longer topic", "a/b", "a/b/c", false},
	{"shorter topic", "a/b/c", "a/b", false},
	{"prefix of level", "a/b", "a/bc", false},
	{"level prefix of filter", "a/bc", "a/b", false},
	{"empty levels", "a//b", "a//b", true},
	{"empty levels not collapsed", "a//b", "a/b", false},
	{"leading slash literal", "/a", "/a", true},
	{"leading slash differs", "/a", "a", false},
	{"trailing slash differs", "a/", "a", false},
	{"case sensitive", "ACCOUNTS", "Accounts", false},
	{"space", "a b/c", "a b/c", true},
	{"unicode", "haus/+/温度", "haus/küche/温度", true},
}

func TestMatch(t *testing.T) {
	for _, tc := range matchTests {
		t.Run(tc.name, func(t *testing.T) {
			if err := ValidTopicFilter([]byte(tc.filter)); err != nil {
				t.Fatalf("vector filter %q invalid: %v", tc.filter, err)
			}
			if err := ValidTopicName([]byte(tc.topic)); err != nil {
				t.Fatalf("vector topic %q invalid: %v", tc.topic, err)
			}
			if got := Match([]byte(tc.filter), []byte(tc.topic)); got != tc.want {
				t.Fatalf("Match(%q, %q) = %v, want %v", tc.filter, tc.topic, got, tc.want)
			}
			if got := refMatch(tc.filter, tc.topic); got != tc.want {
				t.Fatalf("refMatch(%q, %q) = %v, want %v (reference is wrong)", tc.filter, tc.topic, got, tc.want)
			}
		})
	}
}

func TestMatchAllocs(t *testing.T) {
	for _, tc := range matchTests {
		f, tp := []byte(tc.filter), []byte(tc.topic)
		if n := testing.AllocsPerRun(100, func() { Match(f, tp) }); n != 0 {
			t.Errorf("Match(%q, %q) allocates %v times per run, want 0", tc.filter, tc.topic, n)
		}
	}
}

func TestValidateAllocs(t *testing.T) {
	name, filter := []byte("sport/tennis/player1"), []byte("$share/g/sport/+/player1/#")
	if n := testing.AllocsPerRun(100, func() { _ = ValidTopicName(name) }); n != 0 {
		t.Errorf("ValidTopicName allocates %v times per run, want 0", n)
	}
	if n := testing.AllocsPerRun(100, func() { _ = ValidTopicFilter(filter) }); n != 0 {
		t.Errorf("ValidTopicFilter allocates %v times per run, want 0", n)
	}
}

// refMatch is an obviously correct, allocating reference for Match: it
// splits both strings into levels and walks them, with '+' and '#'
// meaning wildcards only when they are a whole level ('#' only as the
// last one), as Match documents.
func refMatch(filter, topic string) bool {
	fl, tl := strings.Split(filter, "/"), strings.Split(topic, "/")
	if strings.HasPrefix(topic, "$") && (fl[0] == "+" || (fl[0] == "#" && len(fl) == 1)) {
		return false
	}
	for i, lvl := range fl {
		if lvl == "#" && i == len(fl)-1 {
			return true // also covers "a/#" matching "a": len(tl) == i
		}
		if i >= len(tl) {
			return false
		}
		if lvl != "+" && lvl != tl[i] {
			return false
		}
	}
	return len(fl) == len(tl)
}
