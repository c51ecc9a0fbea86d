package shards

import (
	"testing"

	"github.com/shardmq/shardmq/mqtt"
	"github.com/shardmq/shardmq/netio"
	"github.com/shardmq/shardmq/shards/auth"
)

// TestPasswordCheckOffLoop: a CONNECT whose password needs bcrypt does
// not stall its loop (one loop here): while the hash runs, another client
// of the loop is served; the packets pipelined behind the CONNECT wait and
// are then served in order; a wrong password is refused the same way.
func TestPasswordCheckOffLoop(t *testing.T) {
	acfg := authFiles(t, nil, "")
	// Cost 11: a tenth of a second or more (seconds under -race), far longer
	// than a ping.
	if _, err := auth.SetPassword(acfg.PasswordFile, "slow", []byte("secret"), 11); err != nil {
		t.Fatal(err)
	}
	a, err := auth.New(acfg)
	if err != nil {
		t.Fatal(err)
	}
	tb := startBroker(t, Config{Auth: a}, netio.Config{Loops: 1})
	bystander, _ := connectRaw(t, tb.addr, conn5("bystander")) // anonymous on loopback

	for _, tc := range []struct {
		name     string
		password string
		want     mqtt.ReasonCode
	}{{"right_password", "secret", mqtt.Success}, {"wrong_password", "nope", mqtt.BadUserNameOrPassword}} {
		t.Run(tc.name, func(t *testing.T) {
			cp := conn5("slow-" + tc.name)
			cp.HasUsername, cp.Username = true, []byte("slow")
			cp.HasPassword, cp.Password = true, []byte(tc.password)
			rc := dialRaw(t, tb.addr, mqtt.V5)
			b := mqtt.AppendConnect(nil, cp, mqtt.V5)
			b = mqtt.AppendSubscribe(b, &mqtt.Subscribe{PacketID: 1, Subscriptions: []mqtt.Subscription{sub("slow/t", 0)}}, mqtt.V5)
			b = append(b, 0xc0, 0x00) // PINGREQ
			rc.write(b)
			waitFor(t, "password check started", func() bool { return tb.pwdChecks.Load() == 1 })
			bystander.write([]byte{0xc0, 0x00})
			if h, _ := bystander.read(); h.Type != mqtt.TypePingresp {
				t.Fatalf("bystander got %v", h.Type)
			}
			if tb.pwdChecks.Load() != 1 {
				t.Fatal("the bystander was served only after the hash: the loop waited for it")
			}
			h, body := rc.read()
			var ack mqtt.Connack
			if h.Type != mqtt.TypeConnack || ack.Decode(h, body, mqtt.V5) != nil || ack.ReasonCode != tc.want {
				t.Fatalf("got %v %+v, want CONNACK %v", h.Type, ack, tc.want)
			}
			if tc.want != mqtt.Success {
				rc.expectClosed()
				return
			}
			for _, want := range []mqtt.PacketType{mqtt.TypeSuback, mqtt.TypePingresp} {
				if h, _ := rc.read(); h.Type != want {
					t.Fatalf("got %v, want %v", h.Type, want)
				}
			}
			// Verified once: the next CONNECT of the user is checked on the loop.
			if a.Expensive([]byte("slow"), []byte("secret"), true) {
				t.Fatal("verified password still needs the hash")
			}
		})
	}
}
