package mqtt

import (
	"bytes"
	"testing"
	"unicode/utf8"
)

// addFrameSeeds adds every vector and malformed frame, whole and cut at
// every byte, with each version.
func addFrameSeeds(f *testing.F) {
	for _, tc := range vectors {
		for cut := 0; cut <= len(tc.raw); cut++ {
			f.Add(tc.raw[:cut], uint16(0), byte(tc.v))
		}
		f.Add(tc.raw, uint16(len(tc.raw)-1), byte(tc.v))
	}
	for _, tc := range malformedTests {
		f.Add(tc.raw, uint16(0), byte(tc.v))
	}
}

// versionOf maps a fuzzed byte to one of the three protocol versions.
func versionOf(c byte) Version { return []Version{V31, V311, V5}[c%3] }

// FuzzFrame frames a fuzzed stream packet by packet and decodes every
// complete frame, checking Frame's contract on the way.
func FuzzFrame(f *testing.F) {
	addFrameSeeds(f)
	// The maximum packet size is a uint16 rather than an int: the fuzzer
	// minimizes an integer by counting it down, which takes its whole
	// minimization time for a large int.
	f.Fuzz(func(t *testing.T, data []byte, max16 uint16, vb byte) {
		v, max := versionOf(vb), int(max16)
		for len(data) > 0 {
			h, n, err := Frame(data, max)
			if err != nil {
				if Code(err) != MalformedPacket && Code(err) != PacketTooLarge {
					t.Fatalf("Frame error %v has code %v", err, Code(err))
				}
				return
			}
			if n == 0 {
				if h.HeaderLen > 0 && len(data) >= h.HeaderLen+h.RemainingLength {
					t.Fatalf("need more with %d bytes for %+v", len(data), h)
				}
				return
			}
			if n != h.HeaderLen+h.RemainingLength || n > len(data) || h.HeaderLen < 2 || h.HeaderLen > 5 {
				t.Fatalf("Frame = %+v, %d with %d bytes", h, n, len(data))
			}
			if max > 0 && n > max {
				t.Fatalf("frame of %d bytes passed maximum %d", n, max)
			}
			// Any prefix of a complete frame is "need more".
			if _, m, err := Frame(data[:n-1], max); m != 0 || err != nil {
				t.Fatalf("prefix of a frame: %d, %v", m, err)
			}
			// Decoding only: FuzzDecode checks the round trip. Keeping
			// this target cheap keeps the fuzzer's minimization of new
			// inputs (up to -fuzzminimizetime each) short.
			if err := decodeInto(newPacket(h.Type), h, data[h.HeaderLen:n], v); err != nil && !Code(err).IsError() {
				t.Fatalf("error %v carries no failure code", err)
			}
			data = data[n:]
		}
	})
}

// FuzzDecode feeds a fuzzed body to the Decode method of the packet type in
// the fuzzed first byte.
func FuzzDecode(f *testing.F) {
	for _, tc := range vectors {
		if h, n, err := Frame(tc.raw, 0); err == nil && n > 0 {
			f.Add(tc.raw[0], tc.raw[h.HeaderLen:n], byte(tc.v))
		}
	}
	for _, tc := range malformedTests {
		if h, n, err := Frame(tc.raw, 0); err == nil && n > 0 {
			f.Add(tc.raw[0], tc.raw[h.HeaderLen:n], byte(tc.v))
		}
	}
	f.Fuzz(func(t *testing.T, first byte, body []byte, vb byte) {
		h := FixedHeader{Type: PacketType(first >> 4), Flags: first & 15, RemainingLength: len(body), HeaderLen: 2}
		if h.Type == 0 {
			return
		}
		checkDecode(t, h, body, versionOf(vb))
	})
}

// checkDecode decodes body; when that succeeds, the packet must encode to
// exactly Size bytes that decode again and encode to the same bytes.
func checkDecode(t *testing.T, h FixedHeader, body []byte, v Version) {
	p := newPacket(h.Type)
	err := decodeInto(p, h, body, v)
	if err != nil {
		if !Code(err).IsError() {
			t.Fatalf("error %v carries no failure code", err)
		}
		return
	}
	if c, ok := p.(*Connect); ok {
		v = c.Version
	}
	enc := encode(nil, p, v)
	if n := p.(sizer).Size(v); n != len(enc) {
		t.Fatalf("Size = %d, encoded %d bytes", n, len(enc))
	}
	// Byte equality of the two encodings stands for equality of the
	// packets: it is what the fuzzer can afford on every input (fmt is
	// too slow for the minimizer).
	again, err := decodeFrame(enc, v, 0)
	if err != nil {
		t.Fatalf("re-encoded %s does not decode: %v\n% x", show(p), err, enc)
	}
	if enc2 := encode(nil, again, v); !bytes.Equal(enc, enc2) {
		t.Fatalf("round trip differs\nfirst: %s\nagain: %s\n% x\n% x", show(p), show(again), enc, enc2)
	}
}

// FuzzValidUTF8String compares ValidUTF8String with its definition.
func FuzzValidUTF8String(f *testing.F) {
	for _, s := range []string{"", "a/b", "é", "\x00", "\xed\xa0\x80", "\xc0\x80", "a😀"} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, s []byte) {
		want := utf8.Valid(s) && bytes.IndexByte(s, 0) < 0
		if got := ValidUTF8String(s) == nil; got != want {
			t.Fatalf("ValidUTF8String(% x) = %v, want %v", s, got, want)
		}
	})
}

// FuzzReadVarint checks that every integer ReadVarint accepts encodes back
// to the same bytes.
func FuzzReadVarint(f *testing.F) {
	for _, s := range [][]byte{{0}, {0x7f}, {0x80, 0x01}, {0xff, 0xff, 0xff, 0x7f}, {0x80, 0x00}, {0xff, 0xff, 0xff, 0xff, 0x01}} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s []byte) {
		v, n, err := ReadVarint(s)
		if err != nil || n == 0 {
			return
		}
		if enc := AppendVarint(nil, v); !bytes.Equal(enc, s[:n]) {
			t.Fatalf("ReadVarint(% x) = %d, %d; encodes to % x", s, v, n, enc)
		}
	})
}

// FuzzPlainTopicName checks that the PUBLISH fast path accepts only what
// the full rules accept, and every plain ASCII name they accept.
func FuzzPlainTopicName(f *testing.F) {
	for _, s := range []string{"a/b", "abcdefgh+", "#", "\x00", "é", "sensors/building-7/floor-3/temperature"} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, s []byte) {
		full := ValidUTF8String(s) == nil && ValidTopicName(s) == nil
		ascii := true
		for _, c := range s {
			ascii = ascii && c < utf8.RuneSelf
		}
		if got := plainTopicName(s); got && !full || !got && full && ascii {
			t.Fatalf("plainTopicName(%q) = %v, full rules %v", s, got, full)
		}
	})
}
