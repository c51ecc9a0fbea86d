package disk

import "encoding/binary"

// The key layout. Every key starts with a one-byte table tag:
//
//	0x00 'v'                                  format version (formatKey)
//	'c' uvarint(len(id)) id 0x01              session record
//	'c' uvarint(len(id)) id 0x02 seq8 0x00    queued message (delivery record)
//	'c' uvarint(len(id)) id 0x02 seq8 0x01    in-flight mark of that message
//	'c' uvarint(len(id)) id 0x03 pid2         inbound QoS 2 id awaiting PUBREL
//	'r' topic                                 retained message
//	'b' id8                                   message body shared by deliveries
//
// seq8 and pid2 are big-endian, so a forward scan of one client's keys
// yields its session, then each message in Seq order directly followed by
// its in-flight mark, then its awaiting-PUBREL ids: Load streams a session
// with one iterator and holds one session at a time. The length prefix
// makes a client's keys a range of their own whatever bytes the id holds,
// so SessionDiscarded is one range deletion. Keys depend on the client id
// only, not on the shard: a session that lives on another shard after a
// restart finds its keys where they were.
const (
	tagMeta     = 0x00
	tagClient   = 'c'
	tagRetained = 'r'
	tagBody     = 'b'

	subSession  = 0x01
	subMessage  = 0x02
	subAwaitRel = 0x03
	subEnd      = 0xff // above every sub-tag: the end of a client's range

	seqBody   = 0x00
	seqFlight = 0x01
)

// formatKey holds the store's format version.
var formatKey = []byte{tagMeta, 'v'}

// appendClient appends the prefix of id's keys.
func appendClient(dst []byte, id string) []byte {
	dst = append(dst, tagClient)
	dst = binary.AppendUvarint(dst, uint64(len(id)))
	return append(dst, id...)
}

func appendSessionKey(dst []byte, id string) []byte {
	return append(appendClient(dst, id), subSession)
}

func appendMessageKey(dst []byte, id string, seq uint64, part byte) []byte {
	dst = append(appendClient(dst, id), subMessage)
	dst = binary.BigEndian.AppendUint64(dst, seq)
	return append(dst, part)
}

func appendAwaitRelKey(dst []byte, id string, pid uint16) []byte {
	dst = append(appendClient(dst, id), subAwaitRel)
	return binary.BigEndian.AppendUint16(dst, pid)
}

func appendBodyKey(dst []byte, id uint64) []byte {
	return binary.BigEndian.AppendUint64(append(dst, tagBody), id)
}

func appendRetainedKey(dst []byte, topic string) []byte {
	return append(append(dst, tagRetained), topic...)
}

// clientKey is a decoded key of the client table.
type clientKey struct {
	id   []byte // aliases the key
	sub  byte
	seq  uint64 // subMessage
	part byte   // subMessage: seqBody or seqFlight
	pid  uint16 // subAwaitRel
}

// parseClientKey decodes a key that starts with tagClient; ok is false
// when it is malformed.
func parseClientKey(k []byte) (ck clientKey, ok bool) {
	if len(k) < 2 || k[0] != tagClient {
		return ck, false
	}
	n, w := binary.Uvarint(k[1:])
	if w <= 0 || n > uint64(len(k)) {
		return ck, false
	}
	rest := k[1+w:]
	if uint64(len(rest)) < n+1 {
		return ck, false
	}
	ck.id, rest = rest[:n], rest[n:]
	ck.sub, rest = rest[0], rest[1:]
	switch ck.sub {
	case subSession:
		return ck, len(rest) == 0
	case subMessage:
		if len(rest) != 9 || rest[8] > seqFlight {
			return ck, false
		}
		ck.seq, ck.part = binary.BigEndian.Uint64(rest), rest[8]
		return ck, true
	case subAwaitRel:
		if len(rest) != 2 {
			return ck, false
		}
		ck.pid = binary.BigEndian.Uint16(rest)
		return ck, true
	}
	return ck, false
}
