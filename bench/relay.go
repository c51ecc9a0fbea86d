package bench

import (
	"errors"
	"fmt"
	"io"
	"net"
	"sync"

	"github.com/shardmq/shardmq/mqtt"
)

// Relay is the trivial TCP relay the harness measures its own ceiling
// against: a byte forwarder with no MQTT semantics. Each connection first
// sends a one-byte length and a key. Two connections that send the same
// plain key are joined, and every byte one sends is forwarded to the other:
// a point-to-point pair costs the relay one copy (splice on Linux), and
// QoS 1 and 2 work as they are, since a subscriber's acknowledgements are
// what its publisher expects from a broker. A group key (groupKey) joins
// one publisher to many subscribers, whose bytes are copied to each, or
// many publishers to one subscriber, whose whole MQTT frames are merged
// into its stream. Either way the rate is the most the generator can drive
// in that topology.
type Relay struct {
	ln net.Listener
	wg sync.WaitGroup

	// mu guards the following fields.
	mu      sync.Mutex
	waiting map[string]net.Conn
	groups  map[string]*relayGroup
	conns   map[net.Conn]struct{}
	closed  bool
}

// relayGroup collects the members of one group key until all have come.
type relayGroup struct {
	pubs, subs       []net.Conn
	wantPub, wantSub int
}

// groupKey returns the relay key of a member of group name with pubs
// publishers and subs subscribers; pub tells the member's role.
func groupKey(name string, pubs, subs int, pub bool) string {
	role := "s"
	if pub {
		role = "p"
	}
	return fmt.Sprintf("%s %d %d %s", name, pubs, subs, role)
}

// parseGroupKey parses a groupKey; ok is false for a plain pairing key or a
// group with many publishers and many subscribers (not a relay topology).
func parseGroupKey(key string) (name string, pubs, subs int, pub, ok bool) {
	var role string
	if n, err := fmt.Sscanf(key, "%s %d %d %s", &name, &pubs, &subs, &role); err != nil || n != 4 {
		return "", 0, 0, false, false
	}
	if pubs < 1 || subs < 1 || (pubs > 1 && subs > 1) || (role != "p" && role != "s") {
		return "", 0, 0, false, false
	}
	return name, pubs, subs, role == "p", true
}

// NewRelay starts a relay listening on addr ("127.0.0.1:0" picks a port).
func NewRelay(addr string) (*Relay, error) {
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return nil, err
	}
	r := &Relay{ln: ln, waiting: map[string]net.Conn{}, groups: map[string]*relayGroup{}, conns: map[net.Conn]struct{}{}}
	r.wg.Add(1)
	go r.accept()
	return r, nil
}

// Addr returns the relay's listening address.
func (r *Relay) Addr() string { return r.ln.Addr().String() }

// accept runs on its own goroutine until the listener closes.
func (r *Relay) accept() {
	defer r.wg.Done()
	for {
		nc, err := r.ln.Accept()
		if err != nil {
			return
		}
		if !r.track(nc) {
			nc.Close()
			return
		}
		r.wg.Add(1)
		go r.pair(nc)
	}
}

// track remembers nc for Close; it reports false once the relay is closed.
func (r *Relay) track(nc net.Conn) bool {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.closed {
		return false
	}
	r.conns[nc] = struct{}{}
	return true
}

// pair reads nc's key and joins it with its partner.
func (r *Relay) pair(nc net.Conn) {
	defer r.wg.Done()
	var n [1]byte
	if _, err := io.ReadFull(nc, n[:]); err != nil {
		nc.Close()
		return
	}
	key := make([]byte, n[0])
	if _, err := io.ReadFull(nc, key); err != nil {
		nc.Close()
		return
	}
	if name, pubs, subs, pub, ok := parseGroupKey(string(key)); ok {
		r.join(nc, name, pubs, subs, pub)
		return
	}
	r.mu.Lock()
	peer, ok := r.waiting[string(key)]
	if ok {
		delete(r.waiting, string(key))
	} else {
		r.waiting[string(key)] = nc
	}
	r.mu.Unlock()
	if !ok {
		return
	}
	r.wg.Add(2)
	go r.forward(peer, nc)
	go r.forward(nc, peer)
}

// join adds nc to its group and wires the group once complete.
func (r *Relay) join(nc net.Conn, name string, pubs, subs int, pub bool) {
	r.mu.Lock()
	g := r.groups[name]
	if g == nil {
		g = &relayGroup{wantPub: pubs, wantSub: subs}
		r.groups[name] = g
	}
	if pub {
		g.pubs = append(g.pubs, nc)
	} else {
		g.subs = append(g.subs, nc)
	}
	complete := len(g.pubs) >= g.wantPub && len(g.subs) >= g.wantSub
	if complete {
		delete(r.groups, name)
	}
	r.mu.Unlock()
	if !complete {
		return
	}
	if len(g.pubs) == 1 {
		r.wg.Add(1)
		go r.fanOut(g.pubs[0], g.subs)
		return
	}
	var mu sync.Mutex
	for _, p := range g.pubs {
		r.wg.Add(1)
		go r.fanIn(g.subs[0], p, &mu)
	}
}

// fanOut copies every byte src sends to each of dsts until a connection
// fails, then closes them all.
func (r *Relay) fanOut(src net.Conn, dsts []net.Conn) {
	defer r.wg.Done()
	defer func() {
		src.Close()
		for _, d := range dsts {
			d.Close()
		}
	}()
	buf := make([]byte, 64<<10)
	for {
		n, err := src.Read(buf)
		for _, d := range dsts {
			if _, werr := d.Write(buf[:n]); werr != nil {
				return
			}
		}
		if err != nil {
			return
		}
	}
}

// fanIn forwards the whole MQTT frames src sends to dst, holding mu (shared
// by the group's publishers) while it writes, so frames of different
// publishers never interleave. It closes both when either fails.
func (r *Relay) fanIn(dst, src net.Conn, mu *sync.Mutex) {
	defer r.wg.Done()
	defer func() { src.Close(); dst.Close() }()
	buf := make([]byte, 64<<10)
	have := 0
	for {
		n, err := src.Read(buf[have:])
		have += n
		whole := 0
		for whole < have {
			h, size, ferr := mqtt.Frame(buf[whole:have], 0)
			if ferr != nil {
				return
			}
			if size == 0 {
				if need := h.HeaderLen + h.RemainingLength; need > len(buf) {
					buf = append(buf, make([]byte, need-len(buf))...)
				}
				break
			}
			whole += size
		}
		if whole > 0 {
			mu.Lock()
			_, werr := dst.Write(buf[:whole])
			mu.Unlock()
			if werr != nil {
				return
			}
			have = copy(buf, buf[whole:have])
		}
		if err != nil {
			return
		}
	}
}

// forward copies from src to dst until either side closes, then closes both.
func (r *Relay) forward(dst, src net.Conn) {
	defer r.wg.Done()
	_, _ = io.Copy(dst, src)
	dst.Close()
	src.Close()
}

// Close stops the relay, closes every connection and waits for its
// goroutines. It is safe to call twice.
func (r *Relay) Close() error {
	r.mu.Lock()
	if r.closed {
		r.mu.Unlock()
		return nil
	}
	r.closed = true
	err := r.ln.Close()
	for nc := range r.conns {
		nc.Close()
	}
	r.mu.Unlock()
	r.wg.Wait()
	if errors.Is(err, net.ErrClosed) {
		err = nil
	}
	return err
}

// dialRelay opens a connection to a Relay and sends its pairing key.
func dialRelay(nc net.Conn, key string) error {
	b := append([]byte{byte(len(key))}, key...)
	_, err := nc.Write(b)
	return err
}
