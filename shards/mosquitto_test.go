package shards

import (
	"bytes"
	"context"
	"os/exec"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/shardmq/shardmq/netio"
)

// mosquitto runs a mosquitto client tool against addr and returns its
// output.
func mosquitto(ctx context.Context, t *testing.T, tool, addr string, args ...string) *exec.Cmd {
	t.Helper()
	path, err := exec.LookPath(tool)
	if err != nil {
		t.Skipf("%s not installed (make deps installs mosquitto-clients)", tool)
	}
	host, port, _ := strings.Cut(addr, ":")
	cmd := exec.CommandContext(ctx, path, append([]string{"-h", host, "-p", port}, args...)...)
	return cmd
}

func TestMosquittoClients(t *testing.T) {
	tb := startBroker(t, Config{}, netio.Config{})
	for _, v := range []string{"mqttv31", "mqttv311", "mqttv5"} {
		t.Run("version="+v, func(t *testing.T) {
			ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
			defer cancel()
			pub := func(args ...string) {
				t.Helper()
				out, err := mosquitto(ctx, t, "mosquitto_pub", tb.addr, append([]string{"-V", v}, args...)...).CombinedOutput()
				if err != nil {
					t.Fatalf("mosquitto_pub %v: %v %s", args, err, out)
				}
			}
			// Retained first, so the subscriber gets it on subscribe.
			pub("-t", "mq/"+v+"/ret", "-m", "kept", "-r", "-q", "1")
			subs := tb.SubscriptionCount()
			var out bytes.Buffer
			sub := mosquitto(ctx, t, "mosquitto_sub", tb.addr, "-V", v, "-t", "mq/"+v+"/#", "-q", "2",
				"-C", "4", "-W", "15", "-F", "%t %q %r %p", "-i", "mosq-sub-"+v)
			sub.Stdout = &out
			if err := sub.Start(); err != nil {
				t.Fatal(err)
			}
			waitFor(t, "mosquitto_sub subscribed", func() bool { return tb.SubscriptionCount() > subs })
			for q := 0; q <= 2; q++ {
				pub("-t", "mq/"+v+"/q", "-m", "m"+string(rune('0'+q)), "-q", string(rune('0'+q)))
			}
			if err := sub.Wait(); err != nil {
				t.Fatalf("mosquitto_sub: %v (%s)", err, out.String())
			}
			lines := strings.Split(strings.TrimSpace(out.String()), "\n")
			// The three messages come from three publisher connections, and
			// MQTT orders messages only per connection: a QoS 0 publisher
			// that exits at once may be overtaken by the next one when it
			// sits on another loop than the subscriber. The retained one
			// comes first, with the SUBACK.
			if len(lines) > 1 {
				sort.Strings(lines[1:])
			}
			want := []string{"mq/" + v + "/ret 1 1 kept", "mq/" + v + "/q 0 0 m0", "mq/" + v + "/q 1 0 m1", "mq/" + v + "/q 2 0 m2"}
			if strings.Join(lines, "|") != strings.Join(want, "|") {
				t.Fatalf("got %q want %q", lines, want)
			}
		})
	}
}

// TestMosquittoPersistentSession disconnects a mosquitto_sub with a
// persistent session, publishes while it is away and checks it receives
// the queued messages on return.
func TestMosquittoPersistentSession(t *testing.T) {
	tb := startBroker(t, Config{}, netio.Config{})
	for _, v := range []string{"mqttv311", "mqttv5"} {
		t.Run("version="+v, func(t *testing.T) {
			ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
			defer cancel()
			id := "mosq-persist-" + v
			args := []string{"-V", v, "-t", "pq/" + v, "-q", "1", "-i", id, "-c", "-F", "%q %p"}
			if v == "mqttv5" {
				args = append(args, "-x", "300")
			}
			// Create the session: receive nothing for a moment, then leave.
			first := mosquitto(ctx, t, "mosquitto_sub", tb.addr, append(args, "-W", "1")...)
			_ = first.Run() // exits with a timeout status
			waitFor(t, "offline session", func() bool {
				r, err := tb.ClientInfo(ctx, id)
				return err == nil && !r.Connected
			})
			for _, m := range []string{"a", "b", "c"} {
				out, err := mosquitto(ctx, t, "mosquitto_pub", tb.addr, "-V", v, "-t", "pq/"+v, "-m", m, "-q", "1").CombinedOutput()
				if err != nil {
					t.Fatalf("pub: %v %s", err, out)
				}
			}
			waitFor(t, "queued", func() bool { return tb.info(t, id).MqueueLen == 3 })
			out, err := mosquitto(ctx, t, "mosquitto_sub", tb.addr, append(args, "-C", "3", "-W", "10")...).Output()
			if err != nil {
				t.Fatalf("sub: %v %s", err, out)
			}
			lines := strings.Split(strings.TrimSpace(string(out)), "\n")
			sort.Strings(lines)
			if strings.Join(lines, "|") != "1 a|1 b|1 c" {
				t.Fatalf("got %q", lines)
			}
		})
	}
}
