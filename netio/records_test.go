package netio

import (
	"bytes"
	"crypto/tls"
	"testing"
)

// TestRecordAllocs holds sealing and opening a record in place to zero
// allocations once the ciphers exist, for each suite and version.
func TestRecordAllocs(t *testing.T) {
	tests := []struct {
		name  string
		vers  uint16
		suite *suite
	}{
		{"v=1.3/aes128", tls.VersionTLS13, suiteAES128},
		{"v=1.3/chacha", tls.VersionTLS13, suiteChaCha},
		{"v=1.2/aes256", tls.VersionTLS12, suiteAES256},
		{"v=1.2/chacha", tls.VersionTLS12, suiteChaCha},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			// The sender's write direction is the receiver's read direction.
			tx, rx := &records{vers: tc.vers, suite: tc.suite}, &records{vers: tc.vers, suite: tc.suite}
			secret := bytes.Repeat([]byte{7}, tc.suite.hash.Size())
			if tc.vers == tls.VersionTLS13 {
				tx.wr.setSecret(tc.suite, secret)
				rx.rd.setSecret(tc.suite, secret)
			} else {
				tx.keysTLS12(secret, bytes.Repeat([]byte{1}, 32), bytes.Repeat([]byte{2}, 32))
				rx.rd = tx.wr
			}
			msg := []byte("a PUBLISH of a few dozen bytes, sealed and opened in place")
			buf := make([]byte, 0, 1024)
			step := func() {
				b := buf[:0]
				b = append(b, 0, 0, 0, 0, 0)
				if tc.vers != tls.VersionTLS13 && !tc.suite.chacha {
					b = append(b, make([]byte, 8)...)
				}
				pt := len(b)
				b = append(b, msg...)
				// sealAt writes the explicit nonce itself only through seal;
				// here the sequence number fills it as seal does.
				if tc.vers != tls.VersionTLS13 && !tc.suite.chacha {
					for i := 0; i < 8; i++ {
						b[recordHeaderLen+i] = byte(tx.wr.seq >> (56 - 8*i))
					}
				}
				b = tx.sealAt(b, 0, pt, recordTypeApplicationData)
				got, typ, err := rx.openRecord(&rx.rd, b)
				if err != nil || typ != recordTypeApplicationData || !bytes.Equal(got, msg) {
					t.Fatalf("open: %q %d %v", got, typ, err)
				}
				rx.rd.seq++
			}
			step()
			if n := testing.AllocsPerRun(100, step); n != 0 {
				t.Fatalf("%.1f allocations per record, want 0", n)
			}
		})
	}
}
