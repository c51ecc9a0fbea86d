package main

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"net/http/pprof"
	"time"
)

// errPprofAddr is a pprof_addr that is not a loopback address.
var errPprofAddr = errors.New("must be a loopback address (127.0.0.1:PORT or [::1]:PORT): the profiles are for whoever can reach them")

// checkPprofAddr accepts "" (off) and loopback addresses.
func checkPprofAddr(addr string) error {
	if addr == "" {
		return nil
	}
	host, _, err := net.SplitHostPort(addr)
	if ip := net.ParseIP(host); err != nil || ip == nil || !ip.IsLoopback() {
		return fmt.Errorf("%q %w", addr, errPprofAddr)
	}
	return nil
}

// startPprof serves the profiles on addr, a loopback address, and returns
// the function that stops serving. The handlers are mounted on a mux of
// their own, never on the API's. Heap profiles sample one allocation per
// 512 KiB; GODEBUG=memprofilerate=4096 shows per-connection structures
// (and costs about a fifth of the CPU on the publish path, so leave it off
// for CPU profiles).
func startPprof(addr string) (func(context.Context) error, error) {
	if err := checkPprofAddr(addr); err != nil {
		return nil, err
	}
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return nil, fmt.Errorf("pprof listener: %w", err)
	}
	mux := http.NewServeMux()
	mux.HandleFunc("/debug/pprof/", pprof.Index)
	mux.HandleFunc("/debug/pprof/cmdline", pprof.Cmdline)
	mux.HandleFunc("/debug/pprof/profile", pprof.Profile)
	mux.HandleFunc("/debug/pprof/symbol", pprof.Symbol)
	mux.HandleFunc("/debug/pprof/trace", pprof.Trace)
	stop := serveHTTP(&http.Server{Handler: mux, ReadHeaderTimeout: 5 * time.Second}, ln, "pprof")
	slog.Info("shardmq: pprof on http://" + ln.Addr().String() + "/debug/pprof/")
	return stop, nil
}
