package bench

import (
	"context"
	"errors"
	"fmt"
	"time"
)

// catalogWait bounds the wait for the catalog to show every created
// session (the catalog lags the shards by at most a stats interval).
const catalogWait = 60 * time.Second

// runAPICatalog fills the broker's client catalog with cfg.CatalogRows
// offline sessions (clients that connect without a clean session and
// disconnect), waits until GET /clients counts them, then measures the
// latency of first pages, a middle page and a filtered query for
// cfg.Duration.
func runAPICatalog(ctx context.Context, cfg Config, in *Instance, r Result) Result {
	if r.Skipped = in.apiReady(ctx); r.Skipped != "" {
		return r
	}
	n := cfg.CatalogRows
	start := time.Now()
	err := parallel(n, cfg.StormConcurrency, func(i int) error {
		c, err := dialMQTT(ctx, in.Addr, fmt.Sprintf("catalog-%d", i), cfg.Version, setupTimeout, true)
		if err != nil {
			return err
		}
		c.disconnect()
		return nil
	})
	if err != nil {
		r.Err = err.Error()
		return r
	}
	r.Conns = n
	r.ConnectRate = float64(n) / time.Since(start).Seconds()

	probe := newAPIProbe(cfg, in,
		"_limit=100",
		fmt.Sprintf("_limit=100&_page=%d", max(1, n/200)),
		"_limit=100&conn_state=disconnected",
	)
	deadline := time.Now().Add(catalogWait)
	for {
		got, err := probe.count(ctx)
		if err == nil && got >= n {
			break
		}
		if errors.Is(err, ErrAPIAuth) {
			r.Err = err.Error()
			return r
		}
		if time.Now().After(deadline) || ctx.Err() != nil {
			r.Err = fmt.Sprintf("catalog shows %d of %d sessions after %v (last error: %v)", got, n, catalogWait, err)
			return r
		}
		sleepCtx(ctx, 200*time.Millisecond)
	}
	pctx, cancel := context.WithTimeout(ctx, cfg.Duration)
	defer cancel()
	probe.run(pctx)
	r.Seconds = cfg.Duration.Seconds()
	r.API, r.APIErrors = probe.hist.Summary(), probe.errors
	switch {
	case probe.err != nil:
		r.Err = probe.err.Error()
	case r.API.Count == 0:
		r.Err = fmt.Sprintf("no GET %s request succeeded (%d failed)", cfg.APIPath, probe.errors)
	}
	if in.PID > 0 {
		r.RSS, r.PeakRSS, _ = procMem(in.PID)
	}
	return r
}
