package main

import (
	"bytes"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/shardmq/shardmq/shards/auth"
	"golang.org/x/sys/unix"
)

// stdinFile returns a file reading s (a pipe, so not a terminal).
func stdinFile(t *testing.T, s string) *os.File {
	t.Helper()
	r, w, err := os.Pipe()
	if err != nil {
		t.Fatal(err)
	}
	go func() { _, _ = w.WriteString(s); w.Close() }()
	t.Cleanup(func() { r.Close() })
	return r
}

// checkPassword reports whether file holds user with password pw.
func checkPassword(t *testing.T, file, user, pw string) bool {
	t.Helper()
	f, err := os.Open(file)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	a, err := auth.New(auth.Config{PasswordFile: file})
	if err != nil {
		t.Fatal(err)
	}
	ok, _ := a.Authenticate([]byte(user), []byte(pw), true, false)
	return ok
}

// TestPasswdRole checks -role: the dashboard's users file gets
// username:role:hash lines, a publisher or unknown role is refused, and the
// MQTT password file and the users file refuse each other's command.
func TestPasswdRole(t *testing.T) {
	dir := t.TempDir()
	users, mqttFile := filepath.Join(dir, "users"), filepath.Join(dir, "passwd")
	run := func(stdin string, args ...string) (int, string, string) {
		var out, errOut bytes.Buffer
		code := passwdMain(args, stdinFile(t, stdin), &out, &errOut)
		return code, out.String(), errOut.String()
	}
	if code, out, _ := run("pw\n", "-cost", "4", "-role", "viewer", users, "ops"); code != 0 || !strings.Contains(out, "added dashboard user ops (viewer)") {
		t.Fatalf("add: %d %q", code, out)
	}
	if code, out, _ := run("pw2\n", "-cost", "4", "-role", "administrator", users, "ops"); code != 0 || !strings.Contains(out, "changed the password and role of dashboard user ops (administrator)") {
		t.Fatalf("change: %d %q", code, out)
	}
	data, _ := os.ReadFile(users)
	if !strings.HasPrefix(string(data), "ops:administrator:$2") || strings.Count(string(data), "\n") != 1 {
		t.Errorf("users file %q", data)
	}
	for _, role := range []string{"publisher", "root"} {
		if code, _, errOut := run("pw\n", "-role", role, users, "x"); code != 1 || !strings.Contains(errOut, "administrator or viewer") {
			t.Errorf("-role %s: %d %q", role, code, errOut)
		}
	}
	if code, _, _ := run("pw\n", "-cost", "4", users, "alice"); code != 1 {
		t.Error("passwd without -role rewrote the users file")
	}
	if code, _, _ := run("pw\n", "-cost", "4", mqttFile, "dev"); code != 0 {
		t.Fatal("MQTT password file")
	}
	if code, _, errOut := run("pw\n", "-cost", "4", "-role", "viewer", mqttFile, "ops"); code != 1 || !strings.Contains(errOut, "line 1") {
		t.Errorf("passwd -role on the MQTT password file: %d %q", code, errOut)
	}
}

func TestPasswdStdin(t *testing.T) {
	file := filepath.Join(t.TempDir(), "passwd")
	tests := []struct {
		name     string
		args     []string
		stdin    string
		wantCode int
		wantOut  string
	}{
		{name: "add", args: []string{"-cost", "4", file, "alice"}, stdin: "one\n", wantOut: "added user alice"},
		{name: "add without newline", args: []string{"-cost", "4", file, "bob"}, stdin: "two", wantOut: "added user bob"},
		{name: "change", args: []string{"-cost", "4", file, "alice"}, stdin: "three\r\n", wantOut: "changed the password of user alice"},
		{name: "empty password", args: []string{file, "carol"}, stdin: "\n", wantCode: 1},
		{name: "no input", args: []string{file, "carol"}, stdin: "", wantCode: 1},
		{name: "bad user", args: []string{file, "a:b"}, stdin: "x\n", wantCode: 1},
		{name: "usage", args: []string{file}, wantCode: 2},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			var out, errOut bytes.Buffer
			code := passwdMain(tc.args, stdinFile(t, tc.stdin), &out, &errOut)
			if code != tc.wantCode || !strings.Contains(out.String(), tc.wantOut) {
				t.Fatalf("code %d out %q err %q", code, out.String(), errOut.String())
			}
		})
	}
	if !checkPassword(t, file, "alice", "three") || checkPassword(t, file, "alice", "one") || !checkPassword(t, file, "bob", "two") {
		t.Fatal("passwords in the file are not the last ones set")
	}
	if fi, _ := os.Stat(file); fi.Mode().Perm() != 0o600 {
		t.Fatalf("mode %v", fi.Mode().Perm())
	}
}

// openPTY returns the two ends of a new pseudo-terminal.
func openPTY(t *testing.T) (master, slave *os.File) {
	t.Helper()
	// Non-blocking, so that the runtime poller serves it and read deadlines
	// work. The ioctls use fd, not m.Fd(): Fd puts the file back into
	// blocking mode, after which a deadline never fires and Read hangs.
	fd, err := unix.Open("/dev/ptmx", unix.O_RDWR|unix.O_NOCTTY|unix.O_NONBLOCK|unix.O_CLOEXEC, 0)
	if err != nil {
		t.Fatalf("opening a pseudo-terminal: %v", err)
	}
	m := os.NewFile(uintptr(fd), "/dev/ptmx")
	if err := unix.IoctlSetPointerInt(fd, unix.TIOCSPTLCK, 0); err != nil {
		m.Close()
		t.Fatal(err)
	}
	n, err := unix.IoctlGetInt(fd, unix.TIOCGPTN)
	if err != nil {
		m.Close()
		t.Fatal(err)
	}
	s, err := os.OpenFile("/dev/pts/"+strconv.Itoa(n), os.O_RDWR|unix.O_NOCTTY, 0)
	if err != nil {
		m.Close()
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close(); m.Close() })
	return m, s
}

// TestPasswdTerminal types the password twice on a pseudo-terminal: the
// prompts appear, the password is not echoed, and a mismatch is refused.
func TestPasswdTerminal(t *testing.T) {
	tests := []struct {
		name     string
		typed    string
		wantCode int
	}{
		{name: "twice the same", typed: "s3cret\ns3cret\n", wantCode: 0},
		{name: "mismatch", typed: "s3cret\nother\n", wantCode: 1},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			master, slave := openPTY(t)
			file := filepath.Join(t.TempDir(), "passwd")
			var out bytes.Buffer
			var prompts syncBuffer
			done := make(chan int, 1)
			go func() { done <- passwdMain([]string{"-cost", "4", file, "alice"}, slave, &out, &prompts) }()
			// Type once echo is off (the prompt is written after the
			// terminal is switched), so what comes back is only echo.
			waitUntil(t, "the prompt", func() bool { return strings.Contains(prompts.String(), "Password: ") })
			if _, err := master.WriteString(tc.typed); err != nil {
				t.Fatal(err)
			}
			var code int
			select {
			case code = <-done:
			case <-time.After(10 * time.Second):
				t.Fatal("passwd did not finish")
			}
			if code != tc.wantCode {
				t.Fatalf("code %d, prompts %q out %q", code, prompts.String(), out.String())
			}
			_ = master.SetReadDeadline(time.Now().Add(200 * time.Millisecond))
			echo := make([]byte, 4096)
			n, _ := master.Read(echo)
			if strings.Contains(string(echo[:n]), "s3cret") {
				t.Fatalf("password echoed: %q", echo[:n])
			}
			if !strings.Contains(prompts.String(), "Reenter password: ") {
				t.Fatalf("prompts %q", prompts.String())
			}
			if tc.wantCode == 0 && !checkPassword(t, file, "alice", "s3cret") {
				t.Fatal("password not stored")
			}
		})
	}
}

// syncBuffer is a bytes.Buffer safe for one writer and one reader.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}
