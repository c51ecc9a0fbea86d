package natscluster

import (
	"encoding/base64"
	"encoding/binary"

	"github.com/shardmq/shardmq/shards/cluster"
	"github.com/shardmq/shardmq/shards/store"
)

// The frames this package sends are binary: uvarint lengths and numbers,
// strings as length and bytes. Every frame starts with its version byte.
const frameVersion = 1

// appendString appends s with its length before it.
func appendString[T string | []byte](dst []byte, s T) []byte {
	dst = binary.AppendUvarint(dst, uint64(len(s)))
	return append(dst, s...)
}

// reader decodes a frame. Strings are cut from one string copy of the
// frame, so decoding a frame allocates once however many strings it has.
// A malformed frame sets err and makes every later read return zero.
type reader struct {
	s   string // the frame as a string
	b   []byte // the frame
	off int
	bad bool
}

func newReader(b []byte) *reader { return &reader{s: string(b), b: b} }

func (r *reader) uvarint() uint64 { return readNumber(r, binary.Uvarint) }

func (r *reader) varint() int64 { return readNumber(r, binary.Varint) }

// readNumber reads one number with decode.
func readNumber[T uint64 | int64](r *reader, decode func([]byte) (T, int)) T {
	if r.bad {
		return 0
	}
	v, n := decode(r.b[r.off:])
	if n <= 0 {
		r.bad = true
		return 0
	}
	r.off += n
	return v
}

func (r *reader) byte() byte {
	if r.bad || r.off >= len(r.b) {
		r.bad = true
		return 0
	}
	r.off++
	return r.b[r.off-1]
}

func (r *reader) span() (int, int) {
	n := r.uvarint()
	if r.bad || n > uint64(len(r.b)-r.off) {
		r.bad = true
		return 0, 0
	}
	start := r.off
	r.off += int(n)
	return start, r.off
}

func (r *reader) string() string {
	a, b := r.span()
	return r.s[a:b]
}

// bytes returns a slice of the frame (not a copy); nil when empty.
func (r *reader) bytes() []byte {
	a, b := r.span()
	if a == b {
		return nil
	}
	return r.b[a:b:b]
}

func (r *reader) done() bool { return !r.bad && r.off == len(r.b) }

// appendMessage encodes m with the groups a node must serve for it.
func appendMessage(dst []byte, m *store.Message, groups []cluster.Group) []byte {
	dst = appendString(dst, m.Topic)
	dst = appendString(dst, m.Payload)
	dst = appendString(dst, m.Properties)
	dst = appendString(dst, m.From)
	flags := m.QoS & 3
	if m.Retain {
		flags |= 4
	}
	dst = append(dst, flags)
	dst = binary.AppendVarint(dst, m.ExpireAt)
	dst = binary.AppendUvarint(dst, uint64(len(groups)))
	for _, g := range groups {
		dst = appendString(dst, g.Name)
		dst = appendString(dst, g.Filter)
	}
	return dst
}

// readMessage decodes what appendMessage encoded into m, appending the
// groups to gs.
func (r *reader) readMessage(m *store.Message, gs []cluster.Group) []cluster.Group {
	m.Topic = r.string()
	m.Payload = r.bytes()
	m.Properties = r.bytes()
	m.From = r.string()
	flags := r.byte()
	m.QoS, m.Retain = flags&3, flags&4 != 0
	m.ExpireAt = r.varint()
	n := r.uvarint()
	if n > uint64(len(r.b)) {
		r.bad = true
		return gs
	}
	for range n {
		gs = append(gs, cluster.Group{Name: r.string(), Filter: r.string()})
	}
	return gs
}

// token encodes s as one NATS subject token (and one key-value key
// token): s itself when it is made of letters, digits, '-' and '_' only,
// else '=' and its unpadded base64url ('=' alone for "").
func token(s string) string {
	if plainToken(s) {
		return s
	}
	return "=" + base64.RawURLEncoding.EncodeToString([]byte(s))
}

// untoken reverses token.
func untoken(t string) (string, bool) {
	if len(t) == 0 || t[0] != '=' {
		return t, plainToken(t)
	}
	b, err := base64.RawURLEncoding.DecodeString(t[1:])
	return string(b), err == nil
}

func plainToken(s string) bool {
	if s == "" {
		return false
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		if !(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '-' || c == '_') {
			return false
		}
	}
	return true
}
