package natscluster

import "github.com/shardmq/shardmq/shards/cluster"

// Remote reports whether another node has an ordinary subscription or a
// shared group member matching topic. Lock-free, no allocation; any
// goroutine.
func (n *Node) Remote(topic []byte) bool {
	m := matcher{t: &n.table}
	n.table.match(topic, &m)
	return m.mask&^1 != 0
}

// Route fills r with the remote nodes a message on topic goes to and the
// node that serves each shared group matching it cluster-wide (chosen
// with Config.ShareStrategy; publisher feeds hash_clientid). Lock-free; no
// allocation once r.Groups has grown; any goroutine.
func (n *Node) Route(topic, publisher []byte, r *cluster.Route) {
	r.Reset()
	m := matcher{t: &n.table, route: r, publisher: publisher}
	n.table.match(topic, &m)
	r.Nodes = m.mask &^ 1
}

// NodesOf appends to dst the names of the nodes, this one included, with
// an ordinary subscription or a shared group member matching topic, in
// slot order. Lock-free; it allocates only when dst grows.
func (n *Node) NodesOf(topic []byte, dst []string) []string {
	m := matcher{t: &n.table}
	n.table.match(topic, &m)
	for mask := m.mask; mask != 0; mask &= mask - 1 {
		slot := 0
		for b := mask; b&1 == 0; b >>= 1 {
			slot++
		}
		if slot == 0 {
			dst = append(dst, n.cfg.Node)
		} else if mb := n.slots[slot].Load(); mb != nil {
			dst = append(dst, mb.name)
		}
	}
	return dst
}
