package httpapi

import (
	_ "embed"
	"net/http"
	"strconv"
)

// The API explorer at /api-docs/: a page of this package's own (plain
// JavaScript, no third-party code) that lists the operations of
// /api-docs/swagger.json and sends them with the key typed in the page.
// Both files are embedded; they need no key (the page's requests do).

const (
	// ExplorerPath serves the explorer page.
	ExplorerPath = "/api-docs/"
	// ExplorerScriptPath serves its script.
	ExplorerScriptPath = "/api-docs/explorer.js"
)

var (
	//go:embed explorer/index.html
	explorerPage []byte
	//go:embed explorer/explorer.js
	explorerScript []byte
)

// explorerCSP lets the page run its own script and style only.
const explorerCSP = "default-src 'self'; style-src 'self' 'unsafe-inline'; base-uri 'none'; frame-ancestors 'none'"

// serveExplorer serves the page or its script.
func (a *API) serveExplorer(w http.ResponseWriter, r *http.Request) {
	if e := noQuery(r); e != nil {
		writeError(w, e)
		return
	}
	body, ctype := explorerPage, "text/html; charset=utf-8"
	if r.URL.Path == ExplorerScriptPath {
		body, ctype = explorerScript, "text/javascript; charset=utf-8"
	}
	h := w.Header()
	h.Set("Content-Type", ctype)
	h.Set("Content-Length", strconv.Itoa(len(body)))
	h.Set("Content-Security-Policy", explorerCSP)
	h.Set("X-Content-Type-Options", "nosniff")
	h.Set("Cache-Control", "no-cache")
	w.WriteHeader(http.StatusOK)
	if r.Method != http.MethodHead {
		w.Write(body)
	}
}
