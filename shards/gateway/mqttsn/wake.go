package mqttsn

// A sleeping client may wake from another address (section 6.14): the
// gateway finds it by its client id and moves it there.

// asleep records c as a sleeping client, findable by its client id.
func (g *Gateway) asleep(c *client) {
	g.sleepersMu.Lock()
	g.sleepers[string(c.clientID)] = c
	g.sleepersMu.Unlock()
}

// awake removes c from the sleeping clients (if it is still the entry).
func (g *Gateway) awake(c *client) {
	g.sleepersMu.Lock()
	if g.sleepers[string(c.clientID)] == c {
		delete(g.sleepers, string(c.clientID))
	}
	g.sleepersMu.Unlock()
}

// sleeper returns the sleeping client of client id id, or nil.
func (g *Gateway) sleeper(id []byte) *client {
	g.sleepersMu.Lock()
	c := g.sleepers[string(id)]
	g.sleepersMu.Unlock()
	return c
}

// move moves c's entry in the peer table from its peer to p; false when
// p belongs to another client. It runs on c's loop, which alone changes
// c.addr and its node.
func (g *Gateway) move(c *client, p peer) bool {
	fi, ti := g.stripeIndex(c.addr), g.stripeIndex(p.addr)
	from, to := &g.stripes[fi], &g.stripes[ti]
	// Two stripes are locked in index order, so that two moves never
	// wait on each other.
	first, second := from, to
	if ti < fi {
		first, second = second, first
	}
	first.mu.Lock()
	if second != first {
		second.mu.Lock()
		defer second.mu.Unlock()
	}
	defer first.mu.Unlock()
	if other := to.getLocked(p); other != nil && other != c {
		return false
	}
	if !from.deleteLocked(c.peer(), c) {
		g.base.Clients.Add(1) // forgotten meanwhile: it is back
	}
	to.putLocked(p, c)
	c.addr = p.addr
	if p.node != "" || c.x != nil {
		c.ext().node = p.node
	}
	return true
}

// moveTo takes a datagram of a sleeping client from peer p, where the
// gateway has not seen it: its PINGREQ or CONNECT wakes it there
// (section 6.14), and what the gateway sends it goes there from now on,
// its session's address too. False, with the datagram dropped, when the
// client no longer sleeps or p is another client's.
func (c *client) moveTo(ls *loopState, p peer) bool {
	if c.gone || c.state != stAsleep && c.state != stAwake {
		c.gw.drop(dropUnknownPeer)
		c.gw.sendDisconnect(p)
		return false
	}
	if p == c.peer() {
		return true
	}
	if !c.gw.move(c, p) {
		c.gw.drop(dropUnknownPeer)
		return false
	}
	if c.conn != nil {
		c.conn.SetRemoteAddr(p.addr)
	}
	return true
}
