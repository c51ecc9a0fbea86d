package bench

import (
	"context"
	"fmt"
	"io"
	"net"
	"sync"
	"time"

	"github.com/shardmq/shardmq/mqtt"
)

// Read buffer sizes: a connection starts small (idle storm connections
// must cost the generator little) and a flow grows it so that one read
// usually carries many frames.
const (
	smallReadBuf = 512
	flowReadBuf  = 64 << 10
)

// client is one generator connection speaking MQTT with the mqtt codec. One
// goroutine reads (readFrame, serve); writes are serialised by wmu so a
// publisher goroutine and its reader (sending acknowledgements) can share
// the connection.
type client struct {
	nc net.Conn
	v  mqtt.Version

	// Owned by the reading goroutine.
	rbuf []byte
	r, w int
	// sessionPresent is the CONNACK's flag, set by handshake.
	sessionPresent bool

	// wmu serialises writes to nc.
	wmu sync.Mutex
}

// dialRaw opens a TCP connection to addr within timeout.
func dialRaw(ctx context.Context, addr string, timeout time.Duration) (net.Conn, error) {
	return dialRawFrom(ctx, nil, addr, timeout)
}

// dialRawFrom opens a TCP connection from the local address src (nil: the
// kernel's choice) to addr within timeout.
func dialRawFrom(ctx context.Context, src net.Addr, addr string, timeout time.Duration) (net.Conn, error) {
	d := net.Dialer{Timeout: timeout, LocalAddr: src}
	nc, err := d.DialContext(ctx, "tcp", addr)
	if err != nil {
		return nil, err
	}
	if tc, ok := nc.(*net.TCPConn); ok {
		_ = tc.SetNoDelay(true)
	}
	sc, err := overTransport(ctx, nc, addr, timeout)
	if err != nil {
		nc.Close()
	}
	return sc, err
}

// newClient wraps an open connection without any MQTT exchange (the relay
// uses this).
func newClient(nc net.Conn, v mqtt.Version) *client {
	return &client{nc: nc, v: v, rbuf: make([]byte, smallReadBuf)}
}

// growRead enlarges the read buffer to at least n bytes; only the reading
// goroutine may call it.
func (c *client) growRead(n int) {
	if len(c.rbuf) < n {
		b := make([]byte, n)
		c.w = copy(b, c.rbuf[c.r:c.w])
		c.r = 0
		c.rbuf = b
	}
}

// connectOptions are the CONNECT fields a generator client varies.
type connectOptions struct {
	clientID string
	// persistent asks for a session that outlives the connection: clean
	// session 0 (3.1/3.1.1), or clean start 0 with the longest Session
	// Expiry Interval (5.0).
	persistent bool
	// username and password are sent when not empty.
	username, password string
}

// dialMQTT connects to addr, sends CONNECT with no keep alive (idle
// benchmark connections must not be pinged away) and waits for a
// successful CONNACK.
func dialMQTT(ctx context.Context, addr string, o connectOptions, v mqtt.Version, timeout time.Duration) (*client, error) {
	return dialMQTTFrom(ctx, nil, addr, o, v, timeout)
}

// dialMQTTFrom is dialMQTT from the local address src (nil: the kernel's
// choice).
func dialMQTTFrom(ctx context.Context, src net.Addr, addr string, o connectOptions, v mqtt.Version, timeout time.Duration) (*client, error) {
	nc, err := dialRawFrom(ctx, src, addr, timeout)
	if err != nil {
		return nil, err
	}
	c := newClient(nc, v)
	if err := c.handshake(o, timeout); err != nil {
		nc.Close()
		return nil, err
	}
	return c, nil
}

// handshake sends CONNECT, reads CONNACK and records its session present
// flag.
func (c *client) handshake(o connectOptions, timeout time.Duration) error {
	_ = c.nc.SetDeadline(time.Now().Add(timeout))
	defer c.nc.SetDeadline(time.Time{})
	p := mqtt.Connect{Version: c.v, CleanStart: !o.persistent, ClientID: []byte(o.clientID)}
	if o.persistent && c.v == mqtt.V5 {
		// [MQTT-3.1.2-23] without a Session Expiry Interval a 5.0 session
		// ends with its connection.
		p.Properties.SessionExpiry = 0xFFFFFFFF
		p.Properties.Present.Add(mqtt.PropSessionExpiry)
	}
	if o.username != "" {
		p.HasUsername, p.Username = true, []byte(o.username)
	}
	if o.password != "" {
		p.HasPassword, p.Password = true, []byte(o.password)
	}
	if _, err := c.nc.Write(mqtt.AppendConnect(nil, &p, c.v)); err != nil {
		return err
	}
	h, body, err := c.readFrame()
	if err != nil {
		return err
	}
	if h.Type != mqtt.TypeConnack {
		return fmt.Errorf("%w: %v before CONNACK", ErrUnexpectedPacket, h.Type)
	}
	var ack mqtt.Connack
	if err := ack.Decode(h, body, c.v); err != nil {
		return err
	}
	if ack.ReasonCode != mqtt.ConnAccepted {
		return fmt.Errorf("%w: code 0x%02x", ErrConnack, byte(ack.ReasonCode))
	}
	c.sessionPresent = ack.SessionPresent
	return nil
}

// subscribe sends one SUBSCRIBE and waits for its SUBACK; it must be called
// before the connection's reader starts.
func (c *client) subscribe(filter string, qos byte, timeout time.Duration) error {
	_ = c.nc.SetDeadline(time.Now().Add(timeout))
	defer c.nc.SetDeadline(time.Time{})
	p := mqtt.Subscribe{PacketID: 1, Subscriptions: []mqtt.Subscription{{Filter: []byte(filter), QoS: qos}}}
	if _, err := c.nc.Write(mqtt.AppendSubscribe(nil, &p, c.v)); err != nil {
		return err
	}
	for {
		h, body, err := c.readFrame()
		if err != nil {
			return err
		}
		if h.Type != mqtt.TypeSuback {
			continue // a retained or early message; not expected, harmless
		}
		var ack mqtt.Suback
		if err := ack.Decode(h, body, c.v); err != nil {
			return err
		}
		if ack.PacketID != 1 || len(ack.ReasonCodes) != 1 || ack.ReasonCodes[0] >= 0x80 {
			return fmt.Errorf("%w: %q codes %v", ErrSuback, filter, ack.ReasonCodes)
		}
		return nil
	}
}

// write sends b; safe for concurrent use.
func (c *client) write(b []byte) error {
	c.wmu.Lock()
	_, err := c.nc.Write(b)
	c.wmu.Unlock()
	return err
}

// buffered reports whether a complete frame is already in the read buffer,
// so the caller can flush batched acknowledgements before readFrame blocks.
func (c *client) buffered() bool {
	_, n, err := mqtt.Frame(c.rbuf[c.r:c.w], 0)
	return n > 0 || err != nil
}

// readFrame returns the next frame's fixed header and body. body aliases the
// read buffer and is valid until the next call. Only the reading goroutine
// may call it.
func (c *client) readFrame() (mqtt.FixedHeader, []byte, error) {
	for {
		h, n, err := mqtt.Frame(c.rbuf[c.r:c.w], 0)
		if err != nil {
			return h, nil, err
		}
		if n > 0 {
			body := c.rbuf[c.r+h.HeaderLen : c.r+n]
			c.r += n
			return h, body, nil
		}
		if c.r > 0 {
			c.w = copy(c.rbuf, c.rbuf[c.r:c.w])
			c.r = 0
		}
		if need := h.HeaderLen + h.RemainingLength; need > len(c.rbuf) {
			c.rbuf = append(c.rbuf, make([]byte, need-len(c.rbuf))...)
		}
		m, err := c.nc.Read(c.rbuf[c.w:])
		c.w += m
		if err != nil && m == 0 {
			if err == io.EOF {
				err = io.ErrUnexpectedEOF
			}
			return h, nil, err
		}
	}
}

// disconnect sends DISCONNECT, waits up to a second for the broker to
// close its side, and closes the connection. Letting the broker close
// first keeps the broker's DISCONNECT handling deterministic and leaves
// TIME_WAIT on the broker's side, not on the generator's ephemeral ports
// (the catalog scenario opens a million connections).
func (c *client) disconnect() {
	if c.write(mqtt.AppendDisconnect(nil, &mqtt.Disconnect{}, c.v)) == nil {
		_ = c.nc.SetReadDeadline(time.Now().Add(time.Second))
		var b [64]byte
		for {
			if _, err := c.nc.Read(b[:]); err != nil {
				break
			}
		}
	}
	c.close()
}

// close closes the connection, unblocking its reader.
func (c *client) close() { _ = c.nc.Close() }

// abort closes c with a reset (SO_LINGER 0) instead of a FIN, so that the
// connection leaves no TIME_WAIT socket behind. A storm closes tens of
// thousands of connections; their TIME_WAIT ports (kept 60 s) slow every
// later storm's connects, whatever the broker, while the kernel searches
// past them for a free ephemeral port.
func (c *client) abort() {
	if tc, ok := c.nc.(*net.TCPConn); ok {
		_ = tc.SetLinger(0)
	}
	_ = c.nc.Close()
}
