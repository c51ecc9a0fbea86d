package netio

import (
	"bytes"
	"crypto/tls"
	"encoding/binary"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"net"
	"sync"
	"time"
)

// The TLS handshake is crypto/tls's, run in a goroutine that lives as
// long as the handshake: crypto/tls cannot resume a handshake after a read
// that would block, so it reads from a buffer the loop appends to and
// waits while the buffer is empty; what it writes goes to the socket
// through the loop. Once the handshake is done, the connection's traffic
// keys are taken from it (see records.go) and the goroutine and
// crypto/tls's connection are gone: records are decrypted and encrypted on
// the loop, and an idle connection keeps its keys (a 288-byte allocation
// with its transport and rare fields), not crypto/tls's state (about 4 KiB,
// docs/architecture.md).
//
// The keys come from crypto/tls's key log (Config.KeyLogWriter, the NSS
// format Wireshark reads), which each handshake gets its own of: TLS 1.3's
// application traffic secrets, TLS 1.2's master secret. A resumed TLS 1.2
// session logs none; its master secret is read from the session state the
// ticket carries (Config.UnwrapSession). The sequence numbers are found by
// decrypting what went by: TLS 1.3 records the server sealed under its
// application key during the handshake (session tickets) are counted, and
// TLS 1.2's two Finished records must open at sequence 0 with the derived
// keys, or the handshake fails.

// maxHandshakeInput bounds what a client may send before its handshake is
// done (a ClientHello with post-quantum key shares is 1.5 KiB, a client
// certificate chain a few).
const maxHandshakeInput = 64 << 10

// handshake is one connection's running TLS handshake. It is the
// net.Conn crypto/tls reads and writes.
type handshake struct {
	srv  *Server
	loop *Loop
	c    *Conn // touched on the loop only
	tl   *tlsListener

	local, remote net.Addr

	// mu guards the following fields.
	mu   sync.Mutex
	cond sync.Cond
	in   []byte // client bytes crypto/tls has not read
	fed  int    // client bytes fed in all
	eof  bool   // the connection closed: reads fail

	// owned by the handshake goroutine:
	rec            []byte // the client record being read, as far as read
	clientCCS      bool
	clientFinished []byte // TLS 1.2: the client's Finished record
	serverCCS      bool
	serverFinished []byte   // TLS 1.2: the server's Finished record
	serverSealed   [][]byte // TLS 1.3: the records the server sealed
	serverRandom   []byte
	clientRandom   []byte
	master         []byte // TLS 1.2 master secret
	clientSecret   []byte // TLS 1.3 client application traffic secret
	serverSecret   []byte // TLS 1.3 server application traffic secret
	badWrite       error
}

// handshakeResult is what a finished handshake gives the loop.
type handshakeResult struct {
	err     error
	rec     *records
	sni     string
	cn, dn  string
	resumed bool
}

// errCertificate marks a handshake that failed on the client's
// certificate (counted apart: tls_certificate).
var errCertificate = errors.New("netio: client certificate refused")

// handshakeInput feeds raw, read from c during its handshake, to the
// handshake, starting it on the first bytes.
func (s *Server) handshakeInput(c *Conn, tr *transport, raw []byte) error {
	if len(raw) == 0 {
		return nil
	}
	if tr.setup.hs == nil {
		if raw[0] != recordTypeHandshake {
			return fmt.Errorf("%w: first byte 0x%02x", ErrNotTLS, raw[0])
		}
		hs := &handshake{srv: s, loop: c.loop, c: c, tl: s.lst[c.lst].tls,
			local: net.TCPAddrFromAddrPort(c.LocalAddr()), remote: net.TCPAddrFromAddrPort(c.RemoteAddr())}
		hs.cond.L = &hs.mu
		tr.setup.hs = hs
		go hs.run()
	}
	return tr.setup.hs.feed(raw)
}

// feed appends client bytes for crypto/tls; called on the loop.
func (hs *handshake) feed(raw []byte) error {
	hs.mu.Lock()
	defer hs.mu.Unlock()
	hs.fed += len(raw)
	if hs.fed > maxHandshakeInput {
		return fmt.Errorf("%w: more than %d bytes before the handshake completed", ErrTLSHandshake, maxHandshakeInput)
	}
	hs.in = append(hs.in, raw...)
	hs.cond.Broadcast()
	return nil
}

// abort ends the handshake's reads: the connection closed. Called on the
// loop.
func (hs *handshake) abort() {
	hs.mu.Lock()
	hs.eof = true
	hs.cond.Broadcast()
	hs.mu.Unlock()
}

// rest returns the client bytes crypto/tls did not read (the records after
// its last handshake record); called on the loop once the goroutine is
// done.
func (hs *handshake) rest() []byte {
	hs.mu.Lock()
	defer hs.mu.Unlock()
	b := hs.in
	hs.in = nil
	return b
}

// run is the handshake goroutine.
func (hs *handshake) run() {
	tc := tls.Server(hs, hs.tl.base)
	var res handshakeResult
	if err := tc.Handshake(); err != nil {
		var cv *tls.CertificateVerificationError
		if errors.As(err, &cv) || err.Error() == noClientCert {
			res.err = fmt.Errorf("%w: %w: %w", ErrTLSHandshake, errCertificate, err)
		} else {
			res.err = fmt.Errorf("%w: %w", ErrTLSHandshake, err)
		}
	} else {
		res = hs.result(tc.ConnectionState())
	}
	_ = hs.loop.Execute(func() { hs.srv.handshakeDone(hs, res) })
}

// noClientCert is how crypto/tls reports a client without a certificate
// under RequireAndVerifyClientCert; it has no exported error for it.
const noClientCert = "tls: client didn't provide a certificate"

// result takes the keys and what the client told of itself from a
// completed handshake.
func (hs *handshake) result(cs tls.ConnectionState) handshakeResult {
	res := handshakeResult{sni: cs.ServerName, resumed: cs.DidResume}
	if len(cs.PeerCertificates) > 0 {
		// pkix.Name.String is RFC 2253's form, which RFC 4514 keeps:
		// "CN=device-1,O=Fleet".
		leaf := cs.PeerCertificates[0]
		res.cn, res.dn = leaf.Subject.CommonName, leaf.Subject.String()
	}
	var err error
	if hs.badWrite != nil {
		err = hs.badWrite
	} else {
		res.rec, err = hs.records(cs)
	}
	if err != nil {
		res.err = fmt.Errorf("%w: %w", ErrTLSHandshake, err)
	}
	return res
}

// records builds the record layer of a completed handshake.
func (hs *handshake) records(cs tls.ConnectionState) (*records, error) {
	suite, ok := suiteOf(cs.CipherSuite)
	if !ok {
		return nil, fmt.Errorf("cipher suite 0x%04x has no record layer here", cs.CipherSuite)
	}
	r := &records{vers: cs.Version, suite: suite}
	switch cs.Version {
	case tls.VersionTLS13:
		if hs.clientSecret == nil || hs.serverSecret == nil {
			return nil, errors.New("no TLS 1.3 traffic secrets in the key log")
		}
		r.rd.setSecret(suite, hs.clientSecret)
		r.wr.setSecret(suite, hs.serverSecret)
		// Session tickets went out sealed under the application key.
		for _, rec := range hs.serverSealed {
			if _, _, err := r.openCopy(&r.wr, rec); err == nil {
				r.wr.seq++
			} else if r.wr.seq > 0 {
				return nil, errors.New("a record after a session ticket does not open")
			}
		}
	case tls.VersionTLS12:
		if hs.master == nil || len(hs.clientRandom) != 32 || len(hs.serverRandom) != 32 {
			return nil, errors.New("no TLS 1.2 master secret or randoms")
		}
		r.keysTLS12(hs.master, hs.clientRandom, hs.serverRandom)
		if hs.clientFinished == nil || hs.serverFinished == nil {
			return nil, errors.New("no Finished records")
		}
		if _, _, err := r.openCopy(&r.rd, hs.clientFinished); err != nil {
			return nil, fmt.Errorf("client Finished: %w", err)
		}
		if _, _, err := r.openCopy(&r.wr, hs.serverFinished); err != nil {
			return nil, fmt.Errorf("server Finished: %w", err)
		}
		r.rd.seq, r.wr.seq = 1, 1
	default:
		return nil, fmt.Errorf("version 0x%04x", cs.Version)
	}
	return r, nil
}

// handshakeDone runs on the loop when c's handshake goroutine is done.
func (s *Server) handshakeDone(hs *handshake, res handshakeResult) {
	c := hs.c
	if c.closing || c.closed {
		// The client may close as soon as it reads the alert crypto/tls
		// wrote, before this runs: the failure still counts, unless the
		// connection was refused already (a handshake timeout).
		if res.err != nil && c.closeErr() == nil {
			s.countRefusal(c, refusalOf(res.err), res.err)
		}
		return
	}
	tr := c.transport()
	if tr == nil || tr.setup == nil || tr.setup.hs != hs {
		return
	}
	if res.err != nil {
		s.refuse(c, res.err)
		return
	}
	st := &s.lst[c.lst]
	st.handshakes.Add(1)
	if res.resumed {
		st.resumed.Add(1)
	}
	tr.setup.hs = nil
	*tr.tls = *res.rec
	tr.tls.moved(c)
	tr.setup.sni, tr.setup.cn, tr.setup.dn = res.sni, res.cn, res.dn
	rest := hs.rest()
	s.next(c, tr)
	if len(rest) > 0 && !c.closing {
		s.feedLayers(c, tr, rest)
	}
}

// handshakeWrite sends bytes crypto/tls wrote; it runs on the loop.
func (s *Server) handshakeWrite(hs *handshake, b []byte) {
	c := hs.c
	if c.closed {
		return
	}
	n, _ := c.gc.Write(b)
	c.bytesOut += uint64(n)
}

// Read implements net.Conn for crypto/tls: it waits for client bytes and
// returns them up to the end of the current record, never beyond, so
// that the records after the handshake stay in hs.in for the loop.
func (hs *handshake) Read(p []byte) (int, error) {
	hs.mu.Lock()
	for len(hs.in) == 0 && !hs.eof {
		hs.cond.Wait()
	}
	if len(hs.in) == 0 {
		hs.mu.Unlock()
		return 0, io.EOF
	}
	limit := len(hs.in)
	if have := len(hs.rec); have < recordHeaderLen {
		limit = min(limit, recordHeaderLen-have)
		if have+len(hs.in) >= recordHeaderLen {
			var hdr [recordHeaderLen]byte
			copy(hdr[copy(hdr[:], hs.rec):], hs.in)
			limit = min(len(hs.in), recordHeaderLen+int(binary.BigEndian.Uint16(hdr[3:5]))-have)
		}
	} else {
		limit = min(limit, recordHeaderLen+int(binary.BigEndian.Uint16(hs.rec[3:5]))-have)
	}
	n := copy(p, hs.in[:limit])
	hs.rec = append(hs.rec, hs.in[:n]...)
	hs.in = hs.in[n:]
	hs.mu.Unlock()
	if len(hs.rec) >= recordHeaderLen && len(hs.rec) == recordHeaderLen+int(binary.BigEndian.Uint16(hs.rec[3:5])) {
		hs.clientRecord(hs.rec)
		hs.rec = hs.rec[:0]
	}
	return n, nil
}

// clientRecord notes a whole record the client sent: the ClientHello's
// random (a resumed TLS 1.2 session logs none) and TLS 1.2's Finished (the
// handshake record after ChangeCipherSpec), kept to check the keys.
func (hs *handshake) clientRecord(rec []byte) {
	switch rec[0] {
	case recordTypeChangeCipherSpec:
		hs.clientCCS = true
	case recordTypeHandshake:
		switch {
		case hs.clientCCS:
			if hs.clientFinished == nil {
				hs.clientFinished = bytes.Clone(rec)
			}
		case len(rec) >= recordHeaderLen+4+2+32 && rec[recordHeaderLen] == 1: // ClientHello
			hs.clientRandom = bytes.Clone(rec[recordHeaderLen+6 : recordHeaderLen+38])
		}
	}
}

// Write implements net.Conn for crypto/tls: the bytes go to the socket
// through the loop, in order.
func (hs *handshake) Write(p []byte) (int, error) {
	b := bytes.Clone(p)
	hs.serverRecords(b)
	if err := hs.loop.Execute(func() { hs.srv.handshakeWrite(hs, b) }); err != nil {
		return 0, err
	}
	return len(p), nil
}

// serverRecords notes what the server wrote: the ServerHello's random,
// TLS 1.2's Finished and TLS 1.3's sealed records. crypto/tls writes whole
// records (one, or a flight buffered together).
func (hs *handshake) serverRecords(b []byte) {
	for len(b) > 0 {
		if len(b) < recordHeaderLen || len(b) < recordHeaderLen+int(binary.BigEndian.Uint16(b[3:5])) {
			hs.badWrite = errors.New("crypto/tls wrote a partial record")
			return
		}
		n := recordHeaderLen + int(binary.BigEndian.Uint16(b[3:5]))
		rec := b[:n]
		b = b[n:]
		switch rec[0] {
		case recordTypeHandshake:
			// ServerHello: type 2, length (3), version (2), random (32).
			if len(rec) >= recordHeaderLen+4+2+32 && rec[recordHeaderLen] == 2 {
				hs.serverRandom = bytes.Clone(rec[recordHeaderLen+6 : recordHeaderLen+38])
			} else if hs.serverCCS && hs.serverFinished == nil {
				hs.serverFinished = bytes.Clone(rec)
			}
		case recordTypeChangeCipherSpec:
			hs.serverCCS = true
		case recordTypeApplicationData:
			hs.serverSealed = append(hs.serverSealed, rec)
		}
	}
}

// Close implements net.Conn; the loop closes the socket.
func (hs *handshake) Close() error { return nil }

// LocalAddr implements net.Conn.
func (hs *handshake) LocalAddr() net.Addr { return hs.local }

// RemoteAddr implements net.Conn.
func (hs *handshake) RemoteAddr() net.Addr { return hs.remote }

// SetDeadline implements net.Conn; the loop's timer bounds the handshake.
func (hs *handshake) SetDeadline(time.Time) error { return nil }

// SetReadDeadline implements net.Conn.
func (hs *handshake) SetReadDeadline(time.Time) error { return nil }

// SetWriteDeadline implements net.Conn.
func (hs *handshake) SetWriteDeadline(time.Time) error { return nil }

// keyLog receives a handshake's secrets from crypto/tls (Config.
// KeyLogWriter); it runs on the handshake goroutine.
type keyLog handshake

// Write takes one NSS key log line: LABEL CLIENT_RANDOM SECRET, in hex.
func (k *keyLog) Write(line []byte) (int, error) {
	hs := (*handshake)(k)
	f := bytes.Fields(line)
	if len(f) != 3 {
		return len(line), nil
	}
	random, err1 := hex.DecodeString(string(f[1]))
	secret, err2 := hex.DecodeString(string(f[2]))
	if err1 != nil || err2 != nil {
		return len(line), nil
	}
	switch string(f[0]) {
	case "CLIENT_RANDOM":
		hs.clientRandom, hs.master = random, secret
	case "CLIENT_TRAFFIC_SECRET_0":
		hs.clientSecret = secret
	case "SERVER_TRAFFIC_SECRET_0":
		hs.serverSecret = secret
	}
	return len(line), nil
}

// unwrapSession decrypts a session ticket as crypto/tls would, and keeps
// a TLS 1.2 session's master secret (which a resumption does not log).
func (hs *handshake) unwrapSession(identity []byte, cs tls.ConnectionState) (*tls.SessionState, error) {
	ss, err := hs.tl.base.DecryptTicket(identity, cs)
	if ss == nil || err != nil {
		return ss, err
	}
	enc, err := ss.Bytes()
	if err != nil {
		return nil, nil
	}
	// SessionState's encoding (crypto/tls ticket.go): version (2), type
	// (1), cipher suite (2), created at (8), secret<1..255>.
	if len(enc) < 14 || binary.BigEndian.Uint16(enc) != tls.VersionTLS12 {
		return ss, nil
	}
	if n := int(enc[13]); n > 0 && len(enc) >= 14+n {
		hs.master = bytes.Clone(enc[14 : 14+n])
	}
	return ss, nil
}
