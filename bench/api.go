package bench

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"time"
)

// apiPause is the pause between two GET /clients requests of the probe.
const apiPause = 10 * time.Millisecond

// apiProbe measures GET /clients latency, one request at a time. Its fields
// are owned by run's goroutine and read after run returns.
type apiProbe struct {
	url, key, secret string
	hc               *http.Client
	hist             *Histogram
	errors           int64
	err              error
}

// newAPIProbe returns a probe for the API of in; cfg's credentials win
// over the ones the broker printed.
func newAPIProbe(cfg Config, in *Instance) *apiProbe {
	key, secret := in.APIKey, in.APISecret
	if cfg.APIKey != "" {
		key, secret = cfg.APIKey, cfg.APISecret
	}
	return &apiProbe{
		url: "http://" + in.APIAddr + cfg.APIPath + "?_limit=100", key: key, secret: secret,
		hc: &http.Client{Timeout: 5 * time.Second}, hist: NewHistogram(),
	}
}

// run sends requests until ctx ends. A 401 or 403 stops the probe with an
// error naming the flags to set.
func (a *apiProbe) run(ctx context.Context) {
	defer a.hc.CloseIdleConnections()
	for ctx.Err() == nil {
		req, err := http.NewRequestWithContext(ctx, http.MethodGet, a.url, nil)
		if err != nil {
			a.err = err
			return
		}
		if a.key != "" {
			req.SetBasicAuth(a.key, a.secret)
		}
		start := time.Now()
		resp, err := a.hc.Do(req)
		if err != nil {
			if ctx.Err() == nil {
				a.errors++
			}
		} else {
			_, _ = io.Copy(io.Discard, resp.Body)
			resp.Body.Close()
			switch {
			case resp.StatusCode == http.StatusOK:
				a.hist.Record(int64(time.Since(start)))
			case resp.StatusCode == http.StatusUnauthorized || resp.StatusCode == http.StatusForbidden:
				a.err = fmt.Errorf("bench: GET %s: %s (set --api-key and --api-secret)", req.URL.Path, resp.Status)
				return
			default:
				a.errors++
			}
		}
		if !sleepCtx(ctx, apiPause) {
			return
		}
	}
}
