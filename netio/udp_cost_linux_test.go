package netio

import (
	"net"
	"net/netip"
	"runtime"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"golang.org/x/sys/unix"
)

// threadCPU returns the CPU time (user and system) of the calling OS
// thread.
func threadCPU(b *testing.B) time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(unix.RUSAGE_THREAD, &ru); err != nil {
		b.Fatal(err)
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

// BenchmarkUDPLoopbackCost measures what the kernel alone charges for one
// MQTT-SN-sized datagram (76 bytes: a QoS 0 PUBLISH of 64 bytes) on
// loopback, the floor under the gateway's fan-in: 1,000 connected
// sockets write one datagram a syscall, as the bench's MQTT-SN
// publishers do, and one thread reads them with recvmmsg 32 at a time,
// as burstReader does. It reports the CPU time of the sending threads
// (the loopback delivery into the receiving socket runs on them) and of
// the receiving thread, per datagram received; the senders keep at most
// 2,000 datagrams in flight so that none is dropped.
func BenchmarkUDPLoopbackCost(b *testing.B) {
	const socks, senders, inflight = 1000, 4, 2000
	ln, err := net.ListenUDP("udp", &net.UDPAddr{IP: net.IPv4(127, 0, 0, 1)})
	if err != nil {
		b.Fatal(err)
	}
	defer ln.Close()
	_ = ln.SetReadBuffer(8 << 20)
	conns := make([]*net.UDPConn, socks)
	for i := range conns {
		if conns[i], err = net.DialUDP("udp", nil, ln.LocalAddr().(*net.UDPAddr)); err != nil {
			b.Fatal(err)
		}
		defer conns[i].Close()
	}
	rc, err := ln.SyscallConn()
	if err != nil {
		b.Fatal(err)
	}
	var received atomic.Int64
	var recvCPU time.Duration
	done := make(chan struct{})
	b.ReportAllocs()
	b.ResetTimer()
	go func() {
		defer close(done)
		runtime.LockOSThread()
		defer runtime.UnlockOSThread()
		r := newBurstReader()
		t0 := threadCPU(b)
		for received.Load() < int64(b.N) {
			// Read while the socket has datagrams; the RawConn waits for
			// readiness when it has none.
			_ = rc.Read(func(fd uintptr) bool {
				n := r.read(int(fd), udpBurst, func(netip.AddrPort, []byte) {})
				received.Add(int64(n))
				return n > 0 || received.Load() >= int64(b.N)
			})
		}
		recvCPU = threadCPU(b) - t0
	}()
	msg := make([]byte, 76)
	var sent atomic.Int64
	var mu sync.Mutex
	var sendCPU time.Duration
	var wg sync.WaitGroup
	for g := 0; g < senders; g++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			runtime.LockOSThread()
			defer runtime.UnlockOSThread()
			t0 := threadCPU(b)
			for i := g; ; i += senders {
				if sent.Add(1) > int64(b.N) {
					break
				}
				for sent.Load()-received.Load() > inflight {
					time.Sleep(20 * time.Microsecond)
				}
				if _, err := conns[i%socks].Write(msg); err != nil {
					b.Error(err)
					return
				}
			}
			mu.Lock()
			sendCPU += threadCPU(b) - t0
			mu.Unlock()
		}()
	}
	wg.Wait()
	select {
	case <-done:
	case <-time.After(10 * time.Second):
		b.Fatalf("received %d of %d datagrams", received.Load(), b.N)
	}
	b.StopTimer()
	b.ReportMetric(float64(sendCPU.Nanoseconds())/float64(b.N), "send-cpu-ns/datagram")
	b.ReportMetric(float64(recvCPU.Nanoseconds())/float64(b.N), "recv-cpu-ns/datagram")
}
