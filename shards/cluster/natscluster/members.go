package natscluster

import (
	"encoding/json"
	"strings"
	"sync/atomic"
	"time"

	"github.com/nats-io/nats.go"

	"github.com/shardmq/shardmq/shards/cluster"
)

// member is another node as this one knows it. Its fields are guarded by
// Node.mu, except the immutable ones.
type member struct {
	// immutable
	name    string
	slot    int
	fwdSubj string

	// live mirrors running for the readers that hold no lock (outboxes).
	live atomic.Bool

	info    cluster.NodeInfo
	boot    uint64
	seen    time.Time
	running bool

	// The member's interest as applied to the table.
	filters map[string]struct{}
	applied uint64 // the number of its last change applied
	// syncing is set while a snapshot is being fetched; changes that come
	// meanwhile wait in buffered.
	syncing  bool
	buffered []interestFrame
	// lagging counts heartbeats that announced a change not yet applied.
	lagging int
}

// heartbeatMsg is a heartbeat's body.
type heartbeatMsg struct {
	Name    string           `json:"name"`
	Version string           `json:"version"`
	Boot    uint64           `json:"boot"`
	Started int64            `json:"started"`
	Conns   int64            `json:"connections"`
	Stats   map[string]int64 `json:"stats,omitempty"`
	// Seq is the number of the node's last interest change.
	Seq uint64 `json:"seq"`
	// Buckets is the node's Config.RegistryBuckets.
	Buckets int `json:"registry_buckets"`
}

// heartbeats publishes this node's heartbeat and marks stopped the nodes
// that missed theirs, every Heartbeat.
func (n *Node) heartbeats() {
	t := time.NewTicker(n.cfg.Heartbeat)
	defer t.Stop()
	for {
		select {
		case <-n.quit:
			return
		case <-t.C:
			n.heartbeat()
			n.expire(time.Now())
		}
	}
}

func (n *Node) heartbeat() {
	st := n.h.Status()
	n.lmu.Lock()
	seq := n.seq
	n.lmu.Unlock()
	b, _ := json.Marshal(heartbeatMsg{
		Name: n.cfg.Node, Version: n.cfg.Version, Boot: n.boot, Started: n.started.UnixMilli(),
		Conns: st.Connections, Stats: st.Stats, Seq: seq, Buckets: n.cfg.RegistryBuckets,
	})
	_ = n.nc.Publish(n.subj.of("hb", n.cfg.Node), b)
}

// expire marks stopped the members not heard from for DeadAfter and drops
// their interest: messages stop going to them.
func (n *Node) expire(now time.Time) {
	n.mu.Lock()
	defer n.mu.Unlock()
	for _, m := range n.members {
		if m.running && now.Sub(m.seen) > n.cfg.DeadAfter {
			n.log.Warn("cluster: node stopped (missed heartbeats)", "peer", m.name, "last_seen", m.seen)
			m.running = false
			m.live.Store(false)
			m.info.Running = false
			n.dropInterestLocked(m)
		}
	}
}

// onHeartbeat records a heartbeat and starts an interest resync when the
// node restarted, came back, or announced changes that never came.
func (n *Node) onHeartbeat(msg *nats.Msg) {
	var hb heartbeatMsg
	if err := json.Unmarshal(msg.Data, &hb); err != nil || hb.Name == "" || hb.Name == n.cfg.Node {
		return
	}
	n.mu.Lock()
	defer n.mu.Unlock()
	m := n.memberLocked(hb.Name)
	if m == nil {
		return
	}
	now := time.Now()
	m.seen = now
	m.info = cluster.NodeInfo{
		Name: hb.Name, Version: hb.Version, Started: hb.Started,
		Uptime:  max(0, now.UnixMilli()-hb.Started) / 1000,
		Status:  cluster.Status{Connections: hb.Conns, Stats: hb.Stats},
		Running: true,
	}
	resync := false
	switch {
	case !m.running:
		n.log.Info("cluster: node running", "peer", m.name)
		m.running = true
		m.live.Store(true)
		resync = true
	case hb.Boot != m.boot:
		resync = true
	case hb.Seq > m.applied && !m.syncing:
		// A change may have been lost on the way: give it a heartbeat to
		// arrive before asking for the whole interest again.
		m.lagging++
		resync = m.lagging >= 2
	default:
		m.lagging = 0
	}
	if resync {
		if hb.Buckets != n.cfg.RegistryBuckets {
			// Its claims go to other buckets than this node's: a client id
			// could be owned on both nodes at once.
			n.log.Error("cluster: a node splits the client id registry over another number of buckets; give every node the same",
				"peer", m.name, "its_buckets", hb.Buckets, "buckets", n.cfg.RegistryBuckets)
		}
		m.boot = hb.Boot
		n.resyncLocked(m)
	}
}

// memberLocked returns the member called name, making it (with a free
// slot) on first sight; nil when every slot is taken.
func (n *Node) memberLocked(name string) *member {
	if m := n.members[name]; m != nil {
		return m
	}
	for slot := 1; slot < maxNodes; slot++ {
		if n.slots[slot].Load() == nil {
			m := &member{name: name, slot: slot, fwdSubj: n.subj.of("fwd", name), filters: make(map[string]struct{})}
			m.info.Name = name
			n.members[name] = m
			n.slots[slot].Store(m)
			return m
		}
	}
	n.log.Error("cluster: too many node names; ignoring node", "peer", name, "max", maxNodes)
	return nil
}

// Nodes lists this node and every node it has seen, this one first, the
// others by name.
func (n *Node) Nodes() []cluster.NodeInfo {
	st := n.h.Status()
	out := []cluster.NodeInfo{{
		Name: n.cfg.Node, Version: n.cfg.Version, Started: n.started.UnixMilli(),
		Uptime: int64(time.Since(n.started) / time.Second), Status: st, Running: true,
	}}
	n.mu.Lock()
	for _, m := range n.members {
		if m.info.Started != 0 {
			out = append(out, m.info)
		}
	}
	n.mu.Unlock()
	others := out[1:]
	for i := 1; i < len(others); i++ { // few nodes: insertion sort
		for j := i; j > 0 && strings.Compare(others[j-1].Name, others[j].Name) > 0; j-- {
			others[j-1], others[j] = others[j], others[j-1]
		}
	}
	return out
}

// running returns the members heard from within DeadAfter.
func (n *Node) running() []*member {
	n.mu.Lock()
	defer n.mu.Unlock()
	var out []*member
	for _, m := range n.members {
		if m.running {
			out = append(out, m)
		}
	}
	return out
}

// runningMember returns the member called name if it runs.
func (n *Node) runningMember(name string) (*member, bool) {
	n.mu.Lock()
	defer n.mu.Unlock()
	m := n.members[name]
	return m, m != nil && m.running
}
