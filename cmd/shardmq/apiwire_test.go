package main

import (
	"bufio"
	"encoding/json"
	"io"
	"net"
	"net/http"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// TestAPIWiring checks what the binary wires around the HTTP API: a key
// created through POST /api_key works after a restart (the data dir's
// api_keys.json), --api-cors-origin answers a browser's Origin, and a
// request line net/http cannot parse still gets a JSON error.
func TestAPIWiring(t *testing.T) {
	_, bin := buildBroker(t)
	data := filepath.Join(t.TempDir(), "data")
	const origin = "http://dash.example:8080"
	b := startOps(t, bin, "--data-dir", data, "--api-cors-origin", origin)

	body := strings.NewReader(`{"name":"ops","enable":true,"desc":"wiring test","role":"viewer"}`)
	req, _ := http.NewRequest(http.MethodPost, b.url("/api/v5/api_key"), body)
	user, pass, _ := strings.Cut(b.cred, ":")
	req.SetBasicAuth(user, pass)
	req.Header.Set("Content-Type", "application/json")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	var created struct {
		APIKey    string `json:"api_key"`
		APISecret string `json:"api_secret"`
	}
	err = json.NewDecoder(resp.Body).Decode(&created)
	resp.Body.Close()
	if err != nil || resp.StatusCode != http.StatusOK || created.APIKey == "" || created.APISecret == "" {
		t.Fatalf("POST /api_key: %d %+v %v", resp.StatusCode, created, err)
	}
	viewer := created.APIKey + ":" + created.APISecret
	if code, out := httpGet(b.url("/api/v5/clients"), viewer); code != http.StatusOK {
		t.Fatalf("the new key before the restart: %d %s", code, out)
	}

	req, _ = http.NewRequest(http.MethodGet, b.url("/api/v5/clients"), nil)
	req.SetBasicAuth(created.APIKey, created.APISecret)
	req.Header.Set("Origin", origin)
	resp, err = http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if got := resp.Header.Get("Access-Control-Allow-Origin"); got != origin {
		t.Fatalf("Access-Control-Allow-Origin %q, want %q", got, origin)
	}

	c, err := net.DialTimeout("tcp", b.api, 5*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	_ = c.SetDeadline(time.Now().Add(5 * time.Second))
	_, _ = io.WriteString(c, "GET /api/v5/clients/%zz HTTP/1.1\r\nHost: x\r\n\r\n")
	raw, err := http.ReadResponse(bufio.NewReader(c), nil)
	if err != nil {
		t.Fatal(err)
	}
	var e struct{ Code, Message string }
	err = json.NewDecoder(raw.Body).Decode(&e)
	c.Close()
	if raw.StatusCode != http.StatusBadRequest || err != nil || e.Code == "" || e.Message == "" {
		t.Fatalf("malformed request line: %d %+v %v", raw.StatusCode, e, err)
	}

	if code := b.stop(t); code != 0 {
		t.Fatalf("exit %d", code)
	}
	b = startOps(t, bin, "--data-dir", data)
	if code, out := httpGet(b.url("/api/v5/clients"), viewer); code != http.StatusOK {
		t.Fatalf("the key created through the API after a restart: %d %s", code, out)
	}
	b.stop(t)
}
