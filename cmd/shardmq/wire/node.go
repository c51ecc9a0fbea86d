package wire

import (
	"bufio"
	"bytes"
	"context"
	"os"
	"runtime"
	"runtime/metrics"
	"strconv"
	"strings"
	"time"

	"github.com/shardmq/shardmq/httpapi"
)

// NodeInfo implements httpapi.Broker: the broker's version, uptime and
// connections, and what the system says of the process and the machine
// (Linux's /proc; zero where it is not there).
func (b Broker) NodeInfo(ctx context.Context) (httpapi.NodeInfo, error) {
	lv := b.Broker.Levels()
	n := httpapi.NodeInfo{Version: b.Broker.Version(), Uptime: time.Since(b.Broker.Started()),
		Connections: lv.Connections, LiveConnections: lv.LiveConnections,
		Goroutines: int64(runtime.NumGoroutine()), GoVersion: runtime.Version(), MaxFDs: maxFDs()}
	n.MemoryTotal = meminfoBytes("MemTotal:")
	n.MemoryUsed = residentBytes()
	if n.MemoryUsed == 0 {
		s := []metrics.Sample{{Name: "/memory/classes/total:bytes"}}
		metrics.Read(s)
		if s[0].Value.Kind() == metrics.KindUint64 {
			n.MemoryUsed = int64(s[0].Value.Uint64())
		}
	}
	if b, err := os.ReadFile("/proc/loadavg"); err == nil {
		f := strings.Fields(string(b))
		for i, dst := range []*float64{&n.Load1, &n.Load5, &n.Load15} {
			if i < len(f) {
				*dst, _ = strconv.ParseFloat(f[i], 64)
			}
		}
	}
	return n, nil
}

// meminfoBytes returns a /proc/meminfo line's value (kB there) in bytes.
func meminfoBytes(key string) int64 {
	f, err := os.Open("/proc/meminfo")
	if err != nil {
		return 0
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		if rest, ok := bytes.CutPrefix(sc.Bytes(), []byte(key)); ok {
			kb, _ := strconv.ParseInt(strings.TrimSuffix(strings.TrimSpace(string(rest)), " kB"), 10, 64)
			return kb * 1024
		}
	}
	return 0
}

// residentBytes returns the process's resident set from /proc/self/statm.
func residentBytes() int64 {
	b, err := os.ReadFile("/proc/self/statm")
	if err != nil {
		return 0
	}
	f := strings.Fields(string(b))
	if len(f) < 2 {
		return 0
	}
	pages, _ := strconv.ParseInt(f[1], 10, 64)
	return pages * int64(os.Getpagesize())
}

// Monitor implements httpapi.Broker: counts as Stats, rates from the
// shards' per-second growth over their last stats interval.
func (b Broker) Monitor(ctx context.Context) (httpapi.Monitor, error) {
	st, err := b.Broker.Stats(ctx)
	if err != nil {
		return httpapi.Monitor{}, mapErr(err)
	}
	r := b.Broker.Rates()
	return httpapi.Monitor{Connections: st.Connections, LiveConnections: st.LiveConnections, Sessions: st.Sessions,
		Subscriptions: st.Subscriptions, SharedSubscriptions: st.SubscriptionsShared, Topics: st.Topics,
		Retained: st.Retained, ReceivedMsgRate: r.RecvMsg, SentMsgRate: r.SendMsg,
		DroppedMsgRate: r.RecvMsgDropped + r.SendMsgDropped, ReceivedBytesRate: r.RecvOct, SentBytesRate: r.SendOct,
		ReceivedPacketRate: r.RecvPkt, SentPacketRate: r.SendPkt, MqueueDropped: r.MqueueDropped}, nil
}
