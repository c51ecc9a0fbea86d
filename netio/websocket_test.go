package netio

import (
	"bufio"
	"bytes"
	"crypto/tls"
	"encoding/binary"
	"errors"
	"io"
	"net"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/gorilla/websocket"
	"github.com/shardmq/shardmq/mqtt"
)

// wsFrame is a masked client frame.
func wsFrame(fin bool, op byte, payload []byte) []byte {
	b := []byte{op}
	if fin {
		b[0] |= 0x80
	}
	switch n := len(payload); {
	case n < 126:
		b = append(b, 0x80|byte(n))
	case n <= 0xffff:
		b = append(b, 0x80|126)
		b = binary.BigEndian.AppendUint16(b, uint16(n))
	default:
		b = append(b, 0x80|127)
		b = binary.BigEndian.AppendUint64(b, uint64(n))
	}
	mask := [4]byte{0x11, 0x22, 0x33, 0x44}
	b = append(b, mask[:]...)
	for i, c := range payload {
		b = append(b, c^mask[i%4])
	}
	return b
}

// wsDial upgrades a raw connection to addr at path and returns it with a
// reader of what follows the 101 answer (or the error answer).
func wsDial(t *testing.T, addr, path string, headers ...string) (net.Conn, *bufio.Reader, *http.Response) {
	t.Helper()
	c, err := net.Dial("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	req := "GET " + path + " HTTP/1.1\r\nHost: localhost\r\nUpgrade: websocket\r\nConnection: keep-alive, Upgrade\r\n" +
		"Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n"
	for _, h := range headers {
		req += h + "\r\n"
	}
	if _, err := c.Write([]byte(req + "\r\n")); err != nil {
		t.Fatal(err)
	}
	_ = c.SetReadDeadline(time.Now().Add(5 * time.Second))
	r := bufio.NewReader(c)
	resp, err := http.ReadResponse(r, nil)
	if err != nil {
		t.Fatal(err)
	}
	return c, r, resp
}

// readFrame reads one server frame (unmasked) and returns its opcode and
// payload.
func readFrame(t *testing.T, r io.Reader) (byte, []byte) {
	t.Helper()
	var h [2]byte
	if _, err := io.ReadFull(r, h[:]); err != nil {
		t.Fatalf("frame header: %v", err)
	}
	n := uint64(h[1] & 0x7f)
	switch n {
	case 126:
		var l [2]byte
		_, _ = io.ReadFull(r, l[:])
		n = uint64(binary.BigEndian.Uint16(l[:]))
	case 127:
		var l [8]byte
		_, _ = io.ReadFull(r, l[:])
		n = binary.BigEndian.Uint64(l[:])
	}
	if h[1]&0x80 != 0 || h[0]&0x80 == 0 {
		t.Fatalf("server frame header % x: masked or not final", h)
	}
	p := make([]byte, n)
	if _, err := io.ReadFull(r, p); err != nil {
		t.Fatalf("frame payload: %v", err)
	}
	return h[0] & 0x0f, p
}

// readBinary reads binary frames until n payload bytes came.
func readBinary(t *testing.T, r io.Reader, n int) []byte {
	t.Helper()
	var got []byte
	for len(got) < n {
		op, p := readFrame(t, r)
		if op != wsBinary {
			t.Fatalf("opcode %d, want binary", op)
		}
		got = append(got, p...)
	}
	return got
}

// TestWebSocket drives a ws listener with hand-made frames: MQTT packets
// split across frames and fragments, several in one frame, a ping between
// them; the upgrade's subprotocol and X-Forwarded-For; each bad input
// closed with its status and counted.
func TestWebSocket(t *testing.T) {
	h := &peerHandler{}
	s := startListeners(t, Config{MaxPacketSize: 64 << 10, Listeners: []Listener{{Kind: KindWS, Addr: "127.0.0.1:0",
		WebSocket: &WebSocketConfig{AddressHeader: "X-Forwarded-For", PortHeader: "X-Forwarded-Port", MaxFrameSize: 1 << 20}}}}, h)
	addr := s.Addr().String()
	stream := echoStream()

	t.Run("split_and_joined", func(t *testing.T) {
		c, r, resp := wsDial(t, addr, "/mqtt", "Sec-WebSocket-Protocol: foo, mqtt", "X-Forwarded-For: 203.0.113.5, 10.0.0.1", "X-Forwarded-Port: 4242")
		if resp.StatusCode != 101 || resp.Header.Get("Sec-WebSocket-Protocol") != "mqtt" ||
			resp.Header.Get("Sec-WebSocket-Accept") != "s3pPLMBiTxaQ9kYGzzhZRbK+xOo=" {
			t.Fatalf("upgrade answer %d %v", resp.StatusCode, resp.Header)
		}
		var b []byte
		b = append(b, wsFrame(true, wsBinary, stream[:1])...)                // half a PINGREQ
		b = append(b, wsFrame(false, wsBinary, stream[1:3000])...)           // its end and a PUBLISH's start, fragmented
		b = append(b, wsFrame(true, wsPing, []byte("are you there"))...)     // a ping between fragments
		b = append(b, wsFrame(false, wsContinuation, stream[3000:20000])...) // more of it
		b = append(b, wsFrame(true, wsContinuation, stream[20000:])...)      // the rest and two more packets
		for i := 0; i < len(b); i += 1000 {
			_, _ = c.Write(b[i:min(i+1000, len(b))])
		}
		op, p := readFrame(t, r)
		for op == wsBinary { // the echo of the PINGREQ may come before the pong
			got := p
			op, p = readFrame(t, r)
			if !bytes.Equal(got, stream[:2]) {
				t.Fatalf("first echo % x", got[:min(8, len(got))])
			}
		}
		if op != wsPong || string(p) != "are you there" {
			t.Fatalf("got opcode %d %q, want the pong", op, p)
		}
		got := readBinary(t, r, len(stream)-2)
		_ = got
		_, addrs := h.seen()
		if a := addrs[len(addrs)-1].String(); a != "203.0.113.5:4242" {
			t.Fatalf("client address %s, want X-Forwarded-For's", a)
		}
		// A close from the client is answered with the same status.
		_, _ = c.Write(wsFrame(true, wsClose, []byte{0x03, 0xe8}))
		if op, p := readFrame(t, r); op != wsClose || binary.BigEndian.Uint16(p) != 1000 {
			t.Fatalf("close answer %d % x", op, p)
		}
		waitFor(t, "clean close", func() bool {
			errs := h.closedErrs()
			return len(errs) == 1 && errs[0] == nil
		})
	})

	closed := func(t *testing.T, frame []byte, code uint16, reason string) {
		before := s.TransportStats()[0].Refused[reason]
		c, r, _ := wsDial(t, addr, "/mqtt", "Sec-WebSocket-Protocol: mqttv3.1")
		_, _ = c.Write(frame)
		op, p := readFrame(t, r)
		if op != wsClose || len(p) != 2 || binary.BigEndian.Uint16(p) != code {
			t.Fatalf("got opcode %d % x, want close %d", op, p, code)
		}
		waitFor(t, reason, func() bool { return s.TransportStats()[0].Refused[reason] == before+1 })
	}
	t.Run("text_frame", func(t *testing.T) { closed(t, wsFrame(true, wsText, []byte{0xc0, 0}), 1002, "ws_protocol") })
	t.Run("unmasked", func(t *testing.T) { closed(t, []byte{0x82, 0x02, 0xc0, 0x00}, 1002, "ws_protocol") })
	t.Run("too_big", func(t *testing.T) {
		closed(t, append([]byte{0x82, 0x80 | 127}, binary.BigEndian.AppendUint64(nil, 2<<20)...), 1009, "ws_too_big")
	})
	t.Run("packet_too_big", func(t *testing.T) {
		pub := mqtt.AppendPublish(nil, &mqtt.Publish{Topic: []byte("t"), Payload: make([]byte, 100<<10)}, mqtt.V311)
		before := len(h.closedErrs())
		c, r, _ := wsDial(t, addr, "/mqtt")
		_, _ = c.Write(wsFrame(true, wsBinary, pub))
		if op, p := readFrame(t, r); op != wsClose || binary.BigEndian.Uint16(p) != 1009 {
			t.Fatalf("got opcode %d % x, want close 1009", op, p)
		}
		waitFor(t, "close with ErrPacketTooLarge", func() bool {
			for _, err := range h.closedErrs()[before:] {
				if errors.Is(err, mqtt.ErrPacketTooLarge) {
					return true
				}
			}
			return false
		})
	})

	refused := []struct {
		name    string
		path    string
		headers []string
		raw     string
		status  int
	}{
		{name: "no_upgrade", raw: "GET /mqtt HTTP/1.1\r\nHost: x\r\n\r\n", status: 426},
		{name: "wrong_path", path: "/other", status: 404},
		{name: "wrong_protocol", path: "/mqtt", headers: []string{"Sec-WebSocket-Protocol: chat"}, status: 400},
		{name: "post", raw: "POST /mqtt HTTP/1.1\r\nHost: x\r\n\r\n", status: 405},
		{name: "garbage", raw: "\x10\x0c\x00\x04MQTT\x04\x02\x00\x3c\r\n\r\n", status: 400},
	}
	for _, tc := range refused {
		t.Run(tc.name, func(t *testing.T) {
			before := s.TransportStats()[0].Refused["ws_upgrade"]
			var resp *http.Response
			if tc.raw != "" {
				c, err := net.Dial("tcp", addr)
				if err != nil {
					t.Fatal(err)
				}
				defer c.Close()
				_, _ = c.Write([]byte(tc.raw))
				_ = c.SetReadDeadline(time.Now().Add(5 * time.Second))
				if resp, err = http.ReadResponse(bufio.NewReader(c), nil); err != nil {
					t.Fatal(err)
				}
			} else {
				_, _, resp = wsDial(t, addr, tc.path, tc.headers...)
			}
			if resp.StatusCode != tc.status {
				t.Fatalf("status %d, want %d", resp.StatusCode, tc.status)
			}
			waitFor(t, "ws_upgrade", func() bool { return s.TransportStats()[0].Refused["ws_upgrade"] == before+1 })
		})
	}
}

// TestWebSocketClient runs gorilla/websocket, a real client, over ws and
// wss: subprotocol mqtt, MQTT packets in binary messages, a ping.
func TestWebSocketClient(t *testing.T) {
	pki := newPKI(t)
	h := &peerHandler{}
	s := startListeners(t, Config{Listeners: []Listener{
		{Kind: KindWS, Addr: freeAddr(t)},
		{Kind: KindWSS, Addr: freeAddr(t), TLS: pki.serverTLS(t, false), WebSocket: &WebSocketConfig{Path: "/ws"}}}}, h)
	urls := []string{"ws://" + s.Addrs()[0].String() + "/mqtt", "wss://" + s.Addrs()[1].String() + "/ws"}
	for _, u := range urls {
		t.Run(strings.Split(u, ":")[0], func(t *testing.T) {
			d := websocket.Dialer{Subprotocols: []string{"mqtt"}, TLSClientConfig: &tls.Config{RootCAs: pki.pool, ServerName: "broker.example"},
				HandshakeTimeout: 5 * time.Second}
			conn, resp, err := d.Dial(u, nil)
			if err != nil {
				t.Fatal(err)
			}
			defer conn.Close()
			if resp.Header.Get("Sec-WebSocket-Protocol") != "mqtt" {
				t.Fatalf("subprotocol %q", resp.Header.Get("Sec-WebSocket-Protocol"))
			}
			pong := make(chan string, 1)
			conn.SetPongHandler(func(s string) error { pong <- s; return nil })
			if err := conn.WriteControl(websocket.PingMessage, []byte("p"), time.Now().Add(time.Second)); err != nil {
				t.Fatal(err)
			}
			stream := echoStream()
			if err := conn.WriteMessage(websocket.BinaryMessage, stream); err != nil {
				t.Fatal(err)
			}
			var got []byte
			_ = conn.SetReadDeadline(time.Now().Add(5 * time.Second))
			for len(got) < len(stream) {
				typ, p, err := conn.ReadMessage()
				if err != nil {
					t.Fatal(err)
				}
				if typ != websocket.BinaryMessage {
					t.Fatalf("message type %d", typ)
				}
				got = append(got, p...)
			}
			if !bytes.Equal(got, stream) {
				t.Fatal("echo differs")
			}
			select {
			case p := <-pong:
				if p != "p" {
					t.Fatalf("pong %q", p)
				}
			case <-time.After(5 * time.Second):
				t.Fatal("no pong")
			}
		})
	}
	peers, _ := h.seen()
	if len(peers) != 2 || peers[0].Listener.ID() != "ws:default" || peers[1].Listener.ID() != "wss:default" || peers[1].SNI != "broker.example" {
		t.Fatalf("peers %+v", peers)
	}
}

// FuzzWSHeader feeds frame headers, split anywhere, to the header parser:
// it never panics, takes no more than it is given, and a header it
// accepts has a sane payload length.
func FuzzWSHeader(f *testing.F) {
	f.Add(wsFrame(true, wsBinary, []byte{0xc0, 0}), 1)
	f.Add(wsFrame(false, wsBinary, make([]byte, 300)), 3)
	f.Add(wsFrame(true, wsPing, []byte("x")), 7)
	f.Add(append([]byte{0x82, 0xff}, make([]byte, 12)...), 5)
	f.Fuzz(func(t *testing.T, b []byte, split int) {
		w := newWSConn(nil, 1<<20)
		split = max(0, min(split, len(b)))
		for _, part := range [][]byte{b[:split], b[split:]} {
			n, err := w.header(part)
			if n > len(part) {
				t.Fatalf("took %d of %d", n, len(part))
			}
			if err != nil || w.inFrame {
				break
			}
		}
		if w.inFrame && w.left > 1<<20 {
			t.Fatalf("accepted a frame of %d bytes", w.left)
		}
	})
}

// FuzzParseUpgrade checks that no request panics the upgrade parser and
// that a refusal comes with an HTTP status.
func FuzzParseUpgrade(f *testing.F) {
	f.Add([]byte("GET /mqtt HTTP/1.1\r\nHost: x\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\nSec-WebSocket-Protocol: mqtt\r\nX-Forwarded-For: 1.2.3.4\r\n\r\n"))
	f.Add([]byte("GET / HTTP/1.0\r\n\r\n"))
	f.Fuzz(func(t *testing.T, req []byte) {
		cfg := &WebSocketConfig{Path: "/mqtt", AddressHeader: "X-Forwarded-For", PortHeader: "X-Forwarded-Port"}
		u, status, err := parseUpgrade(req, cfg)
		if err != nil && status == 0 || err == nil && u.key == "" {
			t.Fatalf("status %d, err %v, key %q", status, err, u.key)
		}
	})
}
