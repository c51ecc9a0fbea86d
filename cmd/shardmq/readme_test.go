package main

import (
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
)

// readmeBlocks returns the ```sh blocks of README.md's section heading.
func readmeBlocks(t *testing.T, heading string) []string {
	t.Helper()
	data, err := os.ReadFile("../../README.md")
	if err != nil {
		t.Fatal(err)
	}
	_, section, ok := strings.Cut(string(data), "\n"+heading+"\n")
	if !ok {
		t.Fatalf("README.md has no %q", heading)
	}
	if i := strings.Index(section, "\n## "); i >= 0 {
		section = section[:i]
	}
	var blocks []string
	for {
		_, rest, ok := strings.Cut(section, "```sh\n")
		if !ok {
			return blocks
		}
		block, after, ok := strings.Cut(rest, "```\n")
		if !ok {
			t.Fatal("unterminated code block")
		}
		blocks = append(blocks, block)
		section = after
	}
}

// TestReadmeSecuring runs the README's "Securing shardmq" section exactly:
// the setup block, the broker command, then each client command, whose
// output must be the comment lines under it.
func TestReadmeSecuring(t *testing.T) {
	needTools(t, "mosquitto_pub", "mosquitto_sub", "bash")
	blocks := readmeBlocks(t, "## Securing shardmq")
	if len(blocks) != 3 {
		t.Fatalf("want 3 sh blocks (setup, broker, clients), got %d", len(blocks))
	}
	binDir, _ := buildBroker(t)
	work := t.TempDir()
	env := append(os.Environ(), "PATH="+binDir+string(os.PathListSeparator)+os.Getenv("PATH"))

	// Block 1: users and rules; the directory it ends in is where the
	// reader's shell is for the next blocks.
	setup := exec.Command("bash", "-euo", "pipefail", "-c", blocks[0]+"\npwd\n")
	setup.Dir, setup.Env = work, env
	out, err := setup.CombinedOutput()
	if err != nil {
		t.Fatalf("setup block: %v\n%s", err, out)
	}
	lines := strings.Split(strings.TrimSpace(string(out)), "\n")
	dir := lines[len(lines)-1]
	if !strings.HasPrefix(dir, work) {
		t.Fatalf("setup ended in %q", dir)
	}
	for _, want := range []string{"added user alice in passwd", "added user bob in passwd"} {
		if !strings.Contains(string(out), want) {
			t.Errorf("setup output lacks %q:\n%s", want, out)
		}
	}
	pw, err := os.ReadFile(filepath.Join(dir, "passwd"))
	if err != nil || strings.Contains(string(pw), "wonderland") || !strings.HasPrefix(string(pw), "alice:$2a$") {
		t.Fatalf("password file: %v\n%s", err, pw)
	}

	// Block 2: the broker, one command.
	brokerCmd := strings.TrimSpace(blocks[1])
	if strings.Contains(brokerCmd, "\n") {
		t.Fatalf("broker block must be one command: %q", brokerCmd)
	}
	broker := exec.Command("bash", "-c", "exec "+brokerCmd)
	broker.Dir, broker.Env = dir, env
	logPath := startProcess(t, broker)
	waitListening(t, "127.0.0.1:1884", broker)

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
	if len(steps) < 6 {
		t.Fatalf("only %d client commands", len(steps))
	}
	for _, s := range steps {
		c := exec.Command("bash", "-c", s.cmd)
		c.Dir, c.Env = dir, env
		out, _ := c.CombinedOutput() // refused clients exit non-zero by design
		got := strings.TrimRight(string(out), "\n")
		if want := strings.Join(s.want, "\n"); got != want {
			log, _ := os.ReadFile(logPath)
			t.Fatalf("%s\ngot:\n%s\nwant:\n%s\nbroker log:\n%s", s.cmd, got, want, log)
		}
	}
}
