package main

import (
	"context"
	"encoding/json"
	"io"
	"net/http"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// apiCall sends an API request with the credentials cred (key:secret) and
// returns the status and body.
func apiCall(t *testing.T, method, url, cred, body string) (int, string) {
	t.Helper()
	var rd io.Reader
	if body != "" {
		rd = strings.NewReader(body)
	}
	req, err := http.NewRequest(method, url, rd)
	if err != nil {
		t.Fatal(err)
	}
	user, pass, _ := strings.Cut(cred, ":")
	req.SetBasicAuth(user, pass)
	if body != "" {
		req.Header.Set("Content-Type", "application/json")
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(b)
}

// mosquittoPub runs mosquitto_pub as client id on addr and returns its
// output and error.
func mosquittoPub(t *testing.T, addr, id string) (string, error) {
	t.Helper()
	path, err := exec.LookPath("mosquitto_pub")
	if err != nil {
		t.Skip("mosquitto_pub not installed (make deps installs mosquitto-clients)")
	}
	ctx, cancel := context.WithTimeout(context.Background(), 15*time.Second)
	defer cancel()
	host, port, _ := strings.Cut(addr, ":")
	out, err := exec.CommandContext(ctx, path, "-h", host, "-p", port, "-V", "mqttv5", "-i", id,
		"-t", "t", "-m", "x").CombinedOutput()
	return string(out), err
}

// TestBannedRestart checks the binary's ban list (and that GET /listeners
// names its listener): a ban made through
// POST /banned refuses mosquitto_pub, is still in force after a restart
// (the data dir's banned.json), and DELETE lifts it.
func TestBannedRestart(t *testing.T) {
	_, bin := buildBroker(t)
	data := filepath.Join(t.TempDir(), "data")
	b := startOps(t, bin, "--data-dir", data)
	base := b.url("/api/v5")
	// GET /listeners names the listener the broker serves on.
	code, out := apiCall(t, "GET", base+"/listeners", b.cred, "")
	var ls []map[string]any
	if code != http.StatusOK || json.Unmarshal([]byte(out), &ls) != nil || len(ls) != 1 || ls[0]["id"] != "tcp:default" ||
		ls[0]["bind"] != b.mqtt || ls[0]["running"] != true || ls[0]["current_connections"] != 0.0 {
		t.Fatalf("GET /listeners: %d %s", code, out)
	}
	if code, out := apiCall(t, "POST", base+"/banned", b.cred,
		`{"as":"clientid","who":"dev-banned","reason":"stolen","until":"2999-01-01T00:00:00Z"}`); code != http.StatusOK {
		t.Fatalf("POST /banned: %d %s", code, out)
	}
	if out, err := mosquittoPub(t, b.mqtt, "dev-banned"); err == nil || !strings.Contains(strings.ToLower(out), "banned") {
		t.Fatalf("mosquitto_pub of a banned id: %v %q", err, out)
	}
	if code := b.stop(t); code != 0 {
		t.Fatalf("exit %d", code)
	}
	cred := b.cred
	b = startOps(t, bin, "--data-dir", data)
	base = b.url("/api/v5")
	code, out = apiCall(t, "GET", base+"/banned", cred, "")
	var list struct {
		Data []map[string]string `json:"data"`
	}
	if code != http.StatusOK || json.Unmarshal([]byte(out), &list) != nil || len(list.Data) != 1 ||
		list.Data[0]["who"] != "dev-banned" || list.Data[0]["reason"] != "stolen" || list.Data[0]["until"] != "2999-01-01T00:00:00+00:00" {
		t.Fatalf("GET /banned after the restart: %d %s", code, out)
	}
	if out, err := mosquittoPub(t, b.mqtt, "dev-banned"); err == nil || !strings.Contains(strings.ToLower(out), "banned") {
		t.Fatalf("mosquitto_pub of a banned id after the restart: %v %q", err, out)
	}
	if code, out := apiCall(t, "DELETE", base+"/banned/clientid/dev-banned", cred, ""); code != http.StatusNoContent {
		t.Fatalf("DELETE: %d %s", code, out)
	}
	if out, err := mosquittoPub(t, b.mqtt, "dev-banned"); err != nil {
		t.Fatalf("mosquitto_pub once the ban is lifted: %v %s", err, out)
	}
	b.stop(t)
}
