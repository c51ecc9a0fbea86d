package mqttsn_test

// snclient is an MQTT-SN 1.2 test client with a codec of its own, written
// from the specification (section 5) apart from the gateway's: it sends
// messages field by field and checks what comes back field by field.

import (
	"encoding/binary"
	"fmt"
	"net"
	"net/netip"
	"testing"
	"time"
)

// Message types (MQTT-SN 1.2, table 3).
const (
	ADVERTISE     = 0x00
	SEARCHGW      = 0x01
	GWINFO        = 0x02
	CONNECT       = 0x04
	CONNACK       = 0x05
	WILLTOPICREQ  = 0x06
	WILLTOPIC     = 0x07
	WILLMSGREQ    = 0x08
	WILLMSG       = 0x09
	REGISTER      = 0x0A
	REGACK        = 0x0B
	PUBLISH       = 0x0C
	PUBACK        = 0x0D
	PUBCOMP       = 0x0E
	PUBREC        = 0x0F
	PUBREL        = 0x10
	SUBSCRIBE     = 0x12
	SUBACK        = 0x13
	UNSUBSCRIBE   = 0x14
	UNSUBACK      = 0x15
	PINGREQ       = 0x16
	PINGRESP      = 0x17
	DISCONNECT    = 0x18
	WILLTOPICUPD  = 0x1A
	WILLTOPICRESP = 0x1B
	WILLMSGUPD    = 0x1C
	WILLMSGRESP   = 0x1D
)

// Flags fields (table 4).
const (
	fDUP      = 1 << 7
	fRetain   = 1 << 4
	fWill     = 1 << 3
	fClean    = 1 << 2
	tidNormal = 0b00
	tidPre    = 0b01
	tidShort  = 0b10
)

func qosBits(q int) byte {
	if q == -1 {
		return 0b11 << 5
	}
	return byte(q) << 5
}

// packet is a decoded MQTT-SN message.
type packet struct {
	Type byte
	Body []byte
}

func (p packet) u16(at int) uint16 { return binary.BigEndian.Uint16(p.Body[at:]) }

func (p packet) String() string { return fmt.Sprintf("type 0x%02x body % x", p.Type, p.Body) }

// encode builds a message: the Length is one octet up to 255, else 0x01
// followed by two octets (section 5.2.1).
func encode(typ byte, body ...[]byte) []byte {
	var b []byte
	for _, x := range body {
		b = append(b, x...)
	}
	if len(b)+2 <= 255 {
		return append([]byte{byte(len(b) + 2), typ}, b...)
	}
	n := len(b) + 4
	return append([]byte{0x01, byte(n >> 8), byte(n), typ}, b...)
}

func decode(b []byte) (packet, error) {
	if len(b) < 2 {
		return packet{}, fmt.Errorf("short datagram % x", b)
	}
	if b[0] == 0x01 {
		n := int(binary.BigEndian.Uint16(b[1:3]))
		if n != len(b) {
			return packet{}, fmt.Errorf("length %d of a %d-byte datagram", n, len(b))
		}
		return packet{Type: b[3], Body: b[4:]}, nil
	}
	if int(b[0]) != len(b) {
		return packet{}, fmt.Errorf("length %d of a %d-byte datagram", b[0], len(b))
	}
	return packet{Type: b[1], Body: b[2:]}, nil
}

func be16(v uint16) []byte { return []byte{byte(v >> 8), byte(v)} }

// snclient is one UDP socket talking to the gateway.
type snclient struct {
	t    testing.TB
	conn *net.UDPConn
}

func dialSN(t testing.TB, gw string) *snclient {
	t.Helper()
	ra, err := net.ResolveUDPAddr("udp", gw)
	if err != nil {
		t.Fatal(err)
	}
	c, err := net.DialUDP("udp", nil, ra)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	return &snclient{t: t, conn: c}
}

func (c *snclient) port() int { return c.conn.LocalAddr().(*net.UDPAddr).Port }

func (c *snclient) send(b []byte) {
	c.t.Helper()
	if _, err := c.conn.Write(b); err != nil {
		c.t.Fatal(err)
	}
}

// recv returns the next message within d, or fails.
func (c *snclient) recv(d time.Duration) packet {
	c.t.Helper()
	p, err := c.tryRecv(d)
	if err != nil {
		c.t.Fatalf("recv: %v", err)
	}
	return p
}

func (c *snclient) tryRecv(d time.Duration) (packet, error) {
	buf := make([]byte, 70000)
	_ = c.conn.SetReadDeadline(time.Now().Add(d))
	n, err := c.conn.Read(buf)
	if err != nil {
		return packet{}, err
	}
	return decode(buf[:n])
}

// expect receives the next message and checks its type.
func (c *snclient) expect(typ byte) packet {
	c.t.Helper()
	p := c.recv(5 * time.Second)
	if p.Type != typ {
		c.t.Fatalf("got %v, want type 0x%02x", p, typ)
	}
	return p
}

// silent checks that nothing arrives within d.
func (c *snclient) silent(d time.Duration) {
	c.t.Helper()
	if p, err := c.tryRecv(d); err == nil {
		c.t.Fatalf("unexpected %v", p)
	}
}

func (c *snclient) connect(id string, flags byte, duration uint16) {
	c.send(encode(CONNECT, []byte{flags, 0x01}, be16(duration), []byte(id)))
}

// mustConnect connects without a will and checks CONNACK accepted.
func (c *snclient) mustConnect(id string, clean bool, duration uint16) {
	c.t.Helper()
	var f byte
	if clean {
		f = fClean
	}
	c.connect(id, f, duration)
	p := c.expect(CONNACK)
	if p.Body[0] != 0 {
		c.t.Fatalf("CONNACK return code %d", p.Body[0])
	}
}

// register registers topic and returns its id.
func (c *snclient) register(topic string, msgID uint16) uint16 {
	c.t.Helper()
	c.send(encode(REGISTER, be16(0), be16(msgID), []byte(topic)))
	p := c.expect(REGACK)
	if p.u16(2) != msgID || p.Body[4] != 0 {
		c.t.Fatalf("REGACK %v for msg %d", p, msgID)
	}
	return p.u16(0)
}

func (c *snclient) publish(flags byte, topicID, msgID uint16, data string) {
	c.send(encode(PUBLISH, []byte{flags}, be16(topicID), be16(msgID), []byte(data)))
}

// subscribe subscribes to a topic name or filter and returns the SUBACK.
func (c *snclient) subscribe(filter string, qos int, msgID uint16) packet {
	c.t.Helper()
	c.send(encode(SUBSCRIBE, []byte{qosBits(qos) | tidNormal}, be16(msgID), []byte(filter)))
	p := c.expect(SUBACK)
	if p.u16(3) != msgID {
		c.t.Fatalf("SUBACK %v for msg %d", p, msgID)
	}
	return p
}

// published is a PUBLISH received.
type published struct {
	flags   byte
	topicID uint16
	msgID   uint16
	data    string
}

func (p packet) publish() published {
	return published{flags: p.Body[0], topicID: p.u16(1), msgID: p.u16(3), data: string(p.Body[5:])}
}

func (p published) qos() int {
	q := int(p.flags>>5) & 3
	if q == 3 {
		return -1
	}
	return q
}

// recvPublish receives a PUBLISH, answering the gateway's REGISTERs
// before it; it returns the PUBLISH and the topic names registered.
func (c *snclient) recvPublish(names map[uint16]string) published {
	c.t.Helper()
	for {
		p := c.recv(5 * time.Second)
		switch p.Type {
		case REGISTER:
			names[p.u16(0)] = string(p.Body[4:])
			c.send(encode(REGACK, p.Body[0:2], p.Body[2:4], []byte{0}))
		case PUBLISH:
			return p.publish()
		default:
			c.t.Fatalf("got %v waiting for PUBLISH", p)
		}
	}
}

func netResolve(addr string) (*net.UDPAddr, error) { return net.ResolveUDPAddr("udp", addr) }

func listenUDPAddr(a *net.UDPAddr) (*net.UDPConn, error) { return net.ListenUDP("udp", a) }

func mustAddrPort(t testing.TB, s string) netip.AddrPort {
	t.Helper()
	a, err := netip.ParseAddrPort(s)
	if err != nil {
		t.Fatal(err)
	}
	return a
}
