package main

import (
	"bufio"
	"fmt"
	"net"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

// routeNet is the network between the nodes' NATS routes in a partition
// test: a TCP proxy on 127.0.0.1 in front of each node's route listener,
// which the node advertises and the others join, so that every route
// connection passes one. A connection joins two nodes: the one its proxy
// stands for and the one whose process dialled it (found in /proc from the
// dialling socket). block drops a pair's traffic as a firewall's DROP rule
// on the route ports would: nothing passes either way, not even a close,
// and a new connection is accepted but carries nothing; heal lets
// everything pass again, held bytes first.
//
// Concurrency: every method is safe for concurrent use; each connection
// has two copying goroutines, which wait while their pair is blocked.
type routeNet struct {
	mu      sync.Mutex
	blocked map[[2]string]bool
	change  chan struct{} // closed and replaced at every change
	closed  bool
	lns     []net.Listener
	conns   map[net.Conn]struct{}
	wg      sync.WaitGroup
	unknown atomic.Int64 // connections whose dialler was no node
	pairs   sync.Map     // [2]string → *atomic.Int64: connections per pair
}

// newRouteNet returns an empty network, closed at the end of the test.
func newRouteNet(t *testing.T) *routeNet {
	rn := &routeNet{blocked: map[[2]string]bool{}, change: make(chan struct{}), conns: map[net.Conn]struct{}{}}
	t.Cleanup(rn.close)
	return rn
}

// pair is the key of the two nodes a and b, in either order.
func pair(a, b string) [2]string {
	if a > b {
		a, b = b, a
	}
	return [2]string{a, b}
}

// front starts the proxy for node, forwarding to its route listener at
// target, and returns its address. owner names the node whose process
// holds a socket (by inode), "" when none.
func (rn *routeNet) front(t *testing.T, node, target string, owner func(inode string) string) string {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	rn.mu.Lock()
	rn.lns = append(rn.lns, l)
	rn.mu.Unlock()
	rn.wg.Add(1)
	go func() {
		defer rn.wg.Done()
		for {
			c, err := l.Accept()
			if err != nil {
				return
			}
			from := dialler(c, owner)
			if from == "" {
				rn.unknown.Add(1)
			}
			p := pair(from, node)
			v, _ := rn.pairs.LoadOrStore(p, new(atomic.Int64))
			v.(*atomic.Int64).Add(1)
			d, err := net.Dial("tcp", target)
			if err != nil {
				c.Close()
				continue
			}
			if !rn.track(c, d) {
				return
			}
			rn.wg.Add(2)
			go rn.pipe(d, c, p)
			go rn.pipe(c, d, p)
		}
	}()
	return l.Addr().String()
}

// track records c and d for close; false when the network is closed.
func (rn *routeNet) track(c, d net.Conn) bool {
	rn.mu.Lock()
	defer rn.mu.Unlock()
	if rn.closed {
		c.Close()
		d.Close()
		return false
	}
	rn.conns[c], rn.conns[d] = struct{}{}, struct{}{}
	return true
}

// pipe copies src to dst, waiting while p is blocked; src's end (EOF or
// an error) is passed on as dst's close, after the wait too.
func (rn *routeNet) pipe(dst, src net.Conn, p [2]string) {
	defer rn.wg.Done()
	buf := make([]byte, 32<<10)
	for {
		n, err := src.Read(buf)
		if n > 0 {
			if !rn.wait(p) {
				break
			}
			if _, werr := dst.Write(buf[:n]); werr != nil {
				break
			}
		}
		if err != nil {
			rn.wait(p)
			break
		}
	}
	dst.Close()
	src.Close()
	rn.mu.Lock()
	delete(rn.conns, dst)
	delete(rn.conns, src)
	rn.mu.Unlock()
}

// wait returns true once p is not blocked, false when the network closed.
func (rn *routeNet) wait(p [2]string) bool {
	for {
		rn.mu.Lock()
		if rn.closed {
			rn.mu.Unlock()
			return false
		}
		if !rn.blocked[p] {
			rn.mu.Unlock()
			return true
		}
		ch := rn.change
		rn.mu.Unlock()
		<-ch
	}
}

// isolate blocks every pair of node with one of others.
func (rn *routeNet) isolate(node string, others ...string) {
	rn.mu.Lock()
	defer rn.mu.Unlock()
	for _, o := range others {
		rn.blocked[pair(node, o)] = true
	}
	close(rn.change)
	rn.change = make(chan struct{})
}

// heal unblocks every pair.
func (rn *routeNet) heal() {
	rn.mu.Lock()
	defer rn.mu.Unlock()
	clear(rn.blocked)
	close(rn.change)
	rn.change = make(chan struct{})
}

// connections returns the number of connections accepted between a and b.
func (rn *routeNet) connections(a, b string) int64 {
	v, ok := rn.pairs.Load(pair(a, b))
	if !ok {
		return 0
	}
	return v.(*atomic.Int64).Load()
}

// close closes the proxies and every connection, and waits for their
// goroutines.
func (rn *routeNet) close() {
	rn.mu.Lock()
	rn.closed = true
	close(rn.change)
	rn.change = make(chan struct{})
	for _, l := range rn.lns {
		l.Close()
	}
	for c := range rn.conns {
		c.Close()
	}
	rn.mu.Unlock()
	rn.wg.Wait()
}

// dialler returns the node whose process dialled c, "" when none: the
// socket whose local address is c's remote one and whose remote address
// is c's local one is looked up in /proc/net/tcp, and its inode given to
// owner.
func dialler(c net.Conn, owner func(inode string) string) string {
	local, remote := procAddr(c.RemoteAddr()), procAddr(c.LocalAddr())
	if local == "" || remote == "" {
		return ""
	}
	// The dialling socket is in the table once connect returned; a few
	// tries cover a process that has it but was not yet scheduled.
	for range 20 {
		if inode := socketInode(local, remote); inode != "" {
			if n := owner(inode); n != "" {
				return n
			}
		}
		time.Sleep(5 * time.Millisecond)
	}
	return ""
}

// procAddr formats an IPv4 TCP address as /proc/net/tcp does.
func procAddr(a net.Addr) string {
	ta, ok := a.(*net.TCPAddr)
	if !ok {
		return ""
	}
	ip := ta.IP.To4()
	if ip == nil {
		return ""
	}
	return fmt.Sprintf("%02X%02X%02X%02X:%04X", ip[3], ip[2], ip[1], ip[0], ta.Port)
}

// socketInode returns the inode of the IPv4 TCP socket from local to
// remote, "" when there is none.
func socketInode(local, remote string) string {
	f, err := os.Open("/proc/net/tcp")
	if err != nil {
		return ""
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		fs := strings.Fields(sc.Text())
		if len(fs) > 9 && fs[1] == local && fs[2] == remote {
			return fs[9]
		}
	}
	return ""
}

// holdsSocket reports whether the process pid has the socket inode open.
func holdsSocket(pid int, inode string) bool {
	dir := fmt.Sprintf("/proc/%d/fd", pid)
	ents, err := os.ReadDir(dir)
	if err != nil {
		return false
	}
	want := "socket:[" + inode + "]"
	for _, e := range ents {
		if l, err := os.Readlink(filepath.Join(dir, e.Name())); err == nil && l == want {
			return true
		}
	}
	return false
}

// socketOwner returns the node whose process holds the socket inode, ""
// when none does.
func (tc *testCluster) socketOwner(inode string) string {
	name := ""
	tc.pids.Range(func(pid, node any) bool {
		if holdsSocket(pid.(int), inode) {
			name = node.(string)
			return false
		}
		return true
	})
	return name
}
