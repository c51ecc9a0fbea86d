package netio

import (
	"crypto/tls"
	"encoding/binary"
	"errors"
	"io"
	"net"
	"net/netip"
	"testing"
	"time"
)

// proxyV2 builds a v2 header: command 1 (PROXY) or 0 (LOCAL), TCP over
// the family of src.
func proxyV2(cmd byte, src, dst netip.AddrPort) []byte {
	b := append([]byte(nil), proxyV2Sig...)
	var addrs []byte
	fam := byte(0x11)
	if src.Addr().Is6() {
		fam = 0x21
		s, d := src.Addr().As16(), dst.Addr().As16()
		addrs = append(append(addrs, s[:]...), d[:]...)
	} else {
		s, d := src.Addr().As4(), dst.Addr().As4()
		addrs = append(append(addrs, s[:]...), d[:]...)
	}
	addrs = binary.BigEndian.AppendUint16(addrs, src.Port())
	addrs = binary.BigEndian.AppendUint16(addrs, dst.Port())
	b = append(b, 0x20|cmd, fam)
	b = binary.BigEndian.AppendUint16(b, uint16(len(addrs)))
	return append(b, addrs...)
}

func TestParseProxy(t *testing.T) {
	v4 := netip.MustParseAddrPort("203.0.113.9:51000")
	v6 := netip.MustParseAddrPort("[2001:db8::7]:443")
	dst := netip.MustParseAddrPort("10.0.0.1:8883")
	dst6 := netip.MustParseAddrPort("[2001:db8::1]:8883")
	tests := []struct {
		name string
		in   []byte
		addr netip.AddrPort
		n    int
		err  bool
	}{
		{"v1_tcp4", []byte("PROXY TCP4 203.0.113.9 10.0.0.1 51000 8883\r\nrest"), v4, 44, false},
		{"v1_tcp6", []byte("PROXY TCP6 2001:db8::7 2001:db8::1 443 8883\r\n"), v6, 45, false},
		{"v1_unknown", []byte("PROXY UNKNOWN\r\n"), netip.AddrPort{}, 15, false},
		{"v1_partial", []byte("PROXY TCP4 203.0"), netip.AddrPort{}, 0, false},
		{"v1_prefix", []byte("PRO"), netip.AddrPort{}, 0, false},
		{"v1_family_mismatch", []byte("PROXY TCP4 2001:db8::7 10.0.0.1 1 2\r\n"), netip.AddrPort{}, 0, true},
		{"v1_bad_port", []byte("PROXY TCP4 203.0.113.9 10.0.0.1 70000 8883\r\n"), netip.AddrPort{}, 0, true},
		{"v1_too_long", append([]byte("PROXY TCP4 "), make([]byte, 120)...), netip.AddrPort{}, 0, true},
		{"v2_tcp4", proxyV2(1, v4, dst), v4, 28, false},
		{"v2_tcp6", proxyV2(1, v6, dst6), v6, 52, false},
		{"v2_local", proxyV2(0, v4, dst), netip.AddrPort{}, 28, false},
		{"v2_partial", proxyV2(1, v4, dst)[:20], netip.AddrPort{}, 0, false},
		{"v2_sig_prefix", proxyV2Sig[:5], netip.AddrPort{}, 0, false},
		{"v2_bad_version", append(append([]byte(nil), proxyV2Sig...), 0x31, 0x11, 0, 0), netip.AddrPort{}, 0, true},
		{"v2_short_block", append(append([]byte(nil), proxyV2Sig...), 0x21, 0x11, 0, 4, 1, 2, 3, 4), netip.AddrPort{}, 0, true},
		{"no_header", []byte{0x10, 0x0c, 0, 4, 'M', 'Q', 'T', 'T'}, netip.AddrPort{}, 0, true},
		{"http", []byte("GET / HTTP/1.1\r\n"), netip.AddrPort{}, 0, true},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			addr, n, err := parseProxy(tc.in)
			if (err != nil) != tc.err || (err != nil && !errors.Is(err, ErrProxyHeader)) {
				t.Fatalf("err %v, want error %v", err, tc.err)
			}
			if addr != tc.addr || n != tc.n {
				t.Fatalf("got %v, %d; want %v, %d", addr, n, tc.addr, tc.n)
			}
		})
	}
}

// FuzzParseProxy checks that no input panics the PROXY header parser and
// that a header it accepts is within the input.
func FuzzParseProxy(f *testing.F) {
	f.Add([]byte("PROXY TCP4 203.0.113.9 10.0.0.1 51000 8883\r\n"))
	f.Add(proxyV2(1, netip.MustParseAddrPort("203.0.113.9:1"), netip.MustParseAddrPort("10.0.0.1:2")))
	f.Add(proxyV2(1, netip.MustParseAddrPort("[2001:db8::7]:1"), netip.MustParseAddrPort("[::1]:2")))
	f.Fuzz(func(t *testing.T, b []byte) {
		_, n, err := parseProxy(b)
		if n < 0 || n > len(b) || (err != nil && n != 0) {
			t.Fatalf("n %d of %d, err %v", n, len(b), err)
		}
	})
}

// TestProxyProtocol connects through tcp and ssl listeners that require
// the PROXY header: v1 and v2 give the client address (v2 LOCAL keeps the
// socket's), the bytes after the header are MQTT (or TLS), and a missing,
// bad or late header is refused.
func TestProxyProtocol(t *testing.T) {
	pki := newPKI(t)
	h := &peerHandler{}
	s := startListeners(t, Config{TickInterval: 20 * time.Millisecond, Listeners: []Listener{
		{Addr: freeAddr(t), ProxyProtocol: true, ProxyProtocolTimeout: 300 * time.Millisecond},
		{Kind: KindSSL, Addr: "127.0.0.1:0", ProxyProtocol: true, TLS: pki.serverTLS(t, false)}}}, h)
	tcpAddr, sslAddr := s.Addrs()[0].String(), s.Addrs()[1].String()
	client := netip.MustParseAddrPort("198.51.100.20:40000")
	dst := netip.MustParseAddrPort("192.0.2.1:1883")
	t.Run("tcp", func(t *testing.T) {
		for i, hdr := range [][]byte{
			[]byte("PROXY TCP4 198.51.100.20 192.0.2.1 40000 1883\r\n"),
			proxyV2(1, client, dst),
			proxyV2(0, client, dst),
		} {
			c, err := net.Dial("tcp", tcpAddr)
			if err != nil {
				t.Fatal(err)
			}
			// The header split across writes, a PINGREQ in the same write as its end.
			_, _ = c.Write(hdr[:5])
			time.Sleep(5 * time.Millisecond)
			_, _ = c.Write(append(append([]byte(nil), hdr[5:]...), 0xc0, 0x00))
			readN(t, c, 2)
			c.Close()
			_, addrs := h.seen()
			want := client
			if i == 2 {
				want = netip.AddrPortFrom(netip.MustParseAddr("127.0.0.1"), addrs[i].Port())
			}
			if addrs[i] != want {
				t.Fatalf("header %d: client address %v, want %v", i, addrs[i], want)
			}
		}
	})
	t.Run("ssl", func(t *testing.T) {
		raw, err := net.Dial("tcp", sslAddr)
		if err != nil {
			t.Fatal(err)
		}
		_, _ = raw.Write(proxyV2(1, client, dst))
		conn := tls.Client(raw, &tls.Config{RootCAs: pki.pool, ServerName: "localhost"})
		defer conn.Close()
		roundTrip(t, conn, []byte{0xc0, 0x00}, 2)
		peers, addrs := h.seen()
		if last := len(addrs) - 1; addrs[last] != client || peers[last].Listener.ID() != "ssl:default" {
			t.Fatalf("ssl client %v on %s", addrs[last], peers[last].Listener.ID())
		}
	})
	refused := func(addr string, b []byte, reason string, listener int) {
		before := s.TransportStats()[listener].Refused[reason]
		c, err := net.Dial("tcp", addr)
		if err != nil {
			t.Fatal(err)
		}
		defer c.Close()
		_, _ = c.Write(b)
		_ = c.SetReadDeadline(time.Now().Add(5 * time.Second))
		_, _ = io.ReadAll(c)
		waitFor(t, reason, func() bool { return s.TransportStats()[listener].Refused[reason] == before+1 })
	}
	t.Run("refused", func(t *testing.T) {
		seen, _ := h.seen()
		refused(tcpAddr, []byte{0x10, 0x0c, 0, 4, 'M', 'Q', 'T', 'T', 4, 2, 0, 60, 0, 0}, "proxy_header", 0)
		refused(tcpAddr, []byte("PROXY TCP4 1.2.3.4 5.6.7.8 1 99999\r\n"), "proxy_header", 0)
		refused(tcpAddr, []byte("PROXY TCP4 1.2"), "proxy_timeout", 0)
		refused(sslAddr, []byte{0x16, 3, 1}, "proxy_header", 1)
		if now, _ := h.seen(); len(now) != len(seen) {
			t.Fatal("the Handler saw a refused connection")
		}
	})
}
