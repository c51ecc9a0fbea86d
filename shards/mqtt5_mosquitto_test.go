package shards

import (
	"bytes"
	"context"
	"os/exec"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/shardmq/shardmq/netio"
)

// mosqSub starts mosquitto_sub -V mqttv5 with args and waits until its
// subscriptions are in the index; Wait on the command returns its output.
func mosqSub(ctx context.Context, t *testing.T, tb *testBroker, nsubs int, args ...string) (*exec.Cmd, *bytes.Buffer) {
	t.Helper()
	before := tb.SubscriptionCount()
	var out bytes.Buffer
	cmd := mosquitto(ctx, t, "mosquitto_sub", tb.addr, append([]string{"-V", "mqttv5"}, args...)...)
	cmd.Stdout, cmd.Stderr = &out, &out
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	waitFor(t, "mosquitto_sub subscribed", func() bool { return tb.SubscriptionCount() >= before+nsubs })
	return cmd, &out
}

// mosqPub runs mosquitto_pub -V mqttv5 with args.
func mosqPub(ctx context.Context, t *testing.T, tb *testBroker, args ...string) {
	t.Helper()
	out, err := mosquitto(ctx, t, "mosquitto_pub", tb.addr, append([]string{"-V", "mqttv5"}, args...)...).CombinedOutput()
	if err != nil {
		t.Fatalf("mosquitto_pub %v: %v %s", args, err, out)
	}
}

// mosqLines waits for cmd and returns its output lines.
func mosqLines(t *testing.T, cmd *exec.Cmd, out *bytes.Buffer) []string {
	t.Helper()
	if err := cmd.Wait(); err != nil {
		t.Fatalf("mosquitto_sub: %v (%s)", err, out.String())
	}
	return strings.Split(strings.TrimSpace(out.String()), "\n")
}

// TestMosquittoV5Properties (issue 4 items 3, 4, 7 and 9) with the
// mosquitto clients in MQTT 5: publish properties set with -D (content
// type, response topic, correlation data, message expiry, payload format,
// user properties in order) reach mosquitto_sub unchanged; its
// subscription identifier comes back; it gets no outbound topic alias, as
// its CONNECT allows none. (With -D connect topic-alias-maximum,
// mosquitto_sub 2.0.11 accepts the first PUBLISH that sets an alias but
// fails with "network protocol error" on the next one, which carries the
// alias alone: it does not resolve inbound aliases, so outbound aliases are
// tested with raw packets in TestOutboundTopicAlias.)
func TestMosquittoV5Properties(t *testing.T) {
	tb := startBroker(t, Config{}, netio.Config{})
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	sub, out := mosqSub(ctx, t, tb, 1, "-t", "mv/#", "-q", "1", "-C", "2", "-W", "20", "-i", "mosq-v5-props",
		"-F", "%t|%C|%R|%D|%E|%F|%P|%S|%A|%p",
		"-D", "subscribe", "subscription-identifier", "7")
	for i := 0; i < 2; i++ {
		mosqPub(ctx, t, tb, "-t", "mv/a", "-q", "1", "-m", "hello",
			"-D", "publish", "content-type", "text/plain", "-D", "publish", "response-topic", "mv/resp",
			"-D", "publish", "correlation-data", "c0rr", "-D", "publish", "message-expiry-interval", "3600",
			"-D", "publish", "payload-format-indicator", "1",
			"-D", "publish", "user-property", "z", "1", "-D", "publish", "user-property", "a", "2",
			"-D", "publish", "user-property", "z", "3")
	}
	lines := mosqLines(t, sub, out)
	if len(lines) != 2 {
		t.Fatalf("got %q", lines)
	}
	for i, line := range lines {
		f := strings.Split(line, "|")
		if len(f) != 10 {
			t.Fatalf("line %q", line)
		}
		// The expiry is the remaining interval: 3600 or a second less.
		if f[0] != "mv/a" || f[1] != "text/plain" || f[2] != "mv/resp" || f[3] != "c0rr" ||
			(f[4] != "3600" && f[4] != "3599") || f[5] != "1" || f[6] != "z:1 a:2 z:3" || f[7] != "7" || f[9] != "hello" {
			t.Fatalf("message %d: %q", i, line)
		}
		if f[8] != "" {
			t.Fatalf("message %d: topic alias %q to a client whose CONNECT allowed none", i, f[8])
		}
	}
}

// TestMosquittoV5RetainOptions (issue 4 items 3 and 7): a retained message
// keeps its remaining Message Expiry Interval; --retain-as-published keeps
// the retain flag on a live message, which is cleared without it.
func TestMosquittoV5RetainOptions(t *testing.T) {
	tb := startBroker(t, Config{}, netio.Config{})
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	mosqPub(ctx, t, tb, "-t", "mr/kept", "-q", "1", "-r", "-m", "k", "-D", "publish", "message-expiry-interval", "600")
	waitFor(t, "retained", func() bool { return tb.Retained().Len() == 1 })
	rap, rapOut := mosqSub(ctx, t, tb, 1, "-t", "mr/#", "-C", "2", "-W", "20", "--retain-as-published", "-F", "%t %r %E")
	plain, plainOut := mosqSub(ctx, t, tb, 1, "-t", "mr/#", "-C", "2", "-W", "20", "-F", "%t %r %E")
	mosqPub(ctx, t, tb, "-t", "mr/live", "-q", "1", "-r", "-m", "l")
	for _, tc := range []struct {
		name string
		cmd  *exec.Cmd
		out  *bytes.Buffer
		live string
	}{{"retain_as_published", rap, rapOut, "mr/live 1"}, {"plain", plain, plainOut, "mr/live 0"}} {
		lines := mosqLines(t, tc.cmd, tc.out)
		if len(lines) != 2 || !strings.HasPrefix(lines[0], "mr/kept 1 ") || strings.TrimSpace(lines[1]) != tc.live {
			t.Fatalf("%s: got %q", tc.name, lines)
		}
		if e, err := strconv.Atoi(strings.TrimPrefix(lines[0], "mr/kept 1 ")); err != nil || e < 1 || e > 600 {
			t.Fatalf("%s: retained expiry %q, want the remaining interval (1..600)", tc.name, lines[0])
		}
	}
}

// TestMosquittoV5Will (issue 4 item 2): a mosquitto_sub killed without
// DISCONNECT has its will published with the will properties given by -D.
func TestMosquittoV5Will(t *testing.T) {
	tb := startBroker(t, Config{}, netio.Config{})
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	watch, watchOut := mosqSub(ctx, t, tb, 1, "-t", "mw/will", "-C", "1", "-W", "20", "-F", "%t|%C|%R|%P|%p")
	victim, _ := mosqSub(ctx, t, tb, 1, "-t", "mw/other", "-i", "mosq-will",
		"--will-topic", "mw/will", "--will-payload", "bye", "--will-qos", "1",
		"-D", "will", "content-type", "text/plain", "-D", "will", "response-topic", "mw/r",
		"-D", "will", "user-property", "k", "v")
	if err := victim.Process.Kill(); err != nil {
		t.Fatal(err)
	}
	_ = victim.Wait()
	lines := mosqLines(t, watch, watchOut)
	if len(lines) != 1 || lines[0] != "mw/will|text/plain|mw/r|k:v|bye" {
		t.Fatalf("got %q", lines)
	}
}
