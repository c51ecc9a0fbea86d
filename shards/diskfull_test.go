package shards

import (
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"syscall"
	"testing"

	"github.com/shardmq/shardmq/mqtt"
	"github.com/shardmq/shardmq/shards/store"
)

// TestDiskFull fills the filesystem of the broker's store (a 32 MiB
// tmpfs; root needed, skipped otherwise): QoS 1/2 PUBLISHes that would
// reach a kept session are refused, 0x97 on MQTT 5 and a close on MQTT 3,
// and counted; QoS 0 and publishes to clean sessions go on; once space
// returns, QoS 1 reaches the kept session again.
func TestDiskFull(t *testing.T) {
	mnt := t.TempDir()
	if out, err := exec.Command("mount", "-t", "tmpfs", "-o", "size=33554432", "tmpfs", mnt).CombinedOutput(); err != nil {
		t.Skipf("a full disk needs a small filesystem: mount tmpfs (needs root): %v: %s", err, out)
	}
	t.Cleanup(func() {
		if out, err := exec.Command("umount", mnt).CombinedOutput(); err != nil {
			t.Errorf("umount %s: %v: %s", mnt, err, out)
		}
	})
	const reserve = 2 << 20
	b := startDurable(t, filepath.Join(mnt, "store"), Config{}, func(c *store.Config) { c.Reserve = reserve })
	full := b.db.Full

	keep, _ := connectRaw(t, b.addr, conn311("keep", false))
	keep.subscribe(1, sub("full/kept", 1))
	clean, _ := connectRaw(t, b.addr, conn5("clean"))
	clean.subscribe(1, sub("full/clean", 1))
	pub, _ := connectRaw(t, b.addr, conn5("pub5"))

	filler := filepath.Join(mnt, "filler")
	f, err := os.Create(filler)
	if err != nil {
		t.Fatal(err)
	}
	buf := make([]byte, 64<<10)
	var n int64
	for {
		w, err := f.Write(buf)
		n += int64(w)
		if errors.Is(err, syscall.ENOSPC) {
			break
		}
		if err != nil {
			t.Fatal(err)
		}
	}
	if err := f.Truncate(n - reserve/2); err != nil {
		t.Fatal(err)
	}
	f.Close()
	waitFor(t, "the store to report the disk full", full)

	puback := func(rc *rawClient) mqtt.ReasonCode {
		t.Helper()
		h, body := rc.read()
		var a mqtt.Puback
		if h.Type != mqtt.TypePuback || a.Decode(h, body, mqtt.V5) != nil {
			t.Fatalf("got %v, want PUBACK", h.Type)
		}
		return a.ReasonCode
	}
	pub.write(mqtt.AppendPublish(nil, &mqtt.Publish{Topic: []byte("full/kept"), Payload: []byte("no room"), QoS: 1, PacketID: 1}, mqtt.V5))
	if rc := puback(pub); rc != mqtt.QuotaExceeded {
		t.Fatalf("QoS 1 to a kept session on a full disk: PUBACK %#x, want 0x97", byte(rc))
	}
	pub.write(mqtt.AppendPublish(nil, &mqtt.Publish{Topic: []byte("full/clean"), Payload: []byte("fine"), QoS: 1, PacketID: 2}, mqtt.V5))
	if rc := puback(pub); rc != mqtt.Success {
		t.Fatalf("QoS 1 to a clean session on a full disk: PUBACK %#x", byte(rc))
	}
	if p := clean.readPublish(); string(p.Payload) != "fine" {
		t.Fatalf("clean subscriber got %q", p.Payload)
	}
	pub.write(mqtt.AppendPublish(nil, &mqtt.Publish{Topic: []byte("full/kept"), Payload: []byte("qos0")}, mqtt.V5))
	if p := keep.readPublish(); string(p.Payload) != "qos0" {
		t.Fatalf("QoS 0 on a full disk: kept subscriber got %q", p.Payload)
	}
	pub3, _ := connectRaw(t, b.addr, conn311("pub3", true))
	pub3.publish("full/kept", "no room 3", 1, false, 1)
	pub3.expectClosed()
	if got := b.DiskFullRefused(); got != 2 {
		t.Fatalf("DiskFullRefused %d, want 2", got)
	}

	if err := os.Remove(filler); err != nil {
		t.Fatal(err)
	}
	waitFor(t, "the store to take writes again", func() bool { return !full() })
	pub.write(mqtt.AppendPublish(nil, &mqtt.Publish{Topic: []byte("full/kept"), Payload: []byte("room"), QoS: 1, PacketID: 3}, mqtt.V5))
	if rc := puback(pub); rc != mqtt.Success {
		t.Fatalf("after space returned: PUBACK %#x", byte(rc))
	}
	if p := keep.readPublish(); string(p.Payload) != "room" {
		t.Fatalf("kept subscriber got %q after space returned", p.Payload)
	}
}
