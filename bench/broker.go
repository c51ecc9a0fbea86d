package bench

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"syscall"
	"time"
)

// Broker names.
const (
	// BrokerShardmq is the product, built from ./cmd/shardmq.
	BrokerShardmq = "shardmq"
	// BrokerMosquitto is Debian's mosquitto.
	BrokerMosquitto = "mosquitto"
	// BrokerMochi is mochi-mqtt v2.7.9 built from bench/peers/mochi.
	BrokerMochi = "mochi"
	// BrokerNATS is nats-server v2.15.3's MQTT listener built from
	// bench/peers/nats.
	BrokerNATS = "nats"
	// BrokerAedes is aedes 1.2.0 on Node.js from bench/peers/aedes.
	BrokerAedes = "aedes"
	// BrokerRelay is the in-process byte relay, the generator's ceiling.
	BrokerRelay = "relay"
)

// Broker starts fresh instances of one broker.
type Broker interface {
	// Name returns the broker's name as reports show it.
	Name() string
	// Start starts a new instance whose files go to dir.
	Start(ctx context.Context, dir string) (*Instance, error)
}

// knownBrokers are the brokers Config.Brokers may name, in the default
// order.
var knownBrokers = []string{BrokerShardmq, BrokerMosquitto, BrokerMochi, BrokerNATS, BrokerAedes}

// limitedBroker is a Broker that cannot run every scenario under every
// configuration; reports show its reason as "n/a (reason)".
type limitedBroker interface {
	// unsupported returns why the broker cannot run scenario under cfg, or
	// "" when it can.
	unsupported(cfg Config, scenario string) string
}

// Instance is one running broker.
type Instance struct {
	// Addr is the MQTT listener, host:port.
	Addr string
	// PubAddrs, when not empty, are the listeners publishers of the
	// message flows connect to in turn (publisher i to PubAddrs[i mod
	// len]): other nodes of a cluster.
	PubAddrs []string
	// APIAddr is the HTTP API listener, or "" when the broker has none.
	APIAddr string
	// APIKey and APISecret are the API credentials the broker created, if
	// it printed them; Config.APIKey overrides them.
	APIKey, APISecret string

	// awaitAPI, if set, waits until the API serves and fills in the
	// credentials; the API scenarios call it through apiReady.
	awaitAPI func(ctx context.Context) error
	// PID is the broker's process id, or 0 when it runs in-process.
	PID int
	// Relay reports that Addr is a Relay: connections send a pairing key
	// instead of MQTT CONNECT.
	Relay bool
	// TLSAddr and WSAddr are the broker's MQTT over TLS and over WebSocket
	// listeners, "" when it has none; caFile is the PEM file of the CA
	// its certificate chains to.
	TLSAddr, WSAddr string
	caFile          string
	// SNAddr is the broker's MQTT-SN gateway (UDP), "" when it has none.
	SNAddr string
	// transport is what this instance's Addr speaks (runSecure's copy).
	transport transportSpec

	stop func() error
}

// apiReady reports why the instance's API cannot be probed, or "" when it
// can: no API at all, or an API that never started listening.
func (in *Instance) apiReady(ctx context.Context) string {
	if in.APIAddr == "" {
		return "broker has no HTTP API"
	}
	if in.awaitAPI != nil {
		if err := in.awaitAPI(ctx); err != nil {
			return err.Error()
		}
		in.awaitAPI = nil
	}
	return ""
}

// Stop stops the instance and waits for it to exit.
func (in *Instance) Stop() error {
	if in.stop == nil {
		return nil
	}
	s := in.stop
	in.stop = nil
	return s()
}

// freeUDPAddr returns a 127.0.0.1 address with a UDP port that was free
// a moment ago.
func freeUDPAddr() (string, error) {
	c, err := net.ListenUDP("udp", &net.UDPAddr{IP: net.IPv4(127, 0, 0, 1)})
	if err != nil {
		return "", err
	}
	defer c.Close()
	return c.LocalAddr().String(), nil
}

// freeAddr returns a 127.0.0.1 address with a port that was free a moment
// ago.
func freeAddr() (string, error) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return "", err
	}
	addr := ln.Addr().String()
	return addr, ln.Close()
}

// startProcess runs path with args in dir, its output going to logName in
// dir, and waits until addr accepts TCP connections.
func startProcess(ctx context.Context, dir, logName, addr, path string, args ...string) (*Instance, error) {
	logf, err := os.Create(filepath.Join(dir, logName))
	if err != nil {
		return nil, err
	}
	cmd := exec.Command(path, args...)
	cmd.Dir = dir
	cmd.Stdout, cmd.Stderr = logf, logf
	if err := cmd.Start(); err != nil {
		logf.Close()
		return nil, err
	}
	// exited is closed once the process has exited and waitErr is set:
	// both waitListening and stop wait on it, so it must not be a value
	// only one of them can receive.
	exited := make(chan struct{})
	var waitErr error
	go func() { waitErr = cmd.Wait(); logf.Close(); close(exited) }()
	stop := func() error {
		_ = cmd.Process.Signal(syscall.SIGTERM)
		select {
		case <-exited:
		case <-time.After(5 * time.Second):
			_ = cmd.Process.Kill()
			<-exited
		}
		return nil
	}
	if err := waitListening(ctx, addr, exited, 15*time.Second); err != nil {
		_ = stop()
		if errors.Is(err, errExited) && waitErr != nil {
			err = fmt.Errorf("%w: %v", errExited, waitErr)
		}
		tail, _ := os.ReadFile(filepath.Join(dir, logName))
		if len(tail) > 400 {
			tail = tail[len(tail)-400:]
		}
		return nil, fmt.Errorf("%w: %s: %v; log: %s", ErrBrokerNotReady, filepath.Base(path), err, bytes.TrimSpace(tail))
	}
	return &Instance{Addr: addr, PID: cmd.Process.Pid, stop: stop}, nil
}

// waitListening polls addr until it accepts a connection, exited is
// closed (errExited) or the timeout passes.
func waitListening(ctx context.Context, addr string, exited <-chan struct{}, timeout time.Duration) error {
	deadline := time.Now().Add(timeout)
	for {
		nc, err := net.DialTimeout("tcp", addr, time.Second)
		if err == nil {
			nc.Close()
			return nil
		}
		select {
		case <-exited:
			return errExited
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(20 * time.Millisecond):
		}
		if time.Now().After(deadline) {
			return err
		}
	}
}

// relayBroker runs a Relay, in its own process (a worker re-executing
// this binary) unless inProcess is set.
type relayBroker struct {
	inProcess bool
}

// Name returns "relay".
func (relayBroker) Name() string { return BrokerRelay }

// Start starts a Relay on a free port.
func (b relayBroker) Start(ctx context.Context, _ string) (*Instance, error) {
	if !b.inProcess {
		return startRelayProcess(ctx)
	}
	r, err := NewRelay("127.0.0.1:0")
	if err != nil {
		return nil, err
	}
	return &Instance{Addr: r.Addr(), Relay: true, stop: r.Close}, nil
}
