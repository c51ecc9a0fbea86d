package httpapi

import (
	"bufio"
	"errors"
	"net"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/julienschmidt/httprouter"
)

func TestBodyLimits(t *testing.T) {
	env := newTestEnv(t, Config{MaxBodyBytes: 200}, testRows(3))
	big := `{"topic":"t","payload":"` + strings.Repeat("x", 300) + `"}`
	env.do(t, "POST", "/publish", adminUser, big).wantError(t, http.StatusRequestEntityTooLarge, codeTooLarge)
	env.do(t, "POST", "/clients/c0001/subscribe/bulk", adminUser, "["+strings.Repeat(`{"topic":"t"},`, 30)+`{"topic":"t"}]`).
		wantError(t, http.StatusRequestEntityTooLarge, codeTooLarge)

	req, _ := http.NewRequest("POST", env.srv.URL+"/api/v5/publish", strings.NewReader(`{"topic":"t","payload":"x"}`))
	req.SetBasicAuth("admin", "admin-secret")
	req.Header.Set("Content-Type", "text/plain")
	res, err := env.srv.Client().Do(req)
	if err != nil {
		t.Fatal(err)
	}
	res.Body.Close()
	if res.StatusCode != http.StatusUnsupportedMediaType {
		t.Fatalf("text/plain body: %d", res.StatusCode)
	}
	// application/json with a charset is fine, and so is no Content-Type.
	for _, ct := range []string{"application/json; charset=utf-8", ""} {
		req, _ = http.NewRequest("POST", env.srv.URL+"/api/v5/publish", strings.NewReader(`{"topic":"t","payload":"x"}`))
		req.SetBasicAuth("admin", "admin-secret")
		if ct != "" {
			req.Header.Set("Content-Type", ct)
		}
		res, err = env.srv.Client().Do(req)
		if err != nil {
			t.Fatal(err)
		}
		res.Body.Close()
		if res.StatusCode != http.StatusAccepted {
			t.Fatalf("Content-Type %q: %d", ct, res.StatusCode)
		}
	}
}

func TestRoutingErrors(t *testing.T) {
	env := newTestEnv(t, Config{}, testRows(3))
	env.do(t, "GET", "/nothing", adminUser, nil).wantError(t, http.StatusNotFound, codeNotFound)
	env.do(t, "GET", "/clients/", adminUser, nil).wantError(t, http.StatusNotFound, codeNotFound)
	env.do(t, "GET", "/clients/c0001/", adminUser, nil).wantError(t, http.StatusNotFound, codeNotFound)
	env.do(t, "PUT", "/clients", adminUser, nil).wantError(t, http.StatusMethodNotAllowed, codeMethodNotAllowed)
	env.do(t, "POST", "/clients/c0001", adminUser, "{}").wantError(t, http.StatusMethodNotAllowed, codeMethodNotAllowed)
	env.do(t, "GET", "/publish", adminUser, nil).wantError(t, http.StatusMethodNotAllowed, codeMethodNotAllowed)
	env.do(t, "DELETE", "/clients/c0001?x=1", adminUser, nil).wantError(t, http.StatusBadRequest, codeBadRequest)
	env.do(t, "POST", "/publish?x=1", adminUser, `{"topic":"t","payload":"x"}`).wantError(t, http.StatusBadRequest, codeBadRequest)
}

func TestBrokerFailures(t *testing.T) {
	env := newTestEnv(t, Config{CommandTimeout: 50 * time.Millisecond}, testRows(3))
	calls := []struct{ method, path, body string }{
		{"GET", "/clients/c0001", ""},
		{"DELETE", "/clients/c0001", ""},
		{"POST", "/clients/c0001/subscribe", `{"topic":"t"}`},
		{"POST", "/clients/c0001/unsubscribe/bulk", `[{"topic":"t"}]`},
		{"GET", "/clients/c0001/subscriptions", ""},
		{"GET", "/subscriptions", ""},
		{"POST", "/publish", `{"topic":"t","payload":"x"}`},
		{"POST", "/clients/kickout/bulk", `["c0001"]`},
		{"GET", "/stats", ""},
	}
	for _, mode := range []struct {
		mode   string
		status int
		code   string
	}{
		{"block", http.StatusServiceUnavailable, codeUnavailable},
		{"hang", http.StatusServiceUnavailable, codeUnavailable},
		{"panic", http.StatusInternalServerError, codeInternal},
		{"fail", http.StatusInternalServerError, codeInternal},
	} {
		env.broker.setMode(mode.mode)
		for _, c := range calls {
			t.Run(mode.mode+" "+c.method+" "+c.path, func(t *testing.T) {
				var body any
				if c.body != "" {
					body = c.body
				}
				r := env.do(t, c.method, c.path, adminUser, body)
				r.wantError(t, mode.status, mode.code)
				for _, leak := range []string{"secret", "SELECT", "0xdeadbeef", "goroutine", ".go:"} {
					if strings.Contains(string(r.body), leak) {
						t.Fatalf("error body leaks internals: %s", r.body)
					}
				}
			})
		}
	}
	env.broker.setMode("")
	if r := env.do(t, "GET", "/clients/c0001", adminUser, nil); r.status != http.StatusOK {
		t.Fatalf("broker back: %d", r.status)
	}
}

// TestPanicInHandlerPath checks that a panic escaping the router (not only
// inside a broker call) becomes a JSON 500.
func TestPanicRecovered(t *testing.T) {
	env := newTestEnv(t, Config{}, testRows(1))
	env.api.router.GET("/api/v5/boom", func(http.ResponseWriter, *http.Request, httprouter.Params) { panic(errors.New("/secret/file.go:12")) })
	r := env.do(t, "GET", "/boom", adminUser, nil)
	r.wantError(t, http.StatusInternalServerError, codeInternal)
	if strings.Contains(string(r.body), "secret") {
		t.Fatalf("leak: %s", r.body)
	}
}

func TestNewServer(t *testing.T) {
	env := newTestEnv(t, Config{ReadHeaderTimeout: 200 * time.Millisecond, MaxHeaderBytes: 4096}, testRows(1))
	srv := env.api.NewServer("127.0.0.1:0")
	if srv.ReadHeaderTimeout != 200*time.Millisecond || srv.ReadTimeout == 0 || srv.WriteTimeout == 0 || srv.IdleTimeout == 0 || srv.MaxHeaderBytes != 2*4096 {
		t.Fatalf("server %+v", srv)
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	go srv.Serve(ln)
	t.Cleanup(func() { srv.Close() })
	// A client that never finishes its headers is cut off.
	conn, err := net.Dial("tcp", ln.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	if _, err := conn.Write([]byte("GET /api/v5/clients HTTP/1.1\r\nHost: x\r\n")); err != nil {
		t.Fatal(err)
	}
	conn.SetReadDeadline(time.Now().Add(10 * time.Second))
	_, err = bufio.NewReader(conn).ReadString('\n')
	var ne net.Error
	if errors.As(err, &ne) && ne.Timeout() {
		t.Fatal("slow header client was not cut off by ReadHeaderTimeout")
	}
}

func TestConfigValidate(t *testing.T) {
	for _, tc := range []struct {
		name string
		cfg  Config
		ok   bool
	}{
		{"zero", Config{}, true},
		{"base", Config{Base: "/api/v4"}, true},
		{"base trailing slash", Config{Base: "/api/"}, false},
		{"base relative", Config{Base: "api"}, false},
		{"base wildcard", Config{Base: "/:x"}, false},
		{"negative body", Config{MaxBodyBytes: -1}, false},
		{"negative bulk", Config{MaxBulk: -1}, false},
		{"negative timeout", Config{CommandTimeout: -1}, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if err := tc.cfg.Validate(); (err == nil) != tc.ok {
				t.Fatalf("Validate = %v", err)
			}
		})
	}
	if _, err := New(Config{}, nil, nil, NewKeyStore()); err == nil {
		t.Fatal("New without lister and broker")
	}
}

func TestCustomBase(t *testing.T) {
	env := newTestEnv(t, Config{Base: "/api/v4"}, testRows(2))
	req, _ := http.NewRequest("GET", env.srv.URL+"/api/v4/clients?_limit=1", nil)
	req.SetBasicAuth("admin", "admin-secret")
	res, err := env.srv.Client().Do(req)
	if err != nil {
		t.Fatal(err)
	}
	res.Body.Close()
	if res.StatusCode != http.StatusOK {
		t.Fatalf("custom base: %d", res.StatusCode)
	}
	env.do(t, "GET", "/clients", adminUser, nil).wantError(t, http.StatusNotFound, codeNotFound)
}
