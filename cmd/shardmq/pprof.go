package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"net/http/pprof"
	"time"
)

// pprofAddr is --pprof-addr: the loopback address of the profiling
// listener; "" (the default) starts none.
var pprofAddr string

func init() {
	flag.StringVar(&pprofAddr, "pprof-addr", "",
		"serve Go's pprof profiles (/debug/pprof/) on this loopback address, e.g. 127.0.0.1:6060; off when empty")
	extensions = append(extensions, extension{start: startPprof})
}

// errPprofAddr is a --pprof-addr that is not a loopback address.
var errPprofAddr = errors.New("shardmq: --pprof-addr must be a loopback address (127.0.0.1:PORT or [::1]:PORT)")

// startPprof serves the profiles when --pprof-addr is set. The handlers
// are mounted on a mux of their own, never on the API's. Heap profiles
// sample one allocation per 512 KiB; GODEBUG=memprofilerate=4096 shows
// per-connection structures (and costs about a fifth of the CPU on the
// publish path, so leave it off for CPU profiles).
func startPprof(_ context.Context, _ *app) (func(context.Context) error, error) {
	if pprofAddr == "" {
		return func(context.Context) error { return nil }, nil
	}
	host, _, err := net.SplitHostPort(pprofAddr)
	if ip := net.ParseIP(host); err != nil || ip == nil || !ip.IsLoopback() {
		return nil, fmt.Errorf("%w: %q", errPprofAddr, pprofAddr)
	}
	ln, err := net.Listen("tcp", pprofAddr)
	if err != nil {
		return nil, fmt.Errorf("shardmq: pprof listener: %w", err)
	}
	mux := http.NewServeMux()
	mux.HandleFunc("/debug/pprof/", pprof.Index)
	mux.HandleFunc("/debug/pprof/cmdline", pprof.Cmdline)
	mux.HandleFunc("/debug/pprof/profile", pprof.Profile)
	mux.HandleFunc("/debug/pprof/symbol", pprof.Symbol)
	mux.HandleFunc("/debug/pprof/trace", pprof.Trace)
	srv := &http.Server{Handler: mux, ReadHeaderTimeout: 5 * time.Second}
	go func() { _ = srv.Serve(ln) }()
	slog.Info("shardmq: pprof listening", "addr", ln.Addr().String())
	return srv.Shutdown, nil
}
