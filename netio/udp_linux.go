package netio

import (
	"net/netip"
	"unsafe"

	"golang.org/x/sys/unix"
)

// udpBatch is how many datagrams one recvmmsg takes.
const udpBatch = 32

// burstReader takes the datagrams waiting on a udp socket with recvmmsg,
// udpBatch at a time: one syscall for a batch instead of one per
// datagram. Owned by the udp engine's loop.
type burstReader struct {
	hdrs  [udpBatch]unix.Mmsghdr
	iovs  [udpBatch]unix.Iovec
	names [udpBatch]unix.RawSockaddrInet6
	bufs  [udpBatch][]byte
}

func newBurstReader() *burstReader {
	r := &burstReader{}
	for i := range r.bufs {
		// A whole datagram fits; only the pages a datagram fills become
		// resident.
		r.bufs[i] = make([]byte, 64<<10)
		r.iovs[i].Base = &r.bufs[i][0]
		r.iovs[i].SetLen(len(r.bufs[i]))
	}
	return r
}

// read takes up to max datagrams from fd without blocking and hands each
// to fn (b valid only during the call); it returns how many it took.
func (r *burstReader) read(fd, max int, fn func(from netip.AddrPort, b []byte)) int {
	total := 0
	for total < max {
		want := min(udpBatch, max-total)
		for i := 0; i < want; i++ {
			h := &r.hdrs[i].Hdr
			h.Name = (*byte)(unsafe.Pointer(&r.names[i]))
			h.Namelen = unix.SizeofSockaddrInet6
			h.Iov = &r.iovs[i]
			h.SetIovlen(1)
			h.Flags = 0
			r.hdrs[i].Len = 0
		}
		n, _, errno := unix.Syscall6(unix.SYS_RECVMMSG, uintptr(fd), uintptr(unsafe.Pointer(&r.hdrs[0])),
			uintptr(want), unix.MSG_DONTWAIT, 0, 0)
		if errno != 0 || n == 0 {
			return total
		}
		for i := 0; i < int(n); i++ {
			if r.hdrs[i].Hdr.Flags&unix.MSG_TRUNC != 0 {
				continue // larger than any datagram the buffer holds
			}
			from := sockaddrPort(&r.names[i])
			if from.IsValid() {
				fn(from, r.bufs[i][:r.hdrs[i].Len])
			}
		}
		total += int(n)
		if int(n) < want {
			return total
		}
	}
	return total
}

// sockaddrPort reads the address recvmmsg wrote, IPv4 or IPv6, unmapped.
func sockaddrPort(sa *unix.RawSockaddrInet6) netip.AddrPort {
	port := uint16(sa.Port>>8) | uint16(sa.Port<<8) // network order
	switch sa.Family {
	case unix.AF_INET:
		sa4 := (*unix.RawSockaddrInet4)(unsafe.Pointer(sa))
		return netip.AddrPortFrom(netip.AddrFrom4(sa4.Addr), port)
	case unix.AF_INET6:
		return netip.AddrPortFrom(netip.AddrFrom16(sa.Addr).Unmap(), port)
	}
	return netip.AddrPort{}
}
