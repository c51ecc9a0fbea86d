package shards

import (
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/shardmq/shardmq/netio"
)

// TestSysTopics checks the periodic $SYS/brokers/{node}/ topics and that a
// filter starting with a wildcard never receives them [MQTT-4.7.2-1].
func TestSysTopics(t *testing.T) {
	tb := startBroker(t, Config{Node: "n1", SysInterval: 50 * time.Millisecond, Version: "1.2.3"},
		netio.Config{TickInterval: 10 * time.Millisecond})
	all, _ := connectRaw(t, tb.addr, conn5("sys-all"))
	all.subscribe(1, sub("#", 0), sub("+/brokers/#", 0))
	s, _ := connectRaw(t, tb.addr, conn5("sys"))
	s.subscribe(1, sub("$SYS/brokers/n1/#", 0))
	got := map[string]string{}
	for len(got) < 11 {
		m := s.readPublish()
		got[strings.TrimPrefix(string(m.Topic), "$SYS/brokers/n1/")] = string(m.Payload)
	}
	if got["version"] != "1.2.3" || got["clients/connected"] != "2" {
		t.Fatalf("version %q clients %q", got["version"], got["clients/connected"])
	}
	for _, k := range []string{"uptime", "stats/sessions/count", "metrics/messages/received", "metrics/bytes/sent"} {
		if _, err := strconv.ParseInt(got[k], 10, 64); err != nil {
			t.Fatalf("%s = %q", k, got[k])
		}
	}
	if _, err := time.Parse(time.RFC3339, got["datetime"]); err != nil {
		t.Fatalf("datetime %q", got["datetime"])
	}
	all.expectSilence(150 * time.Millisecond) // three more rounds went out meanwhile
}
