package main

import (
	"context"
	"errors"
	"net/http"
	"testing"
)

// TestPprofAddr checks that pprof_addr is off by default, refuses
// addresses other hosts could reach, and serves on loopback.
func TestPprofAddr(t *testing.T) {
	if d := defaultOptions(); d.PprofAddr != "" {
		t.Fatalf("pprof on by default: %q", d.PprofAddr)
	}
	tests := []struct {
		name, addr string
		wantErr    error
	}{
		{name: "loopback", addr: "127.0.0.1:0"},
		{name: "loopback_v6", addr: "[::1]:0"},
		{name: "any_address", addr: ":6060", wantErr: errPprofAddr},
		{name: "all_interfaces", addr: "0.0.0.0:6060", wantErr: errPprofAddr},
		{name: "hostname", addr: "localhost:6060", wantErr: errPprofAddr},
	}
	for _, tt := range tests {
		t.Run("addr="+tt.name, func(t *testing.T) {
			o := defaultOptions()
			o.PprofAddr = tt.addr
			if err := o.Validate(); !errors.Is(err, tt.wantErr) {
				t.Fatalf("Validate: %v, want %v", err, tt.wantErr)
			}
			stop, err := startPprof(tt.addr)
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
	t.Run("serves", func(t *testing.T) {
		addr := freePort(t)
		stop, err := startPprof(addr)
		if err != nil {
			t.Fatal(err)
		}
		defer stop(context.Background())
		if code, _ := httpGet("http://"+addr+"/debug/pprof/", ""); code != http.StatusOK {
			t.Fatalf("GET /debug/pprof/: %d", code)
		}
	})
}
