package netio

import (
	"bufio"
	"context"
	"os/exec"
	"strings"
	"testing"
	"time"

	"github.com/shardmq/shardmq/mqtt"
)

// TestTLSKeyUpdate drives OpenSSL's s_client over TLS 1.3 with each
// cipher suite: it sends a KeyUpdate asking for the server's (its command
// "K"), then a PUBLISH, whose echo must come back under the updated keys.
func TestTLSKeyUpdate(t *testing.T) {
	if _, err := exec.LookPath("openssl"); err != nil {
		t.Skip("no openssl")
	}
	pki := newPKI(t)
	s := startListeners(t, Config{Listeners: []Listener{{Kind: KindSSL, Addr: "127.0.0.1:0", TLS: pki.serverTLS(t, false)}}}, &echoHandler{})
	// A PUBLISH whose last byte is the newline s_client sends after a line.
	pub := mqtt.AppendPublish(nil, &mqtt.Publish{Topic: []byte("t"), Payload: []byte("after the key update\n")}, mqtt.V311)
	for _, suite := range []string{"TLS_AES_128_GCM_SHA256", "TLS_AES_256_GCM_SHA384", "TLS_CHACHA20_POLY1305_SHA256"} {
		t.Run(suite, func(t *testing.T) {
			ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
			defer cancel()
			// Without -quiet or -ign_eof, which turn s_client's command
			// letters off.
			cmd := exec.CommandContext(ctx, "openssl", "s_client", "-connect", s.Addr().String(), "-tls1_3",
				"-ciphersuites", suite, "-CAfile", pki.caFile, "-servername", "localhost")
			stdin, err := cmd.StdinPipe()
			if err != nil {
				t.Fatal(err)
			}
			stdout, err := cmd.StdoutPipe()
			if err != nil {
				t.Fatal(err)
			}
			cmd.Stderr = cmd.Stdout
			if err := cmd.Start(); err != nil {
				t.Fatal(err)
			}
			defer func() { stdin.Close(); _ = cmd.Wait() }()
			lines := make(chan string, 64)
			go func() {
				sc := bufio.NewScanner(stdout)
				for sc.Scan() {
					lines <- sc.Text()
				}
				close(lines)
			}()
			sent := false
			var seen []string
			for {
				select {
				case line, ok := <-lines:
					if !ok {
						t.Fatalf("s_client ended without the echo:\n%s", strings.Join(seen, "\n"))
					}
					seen = append(seen, line)
					switch {
					case strings.HasPrefix(line, "Verify return code") && !sent:
						_, _ = stdin.Write([]byte("K\n"))
					case line == "KEYUPDATE" && !sent:
						sent = true
						_, _ = stdin.Write(pub)
					case strings.HasSuffix(line, "after the key update"):
						return
					case strings.Contains(line, "error"):
						t.Fatalf("s_client: %s", line)
					}
				case <-ctx.Done():
					t.Fatalf("no echo after the key update:\n%s", strings.Join(seen, "\n"))
				}
			}
		})
	}
}
