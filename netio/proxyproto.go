package netio

import (
	"bytes"
	"encoding/binary"
	"fmt"
	"net/netip"
	"strconv"
)

// The PROXY protocol (HAProxy's proxy-protocol.txt) lets a load balancer
// in front of the broker say who the client is: a header before the
// client's own bytes, a text line (v1) or a binary block (v2).

// proxyV1Prefix starts a v1 header, proxyV2Sig a v2 one.
var (
	proxyV1Prefix = []byte("PROXY ")
	proxyV2Sig    = []byte("\r\n\r\n\x00\r\nQUIT\n")
)

const (
	// proxyV1Max is the longest v1 line, CRLF included.
	proxyV1Max = 107
	// proxyV2Max bounds a v2 header with its TLVs (16 bytes of fixed part
	// and addresses up to 216 bytes; TLVs beyond this are refused).
	proxyV2Max = 16 + 4096
)

// parseProxy parses the PROXY protocol header at the start of b. It
// returns the header's length (0 when b holds only the start of one) and
// the client address it carries (invalid for v1 UNKNOWN, a v2 LOCAL
// command or a non-IP family: the socket's address stands then).
func parseProxy(b []byte) (addr netip.AddrPort, n int, err error) {
	switch {
	case bytes.HasPrefix(b, proxyV2Sig):
		return parseProxyV2(b)
	case bytes.HasPrefix(b, proxyV1Prefix):
		return parseProxyV1(b)
	case bytes.HasPrefix(proxyV2Sig, b) || bytes.HasPrefix(proxyV1Prefix, b):
		return addr, 0, nil // the start of a signature
	}
	return addr, 0, fmt.Errorf("%w: no PROXY header", ErrProxyHeader)
}

// parseProxyV1 parses "PROXY TCP4|TCP6|UNKNOWN src dst sport dport\r\n".
func parseProxyV1(b []byte) (addr netip.AddrPort, n int, err error) {
	end := bytes.Index(b[:min(len(b), proxyV1Max)], []byte("\r\n"))
	if end < 0 {
		if len(b) >= proxyV1Max {
			return addr, 0, fmt.Errorf("%w: v1 line longer than %d bytes", ErrProxyHeader, proxyV1Max)
		}
		return addr, 0, nil
	}
	n = end + 2
	f := bytes.Split(b[len(proxyV1Prefix):end], []byte(" "))
	if len(f) >= 1 && string(f[0]) == "UNKNOWN" {
		return addr, n, nil // the rest of the line is to be ignored
	}
	if len(f) != 5 || (string(f[0]) != "TCP4" && string(f[0]) != "TCP6") {
		return addr, 0, fmt.Errorf("%w: v1 line %q", ErrProxyHeader, b[:end])
	}
	src, err1 := netip.ParseAddr(string(f[1]))
	_, err2 := netip.ParseAddr(string(f[2]))
	port, err3 := strconv.ParseUint(string(f[3]), 10, 16)
	_, err4 := strconv.ParseUint(string(f[4]), 10, 16)
	if err1 != nil || err2 != nil || err3 != nil || err4 != nil || src.Zone() != "" ||
		src.Is4() != (string(f[0]) == "TCP4") || (len(f[3]) > 1 && f[3][0] == '0') {
		return addr, 0, fmt.Errorf("%w: v1 line %q", ErrProxyHeader, b[:end])
	}
	return netip.AddrPortFrom(src, uint16(port)), n, nil
}

// parseProxyV2 parses a binary v2 header (b starts with the signature).
func parseProxyV2(b []byte) (addr netip.AddrPort, n int, err error) {
	if len(b) < 16 {
		return addr, 0, nil
	}
	verCmd, fam := b[12], b[13]
	size := int(binary.BigEndian.Uint16(b[14:16]))
	switch {
	case verCmd>>4 != 2:
		return addr, 0, fmt.Errorf("%w: v2 version %d", ErrProxyHeader, verCmd>>4)
	case verCmd&0xf > 1:
		return addr, 0, fmt.Errorf("%w: v2 command %d", ErrProxyHeader, verCmd&0xf)
	case 16+size > proxyV2Max:
		return addr, 0, fmt.Errorf("%w: v2 header of %d bytes", ErrProxyHeader, 16+size)
	case len(b) < 16+size:
		return addr, 0, nil
	}
	n = 16 + size
	if verCmd&0xf == 0 { // LOCAL: a health check of the proxy itself
		return addr, n, nil
	}
	body := b[16:n]
	switch fam >> 4 { // address family; the low nibble is the transport
	case 1: // AF_INET: src, dst, sport, dport
		if len(body) < 12 {
			return addr, 0, fmt.Errorf("%w: v2 IPv4 block of %d bytes", ErrProxyHeader, len(body))
		}
		ip := netip.AddrFrom4([4]byte(body[0:4]))
		return netip.AddrPortFrom(ip, binary.BigEndian.Uint16(body[8:10])), n, nil
	case 2: // AF_INET6
		if len(body) < 36 {
			return addr, 0, fmt.Errorf("%w: v2 IPv6 block of %d bytes", ErrProxyHeader, len(body))
		}
		ip := netip.AddrFrom16([16]byte(body[0:16]))
		return netip.AddrPortFrom(ip.Unmap(), binary.BigEndian.Uint16(body[32:34])), n, nil
	case 0, 3: // AF_UNSPEC, AF_UNIX: no IP address to take
		return addr, n, nil
	}
	return addr, 0, fmt.Errorf("%w: v2 address family %d", ErrProxyHeader, fam>>4)
}

// proxyInput takes c's PROXY header from raw (after what earlier reads
// left in tr.setup.pending) and returns the bytes after it; tr stays in
// stageProxy while the header is incomplete.
func (s *Server) proxyInput(c *Conn, tr *transport, raw []byte) ([]byte, error) {
	b := raw
	if len(tr.setup.pending) > 0 {
		tr.setup.pending = append(tr.setup.pending, raw...)
		b = tr.setup.pending
	}
	addr, n, err := parseProxy(b)
	if err != nil {
		return nil, err
	}
	if n == 0 {
		if len(tr.setup.pending) == 0 {
			tr.setup.pending = append([]byte(nil), raw...)
		}
		return nil, nil
	}
	rest := b[n:]
	tr.setup.pending = nil
	if addr.IsValid() {
		tr.setup.addr = addr
	}
	s.next(c, tr)
	return rest, nil
}
