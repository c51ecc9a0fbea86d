package netio

import (
	"bytes"
	"crypto/sha1"
	"encoding/base64"
	"encoding/binary"
	"errors"
	"fmt"
	"net/netip"
	"strconv"
	"strings"

	"github.com/shardmq/shardmq/mqtt"
)

// MQTT over WebSocket (RFC 6455; MQTT 5.0 section 6): the HTTP upgrade is
// answered and frames are unmasked on the loop, as TLS records are
// opened: the payload of binary frames is moved together in place and
// framed as MQTT bytes, whatever the frame boundaries (a packet split
// across frames, several packets in one). What the Handler writes in a
// batch goes out as one binary frame, its header written before the
// Handler's slices with one writev.

// WebSocketConfig configures a ws or wss listener.
type WebSocketConfig struct {
	// Path is the request path of the upgrade. If empty, "/mqtt" is used.
	Path string
	// AddressHeader names a request header carrying the client's address,
	// set by a proxy in front ("X-Forwarded-For"; the first address of a
	// list is taken). If empty, none is read: only a trusted proxy may set
	// it.
	AddressHeader string
	// PortHeader names a request header carrying the client's port
	// ("X-Forwarded-Port"), read with AddressHeader.
	PortHeader string
	// MaxFrameSize is the largest frame payload accepted; a larger one is
	// closed with status 1009. If zero, Config.MaxPacketSize is used.
	MaxFrameSize int
}

func (w *WebSocketConfig) validate() error {
	switch {
	case w.Path != "" && !strings.HasPrefix(w.Path, "/"):
		return fmt.Errorf("WebSocket path %q must start with /", w.Path)
	case w.MaxFrameSize < 0:
		return errors.New("negative WebSocket frame size")
	case w.PortHeader != "" && w.AddressHeader == "":
		return errors.New("a WebSocket port header needs an address header")
	}
	return nil
}

// WebSocket opcodes and limits.
const (
	wsContinuation = 0x0
	wsText         = 0x1
	wsBinary       = 0x2
	wsClose        = 0x8
	wsPing         = 0x9
	wsPong         = 0xa
	wsMaxHeader    = 14
	// maxUpgradeRequest bounds the HTTP upgrade request.
	maxUpgradeRequest = 8 << 10
	// wsGUID is the key suffix of Sec-WebSocket-Accept (RFC 6455 section 1.3).
	wsGUID = "258EAFA5-E914-47DA-95CA-C5AB0DC85B11"
)

// Close status codes (RFC 6455 section 7.4.1).
const (
	wsCloseNormal    = 1000
	wsCloseGoingAway = 1001
	wsCloseProtocol  = 1002
	wsCloseTooBig    = 1009
)

// wsConn is the WebSocket state of a connection; owned by its loop.
type wsConn struct {
	cfg     WebSocketConfig
	maxSize uint64
	req     []byte // the upgrade request as far as read
	hdr     [wsMaxHeader]byte
	hdrN    uint8
	op      uint8 // the current frame's opcode
	inFrame bool  // between a frame's header and the end of its payload
	frag    bool  // a fragmented binary message is open
	mask    [4]byte
	maskPos uint8
	left    uint64 // payload bytes of the current frame still to come
	ctl     []byte // the control frame payload so far
	// closeSent is set once a close frame went out.
	closeSent bool
}

func newWSConn(cfg *WebSocketConfig, maxPacket int) *wsConn {
	w := &wsConn{}
	if cfg != nil {
		w.cfg = *cfg
	}
	if w.cfg.Path == "" {
		w.cfg.Path = "/mqtt"
	}
	if w.cfg.MaxFrameSize == 0 {
		w.cfg.MaxFrameSize = maxPacket
	}
	w.maxSize = uint64(w.cfg.MaxFrameSize)
	return w
}

// wsInput passes chunks (plaintext from the socket or TLS) through the
// WebSocket layer: the upgrade request while it is pending, then frames.
// It returns the MQTT bytes, each chunk's moved together in place.
func (s *Server) wsInput(c *Conn, tr *transport, chunks [][]byte) ([][]byte, error) {
	w := tr.ws
	out := chunks[:0]
	for _, b := range chunks {
		if tr.stage == stageUpgrade {
			var err error
			if b, err = s.wsUpgrade(c, tr, b); err != nil {
				return out, err
			}
			if tr.stage == stageUpgrade {
				continue
			}
		}
		data, err := w.frames(c, tr, b)
		if len(data) > 0 {
			out = append(out, data)
		}
		if err != nil {
			clear(chunks[len(out):])
			return out, err
		}
	}
	clear(chunks[len(out):])
	return out, nil
}

// wsUpgrade reads the upgrade request from b and answers it; it returns
// the bytes after the request.
func (s *Server) wsUpgrade(c *Conn, tr *transport, b []byte) ([]byte, error) {
	w := tr.ws
	start := len(w.req)
	w.req = append(w.req, b...)
	end := bytes.Index(w.req[max(0, start-3):], []byte("\r\n\r\n"))
	if end < 0 {
		if len(w.req) > maxUpgradeRequest {
			tr.writeWire(c, httpError(431))
			return nil, fmt.Errorf("%w: request longer than %d bytes", ErrUpgrade, maxUpgradeRequest)
		}
		return nil, nil
	}
	end += max(0, start-3) + 4
	req := w.req[:end]
	rest := w.req[end:]
	u, status, err := parseUpgrade(req, &w.cfg)
	if err != nil {
		tr.writeWire(c, httpError(status))
		return nil, err
	}
	if u.addr.IsValid() {
		tr.setup.addr = u.addr
	}
	resp := make([]byte, 0, 160)
	resp = append(resp, "HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Accept: "...)
	resp = append(resp, wsAccept(u.key)...)
	if u.protocol != "" {
		resp = append(resp, "\r\nSec-WebSocket-Protocol: "...)
		resp = append(resp, u.protocol...)
	}
	resp = append(resp, "\r\n\r\n"...)
	tr.writeWire(c, resp)
	w.req = nil
	s.next(c, tr)
	return rest, nil
}

// upgrade is what a valid upgrade request says.
type upgrade struct {
	key      string
	protocol string // the subprotocol chosen, "" when the client offered none
	addr     netip.AddrPort
}

// parseUpgrade checks an HTTP request (up to its blank line) against RFC
// 6455 section 4.2.1 and cfg; on error status is the HTTP answer.
func parseUpgrade(req []byte, cfg *WebSocketConfig) (u upgrade, status int, err error) {
	bad := func(status int, format string, args ...any) (upgrade, int, error) {
		return upgrade{}, status, fmt.Errorf("%w: "+format, append([]any{ErrUpgrade}, args...)...)
	}
	lines := strings.Split(strings.TrimSuffix(string(req), "\r\n\r\n"), "\r\n")
	f := strings.Fields(lines[0])
	if len(f) != 3 || !strings.HasPrefix(f[2], "HTTP/1.") {
		return bad(400, "request line %q", lines[0])
	}
	if f[0] != "GET" {
		return bad(405, "method %s", f[0])
	}
	path, _, _ := strings.Cut(f[1], "?")
	if path != cfg.Path {
		return bad(404, "path %q, not %q", path, cfg.Path)
	}
	h := map[string]string{}
	for _, line := range lines[1:] {
		name, value, ok := strings.Cut(line, ":")
		if !ok || name == "" || strings.ContainsAny(name, " \t") {
			return bad(400, "header line %q", line)
		}
		name = strings.ToLower(name)
		value = strings.TrimSpace(value)
		if prev, ok := h[name]; ok {
			value = prev + ", " + value
		}
		h[name] = value
	}
	if !hasToken(h["upgrade"], "websocket") || !hasToken(h["connection"], "upgrade") {
		return bad(426, "no Upgrade: websocket")
	}
	if h["sec-websocket-version"] != "13" {
		return bad(426, "Sec-WebSocket-Version %q", h["sec-websocket-version"])
	}
	key := h["sec-websocket-key"]
	if k, err := base64.StdEncoding.DecodeString(key); err != nil || len(k) != 16 {
		return bad(400, "Sec-WebSocket-Key %q", key)
	}
	u.key = key
	if offered, ok := h["sec-websocket-protocol"]; ok {
		// [MQTT-6.0.0-4] "mqtt"; MQTT 3.1 clients offer "mqttv3.1".
		for _, p := range strings.Split(offered, ",") {
			if p = strings.TrimSpace(p); p == "mqtt" || p == "mqttv3.1" {
				u.protocol = p
				break
			}
		}
		if u.protocol == "" {
			return bad(400, "subprotocols %q offered, none of mqtt, mqttv3.1", offered)
		}
	}
	if cfg.AddressHeader != "" {
		if v := h[strings.ToLower(cfg.AddressHeader)]; v != "" {
			first, _, _ := strings.Cut(v, ",")
			ip, err := netip.ParseAddr(strings.TrimSpace(first))
			if err != nil {
				return bad(400, "%s %q", cfg.AddressHeader, v)
			}
			var port uint64
			if cfg.PortHeader != "" {
				if pv := h[strings.ToLower(cfg.PortHeader)]; pv != "" {
					first, _, _ := strings.Cut(pv, ",")
					if port, err = strconv.ParseUint(strings.TrimSpace(first), 10, 16); err != nil {
						return bad(400, "%s %q", cfg.PortHeader, pv)
					}
				}
			}
			u.addr = netip.AddrPortFrom(ip.Unmap(), uint16(port))
		}
	}
	return u, 0, nil
}

// hasToken reports whether the comma-separated header value v holds
// token, case-insensitively.
func hasToken(v, token string) bool {
	for _, t := range strings.Split(v, ",") {
		if strings.EqualFold(strings.TrimSpace(t), token) {
			return true
		}
	}
	return false
}

// wsAccept is the Sec-WebSocket-Accept of key.
func wsAccept(key string) string {
	sum := sha1.Sum([]byte(key + wsGUID))
	return base64.StdEncoding.EncodeToString(sum[:])
}

// httpError is the answer to a refused upgrade request.
func httpError(status int) []byte {
	text := map[int]string{400: "Bad Request", 404: "Not Found", 405: "Method Not Allowed",
		426: "Upgrade Required", 431: "Request Header Fields Too Large"}[status]
	extra := ""
	if status == 426 {
		extra = "Sec-WebSocket-Version: 13\r\nUpgrade: websocket\r\n"
	}
	return fmt.Appendf(nil, "HTTP/1.1 %d %s\r\n%sConnection: close\r\nContent-Length: 0\r\n\r\n", status, text, extra)
}

// frames unmasks the frames in b and moves their binary payload to the
// start of b, which it returns. Control frames are answered: a ping with a
// pong, a close with a close (and errPeerClosed).
func (w *wsConn) frames(c *Conn, tr *transport, b []byte) ([]byte, error) {
	o, i := 0, 0
	for i < len(b) {
		if !w.inFrame {
			n, err := w.header(b[i:])
			i += n
			if err != nil {
				return b[:o], err
			}
			if !w.inFrame {
				break // the header is incomplete
			}
			if w.left == 0 {
				if err := w.endFrame(c, tr); err != nil {
					return b[:o], err
				}
			}
			continue
		}
		n := int(min(w.left, uint64(len(b)-i)))
		p := b[i : i+n]
		w.unmask(p)
		if w.op >= wsClose {
			w.ctl = append(w.ctl, p...)
		} else {
			o += copy(b[o:], p)
		}
		i += n
		w.left -= uint64(n)
		if w.left == 0 {
			if err := w.endFrame(c, tr); err != nil {
				return b[:o], err
			}
		}
	}
	return b[:o], nil
}

// header reads a frame header from the start of b (after the part kept
// from the last read) and returns the bytes it took; w.inFrame is set
// once the header is whole.
func (w *wsConn) header(b []byte) (int, error) {
	took := 0
	need := 2
	for {
		if w.hdrN >= 2 {
			if w.hdr[1]&0x80 == 0 {
				return took, fmt.Errorf("%w: unmasked client frame", ErrWebSocket)
			}
			ext := 0
			switch w.hdr[1] & 0x7f {
			case 126:
				ext = 2
			case 127:
				ext = 8
			}
			need = 2 + ext + 4
			if int(w.hdrN) >= 2+ext { // the length is known: refuse a huge frame early
				if err := w.checkSize(); err != nil {
					return took, err
				}
			}
		}
		if int(w.hdrN) >= need {
			break
		}
		if took == len(b) {
			return took, nil
		}
		k := min(need-int(w.hdrN), len(b)-took)
		copy(w.hdr[w.hdrN:], b[took:took+k])
		w.hdrN += uint8(k)
		took += k
	}
	h := w.hdr[:need]
	w.hdrN = 0
	fin, op := h[0]&0x80 != 0, h[0]&0x0f
	size := w.size()
	copy(w.mask[:], h[need-4:need])
	if err := w.checkSize(); err != nil {
		return took, err
	}
	switch op {
	case wsBinary, wsContinuation:
		if (op == wsContinuation) != w.frag {
			return took, fmt.Errorf("%w: opcode %d out of sequence", ErrWebSocket, op)
		}
		w.frag = !fin
	case wsText:
		return took, fmt.Errorf("%w: text frame [MQTT-6.0.0-1]", ErrWebSocket)
	case wsClose, wsPing, wsPong:
		if !fin {
			return took, fmt.Errorf("%w: fragmented control frame", ErrWebSocket)
		}
		w.ctl = w.ctl[:0]
	default:
		return took, fmt.Errorf("%w: opcode %d", ErrWebSocket, op)
	}
	w.op, w.left, w.maskPos, w.inFrame = op, size, 0, true
	return took, nil
}

// size returns the payload length of the frame header in w.hdr.
func (w *wsConn) size() uint64 {
	switch n := w.hdr[1] & 0x7f; n {
	case 126:
		return uint64(binary.BigEndian.Uint16(w.hdr[2:4]))
	case 127:
		return binary.BigEndian.Uint64(w.hdr[2:10])
	default:
		return uint64(n)
	}
}

// checkSize checks the header in w.hdr (its length known) against the
// limits: reserved bits, the largest frame, control frames of 125 bytes.
func (w *wsConn) checkSize() error {
	op, size := w.hdr[0]&0x0f, w.size()
	switch {
	case w.hdr[0]&0x70 != 0:
		return fmt.Errorf("%w: reserved bits set", ErrWebSocket)
	case op >= wsClose && size > 125:
		return fmt.Errorf("%w: control frame of %d bytes", ErrWebSocket, size)
	case size > w.maxSize:
		return fmt.Errorf("%w: %d bytes, at most %d", ErrFrameTooLarge, size, w.maxSize)
	}
	return nil
}

// unmask unmasks p, the next payload bytes of the frame.
func (w *wsConn) unmask(p []byte) {
	pos := w.maskPos
	i := 0
	for ; i < len(p) && pos&3 != 0; i++ {
		p[i] ^= w.mask[pos&3]
		pos++
	}
	if len(p)-i >= 8 {
		m := uint64(binary.LittleEndian.Uint32(w.mask[:]))
		m |= m << 32
		for ; len(p)-i >= 8; i += 8 {
			binary.LittleEndian.PutUint64(p[i:], binary.LittleEndian.Uint64(p[i:])^m)
		}
	}
	for ; i < len(p); i++ {
		p[i] ^= w.mask[pos&3]
		pos++
	}
	w.maskPos = pos & 3
}

// endFrame handles the end of a frame: a control frame is answered.
func (w *wsConn) endFrame(c *Conn, tr *transport) error {
	w.inFrame = false
	switch w.op {
	case wsPing:
		tr.writeWire(c, appendWSHeader(make([]byte, 0, 2+len(w.ctl)), wsPong, len(w.ctl), w.ctl...))
	case wsClose:
		code := uint16(wsCloseNormal)
		if len(w.ctl) >= 2 {
			code = binary.BigEndian.Uint16(w.ctl)
		} else if len(w.ctl) == 1 {
			return fmt.Errorf("%w: close frame of 1 byte", ErrWebSocket)
		}
		if !w.closeSent {
			w.closeSent = true
			tr.writeWire(c, appendWSClose(nil, code))
		}
		return errPeerClosed
	}
	if cap(w.ctl) > 125 {
		w.ctl = nil
	}
	return nil
}

// appendWSHeader appends the header of an unmasked final frame of opcode
// op and n payload bytes, and then payload.
func appendWSHeader(b []byte, op byte, n int, payload ...byte) []byte {
	b = append(b, 0x80|op)
	switch {
	case n < 126:
		b = append(b, byte(n))
	case n <= 0xffff:
		b = append(b, 126)
		b = binary.BigEndian.AppendUint16(b, uint16(n))
	default:
		b = append(b, 127)
		b = binary.BigEndian.AppendUint64(b, uint64(n))
	}
	return append(b, payload...)
}

// appendWSClose appends a close frame with status code.
func appendWSClose(b []byte, code uint16) []byte {
	return appendWSHeader(b, wsClose, 2, byte(code>>8), byte(code))
}

// wsCloseCode is the status a close for err sends.
func wsCloseCode(err error) uint16 {
	switch {
	case err == nil || errors.Is(err, errPeerClosed):
		return wsCloseNormal
	case errors.Is(err, ErrFrameTooLarge), errors.Is(err, mqtt.ErrPacketTooLarge):
		return wsCloseTooBig
	case errors.Is(err, ErrWebSocket):
		return wsCloseProtocol
	case errors.Is(err, ErrServerClosed):
		return wsCloseGoingAway
	}
	return wsCloseNormal
}
