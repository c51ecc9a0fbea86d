package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"path/filepath"
	"time"

	"github.com/shardmq/shardmq/catalog"
	"github.com/shardmq/shardmq/cmd/shardmq/wire"
	"github.com/shardmq/shardmq/httpapi"
)

// apiFlags are the flags of the catalog and the HTTP API.
var apiFlags struct {
	keysFile      string
	base          string
	statsInterval time.Duration
}

func init() {
	flag.StringVar(&apiFlags.keysFile, "api-keys", "",
		"file of key:secret[:role] lines for the HTTP API (roles administrator, viewer, publisher); "+
			"if empty, <data-dir>/api_keys is used, created with a random administrator key on first start")
	flag.StringVar(&apiFlags.base, "api-base", httpapi.DefaultBase, "path prefix of the HTTP API")
	flag.DurationVar(&apiFlags.statsInterval, "stats-interval", time.Second,
		"how often changed client counters reach the catalog behind GET /clients")

	var cat *catalog.Catalog
	extensions = append(extensions, extension{
		configure: func(a *app) error {
			c, err := catalog.New(catalog.Config{StatsInterval: apiFlags.statsInterval})
			if err != nil {
				return fmt.Errorf("catalog: %w", err)
			}
			cat = c
			a.cfg.Sink = wire.Sink{Catalog: cat}
			a.cfg.StatsInterval = apiFlags.statsInterval
			return nil
		},
		start: func(_ context.Context, a *app) (func(context.Context) error, error) {
			return startAPI(a, cat)
		},
	})
}

// startAPI loads (or creates) the API keys, serves the API on --api-addr and returns the
// function that stops the API and then the catalog.
func startAPI(a *app, cat *catalog.Catalog) (func(context.Context) error, error) {
	path := apiFlags.keysFile
	var keys *httpapi.KeyStore
	var created *httpapi.Credentials
	var err error
	if path == "" {
		path = filepath.Join(a.opts.dataDir, "api_keys")
		keys, created, err = httpapi.LoadOrCreateKeyFile(path)
	} else {
		// An operator's file must exist: creating one where they named it would hide a typo.
		keys, err = httpapi.LoadKeyFile(path)
	}
	if err != nil {
		cat.Close()
		return nil, err
	}
	api, err := httpapi.New(httpapi.Config{Base: apiFlags.base, Node: a.opts.node}, cat,
		wire.Broker{Broker: a.broker, Node: a.opts.node}, keys)
	if err != nil {
		cat.Close()
		return nil, err
	}
	configureOps(a, api, cat) // /metrics, /status (metrics.go)
	ln, err := net.Listen("tcp", a.opts.apiAddr)
	if err != nil {
		cat.Close()
		return nil, fmt.Errorf("API listener: %w", err)
	}
	hs := api.NewServer(a.opts.apiAddr)
	go func() {
		if err := hs.Serve(ln); err != nil && !errors.Is(err, http.ErrServerClosed) {
			slog.Error("shardmq: API server", "err", err)
		}
	}()
	url := "http://" + ln.Addr().String() + apiFlags.base
	slog.Info("shardmq: API on " + url)
	opsBanner("http://" + ln.Addr().String())
	if created != nil {
		// The one time the secret is shown: it is stored in the file for the operator.
		slog.Info("shardmq: API key: " + created.Key + ":" + created.Secret + " (created in " + path + ")")
		slog.Info("shardmq: try: " + created.CurlExample(url))
	} else {
		slog.Info("shardmq: API keys loaded", "file", path, "keys", keys.Len())
	}
	return func(ctx context.Context) error {
		err := hs.Shutdown(ctx)
		return errors.Join(err, cat.Close())
	}, nil
}
