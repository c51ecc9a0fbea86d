package shards

import (
	"strconv"
	"time"

	"github.com/shardmq/shardmq/mqtt"
)

// sysState is the $SYS publisher's state, owned by the shard that runs it.
type sysState struct {
	next time.Time // when the next round is due; zero before the first tick
}

// maybePublishSys publishes the $SYS/brokers/{node}/ topics when a
// SysInterval has passed. Only the first shard publishes them. The topics
// start with '$', so filters beginning with a wildcard never match them
// [MQTT-4.7.2-1].
func (sh *shard) maybePublishSys(now time.Time) {
	b := sh.b
	if b.cfg.SysInterval < 0 || b.firstShard() != sh {
		return
	}
	if sh.sys.next.IsZero() {
		sh.sys.next = now.Add(b.cfg.SysInterval) // the first round after one interval
		return
	}
	if now.Before(sh.sys.next) {
		return
	}
	sh.sys.next = now.Add(b.cfg.SysInterval)
	prefix := "$SYS/brokers/" + b.cfg.Node + "/"
	totals := b.Totals()
	levels := b.Levels()
	itoa := func(n int64) string { return strconv.FormatInt(n, 10) }
	for _, kv := range [...]struct{ topic, value string }{
		{"$SYS/brokers", b.cfg.Node},
		{prefix + "version", b.cfg.Version},
		{prefix + "uptime", itoa(int64(now.Sub(b.started) / time.Second))},
		{prefix + "datetime", now.UTC().Format(time.RFC3339)},
		{prefix + "clients/connected", itoa(levels.LiveConnections)},
		{prefix + "stats/sessions/count", itoa(levels.Sessions)},
		{prefix + "stats/subscriptions/count", itoa(levels.Subscriptions)},
		{prefix + "stats/retained/count", itoa(levels.Retained)},
		{prefix + "metrics/messages/received", itoa(totals.RecvMsg)},
		{prefix + "metrics/messages/sent", itoa(totals.SendMsg)},
		{prefix + "metrics/bytes/received", itoa(totals.RecvOct)},
		{prefix + "metrics/bytes/sent", itoa(totals.SendOct)},
	} {
		p := mqtt.Publish{Topic: []byte(kv.topic), Payload: []byte(kv.value)}
		m := b.newMessage(&p, p.Topic, nil, nil, now)
		sh.publish(m)
		m.release()
	}
}
