package bench

import (
	"context"
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
	err := parallel(ctx, n, cfg.StormConcurrency, 0, func(i int) error {
		c, err := dialMQTT(ctx, in.Addr, cfg.connectOptions(fmt.Sprintf("%scatalog-%d", cfg.ClientPrefix, i), true), cfg.Version, setupTimeout)
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
	if err := waitCatalog(ctx, probe, n); err != nil {
		r.Err = err.Error()
		return r
	}
	pctx, cancel := context.WithTimeout(ctx, cfg.Duration)
	defer cancel()
	probe.run(pctx)
	r.Seconds = cfg.Duration.Seconds()
	r.API, r.APIErrors = probe.hist.Summary(), probe.errors
	r.Err = probe.failure(cfg.APIPath)
	if in.PID > 0 {
		r.RSS, r.PeakRSS, _ = procMem(in.PID)
	}
	return r
}
