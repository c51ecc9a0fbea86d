package natscluster

import (
	"encoding/binary"
	"strings"
	"time"

	"github.com/nats-io/nats.go"
)

// A node numbers its interest changes (1, 2, ...) and publishes them, in
// order and batched, on {name}.int.{node}. Every other node applies them
// to its table in order: a change it has already applied is skipped, a gap
// (a lost message, a node seen for the first time, a restart: the boot id
// changed) makes it fetch the node's whole interest ({name}.snap.{node},
// as of change S), keep the changes that come meanwhile, and apply those
// above S once the snapshot is in. The heartbeat carries the number of the
// last change, so a lost last change is noticed within two heartbeats.

// change is one interest change of this node.
type change struct {
	filter string
	on     bool
}

// interestFrame is a run of numbered changes of one node.
type interestFrame struct {
	boot    uint64
	first   uint64 // the number of changes[0]
	changes []change
}

// frameBytes bounds the frames of interest changes and snapshot chunks.
const frameBytes = 256 << 10

// maxBuffered bounds the frames kept while a snapshot is fetched; past it
// they are dropped and the snapshot fetched again.
const maxBuffered = 4096

// Interest records that this node gained its first (on) or lost its last
// (off) subscription to filter, and publishes the change in the
// background. Any goroutine; it does not block on the network, and waits
// for a lock only as long as one change of the table takes (never for a
// whole snapshot of another node).
func (n *Node) Interest(filter string, on bool) {
	n.lmu.Lock()
	_, have := n.local[filter]
	if on == have {
		n.lmu.Unlock()
		return
	}
	if on {
		n.local[filter] = struct{}{}
		n.table.add(filter, 0)
	} else {
		delete(n.local, filter)
		n.table.remove(filter, 0)
	}
	n.seq++
	n.pending = append(n.pending, change{filter, on})
	n.lmu.Unlock()
	select {
	case n.kick <- struct{}{}:
	default:
	}
}

// publishInterest publishes the pending changes, in order, whenever
// Interest adds some.
func (n *Node) publishInterest() {
	var buf []byte
	for {
		select {
		case <-n.quit:
			return
		case <-n.kick:
		}
		n.lmu.Lock()
		pending := n.pending
		first := n.seq - uint64(len(pending)) + 1
		n.pending = nil
		n.lmu.Unlock()
		subject := n.subj.of("int", n.cfg.Node)
		for len(pending) > 0 {
			buf = append(buf[:0], frameVersion)
			buf = binary.AppendUvarint(buf, n.boot)
			buf = binary.AppendUvarint(buf, first)
			k := 0
			for k < len(pending) && len(buf) < frameBytes {
				on := byte(0)
				if pending[k].on {
					on = 1
				}
				buf = append(buf, on)
				buf = appendString(buf, pending[k].filter)
				k++
			}
			_ = n.nc.Publish(subject, buf)
			pending, first = pending[k:], first+uint64(k)
		}
	}
}

func decodeInterest(b []byte) (interestFrame, bool) {
	r := newReader(b)
	if r.byte() != frameVersion {
		return interestFrame{}, false
	}
	f := interestFrame{boot: r.uvarint(), first: r.uvarint()}
	for !r.bad && r.off < len(r.b) {
		on := r.byte() == 1
		f.changes = append(f.changes, change{r.string(), on})
	}
	return f, r.done() && f.first > 0
}

// nodeOf returns the node name that ends subject.
func nodeOf(subject string) string {
	name, _ := untoken(subject[strings.LastIndexByte(subject, '.')+1:])
	return name
}

// onInterest applies another node's changes, or keeps them for after its
// snapshot.
func (n *Node) onInterest(msg *nats.Msg) {
	name := nodeOf(msg.Subject)
	if name == n.cfg.Node {
		return
	}
	f, ok := decodeInterest(msg.Data)
	if !ok {
		n.log.Warn("cluster: malformed interest frame", "peer", name)
		return
	}
	n.mu.Lock()
	defer n.mu.Unlock()
	m := n.memberLocked(name)
	if m == nil || !m.running {
		return // its first heartbeat fetches everything
	}
	if f.boot != m.boot {
		m.boot = f.boot
		n.resyncLocked(m)
	}
	if m.syncing {
		if len(m.buffered) >= maxBuffered {
			m.buffered = nil
			m.boot = 0 // fetch again once this fetch ends
		}
		m.buffered = append(m.buffered, f)
		return
	}
	if !n.applyFrameLocked(m, f) {
		m.buffered = append(m.buffered, f)
		n.resyncLocked(m)
	}
}

// applyFrameLocked applies the changes of f above m.applied; false when f
// starts beyond the next change (a gap).
func (n *Node) applyFrameLocked(m *member, f interestFrame) bool {
	if f.first > m.applied+1 {
		return false
	}
	for i, c := range f.changes {
		if f.first+uint64(i) <= m.applied {
			continue
		}
		n.applyChangeLocked(m, c.filter, c.on)
		m.applied = f.first + uint64(i)
	}
	return true
}

func (n *Node) applyChangeLocked(m *member, filter string, on bool) {
	_, have := m.filters[filter]
	switch {
	case on && !have:
		m.filters[filter] = struct{}{}
		n.table.add(filter, m.slot)
	case !on && have:
		delete(m.filters, filter)
		n.table.remove(filter, m.slot)
	}
}

// dropInterestLocked removes every filter of m from the table.
func (n *Node) dropInterestLocked(m *member) {
	for f := range m.filters {
		n.table.remove(f, m.slot)
	}
	m.filters = make(map[string]struct{})
	m.applied, m.boot, m.buffered, m.lagging = 0, 0, nil, 0
}

// resyncLocked starts fetching m's whole interest unless a fetch runs.
func (n *Node) resyncLocked(m *member) {
	m.lagging = 0
	if m.syncing || n.closed.Load() {
		return
	}
	m.syncing = true
	boot := m.boot
	n.wg.Add(1)
	go func() {
		defer n.wg.Done()
		n.fetchSnapshot(m, boot)
	}()
}

// fetchSnapshot asks m for its whole interest and installs it, then the
// changes that came meanwhile.
func (n *Node) fetchSnapshot(m *member, boot uint64) {
	filters, seq, gotBoot, err := n.requestSnapshot(m.name)
	n.mu.Lock()
	defer n.mu.Unlock()
	m.syncing = false
	if err == nil && m.running && m.boot != 0 && (gotBoot != boot || m.boot != boot) {
		// The node restarted while its snapshot was on the way.
		n.resyncLocked(m)
		return
	}
	if err != nil || !m.running || m.boot != boot {
		if err != nil && !n.closed.Load() {
			n.log.Warn("cluster: interest snapshot failed; retrying at the next heartbeat", "peer", m.name, "err", err)
		}
		m.boot, m.buffered = 0, nil // the next heartbeat starts again
		return
	}
	for f := range m.filters {
		if _, keep := filters[f]; !keep {
			n.applyChangeLocked(m, f, false)
		}
	}
	for f := range filters {
		n.applyChangeLocked(m, f, true)
	}
	m.applied = seq
	buffered := m.buffered
	m.buffered = nil
	for _, f := range buffered {
		if f.boot != m.boot {
			continue
		}
		if !n.applyFrameLocked(m, f) {
			n.resyncLocked(m)
			return
		}
	}
}

// requestSnapshot fetches node's interest: its filters, the number of its
// last change they include and its boot id.
func (n *Node) requestSnapshot(node string) (map[string]struct{}, uint64, uint64, error) {
	inbox := n.nc.NewRespInbox()
	sub, err := n.nc.SubscribeSync(inbox)
	if err != nil {
		return nil, 0, 0, err
	}
	defer func() { _ = sub.Unsubscribe() }()
	if err := n.nc.PublishRequest(n.subj.of("snap", node), inbox, nil); err != nil {
		return nil, 0, 0, err
	}
	filters := make(map[string]struct{})
	deadline := time.Now().Add(n.cfg.RequestTimeout)
	for {
		msg, err := sub.NextMsg(time.Until(deadline))
		if err != nil {
			return nil, 0, 0, err
		}
		r := newReader(msg.Data)
		if r.byte() != frameVersion {
			return nil, 0, 0, errMalformed
		}
		boot, seq, final := r.uvarint(), r.uvarint(), r.byte() == 1
		for !r.bad && r.off < len(r.b) {
			filters[r.string()] = struct{}{}
		}
		if !r.done() {
			return nil, 0, 0, errMalformed
		}
		if final {
			return filters, seq, boot, nil
		}
	}
}

// onSnapshot answers a snapshot request with this node's interest in
// chunks, the last one marked final.
func (n *Node) onSnapshot(msg *nats.Msg) {
	if msg.Reply == "" {
		return
	}
	n.lmu.Lock()
	seq := n.seq
	filters := make([]string, 0, len(n.local))
	for f := range n.local {
		filters = append(filters, f)
	}
	n.lmu.Unlock()
	var buf []byte
	for {
		buf = append(buf[:0], frameVersion)
		buf = binary.AppendUvarint(buf, n.boot)
		buf = binary.AppendUvarint(buf, seq)
		finalAt := len(buf)
		buf = append(buf, 0)
		for len(filters) > 0 && len(buf) < frameBytes {
			buf = appendString(buf, filters[0])
			filters = filters[1:]
		}
		if len(filters) == 0 {
			buf[finalAt] = 1
		}
		if err := n.nc.Publish(msg.Reply, buf); err != nil || len(filters) == 0 {
			return
		}
	}
}
