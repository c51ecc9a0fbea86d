package main

import (
	"context"
	"errors"
	"testing"
)

// TestPprofAddr checks that --pprof-addr is off by default, refuses
// addresses other hosts could reach, and serves on loopback.
func TestPprofAddr(t *testing.T) {
	defer func(old string) { pprofAddr = old }(pprofAddr)
	tests := []struct {
		name, addr string
		wantErr    error
	}{
		{name: "off", addr: ""},
		{name: "loopback", addr: "127.0.0.1:0"},
		{name: "any_address", addr: ":6060", wantErr: errPprofAddr},
		{name: "all_interfaces", addr: "0.0.0.0:6060", wantErr: errPprofAddr},
		{name: "hostname", addr: "localhost:6060", wantErr: errPprofAddr},
	}
	for _, tt := range tests {
		t.Run("addr="+tt.name, func(t *testing.T) {
			pprofAddr = tt.addr
			stop, err := startPprof(context.Background(), nil)
			if !errors.Is(err, tt.wantErr) {
				t.Fatalf("err %v, want %v", err, tt.wantErr)
			}
			if err == nil {
				if err := stop(context.Background()); err != nil {
					t.Fatal(err)
				}
			}
		})
	}
}
