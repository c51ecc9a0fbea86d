package main

import (
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// readmeRun runs a README section of three sh blocks exactly: the setup
// block (in a fresh directory; it may cd), the broker command, which must
// listen on listen, then each client command, whose output must be the
// "# " lines under it. A curl command is retried for up to 5 s: the list
// it reads lags the broker by up to a tick. It returns the setup's output
// and the directory the setup ended in.
func readmeRun(t *testing.T, heading, listen string, tools ...string) (setupOut, dir string) {
	t.Helper()
	return docRun(t, "../../README.md", heading, listen, tools...)
}

// docRun is readmeRun for the section heading of the Markdown file at
// path.
func docRun(t *testing.T, path, heading, listen string, tools ...string) (setupOut, dir string) {
	t.Helper()
	needTools(t, append(tools, "bash")...)
	blocks := docBlocks(t, path, heading)
	if len(blocks) != 3 {
		t.Fatalf("want 3 sh blocks (setup, broker, clients), got %d", len(blocks))
	}
	binDir, _ := buildBroker(t)
	work := t.TempDir()
	env := append(os.Environ(), "PATH="+binDir+string(os.PathListSeparator)+os.Getenv("PATH"))

	// Block 1: the setup; the directory it ends in is where the reader's
	// shell is for the next blocks.
	setup := exec.Command("bash", "-euo", "pipefail", "-c", blocks[0]+"\npwd\n")
	setup.Dir, setup.Env = work, env
	out, err := setup.CombinedOutput()
	if err != nil {
		t.Fatalf("setup block: %v\n%s", err, out)
	}
	lines := strings.Split(strings.TrimSpace(string(out)), "\n")
	dir = lines[len(lines)-1]
	if !strings.HasPrefix(dir, work) {
		t.Fatalf("setup ended in %q", dir)
	}

	// Block 2: the broker, one command.
	brokerCmd := strings.TrimSpace(blocks[1])
	if strings.Contains(brokerCmd, "\n") {
		t.Fatalf("broker block must be one command: %q", brokerCmd)
	}
	broker := exec.Command("bash", "-c", "exec "+brokerCmd)
	broker.Dir, broker.Env = dir, env
	logPath := startProcess(t, broker)
	waitListening(t, listen, broker)

	// Block 3: each command, then its expected output as "# " lines.
	type step struct {
		cmd  string
		want []string
	}
	var steps []step
	for _, line := range strings.Split(strings.TrimRight(blocks[2], "\n"), "\n") {
		if w, ok := strings.CutPrefix(line, "# "); ok {
			if len(steps) == 0 {
				t.Fatal("expected output before any command")
			}
			steps[len(steps)-1].want = append(steps[len(steps)-1].want, w)
			continue
		}
		steps = append(steps, step{cmd: line})
	}
	for _, s := range steps {
		want := strings.Join(s.want, "\n")
		var got string
		for deadline := time.Now().Add(5 * time.Second); ; time.Sleep(100 * time.Millisecond) {
			c := exec.Command("bash", "-c", s.cmd)
			c.Dir, c.Env = dir, env
			out, _ := c.CombinedOutput() // refused clients exit non-zero by design
			got = strings.TrimRight(string(out), "\n")
			if got == want || !strings.HasPrefix(s.cmd, "curl ") || time.Now().After(deadline) {
				break
			}
		}
		if got != want {
			log, _ := os.ReadFile(logPath)
			t.Fatalf("%s\ngot:\n%s\nwant:\n%s\nbroker log:\n%s", s.cmd, got, want, log)
		}
	}
	return string(out), dir
}

// TestReadmeSecuring runs the README's "Securing shardmq" section exactly.
func TestReadmeSecuring(t *testing.T) {
	out, dir := readmeRun(t, "## Securing shardmq", "127.0.0.1:1884", "mosquitto_pub", "mosquitto_sub")
	for _, want := range []string{"added user alice in passwd", "added user bob in passwd"} {
		if !strings.Contains(out, want) {
			t.Errorf("setup output lacks %q:\n%s", want, out)
		}
	}
	pw, err := os.ReadFile(filepath.Join(dir, "passwd"))
	if err != nil || strings.Contains(string(pw), "wonderland") || !strings.HasPrefix(string(pw), "alice:$2a$") {
		t.Fatalf("password file: %v\n%s", err, pw)
	}
}

// TestReadmeTLS runs the README's "TLS quick start" exactly: openssl makes
// the CA and the certificates, mosquitto_pub connects with the device's,
// and GET /clients?cn=device-1 shows the certificate's names and the SNI.
func TestReadmeTLS(t *testing.T) {
	readmeRun(t, "## TLS quick start", "127.0.0.1:8883", "openssl", "mosquitto_pub", "curl")
}
