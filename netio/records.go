package netio

import (
	"crypto"
	"crypto/aes"
	"crypto/cipher"
	"crypto/hkdf"
	"crypto/hmac"
	"crypto/tls"
	"encoding/binary"
	"fmt"
	"slices"
	"time"

	"golang.org/x/crypto/chacha20poly1305"
)

// The TLS record layer of an established connection (RFC 8446 section 5
// for TLS 1.3, RFC 5246 section 6.2 with RFC 5288 and RFC 7905 for TLS
// 1.2's AEAD suites), run on the connection's loop: records are opened in
// place in gnet's read buffer and their plaintext moved together for MQTT
// framing; the Handler's writes of a batch are sealed into the loop's
// buffer and written with one syscall per 64 KiB. The keys come from the
// handshake (handshake.go).
//
// An AES-GCM cipher holds about 770 B of expanded key and GHASH table per
// direction; an idle connection should not, so a connection's ciphers are
// built when it first reads or writes and dropped when it has done neither
// for cipherIdle (the keys stay: rebuilding costs about a microsecond).

// TLS record types (RFC 8446 section 5.1).
const (
	recordTypeChangeCipherSpec = 20
	recordTypeAlert            = 21
	recordTypeHandshake        = 22
	recordTypeApplicationData  = 23
	recordHeaderLen            = 5
	maxPlaintext               = 1 << 14
	maxCiphertext12            = maxPlaintext + 2048
	maxCiphertext13            = maxPlaintext + 256
	// sealFlush is how many sealed bytes the loop buffers before a write.
	sealFlush = 64 << 10
	// keyUpdateAfter is the number of records after which the server
	// updates its TLS 1.3 write key: below AES-GCM's limit of 2^24.5
	// full-size records (RFC 8446 section 5.5).
	keyUpdateAfter = 1 << 24
)

// cipherIdle is how long a TLS connection keeps its ciphers without
// traffic: each loop sweeps every cipherIdle/2, so idle ciphers go after
// 0.5-1 s. A connection that talks less often rebuilds them (about a
// microsecond and 770 B of garbage a direction); one that talks more
// often keeps them.
const cipherIdle = time.Second

// suite is a cipher suite the record layer implements.
type suite struct {
	hash   crypto.Hash
	keyLen int
	ivLen  int  // TLS 1.2's implicit IV (4 for GCM); TLS 1.3 and ChaCha20 use 12
	chacha bool // ChaCha20-Poly1305, else AES-GCM
}

var (
	suiteAES128 = &suite{hash: crypto.SHA256, keyLen: 16, ivLen: 4}
	suiteAES256 = &suite{hash: crypto.SHA384, keyLen: 32, ivLen: 4}
	suiteChaCha = &suite{hash: crypto.SHA256, keyLen: 32, ivLen: 12, chacha: true}
)

// suiteOf returns the record layer of a negotiated cipher suite.
func suiteOf(id uint16) (*suite, bool) {
	switch id {
	case tls.TLS_AES_128_GCM_SHA256, tls.TLS_ECDHE_ECDSA_WITH_AES_128_GCM_SHA256, tls.TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256:
		return suiteAES128, true
	case tls.TLS_AES_256_GCM_SHA384, tls.TLS_ECDHE_ECDSA_WITH_AES_256_GCM_SHA384, tls.TLS_ECDHE_RSA_WITH_AES_256_GCM_SHA384:
		return suiteAES256, true
	case tls.TLS_CHACHA20_POLY1305_SHA256, tls.TLS_ECDHE_ECDSA_WITH_CHACHA20_POLY1305_SHA256, tls.TLS_ECDHE_RSA_WITH_CHACHA20_POLY1305_SHA256:
		return suiteChaCha, true
	}
	return nil, false
}

// half is one direction's keys.
type half struct {
	seq uint64
	iv  [12]byte
	// secret is TLS 1.3's traffic secret, from which the key is derived
	// when the cipher is built and the next secret at a KeyUpdate; in TLS
	// 1.2 it holds the key itself.
	secret [48]byte
}

// records is a connection's TLS record layer; owned by its loop.
type records struct {
	suite *suite
	// live holds the ciphers while the connection has traffic; nil when
	// idle (built on use, dropped by the sweep).
	live   *ciphers
	rd, wr half
	carry  *recordCarry // nil while no record straddles reads
	vers   uint16
	used   bool // read or written since the last sweep
	listed bool // in its loop's ciphered list
}

// ciphers are a record layer's working state: each direction's AEAD (nil
// until used) and the scratch of a record's nonce and additional data.
// An idle connection drops them (records.idle) and keeps only its
// secrets and sequence numbers: about 800 B a direction of expanded keys
// less.
type ciphers struct {
	rd, wr cipher.AEAD
	nonce  [12]byte
	aad    [13]byte
}

// recordCarry holds an incomplete record carried to the next read. When a
// read completes it, its plaintext is framed from partial's buffer, so a
// new incomplete record goes to spare and the two swap.
type recordCarry struct {
	partial, spare []byte
}

// cipher returns h's AEAD, building it on first use.
func (r *records) cipher(h *half) cipher.AEAD {
	if r.live == nil {
		r.live = &ciphers{}
	}
	a := r.aeadOf(h)
	if *a == nil {
		key := h.secret[:r.suite.keyLen]
		if r.vers == tls.VersionTLS13 {
			key = expandLabel(r.suite.hash, h.secret[:r.suite.hash.Size()], "key", r.suite.keyLen)
		}
		if r.suite.chacha {
			*a, _ = chacha20poly1305.New(key)
		} else {
			block, _ := aes.NewCipher(key)
			*a, _ = cipher.NewGCM(block)
		}
	}
	return *a
}

// aeadOf returns where h's AEAD is kept; r.live must be set.
func (r *records) aeadOf(h *half) *cipher.AEAD {
	if h == &r.wr {
		return &r.live.wr
	}
	return &r.live.rd
}

// rekey moves h to its next TLS 1.3 traffic secret (KeyUpdate); its
// cipher is built anew on next use.
func (r *records) rekey(h *half) {
	h.update(r.suite)
	if r.live != nil {
		*r.aeadOf(h) = nil
	}
}

// expandLabel is TLS 1.3's HKDF-Expand-Label (RFC 8446 section 7.1) with
// an empty context.
func expandLabel(h crypto.Hash, secret []byte, label string, n int) []byte {
	info := make([]byte, 0, 4+len("tls13 ")+len(label))
	info = binary.BigEndian.AppendUint16(info, uint16(n))
	info = append(info, byte(len("tls13 ")+len(label)))
	info = append(info, "tls13 "...)
	info = append(info, label...)
	info = append(info, 0)
	out, _ := hkdf.Expand(h.New, secret, string(info), n)
	return out
}

// setSecret derives h's key and IV from a TLS 1.3 traffic secret.
func (h *half) setSecret(s *suite, secret []byte) {
	copy(h.secret[:], secret)
	copy(h.iv[:], expandLabel(s.hash, secret, "iv", 12))
	h.seq = 0
}

// update moves h to the next TLS 1.3 traffic secret (KeyUpdate).
func (h *half) update(s *suite) {
	h.setSecret(s, expandLabel(s.hash, h.secret[:s.hash.Size()], "traffic upd", s.hash.Size()))
}

// keysTLS12 derives both directions' keys from a TLS 1.2 master secret
// (RFC 5246 section 6.3).
func (r *records) keysTLS12(master, clientRandom, serverRandom []byte) {
	s := r.suite
	seed := append(append([]byte("key expansion"), serverRandom...), clientRandom...)
	kb := prf12(s.hash, master, seed, 2*s.keyLen+2*s.ivLen)
	copy(r.rd.secret[:], kb[:s.keyLen])
	copy(r.wr.secret[:], kb[s.keyLen:2*s.keyLen])
	copy(r.rd.iv[:], kb[2*s.keyLen:2*s.keyLen+s.ivLen])
	copy(r.wr.iv[:], kb[2*s.keyLen+s.ivLen:])
}

// prf12 is TLS 1.2's PRF, P_hash (RFC 5246 section 5); seed holds the
// label.
func prf12(h crypto.Hash, secret, seed []byte, n int) []byte {
	out := make([]byte, 0, n+h.Size())
	mac := hmac.New(h.New, secret)
	mac.Write(seed)
	a := mac.Sum(nil)
	for len(out) < n {
		mac.Reset()
		mac.Write(a)
		mac.Write(seed)
		out = mac.Sum(out)
		mac.Reset()
		mac.Write(a)
		a = mac.Sum(a[:0])
	}
	return out[:n]
}

// xorNonce sets the nonce scratch to h's IV xor its sequence number (TLS
// 1.3, and ChaCha20-Poly1305 in TLS 1.2); call it after r.cipher.
func (r *records) xorNonce(h *half) []byte {
	n := &r.live.nonce
	*n = h.iv
	for i := 0; i < 8; i++ {
		n[4+i] ^= byte(h.seq >> (56 - 8*i))
	}
	return n[:]
}

// nonce12 sets the nonce scratch to AES-GCM's TLS 1.2 nonce: h's implicit
// IV and the explicit part; call it after r.cipher.
func (r *records) nonce12(h *half, explicit []byte) []byte {
	n := &r.live.nonce
	copy(n[:4], h.iv[:4])
	copy(n[4:], explicit)
	return n[:]
}

// aad12 sets the additional data scratch to TLS 1.2's: seq, type,
// version, plaintext length; call it after r.cipher.
func (r *records) aad12(h *half, typ byte, n int) []byte {
	a := &r.live.aad
	binary.BigEndian.PutUint64(a[:8], h.seq)
	a[8], a[9], a[10] = typ, 3, 3
	binary.BigEndian.PutUint16(a[11:], uint16(n))
	return a[:]
}

// errRecord is a record that does not open.
var errRecord = fmt.Errorf("%w: record does not decrypt", ErrTLSRecord)

// openRecord decrypts rec, one whole record, in place under h (whose
// sequence number it does not advance) and returns its plaintext and
// content type.
func (r *records) openRecord(h *half, rec []byte) ([]byte, byte, error) {
	aead := r.cipher(h)
	body := rec[recordHeaderLen:]
	typ := rec[0]
	switch {
	case r.vers == tls.VersionTLS13:
		if typ != recordTypeApplicationData || len(body) < aead.Overhead()+1 {
			return nil, 0, fmt.Errorf("%w: unprotected record of type %d", ErrTLSRecord, typ)
		}
		pt, err := aead.Open(body[:0], r.xorNonce(h), body, rec[:recordHeaderLen])
		if err != nil {
			return nil, 0, errRecord
		}
		i := len(pt) - 1
		for i >= 0 && pt[i] == 0 {
			i--
		}
		if i < 0 {
			return nil, 0, fmt.Errorf("%w: record without a content type", ErrTLSRecord)
		}
		return pt[:i], pt[i], nil
	case r.suite.chacha:
		if len(body) < aead.Overhead() {
			return nil, 0, errRecord
		}
		pt, err := aead.Open(body[:0], r.xorNonce(h), body, r.aad12(h, typ, len(body)-aead.Overhead()))
		if err != nil {
			return nil, 0, errRecord
		}
		return pt, typ, nil
	default: // AES-GCM in TLS 1.2: an explicit nonce of 8 bytes first
		if len(body) < 8+aead.Overhead() {
			return nil, 0, errRecord
		}
		ct := body[8:]
		pt, err := aead.Open(ct[:0], r.nonce12(h, body[:8]), ct, r.aad12(h, typ, len(ct)-aead.Overhead()))
		if err != nil {
			return nil, 0, errRecord
		}
		return pt, typ, nil
	}
}

// openCopy opens a copy of rec under h; the handshake checks its keys
// with it.
func (r *records) openCopy(h *half, rec []byte) ([]byte, byte, error) {
	return r.openRecord(h, slices.Clone(rec))
}

// touch marks r used and makes sure its loop will sweep its ciphers.
func (r *records) touch(c *Conn) {
	r.used = true
	if !r.listed {
		r.listed = true
		c.loop.ciphered = append(c.loop.ciphered, c)
	}
}

// moved hands r to c, its connection on a new loop (a migration, or the
// end of the handshake).
func (r *records) moved(c *Conn) {
	r.listed = false
	if r.live != nil || r.carry != nil {
		r.touch(c)
	}
}

// idle drops what an idle connection does not need: its ciphers and
// empty buffers.
func (r *records) idle() {
	r.live = nil
	if r.carry != nil && len(r.carry.partial) == 0 {
		r.carry = nil
	} else if r.carry != nil {
		r.carry.spare = nil
	}
}

// sweepCiphers drops the ciphers of the loop's TLS connections that had no
// traffic since the last sweep.
func (l *Loop) sweepCiphers() {
	keep := l.ciphered[:0]
	for _, c := range l.ciphered {
		tr := c.transport()
		if c.closed || c.movedAway || tr == nil || tr.tls == nil {
			continue
		}
		if r := tr.tls; r.used {
			r.used = false
			keep = append(keep, c)
		} else {
			r.idle()
			r.listed = false
		}
	}
	clear(l.ciphered[len(keep):])
	l.ciphered = keep
}

// recordLen returns the length of the record whose header starts b, or
// an error for a header no client sends.
func (r *records) recordLen(b []byte) (int, error) {
	n := int(binary.BigEndian.Uint16(b[3:5]))
	max := maxCiphertext12
	if r.vers == tls.VersionTLS13 {
		max = maxCiphertext13
	}
	if n > max || b[1] != 3 {
		return 0, fmt.Errorf("%w: record header % x", ErrTLSRecord, b[:recordHeaderLen])
	}
	return recordHeaderLen + n, nil
}

// open decrypts the records of raw, just read from c, in place and
// appends their plaintext to chunks: the plaintext of a record completed
// from the last read first (in r's buffer), then that of raw's records,
// moved together at its start. A partial record at the end is kept for the
// next read. Alerts and TLS 1.3 KeyUpdates are handled here; a client's
// close_notify returns errPeerClosed after the plaintext before it.
func (r *records) open(c *Conn, raw []byte, chunks [][]byte) ([][]byte, error) {
	r.touch(c)
	inUse := false // carry's partial buffer holds plaintext in chunks
	if cb := r.carry; cb != nil && len(cb.partial) > 0 {
		if len(cb.partial) < recordHeaderLen {
			k := min(recordHeaderLen-len(cb.partial), len(raw))
			cb.partial = append(cb.partial, raw[:k]...)
			raw = raw[k:]
			if len(cb.partial) < recordHeaderLen {
				return chunks, nil
			}
		}
		n, err := r.recordLen(cb.partial)
		if err != nil {
			return chunks, err
		}
		k := min(n-len(cb.partial), len(raw))
		cb.partial = append(cb.partial, raw[:k]...)
		raw = raw[k:]
		if len(cb.partial) < n {
			return chunks, nil
		}
		pt, typ, err := r.openRecord(&r.rd, cb.partial)
		if err != nil {
			return chunks, err
		}
		r.rd.seq++
		if typ == recordTypeApplicationData {
			inUse = len(pt) > 0
			chunks = append(chunks, pt)
		} else if err := r.control(c, typ, pt); err != nil {
			return chunks, err
		}
		cb.partial = cb.partial[:0]
	}
	w, i := 0, 0
	var err error
	for len(raw)-i >= recordHeaderLen {
		var n int
		if n, err = r.recordLen(raw[i:]); err != nil {
			break
		}
		if len(raw)-i < n {
			break
		}
		var pt []byte
		var typ byte
		if pt, typ, err = r.openRecord(&r.rd, raw[i:i+n]); err != nil {
			break
		}
		r.rd.seq++
		i += n
		if typ == recordTypeApplicationData {
			w += copy(raw[w:], pt)
		} else if err = r.control(c, typ, pt); err != nil {
			break
		}
	}
	if err == nil && i < len(raw) {
		if r.carry == nil {
			r.carry = &recordCarry{}
		}
		cb := r.carry
		if inUse {
			cb.spare = append(cb.spare[:0], raw[i:]...)
			cb.partial, cb.spare = cb.spare, cb.partial
		} else {
			cb.partial = append(cb.partial[:0], raw[i:]...)
		}
	}
	if w > 0 {
		chunks = append(chunks, raw[:w])
	}
	return chunks, err
}

// control handles a record that is not application data.
func (r *records) control(c *Conn, typ byte, pt []byte) error {
	switch typ {
	case recordTypeAlert:
		if len(pt) != 2 {
			return fmt.Errorf("%w: alert of %d bytes", ErrTLSRecord, len(pt))
		}
		if pt[1] == 0 { // close_notify
			return errPeerClosed
		}
		if pt[0] == 1 && r.vers != tls.VersionTLS13 { // a warning: go on
			return nil
		}
		return fmt.Errorf("%w: alert %d from the client", ErrTLSRecord, pt[1])
	case recordTypeHandshake:
		if r.vers != tls.VersionTLS13 {
			return fmt.Errorf("%w: renegotiation is not supported", ErrTLSRecord)
		}
		for len(pt) > 0 {
			// KeyUpdate (RFC 8446 section 4.6.3): type 24, length 1,
			// request_update.
			if len(pt) < 5 || pt[0] != 24 || pt[1] != 0 || pt[2] != 0 || pt[3] != 1 || pt[4] > 1 {
				return fmt.Errorf("%w: unexpected handshake message after the handshake", ErrTLSRecord)
			}
			r.rekey(&r.rd)
			if pt[4] == 1 {
				r.sendKeyUpdate(c)
			}
			pt = pt[5:]
		}
		return nil
	}
	return fmt.Errorf("%w: record of type %d after the handshake", ErrTLSRecord, typ)
}

// keyUpdate is a KeyUpdate message without a request for the peer's.
var keyUpdate = []byte{24, 0, 0, 1, 0}

// sendKeyUpdate sends a KeyUpdate and moves to the next write key.
func (r *records) sendKeyUpdate(c *Conn) {
	n, _ := r.seal(c, recordTypeHandshake, [][]byte{keyUpdate})
	c.bytesOut += uint64(n)
	r.rekey(&r.wr)
}

// seal writes bufs to c's socket as records of type typ and returns the
// bytes written.
func (r *records) seal(c *Conn, typ byte, bufs [][]byte) (int, error) {
	r.touch(c)
	l := c.loop
	out := l.sealBuf[:0]
	written := 0
	bi, off := 0, 0
	for {
		for bi < len(bufs) && off == len(bufs[bi]) {
			bi, off = bi+1, 0
		}
		if bi == len(bufs) {
			break
		}
		if r.vers == tls.VersionTLS13 && r.wr.seq >= keyUpdateAfter && typ == recordTypeApplicationData {
			out = r.sealRecord(out, recordTypeHandshake, keyUpdate)
			r.rekey(&r.wr)
		}
		start := len(out)
		out = slices.Grow(out, recordHeaderLen+8+maxPlaintext+1+16)
		out = append(out, 0, 0, 0, 0, 0)
		if r.vers != tls.VersionTLS13 && !r.suite.chacha {
			out = binary.BigEndian.AppendUint64(out, r.wr.seq)
		}
		ptStart := len(out)
		for bi < len(bufs) && len(out)-ptStart < maxPlaintext {
			k := min(len(bufs[bi])-off, maxPlaintext-(len(out)-ptStart))
			out = append(out, bufs[bi][off:off+k]...)
			off += k
			if off == len(bufs[bi]) {
				bi, off = bi+1, 0
			}
		}
		out = r.sealAt(out, start, ptStart, typ)
		if len(out) >= sealFlush {
			n, err := c.gc.Write(out)
			written += n
			if err != nil {
				l.sealBuf = out[:0]
				return written, err
			}
			out = out[:0]
		}
	}
	var err error
	if len(out) > 0 {
		var n int
		n, err = c.gc.Write(out)
		written += n
	}
	l.sealBuf = out[:0]
	return written, err
}

// sealRecord appends one record of type typ holding pt.
func (r *records) sealRecord(out []byte, typ byte, pt []byte) []byte {
	start := len(out)
	out = append(out, 0, 0, 0, 0, 0)
	if r.vers != tls.VersionTLS13 && !r.suite.chacha {
		out = binary.BigEndian.AppendUint64(out, r.wr.seq)
	}
	ptStart := len(out)
	out = append(out, pt...)
	return r.sealAt(out, start, ptStart, typ)
}

// sealAt seals the record whose header is at out[start:] and whose
// plaintext is out[ptStart:], in place, and advances the write sequence.
func (r *records) sealAt(out []byte, start, ptStart int, typ byte) []byte {
	h := &r.wr
	aead := r.cipher(h)
	hdr := out[start : start+recordHeaderLen]
	hdr[1], hdr[2] = 3, 3
	var sealed []byte
	if r.vers == tls.VersionTLS13 {
		out = append(out, typ)
		hdr = out[start : start+recordHeaderLen]
		hdr[0] = recordTypeApplicationData
		binary.BigEndian.PutUint16(hdr[3:], uint16(len(out)-ptStart+aead.Overhead()))
		sealed = aead.Seal(out[ptStart:ptStart], r.xorNonce(h), out[ptStart:], hdr)
	} else {
		hdr[0] = typ
		n := len(out) - ptStart
		aad := r.aad12(h, typ, n)
		binary.BigEndian.PutUint16(hdr[3:], uint16(len(out)-start-recordHeaderLen+aead.Overhead()))
		var nonce []byte
		if r.suite.chacha {
			nonce = r.xorNonce(h)
		} else {
			var seq [8]byte
			binary.BigEndian.PutUint64(seq[:], h.seq)
			nonce = r.nonce12(h, seq[:])
		}
		sealed = aead.Seal(out[ptStart:ptStart], nonce, out[ptStart:], aad)
	}
	h.seq++
	return out[:ptStart+len(sealed)]
}

// closeNotify sends the close_notify alert before the socket closes.
func (r *records) closeNotify(c *Conn) {
	n, _ := r.seal(c, recordTypeAlert, [][]byte{{1, 0}})
	c.bytesOut += uint64(n)
}
