package bench

import (
	"context"
	"encoding/json"
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
	// urls are requested in turn; perURL[i] holds the latencies of urls[i]
	// and hist those of all.
	urls        []string
	perURL      []*Histogram
	key, secret string
	hc          *http.Client
	hist        *Histogram
	errors      int64
	err         error
}

// newAPIProbe returns a probe for the API of in that requests the client
// list with each of queries in turn; cfg's credentials win over the ones
// the broker printed.
func newAPIProbe(cfg Config, in *Instance, queries ...string) *apiProbe {
	key, secret := in.APIKey, in.APISecret
	if cfg.APIKey != "" {
		key, secret = cfg.APIKey, cfg.APISecret
	}
	if len(queries) == 0 {
		queries = []string{"_limit=100"}
	}
	a := &apiProbe{key: key, secret: secret, hc: &http.Client{Timeout: 5 * time.Second}, hist: NewHistogram()}
	for _, q := range queries {
		a.urls = append(a.urls, "http://"+in.APIAddr+cfg.APIPath+"?"+q)
		a.perURL = append(a.perURL, NewHistogram())
	}
	return a
}

// get requests url and returns the status and body.
func (a *apiProbe) get(ctx context.Context, url string) (int, []byte, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
	if err != nil {
		return 0, nil, err
	}
	if a.key != "" {
		req.SetBasicAuth(a.key, a.secret)
	}
	resp, err := a.hc.Do(req)
	if err != nil {
		return 0, nil, err
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	return resp.StatusCode, b, err
}

// count returns meta.count of the first page of the client list.
func (a *apiProbe) count(ctx context.Context) (int, error) {
	status, body, err := a.get(ctx, a.urls[0])
	if err != nil {
		return 0, err
	}
	switch status {
	case http.StatusOK:
	case http.StatusUnauthorized, http.StatusForbidden:
		return 0, fmt.Errorf("%w: GET %s: %d", ErrAPIAuth, a.urls[0], status)
	default:
		return 0, fmt.Errorf("bench: GET %s: %d", a.urls[0], status)
	}
	var page struct {
		Meta struct {
			Count int `json:"count"`
		} `json:"meta"`
	}
	if err := json.Unmarshal(body, &page); err != nil {
		return 0, fmt.Errorf("bench: GET %s: %w", a.urls[0], err)
	}
	return page.Meta.Count, nil
}

// run sends requests until ctx ends. A 401 or 403 stops the probe with an
// error naming the flags to set.
func (a *apiProbe) run(ctx context.Context) {
	defer a.hc.CloseIdleConnections()
	for i := 0; ctx.Err() == nil; i++ {
		url := a.urls[i%len(a.urls)]
		start := time.Now()
		status, _, err := a.get(ctx, url)
		switch {
		case err != nil:
			if ctx.Err() == nil {
				a.errors++
			}
		case status == http.StatusOK:
			d := int64(time.Since(start))
			a.hist.Record(d)
			a.perURL[i%len(a.urls)].Record(d)
		case status == http.StatusUnauthorized || status == http.StatusForbidden:
			a.err = fmt.Errorf("%w: GET %s: %d", ErrAPIAuth, url, status)
			return
		default:
			a.errors++
		}
		if !sleepCtx(ctx, apiPause) {
			return
		}
	}
}

// failure describes why the probe's run measured nothing, or returns "":
// credentials refused, or no request to path succeeded. Call it after run
// returns.
func (a *apiProbe) failure(path string) string {
	switch {
	case a.err != nil:
		return a.err.Error()
	case a.hist.Count() == 0:
		return fmt.Sprintf("no GET %s request succeeded (%d failed)", path, a.errors)
	}
	return ""
}
