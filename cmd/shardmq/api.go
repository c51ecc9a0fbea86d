package main

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"path/filepath"

	"github.com/shardmq/shardmq/catalog"
	"github.com/shardmq/shardmq/httpapi"
	"github.com/shardmq/shardmq/httpapi/dashboard"
	"github.com/shardmq/shardmq/shards"
)

// startAPI loads (or creates) the API keys, serves the HTTP API over broker
// and lister (this node's or the cluster's) on o.APIAddr, with /metrics and /status reading src, and returns the
// function that stops it (requests in flight finish within the stop's
// context).
func startAPI(o *Options, b *shards.Broker, cat *catalog.Catalog, broker httpapi.Broker, lister httpapi.Lister,
	src opsSources) (func(context.Context) error, error) {
	path := o.APIKeys
	var keys *httpapi.KeyStore
	var created *httpapi.Credentials
	var err error
	if path == "" {
		path = filepath.Join(o.DataDir, "api_keys")
		keys, created, err = httpapi.LoadOrCreateKeyFile(path)
	} else {
		// An operator's file must exist: creating one where they named it would hide a typo.
		keys, err = httpapi.LoadKeyFile(path)
	}
	if err != nil {
		return nil, err
	}
	// Keys created through /api_key live in their own file beside the
	// bootstrap keys; it is written now, so an unwritable data dir fails
	// the start instead of the first POST.
	if err := keys.Persist(filepath.Join(o.DataDir, "api_keys.json")); err != nil {
		return nil, fmt.Errorf("API keys: %w", err)
	}
	api, err := httpapi.New(httpapi.Config{Base: o.APIBase, Node: o.Node, CORSOrigins: o.corsOrigins()},
		lister, broker, keys)
	if err != nil {
		return nil, err
	}
	configureOps(api, b, cat, src, o.MetricsAuth)
	if o.Dashboard {
		d, err := dashboard.New(dashboard.Config{Keys: keys, UsersFile: o.DashboardUsers, APIBase: o.APIBase, Node: o.Node})
		if err != nil {
			return nil, err
		}
		api.SetDashboard(d)
	}
	ln, err := net.Listen("tcp", o.APIAddr)
	if err != nil {
		return nil, fmt.Errorf("API listener: %w", err)
	}
	// WrapListener turns the errors net/http answers itself (a request
	// line it cannot parse) into the API's JSON errors.
	stop := serveHTTP(api.NewServer(o.APIAddr), api.WrapListener(ln), "API")
	root := "http://" + ln.Addr().String()
	slog.Info("shardmq: API on " + root + o.APIBase)
	opsBanner(root, o.MetricsAuth)
	if created != nil {
		// The one time the secret is shown: it is stored in the file for the operator.
		slog.Info("shardmq: API key: " + created.Key + ":" + created.Secret + " (created in " + path + ")")
		slog.Info("shardmq: try: " + created.CurlExample(root+o.APIBase))
	} else {
		slog.Info("shardmq: API keys loaded", "file", path, "keys", keys.Len())
	}
	if o.Dashboard {
		login := "an administrator or viewer API key of " + path + " as user and its secret as password"
		if created != nil {
			login = "user " + created.Key + ", password " + created.Secret
		}
		if o.DashboardUsers != "" {
			login += ", or a user of " + o.DashboardUsers
		}
		slog.Info("shardmq: dashboard on " + root + httpapi.DashboardPath + " (log in with " + login + ")")
	}
	return stop, nil
}

// serveHTTP serves hs on ln and returns the function that stops it:
// Shutdown (requests in flight finish within ctx), then a wait until Serve
// returned, so that ln is closed when it returns.
func serveHTTP(hs *http.Server, ln net.Listener, name string) func(context.Context) error {
	served := make(chan struct{})
	go func() {
		defer close(served)
		if err := hs.Serve(ln); err != nil && !errors.Is(err, http.ErrServerClosed) {
			slog.Error("shardmq: "+name+" server", "err", err)
		}
	}()
	return func(ctx context.Context) error {
		err := hs.Shutdown(ctx)
		<-served
		return err
	}
}
