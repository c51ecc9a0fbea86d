package dashboard

import (
	"bytes"
	"compress/gzip"
	"crypto/sha256"
	"embed"
	"encoding/hex"
	"io/fs"
	"mime"
	"net/http"
	"path"
	"strconv"
	"strings"
)

// web holds the pages, scripts and styles: plain ES modules and CSS, no
// build step and nothing from another origin.
//
//go:embed web
var web embed.FS

// asset is one embedded file, with its gzip form made once at start.
type asset struct {
	typ     string
	etag    string
	plain   []byte
	gzipped []byte
}

// loadAssets reads the embedded files and compresses each.
func loadAssets() (map[string]*asset, error) {
	out := map[string]*asset{}
	err := fs.WalkDir(web, "web", func(p string, de fs.DirEntry, err error) error {
		if err != nil || de.IsDir() {
			return err
		}
		data, err := web.ReadFile(p)
		if err != nil {
			return err
		}
		var z bytes.Buffer
		zw, _ := gzip.NewWriterLevel(&z, gzip.BestCompression)
		zw.Write(data)
		if err := zw.Close(); err != nil {
			return err
		}
		typ := mime.TypeByExtension(path.Ext(p))
		switch path.Ext(p) {
		case ".js":
			typ = "text/javascript; charset=utf-8"
		case ".css":
			typ = "text/css; charset=utf-8"
		case ".html":
			typ = "text/html; charset=utf-8"
		case ".svg":
			typ = "image/svg+xml"
		}
		sum := sha256.Sum256(data)
		out[strings.TrimPrefix(p, "web/")] = &asset{typ: typ, etag: `"` + hex.EncodeToString(sum[:12]) + `"`, plain: data, gzipped: z.Bytes()}
		return nil
	})
	return out, err
}

// serve writes the asset: gzip when the browser takes it, revalidated by
// ETag on every load (no-cache), so a new broker's pages are never mixed
// with an old one's scripts.
func (a *asset) serve(w http.ResponseWriter, r *http.Request) {
	h := w.Header()
	h.Set("Content-Type", a.typ)
	h.Set("Cache-Control", "no-cache")
	h.Set("ETag", a.etag)
	h.Add("Vary", "Accept-Encoding")
	if inm := r.Header.Get("If-None-Match"); inm != "" && strings.Contains(inm, a.etag) {
		w.WriteHeader(http.StatusNotModified)
		return
	}
	body := a.plain
	if acceptsGzip(r) {
		h.Set("Content-Encoding", "gzip")
		body = a.gzipped
	}
	h.Set("Content-Length", strconv.Itoa(len(body)))
	w.WriteHeader(http.StatusOK)
	if r.Method != http.MethodHead {
		w.Write(body)
	}
}

// acceptsGzip reports whether the request's Accept-Encoding allows gzip.
func acceptsGzip(r *http.Request) bool {
	for _, part := range strings.Split(r.Header.Get("Accept-Encoding"), ",") {
		name, params, _ := strings.Cut(strings.TrimSpace(part), ";")
		if !strings.EqualFold(strings.TrimSpace(name), "gzip") {
			continue
		}
		q := 1.0
		if v, ok := strings.CutPrefix(strings.TrimSpace(params), "q="); ok {
			if f, err := strconv.ParseFloat(strings.TrimSpace(v), 64); err == nil {
				q = f
			}
		}
		return q > 0
	}
	return false
}
