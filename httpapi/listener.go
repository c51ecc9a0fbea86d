package httpapi

import (
	"bytes"
	"fmt"
	"net"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"sync"
)

// net/http answers a few malformed requests itself, before any handler
// runs, with a fixed text/plain response written to the connection in one
// Write (net/http/server.go, conn.serve):
//
//	HTTP/1.1 400 Bad Request␍␊Content-Type: text/plain; charset=utf-8␍␊Connection: close␍␊␍␊400 Bad Request
//
// (or 431 Request Header Fields Too Large, 400 Bad Request: <reason>,
// 505 HTTP Version Not Supported: <reason>, 501 Not Implemented with the
// body "Unsupported transfer encoding"), then closes the connection. The
// API promises JSON errors, so WrapListener's connections recognise
// exactly that write and send the API's JSON error in its place. A
// response of the API never matches it: the form has no Date header and
// its body repeats its status line, and JSON never holds a raw CR LF.

// cannedHeaders are the header lines of net/http's own error responses.
const cannedHeaders = "\r\nContent-Type: text/plain; charset=utf-8\r\nConnection: close\r\n\r\n"

// maxRequestHead is how much of a request's first bytes a wrapped
// connection keeps to explain a request net/http refused.
const maxRequestHead = 512

// WrapListener returns ln with connections that turn the plain-text errors
// net/http sends for requests it cannot parse into the API's JSON errors:
// a malformed request line (a path with a bad % escape), a missing or
// malformed Host header, headers larger than the server's MaxHeaderBytes,
// an unsupported Transfer-Encoding or HTTP version. Serve the API with
//
//	srv := api.NewServer(addr)
//	srv.Serve(api.WrapListener(ln))
//
// The wrapper must be the listener the *http.Server accepts from (net/http
// writes its errors to the accepted connection); behind TLS terminated by
// the server those errors stay plain text. Accept, Close and Addr are ln's.
func (a *API) WrapListener(ln net.Listener) net.Listener {
	return &jsonErrorListener{Listener: ln, maxHeader: a.cfg.MaxHeaderBytes}
}

type jsonErrorListener struct {
	net.Listener
	maxHeader int
}

func (l *jsonErrorListener) Accept() (net.Conn, error) {
	c, err := l.Listener.Accept()
	if err != nil {
		return nil, err
	}
	return &jsonErrorConn{Conn: c, maxHeader: l.maxHeader, collecting: true}, nil
}

// jsonErrorConn rewrites net/http's own error responses (see WrapListener).
// Read and Write may run on different goroutines (net/http reads ahead
// while a handler runs).
type jsonErrorConn struct {
	net.Conn
	maxHeader int

	// mu guards the following fields.
	mu sync.Mutex
	// head holds the first bytes read since the last response was
	// written: the start of the request net/http is reading, when the
	// client waits for each response before its next request.
	head []byte
	// collecting is true while head is shorter than a line.
	collecting bool
}

func (c *jsonErrorConn) Read(p []byte) (int, error) {
	n, err := c.Conn.Read(p)
	if n > 0 {
		c.mu.Lock()
		if c.collecting {
			c.head = append(c.head, p[:min(n, maxRequestHead-len(c.head))]...)
			c.collecting = len(c.head) < maxRequestHead && bytes.IndexByte(bytes.TrimLeft(c.head, "\r\n"), '\n') < 0
		}
		c.mu.Unlock()
	}
	return n, err
}

func (c *jsonErrorConn) Write(p []byte) (int, error) {
	c.mu.Lock()
	status, detail, canned := parseCanned(p)
	var head []byte
	if canned {
		head = c.head
	}
	// What is read next starts the next request.
	c.head, c.collecting = nil, true
	c.mu.Unlock()
	if !canned {
		return c.Conn.Write(p)
	}
	e := cannedError(status, detail, head, c.maxHeader)
	b := make([]byte, 0, 128+len(e.message))
	b = append(b, `{"code":`...)
	b = appendJSONString(b, e.code)
	b = append(b, `,"message":`...)
	b = appendJSONString(b, e.message)
	b = append(b, '}')
	resp := fmt.Sprintf("HTTP/1.1 %d %s\r\nContent-Type: application/json\r\nContent-Length: %d\r\nConnection: close\r\n\r\n",
		status, http.StatusText(status), len(b))
	if _, err := c.Conn.Write(append([]byte(resp), b...)); err != nil {
		return 0, err
	}
	return len(p), nil
}

// parseCanned reports whether p is one of net/http's own error responses,
// and its status and reason ("missing required Host header"; empty when
// net/http gives none).
func parseCanned(p []byte) (status int, detail string, ok bool) {
	rest, ok := bytes.CutPrefix(p, []byte("HTTP/1.1 "))
	if !ok {
		return 0, "", false
	}
	// The status line is short: look no further for the headers.
	i := bytes.Index(rest[:min(len(rest), 128)], []byte(cannedHeaders))
	if i < 0 {
		return 0, "", false
	}
	line, body := rest[:i], rest[i+len(cannedHeaders):]
	if len(line) < 4 || line[3] != ' ' || bytes.ContainsAny(line, "\r\n") {
		return 0, "", false
	}
	status, err := strconv.Atoi(string(line[:3]))
	if err != nil || status < 400 || status > 599 {
		return 0, "", false
	}
	if !bytes.Equal(body, line) && !(status == http.StatusNotImplemented && string(body) == "Unsupported transfer encoding") {
		return 0, "", false
	}
	text := string(line[4:])
	if !strings.HasPrefix(text, http.StatusText(status)) {
		return 0, "", false
	}
	detail = strings.TrimPrefix(strings.TrimPrefix(text, http.StatusText(status)), ": ")
	return status, detail, true
}

// cannedError is the JSON error sent instead of net/http's own: head is
// the start of the refused request, as far as it was seen.
func cannedError(status int, detail string, head []byte, maxHeader int) *apiError {
	switch status {
	case http.StatusRequestHeaderFieldsTooLarge:
		return headersTooLarge(maxHeader)
	case http.StatusNotImplemented:
		return &apiError{status, codeNotImplemented, "unsupported Transfer-Encoding; only chunked is supported"}
	case http.StatusHTTPVersionNotSupported:
		return &apiError{status, codeHTTPVersion, "unsupported HTTP version; use HTTP/1.1"}
	case http.StatusBadRequest:
		if detail != "" {
			// net/http's reasons read as sentences: "missing required Host header".
			return badRequest("malformed request: " + detail)
		}
		return badRequest(requestLineProblem(head))
	}
	return &apiError{status, codeBadRequest, "malformed request"}
}

// headersTooLarge is the 431 for request headers above max bytes.
func headersTooLarge(max int) *apiError {
	return &apiError{http.StatusRequestHeaderFieldsTooLarge, codeHeadersTooLarge,
		fmt.Sprintf("the request line and headers are larger than %d bytes", max)}
}

// requestLineProblem explains why net/http refused a request whose first
// bytes are head: the request line's fault when it has one, else the
// headers'.
func requestLineProblem(head []byte) string {
	head = bytes.TrimLeft(head, "\r\n") // net/http skips empty lines first too
	line, _, complete := bytes.Cut(head, []byte("\n"))
	if !complete {
		return "malformed request line or headers"
	}
	s := strings.TrimSuffix(string(line), "\r")
	method, rest, ok1 := strings.Cut(s, " ")
	target, proto, ok2 := strings.Cut(rest, " ")
	switch {
	case !ok1 || !ok2 || method == "" || target == "":
		return fmt.Sprintf("malformed request line %s; want METHOD /path HTTP/1.1", quoteShort(s))
	case !validToken(method):
		return fmt.Sprintf("malformed request line: method %s is not a token", quoteShort(method))
	}
	if _, _, ok := http.ParseHTTPVersion(proto); !ok {
		return fmt.Sprintf("malformed request line: %s is not an HTTP version", quoteShort(proto))
	}
	if _, err := url.ParseRequestURI(target); err != nil {
		if ue, ok := err.(*url.Error); ok {
			err = ue.Err
		}
		return fmt.Sprintf("request target %s: %v", quoteShort(target), err)
	}
	return "malformed request headers: each line must be Name: value, without control characters"
}

// validToken reports whether s is an HTTP token (RFC 9110 section 5.6.2).
func validToken(s string) bool {
	for i := 0; i < len(s); i++ {
		c := s[i]
		if c <= ' ' || c >= 0x7f || strings.IndexByte(`"(),/:;<=>?@[\]{}`, c) >= 0 {
			return false
		}
	}
	return s != ""
}
