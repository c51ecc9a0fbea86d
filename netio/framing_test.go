package netio

import (
	"bytes"
	"strconv"
	"testing"

	"github.com/shardmq/shardmq/mqtt"
)

// frameRecorder is a Handler that records the frames it is given.
type frameRecorder struct {
	echoHandler
	frames [][]byte
}

func (r *frameRecorder) OnFrame(c *Conn, h mqtt.FixedHeader, frame, body []byte) error {
	if !bytes.Equal(frame[h.HeaderLen:], body) {
		panic("body is not the frame's tail")
	}
	r.frames = append(r.frames, append([]byte(nil), frame...))
	return nil
}

// newTestConn returns a Conn wired to h without a socket, for framing.
func newTestConn(h Handler, maxPacket int) *Conn {
	srv := &Server{cfg: Config{MaxPacketSize: maxPacket}.withDefaults(), h: h}
	return &Conn{loop: &Loop{srv: srv}, heapIdx: -1}
}

// splitFrames parses stream in one piece, the reference for consume.
func splitFrames(stream []byte, max int) (frames [][]byte, err error) {
	for len(stream) > 0 {
		_, n, err := mqtt.Frame(stream, max)
		if err != nil {
			return frames, err
		}
		if n == 0 {
			return frames, nil
		}
		frames = append(frames, stream[:n])
		stream = stream[n:]
	}
	return frames, nil
}

// FuzzFraming feeds a byte stream to the framer in chunks of the given
// sizes and checks it yields exactly the frames a one-piece parse yields.
func FuzzFraming(f *testing.F) {
	pub := mqtt.AppendPublish(nil, &mqtt.Publish{Topic: []byte("a/b"), Payload: bytes.Repeat([]byte{'x'}, 300)}, mqtt.V311)
	stream := append(append(append([]byte(nil), pub...), 0xc0, 0x00), pub...)
	for i := 1; i <= 8; i++ {
		f.Add(stream, uint8(i))
	}
	f.Add([]byte{0x30, 0xff, 0xff, 0xff, 0xff, 0x01}, uint8(1))
	f.Add([]byte{0x30, 0x80}, uint8(1))
	f.Fuzz(func(t *testing.T, stream []byte, chunk uint8) {
		const max = 4096
		want, wantErr := splitFrames(stream, max)
		rec := &frameRecorder{}
		c := newTestConn(rec, max)
		step := int(chunk%32) + 1
		var err error
		for i := 0; i < len(stream) && err == nil; i += step {
			_, err = c.consume(stream[i:min(i+step, len(stream))])
		}
		if (err != nil) != (wantErr != nil) {
			t.Fatalf("error %v, want %v", err, wantErr)
		}
		if len(rec.frames) != len(want) {
			t.Fatalf("%d frames, want %d", len(rec.frames), len(want))
		}
		for i := range want {
			if !bytes.Equal(rec.frames[i], want[i]) {
				t.Fatalf("frame %d differs", i)
			}
		}
	})
}

// BenchmarkFraming measures framing a read full of small PUBLISHes.
func BenchmarkFraming(b *testing.B) {
	for _, size := range []int{16, 256, 4096} {
		pub := mqtt.AppendPublish(nil, &mqtt.Publish{Topic: []byte("a/b"), Payload: bytes.Repeat([]byte{'x'}, size)}, mqtt.V311)
		var read []byte
		for len(read) < 64<<10-len(pub) {
			read = append(read, pub...)
		}
		read = append(read, pub[:len(pub)/2]...) // a partial tail carried over
		b.Run("payload="+strconv.Itoa(size)+"b", func(b *testing.B) {
			b.ReportAllocs()
			b.SetBytes(int64(len(read)))
			c := newTestConn(&countingHandler{}, 1<<20)
			for i := 0; i < b.N; i++ {
				c.carry = c.carry[:0]
				if _, err := c.consume(read); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

type countingHandler struct {
	echoHandler
	n int
}

func (h *countingHandler) OnFrame(*Conn, mqtt.FixedHeader, []byte, []byte) error { h.n++; return nil }

// TestFramingAllocs holds framing to zero allocations per read once the
// carry buffer exists: whole frames are handed over in place and only a
// partial tail is copied.
func TestFramingAllocs(t *testing.T) {
	pub := mqtt.AppendPublish(nil, &mqtt.Publish{Topic: []byte("a/b"), Payload: bytes.Repeat([]byte{'x'}, 100)}, mqtt.V311)
	var withTail []byte // 50 frames and the head of a 51st
	for i := 0; i < 50; i++ {
		withTail = append(withTail, pub...)
	}
	withTail = append(withTail, pub[:40]...)
	tail := pub[40:]
	h := &countingHandler{}
	c := newTestConn(h, 1<<20)
	step := func() {
		if _, err := c.consume(withTail); err != nil {
			t.Fatal(err)
		}
		if _, err := c.consume(tail); err != nil {
			t.Fatal(err)
		}
	}
	step()
	if got := testing.AllocsPerRun(100, step); got != 0 {
		t.Fatalf("%.1f allocations per read, want 0", got)
	}
	// One call above, then AllocsPerRun's warm-up and 100 runs.
	if want := 102 * 51; h.n != want {
		t.Fatalf("%d frames, want %d", h.n, want)
	}
}
