package main

import (
	"context"
	"net"
	"os/exec"
	"strings"
	"testing"
	"time"

	"github.com/eclipse/paho.golang/paho"
)

// TestMQTTOptionsReachBroker checks that --sys-interval and --response-information
// reach the broker: a 1 s $SYS interval delivers uptime to mosquitto_sub well before the
// 60 s default would, and a paho.golang v5 client that requests response information
// gets it. (The strategy flag's effect is covered by shards' TestPahoSharedStrategies;
// here it must at least be accepted.)
func TestMQTTOptionsReachBroker(t *testing.T) {
	needTools(t, "mosquitto_sub")
	_, bin := buildBroker(t)
	b := startOps(t, bin, "--sys-interval", "1s", "--response-information", "resp/base",
		"--shared-subscription-strategy", "sticky")
	host, port, _ := strings.Cut(b.mqtt, ":")
	out, err := exec.Command("mosquitto_sub", "-h", host, "-p", port, "-V", "mqttv311",
		"-t", "$SYS/brokers/+/uptime", "-C", "1", "-W", "8", "-v").CombinedOutput()
	if err != nil || !strings.HasPrefix(string(out), "$SYS/brokers/shardmq@127.0.0.1/uptime ") {
		t.Fatalf("mosquitto_sub $SYS uptime: %v, %q", err, out)
	}
	// A paho.golang v5 client that requests response information gets it in CONNACK.
	conn, err := net.Dial("tcp", b.mqtt)
	if err != nil {
		t.Fatal(err)
	}
	c := paho.NewClient(paho.ClientConfig{ClientID: "resp-info", Conn: conn, OnClientError: func(error) {}})
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	ack, err := c.Connect(ctx, &paho.Connect{ClientID: "resp-info", CleanStart: true, KeepAlive: 30,
		Properties: &paho.ConnectProperties{RequestResponseInfo: true}})
	if err != nil || ack.ReasonCode != 0 {
		t.Fatalf("connect: %v %v", err, ack)
	}
	if ack.Properties == nil || ack.Properties.ResponseInfo != "resp/base" {
		t.Fatalf("CONNACK properties %+v, want Response Information resp/base", ack.Properties)
	}
	_ = c.Disconnect(&paho.Disconnect{})
	if code := b.stop(t); code != 0 {
		t.Fatalf("exit code %d", code)
	}
}
