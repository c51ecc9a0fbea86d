package httpapi

import (
	"bufio"
	"context"
	"encoding/json"
	"io"
	"net"
	"net/http"
	"strings"
	"testing"
	"time"
)

// serveWrapped serves env's API the way cmd does: NewServer on a real
// socket, through WrapListener. It returns the address.
func serveWrapped(t *testing.T, env *testEnv) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	srv := env.api.NewServer(ln.Addr().String())
	done := make(chan struct{})
	go func() {
		defer close(done)
		srv.Serve(env.api.WrapListener(ln))
	}()
	t.Cleanup(func() {
		// Shutdown waits for connections net/http is still closing (it
		// lingers 500 ms after a 431).
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		if err := srv.Shutdown(ctx); err != nil {
			t.Error(err)
		}
		<-done
	})
	return ln.Addr().String()
}

// rawExchange writes each of reqs on one connection to addr and reads one
// response after each.
func rawExchange(t *testing.T, addr string, reqs ...string) []response {
	t.Helper()
	conn, err := net.Dial("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	conn.SetDeadline(time.Now().Add(20 * time.Second))
	br := bufio.NewReader(conn)
	var out []response
	for _, req := range reqs {
		if _, err := io.WriteString(conn, req); err != nil {
			t.Fatal(err)
		}
		res, err := http.ReadResponse(br, nil)
		if err != nil {
			t.Fatalf("reading the response to %.60q: %v", req, err)
		}
		body, err := io.ReadAll(res.Body)
		res.Body.Close()
		if err != nil {
			t.Fatal(err)
		}
		out = append(out, response{status: res.StatusCode, header: res.Header, body: body})
	}
	return out
}

// TestRawRequestErrorsAreJSON sends requests net/http refuses before any
// handler runs, on a raw socket, and checks that each comes back as the
// API's JSON error with a message that says what is wrong.
func TestRawRequestErrorsAreJSON(t *testing.T) {
	env := newTestEnv(t, Config{}, testRows(3))
	addr := serveWrapped(t, env)
	auth := "Authorization: Basic YWRtaW46YWRtaW4tc2VjcmV0\r\n" // admin:admin-secret
	big := func(n int) string { return "X-Big: " + strings.Repeat("a", n) + "\r\n" }
	for _, tc := range []struct {
		name    string
		req     string
		status  int
		code    string
		message string
	}{
		{"malformed escape in the path", "GET /api/v5/clients/%zz HTTP/1.1\r\nHost: x\r\n" + auth + "\r\n",
			400, codeBadRequest, `request target "/api/v5/clients/%zz": invalid URL escape "%zz"`},
		{"malformed escape in the query", "GET /api/v5/clients?a=%g1 HTTP/1.1\r\nHost: x\r\n" + auth + "\r\n",
			400, codeBadRequest, `malformed query string: invalid URL escape "%g1"`},
		{"request line without version", "GET /api/v5/clients\r\nHost: x\r\n\r\n",
			400, codeBadRequest, `malformed request line "GET /api/v5/clients"; want METHOD /path HTTP/1.1`},
		{"bad version", "GET / HTTP/x\r\nHost: x\r\n\r\n",
			400, codeBadRequest, `malformed request line: "HTTP/x" is not an HTTP version`},
		{"header line without colon", "GET /api/v5/clients HTTP/1.1\r\nHost: x\r\nnocolon\r\n\r\n",
			400, codeBadRequest, `malformed request headers: each line must be Name: value, without control characters`},
		{"no Host", "GET /api/v5/clients HTTP/1.1\r\n" + auth + "\r\n",
			400, codeBadRequest, `malformed request: missing required Host header`},
		{"HTTP/3.0", "GET /api/v5/clients HTTP/3.0\r\nHost: x\r\n\r\n",
			505, codeHTTPVersion, `unsupported HTTP version; use HTTP/1.1`},
		{"unknown transfer encoding", "POST /api/v5/publish HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: gzip\r\n\r\n",
			501, codeNotImplemented, `unsupported Transfer-Encoding; only chunked is supported`},
		{"headers just above 64 KiB (the API's limit)", "GET /api/v5/clients HTTP/1.1\r\nHost: x\r\n" + auth + big(66<<10) + "\r\n",
			431, codeHeadersTooLarge, `the request line and headers are larger than 65536 bytes`},
		{"headers far above (net/http's limit)", "GET /api/v5/clients HTTP/1.1\r\nHost: x\r\n" + auth + big(300<<10) + "\r\n",
			431, codeHeadersTooLarge, `the request line and headers are larger than 65536 bytes`},
		{"query above 64 KiB", "GET /api/v5/clients?clientid=" + strings.Repeat("a", 65<<10) + " HTTP/1.1\r\nHost: x\r\n" + auth + "\r\n",
			431, codeHeadersTooLarge, `the request line and headers are larger than 65536 bytes`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			r := rawExchange(t, addr, tc.req)[0]
			if msg := r.wantError(t, tc.status, tc.code); msg != tc.message {
				t.Errorf("message\n got %s\nwant %s", msg, tc.message)
			}
			checkMessage(t, r.wantError(t, tc.status, tc.code))
		})
	}
}

// TestRawKeepAlive checks that a refused request after a good one on the
// same connection is explained from its own request line, pipelined or
// not, and that good responses pass the wrapper unchanged.
func TestRawKeepAlive(t *testing.T) {
	env := newTestEnv(t, Config{}, testRows(3))
	addr := serveWrapped(t, env)
	good := "GET /status HTTP/1.1\r\nHost: x\r\n\r\n"
	bad := "GET /a%zz HTTP/1.1\r\nHost: x\r\n\r\n"
	rs := rawExchange(t, addr, good, good, bad)
	for _, r := range rs[:2] {
		if r.status != 200 || !strings.HasPrefix(string(r.body), "Node ") || r.header.Get("Content-Type") != "text/plain; charset=utf-8" {
			t.Fatalf("good request: %d %q %q", r.status, r.header, r.body)
		}
	}
	if msg := rs[2].wantError(t, 400, codeBadRequest); msg != `request target "/a%zz": invalid URL escape "%zz"` {
		t.Fatalf("after keep-alive: %s", msg)
	}
	// Pipelined, the good request's response is written before the bad
	// one is read; whatever the explanation, it is JSON.
	conn, err := net.Dial("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	conn.SetDeadline(time.Now().Add(20 * time.Second))
	if _, err := io.WriteString(conn, good+bad); err != nil {
		t.Fatal(err)
	}
	br := bufio.NewReader(conn)
	for i, want := range []int{200, 400} {
		res, err := http.ReadResponse(br, nil)
		if err != nil {
			t.Fatal(err)
		}
		body, _ := io.ReadAll(res.Body)
		res.Body.Close()
		if res.StatusCode != want {
			t.Fatalf("pipelined response %d: %d %s", i, res.StatusCode, body)
		}
		if want == 400 {
			var e map[string]string
			if json.Unmarshal(body, &e) != nil || e["code"] != codeBadRequest || res.Header.Get("Content-Type") != "application/json" {
				t.Fatalf("pipelined error: %q %s", res.Header, body)
			}
		}
	}
}

// TestHeaderLimitWithoutWrapper checks the API's own 431 through a plain
// httptest server (no WrapListener): a request between the API's limit
// and net/http's is refused with JSON.
func TestHeaderLimitWithoutWrapper(t *testing.T) {
	env := newTestEnv(t, Config{MaxHeaderBytes: 4096}, testRows(1))
	req, _ := http.NewRequest("GET", env.srv.URL+"/api/v5/clients", nil)
	req.SetBasicAuth("admin", "admin-secret")
	req.Header.Set("X-Big", strings.Repeat("a", 5000))
	res, err := env.srv.Client().Do(req)
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(res.Body)
	res.Body.Close()
	r := response{status: res.StatusCode, header: res.Header, body: body}
	if msg := r.wantError(t, 431, codeHeadersTooLarge); msg != "the request line and headers are larger than 4096 bytes" {
		t.Fatal(msg)
	}
	// Just under the limit passes.
	req.Header.Set("X-Big", strings.Repeat("a", 3000))
	res, err = env.srv.Client().Do(req)
	if err != nil {
		t.Fatal(err)
	}
	res.Body.Close()
	if res.StatusCode != http.StatusOK {
		t.Fatalf("3000-byte header: %d", res.StatusCode)
	}
}

func TestParseCanned(t *testing.T) {
	for _, tc := range []struct {
		in     string
		status int
		detail string
		ok     bool
	}{
		{"HTTP/1.1 400 Bad Request" + cannedHeaders + "400 Bad Request", 400, "", true},
		{"HTTP/1.1 400 Bad Request: missing required Host header" + cannedHeaders + "400 Bad Request: missing required Host header", 400, "missing required Host header", true},
		{"HTTP/1.1 431 Request Header Fields Too Large" + cannedHeaders + "431 Request Header Fields Too Large", 431, "", true},
		{"HTTP/1.1 501 Not Implemented" + cannedHeaders + "Unsupported transfer encoding", 501, "", true},
		// The API's own responses, and look-alikes, pass.
		{"HTTP/1.1 400 Bad Request\r\nContent-Length: 2\r\nContent-Type: application/json\r\n\r\n{}", 0, "", false},
		{"HTTP/1.1 200 OK" + cannedHeaders + "200 OK", 0, "", false},
		{"HTTP/1.1 400 Bad Request" + cannedHeaders + "something else", 0, "", false},
		{"HTTP/1.1 400 Nonsense" + cannedHeaders + "400 Nonsense", 0, "", false},
		{`{"code":"BAD_REQUEST"}`, 0, "", false},
	} {
		status, detail, ok := parseCanned([]byte(tc.in))
		if status != tc.status || detail != tc.detail || ok != tc.ok {
			t.Errorf("parseCanned(%q) = %d %q %v", tc.in, status, detail, ok)
		}
	}
}
