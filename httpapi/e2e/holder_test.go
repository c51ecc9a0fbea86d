package e2e

import (
	"bufio"
	"fmt"
	"io"
	"net"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/shardmq/shardmq/mqtt"
	"github.com/shardmq/shardmq/shards"
)

// holdEnv names the variable that turns this test binary into a client holder: a
// process that opens MQTT connections and keeps them until its stdin closes. Each open
// connection costs one file descriptor at each end, and a process may hold only 20,000 on
// these machines, so 10,000 clients need their client ends in another process.
const holdEnv = "SHARDMQ_E2E_HOLD"

// holdMain runs the holder: spec is "addr prefix first count". It prints "ready" once
// every client has its CONNACK, and returns the exit code.
func holdMain(spec string) int {
	f := strings.Fields(spec)
	if len(f) != 4 {
		fmt.Fprintln(os.Stderr, "holder: bad spec", spec)
		return 2
	}
	first, err1 := strconv.Atoi(f[2])
	count, err2 := strconv.Atoi(f[3])
	if err1 != nil || err2 != nil {
		fmt.Fprintln(os.Stderr, "holder: bad spec", spec)
		return 2
	}
	conns := make([]net.Conn, 0, count)
	buf := make([]byte, 4)
	for i := first; i < first+count; i++ {
		c, err := net.Dial("tcp", f[0])
		if err != nil {
			fmt.Fprintln(os.Stderr, "holder:", err)
			return 1
		}
		conns = append(conns, c)
		p := connect(mqtt.V311, fmt.Sprintf("%s%05d", f[1], i), fmt.Sprintf("user%d", i%10), true, 0)
		if _, err := c.Write(mqtt.AppendConnect(nil, p, mqtt.V311)); err != nil {
			fmt.Fprintln(os.Stderr, "holder:", err)
			return 1
		}
		c.SetReadDeadline(time.Now().Add(10 * time.Second))
		if _, err := io.ReadFull(c, buf); err != nil || buf[0] != 0x20 || buf[3] != 0 {
			fmt.Fprintf(os.Stderr, "holder: connack %d: % x %v\n", i, buf, err)
			return 1
		}
	}
	fmt.Println("ready")
	io.Copy(io.Discard, os.Stdin) // until the benchmark closes our stdin
	for _, c := range conns {
		c.Close()
	}
	return 0
}

// connectElsewhere connects n clients named prefixNNNNN from holder processes of at most
// perProc clients each, and returns when all are connected; the holders exit when the
// test ends.
func connectElsewhere(t testing.TB, addr, prefix string, n, perProc int) {
	t.Helper()
	for first := 0; first < n; first += perProc {
		count := min(perProc, n-first)
		cmd := exec.Command(os.Args[0], "-test.run=^$", "-test.bench=^$")
		cmd.Env = append(os.Environ(), fmt.Sprintf("%s=%s %s %d %d", holdEnv, addr, prefix, first, count))
		cmd.Stderr = os.Stderr
		stdin, err := cmd.StdinPipe()
		if err != nil {
			t.Fatal(err)
		}
		stdout, err := cmd.StdoutPipe()
		if err != nil {
			t.Fatal(err)
		}
		if err := cmd.Start(); err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() {
			stdin.Close()
			_ = cmd.Wait()
		})
		line, err := bufio.NewReader(stdout).ReadString('\n')
		if err != nil || line != "ready\n" {
			t.Fatalf("holder for clients %d..%d: %q %v", first, first+count-1, line, err)
		}
	}
}

// TestHolderProcess connects clients from a holder process and sees them listed, so the
// benchmark's 10,000-client setup is itself tested.
func TestHolderProcess(t *testing.T) {
	if testing.Short() {
		t.Skip("spawns a process")
	}
	e := start(t, shards.Config{})
	connectElsewhere(t, e.mqttAddr, "h", 50, 30)
	waitFor(t, "50 clients listed", func() bool { return e.list(t, "_limit=1").Meta.Count == 50 })
}
