package bench

import (
	"errors"
	"io"
	"net"
	"sync"
)

// Relay is the trivial TCP relay the harness measures its own ceiling
// against: a byte forwarder with no MQTT at all. Each connection first sends
// a one-byte length and a pairing key; the two connections that send the
// same key are joined, and every byte one sends is forwarded to the other.
// A point-to-point scenario run through the Relay costs the broker side one
// copy (splice on Linux), so its rate is the most the generator can drive.
type Relay struct {
	ln net.Listener
	wg sync.WaitGroup

	// mu guards the following fields.
	mu      sync.Mutex
	waiting map[string]net.Conn
	conns   map[net.Conn]struct{}
	closed  bool
}

// NewRelay starts a relay listening on addr ("127.0.0.1:0" picks a port).
func NewRelay(addr string) (*Relay, error) {
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return nil, err
	}
	r := &Relay{ln: ln, waiting: map[string]net.Conn{}, conns: map[net.Conn]struct{}{}}
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
