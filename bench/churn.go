package bench

import (
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"net"
	"sync/atomic"
	"time"
)

// apiFilter is one GET /clients query of the catalog-churn scenario, named
// after the filter of the API's specification it exercises.
type apiFilter struct {
	Name  string
	Query string
}

// churnFilters returns a query for every filter of GET /clients in
// ../shared/spec/CLIENTS_API.md ("seed" parameters) over a catalog of n
// sessions with ids ids-0 … ids-(n-1), created around the Unix second mid
// by user from ip, plus the first and a deep page without a filter. Every
// query asks for a page of 100.
func churnFilters(n int, ids, user, ip string, protoVer byte, mid int64) []apiFilter {
	page := "&_limit=100"
	return []apiFilter{
		{"first page", "_limit=100"},
		{"deep page", fmt.Sprintf("_limit=100&_page=%d", max(1, n/200))},
		{"clientid", fmt.Sprintf("clientid=%s-%d", ids, n/2) + page},
		{"username", "username=" + user + page},
		{"zone", "zone=default" + page},
		{"ip_address", "ip_address=" + ip + page},
		{"conn_state", "conn_state=disconnected" + page},
		{"clean_start", "clean_start=false" + page},
		{"proto_name", "proto_name=MQTT" + page},
		{"proto_ver", fmt.Sprintf("proto_ver=%d", protoVer) + page},
		{"_gte_created_at", fmt.Sprintf("_gte_created_at=%d", mid) + page},
		{"_lte_created_at", fmt.Sprintf("_lte_created_at=%d", mid) + page},
		{"_gte_connected_at", fmt.Sprintf("_gte_connected_at=%d", mid) + page},
		{"_lte_connected_at", fmt.Sprintf("_lte_connected_at=%d", mid) + page},
	}
}

// churnFilterNames returns the names of churnFilters in their order.
func churnFilterNames() []string {
	var names []string
	for _, f := range churnFilters(1, "", "", "", 4, 0) {
		names = append(names, f.Name)
	}
	return names
}

// churnRate returns the reconnects per second that make pct % of n
// sessions reconnect per minute.
func churnRate(n, pct int) float64 {
	return float64(n) * float64(pct) / 100 / 60
}

// runCatalogChurn creates cfg.CatalogRows persistent sessions as the
// sessions scenario does, waits until GET /clients counts them, then for
// cfg.ChurnDuration measures the latency of every filter's query, one
// request at a time, while cfg.ChurnPercent of the sessions per minute
// reconnect (resume their session and disconnect), paced evenly.
func runCatalogChurn(ctx context.Context, cfg Config, in *Instance, r Result) Result {
	if r.Skipped = in.apiReady(ctx); r.Skipped != "" {
		return r
	}
	n := cfg.CatalogRows
	pc := cfg
	pc.Sessions = n
	pc.SessionProcesses = min(cfg.SessionProcesses, n)
	ids := fmt.Sprintf("%schurn%04x", cfg.ClientPrefix, rand.IntN(1<<16))
	reps, _, err := sessionPhase(ctx, pc, in.PID, sessionJobs(pc, in.Addr, ids, cfg.TopicPrefix+"/churn"))
	if err != nil {
		r.Err = err.Error()
		return r
	}
	create := mergeSessionReports(reps)
	r.Conns, r.ConnectRate = create.Done, create.rate()
	if partial, failed := create.outcome("created", n, cfg.SessionTimeout); partial+failed != "" {
		// The catalog must hold every session the filters assume.
		r.Err = partial + failed
		return r
	}
	ip := jobSource(in.Addr, 0)
	if ip == "" {
		ip, _, _ = net.SplitHostPort(in.Addr)
	}
	mid := (create.FirstNs + create.LastNs) / 2 / 1e9
	filters := churnFilters(n, ids, cfg.sessionUser(), ip, byte(cfg.Version), mid)
	queries := make([]string, len(filters))
	for i, f := range filters {
		queries[i] = f.Query
	}
	probe := newAPIProbe(cfg, in, queries...)
	if err := waitCatalog(ctx, probe, n); err != nil {
		r.Err = err.Error()
		return r
	}

	mctx, cancel := context.WithTimeout(ctx, cfg.ChurnDuration)
	defer cancel()
	churned := make(chan churnCount, 1)
	go func() { churned <- churn(mctx, cfg, in.Addr, ids, n) }()
	start := time.Now()
	probe.run(mctx)
	r.Seconds = time.Since(start).Seconds()
	c := <-churned
	r.Reconnects = c.done
	r.API, r.APIErrors = probe.hist.Summary(), probe.errors
	r.APIByFilter = map[string]Latency{}
	for i, f := range filters {
		r.APIByFilter[f.Name] = probe.perURL[i].Summary()
	}
	if in.PID > 0 {
		r.RSS, r.PeakRSS, _ = procMem(in.PID)
	}
	switch r.Err = probe.failure(cfg.APIPath); {
	case r.Err != "":
	case c.failed > 0 || c.gone > 0:
		r.Err = fmt.Sprintf("%d reconnects failed (first error: %v) and %d found no session", c.failed, c.err, c.gone)
	}
	return r
}

// waitCatalog polls GET /clients until it counts at least n clients,
// for at most catalogWait.
func waitCatalog(ctx context.Context, probe *apiProbe, n int) error {
	deadline := time.Now().Add(catalogWait)
	for {
		got, err := probe.count(ctx)
		if err == nil && got >= n {
			return nil
		}
		if errors.Is(err, ErrAPIAuth) {
			return err
		}
		if time.Now().After(deadline) || ctx.Err() != nil {
			return fmt.Errorf("catalog shows %d of %d sessions after %v (last error: %v)", got, n, catalogWait, err)
		}
		sleepCtx(ctx, 200*time.Millisecond)
	}
}

// churnCount is what the churn did: reconnects completed, failed, and
// completed without finding the session.
type churnCount struct {
	done, failed, gone int64
	err                error
}

// churn reconnects random sessions ids-0 … ids-(n-1) at churnRate until ctx
// ends: CONNECT with clean session 0, CONNACK, DISCONNECT.
func churn(ctx context.Context, cfg Config, addr, ids string, n int) churnCount {
	var done, failed, gone atomic.Int64
	var first atomic.Pointer[error]
	rate := churnRate(n, cfg.ChurnPercent)
	var src net.Addr
	if s := jobSource(addr, 0); s != "" {
		src = &net.TCPAddr{IP: net.ParseIP(s)}
	}
	// At most the reconnects the duration holds, and one more.
	most := int(rate*cfg.ChurnDuration.Seconds()) + 1
	_ = parallel(ctx, most, cfg.StormConcurrency, rate, func(int) error {
		o := connectOptions{clientID: fmt.Sprintf("%s-%d", ids, rand.IntN(n)), persistent: true,
			username: cfg.sessionUser(), password: cfg.Password}
		c, err := dialMQTTFrom(ctx, src, addr, o, cfg.Version, setupTimeout)
		if err != nil {
			if !cutShort(ctx) {
				failed.Add(1)
				first.CompareAndSwap(nil, &err)
			}
			return nil
		}
		if !c.sessionPresent {
			gone.Add(1)
		}
		c.disconnect()
		done.Add(1)
		return nil
	})
	cc := churnCount{done: done.Load(), failed: failed.Load(), gone: gone.Load()}
	if e := first.Load(); e != nil {
		cc.err = *e
	}
	return cc
}
