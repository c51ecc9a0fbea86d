package shards

import (
	"context"
	"errors"
	"net"
	"testing"

	"github.com/shardmq/shardmq/mqtt"
	"github.com/shardmq/shardmq/netio"
	"github.com/shardmq/shardmq/shards/auth"
)

// TestIdleWhileAuthenticating checks conn_state idle (CLIENTS_API.md
// decision 12): while a CONNECT's password is checked (bcrypt at cost 13,
// far longer than a command; 10 under the race detector), ClientInfo finds the client idle, not
// connected, with the new connection's address; afterwards the client is
// connected (right password), gone (wrong password, the socket closed
// during the check, or a kick: CONNACK 0x87), or back to its offline
// session.
func TestIdleWhileAuthenticating(t *testing.T) {
	acfg := authFiles(t, nil, "")
	cost := 13 // 0.5 s or more here
	if raceEnabled {
		cost = 10 // the race detector slows bcrypt tenfold; the CONNECT timeout is 10 s
	}
	if _, err := auth.SetPassword(acfg.PasswordFile, "slow", []byte("secret"), cost); err != nil {
		t.Fatal(err)
	}
	a, err := auth.New(acfg)
	if err != nil {
		t.Fatal(err)
	}
	tb := startBroker(t, Config{Auth: a}, netio.Config{})
	ctx := context.Background()
	// The checks of the clients that left early finish in the background.
	t.Cleanup(func() { waitFor(t, "password checks done", func() bool { return tb.pwdChecks.Load() == 0 }) })

	// An offline persistent session of idle-old, made anonymously.
	old := conn5("idle-old")
	old.Properties.Present.Add(mqtt.PropSessionExpiry)
	old.Properties.SessionExpiry = 600
	rc, _ := connectRaw(t, tb.addr, old)
	rc.write([]byte{0xE0, 0}) // DISCONNECT
	rc.expectClosed()
	waitFor(t, "idle-old offline", func() bool {
		r, err := tb.ClientInfo(ctx, "idle-old")
		return err == nil && !r.Connected
	})
	oldRow, _ := tb.ClientInfo(ctx, "idle-old")

	for _, tc := range []struct {
		id, password string
		closeEarly   bool
		want         mqtt.ReasonCode
		kick         bool
	}{
		{"idle-kick", "secret", false, mqtt.NotAuthorized, true},
		{"idle-new", "secret", false, mqtt.Success, false},
		{"idle-old", "secret-again", false, mqtt.BadUserNameOrPassword, false},
		{"idle-bad", "nope", false, mqtt.BadUserNameOrPassword, false},
		{"idle-gone", "nope-either", true, 0, false},
	} {
		t.Run(tc.id, func(t *testing.T) {
			p := conn5(tc.id)
			p.HasUsername, p.Username = true, []byte("slow")
			p.HasPassword, p.Password = true, []byte(tc.password)
			c := dialRaw(t, tb.addr, mqtt.V5)
			c.write(mqtt.AppendConnect(nil, p, mqtt.V5))
			local := c.c.LocalAddr().(*net.TCPAddr)
			var r ClientRow
			waitFor(t, tc.id+" idle", func() bool {
				var err error
				r, err = tb.ClientInfo(ctx, tc.id)
				return err == nil && r.ConnState == "idle"
			})
			if r.Connected || r.IPAddress != "127.0.0.1" || r.Port != int64(local.Port) || r.Username != "slow" ||
				r.DisconnectedAt != nil && tc.id != "idle-old" {
				t.Fatalf("idle row %+v (client port %d)", r, local.Port)
			}
			if tc.id == "idle-old" && (r.CreatedAt != oldRow.CreatedAt || r.DisconnectedAt == nil) {
				t.Fatalf("idle row of the offline session %+v, session %+v", r, oldRow)
			}
			if tc.kick {
				if err := tb.Kick(ctx, tc.id); err != nil {
					t.Fatalf("Kick of an idle client: %v", err)
				}
			}
			if tc.closeEarly {
				c.c.Close()
				waitFor(t, tc.id+" forgotten", func() bool {
					_, err := tb.ClientInfo(ctx, tc.id)
					return errors.Is(err, ErrClientNotFound) && tb.idleN.Load() == 0
				})
				return
			}
			h, body := c.read()
			var ack mqtt.Connack
			if h.Type != mqtt.TypeConnack || ack.Decode(h, body, mqtt.V5) != nil || ack.ReasonCode != tc.want {
				t.Fatalf("got %v %+v, want CONNACK %#x", h.Type, ack, tc.want)
			}
			r, err := tb.ClientInfo(ctx, tc.id)
			switch {
			case tc.want == mqtt.Success:
				if err != nil || !r.Connected || r.ConnState != "connected" || r.Port != int64(local.Port) {
					t.Fatalf("after CONNACK: %+v %v", r, err)
				}
			case tc.id == "idle-old":
				if err != nil || r.Connected || r.ConnState != "disconnected" || r.Port != oldRow.Port {
					t.Fatalf("the offline session after the refusal: %+v %v", r, err)
				}
			default:
				if !errors.Is(err, ErrClientNotFound) {
					t.Fatalf("after the refusal: %+v %v", r, err)
				}
			}
			if n := tb.idleN.Load(); n != 0 {
				t.Fatalf("%d idle connections left", n)
			}
		})
	}
}
