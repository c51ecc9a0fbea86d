//go:build !linux

package netio

import (
	"net/netip"

	"golang.org/x/sys/unix"
)

// burstReader takes the datagrams waiting on a udp socket, one recvfrom
// each (recvmmsg is Linux's).
type burstReader struct{ buf []byte }

func newBurstReader() *burstReader { return &burstReader{buf: make([]byte, 64<<10)} }

// read takes up to max datagrams from fd without blocking and hands each
// to fn (b valid only during the call); it returns how many it took.
func (r *burstReader) read(fd, max int, fn func(from netip.AddrPort, b []byte)) int {
	for i := 0; i < max; i++ {
		n, sa, err := unix.Recvfrom(fd, r.buf, unix.MSG_DONTWAIT)
		if err != nil {
			return i
		}
		switch sa := sa.(type) {
		case *unix.SockaddrInet4:
			fn(netip.AddrPortFrom(netip.AddrFrom4(sa.Addr), uint16(sa.Port)), r.buf[:n])
		case *unix.SockaddrInet6:
			fn(netip.AddrPortFrom(netip.AddrFrom16(sa.Addr).Unmap(), uint16(sa.Port)), r.buf[:n])
		}
	}
	return max
}
