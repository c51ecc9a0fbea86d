package netio

import (
	"fmt"
	"net"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

// BenchmarkAccept measures the connect rate of the accept path, gnet's
// (control=false) and the Server's own with ListenerControl
// (control=true): 8 clients on 127.0.0.1 each dial, send a PINGREQ, read
// its echo and close, b.N times in all; connects/s is the rate. The
// clients run on the same cores as the server.
func BenchmarkAccept(b *testing.B) {
	for _, control := range []bool{false, true} {
		b.Run(fmt.Sprintf("control=%v", control), func(b *testing.B) { benchAccept(b, control) })
	}
}

func benchAccept(b *testing.B, control bool) {
	s := startListeners(b, Config{ListenerControl: control, Listeners: []Listener{{Addr: "127.0.0.1:0"}}}, &echoHandler{})
	addr := s.Addr().String()
	var next atomic.Int64
	var failed atomic.Value
	var wg sync.WaitGroup
	b.ReportAllocs()
	start := time.Now()
	b.ResetTimer()
	for range 8 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			buf := make([]byte, 2)
			for next.Add(1) <= int64(b.N) {
				c, err := net.Dial("tcp", addr)
				if err != nil {
					failed.Store(err)
					return
				}
				_, err = c.Write([]byte{0xc0, 0x00})
				if err == nil {
					_ = c.SetReadDeadline(time.Now().Add(10 * time.Second))
					_, err = c.Read(buf)
				}
				c.Close()
				if err != nil {
					failed.Store(err)
					return
				}
			}
		}()
	}
	wg.Wait()
	b.StopTimer()
	if err, _ := failed.Load().(error); err != nil {
		b.Fatal(err)
	}
	b.ReportMetric(float64(b.N)/time.Since(start).Seconds(), "connects/s")
}
