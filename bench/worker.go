package bench

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"runtime/debug"
	"strings"
	"sync"
	"syscall"
	"time"
)

// Environment of a worker process: the harness re-executes its own binary
// with workerEnv naming the job and its arguments in workerArgsEnv.
const (
	workerEnv     = "SHARDMQ_BENCH_WORKER"
	workerArgsEnv = "SHARDMQ_BENCH_WORKER_ARGS"
	// stormWorker connects a share of a connection storm.
	stormWorker = "storm"
	// sessionWorker runs a share of a phase of the sessions scenario.
	sessionWorker = "sessions"
	// relayWorker runs the Relay in its own process, so the ceiling is
	// measured with the relay's CPU and memory apart from the generator's.
	relayWorker = "relay"
)

// MaybeRunWorker runs this process as a worker when the harness started it
// as one (SHARDMQ_BENCH_WORKER is set) and then exits; otherwise it returns
// at once. Call it first thing in main, and in TestMain of the tests.
func MaybeRunWorker() {
	switch os.Getenv(workerEnv) {
	case stormWorker:
		lessGC()
		runStormWorker()
	case sessionWorker:
		lessGC()
		runSessionWorker()
	case relayWorker:
		runRelayWorker()
	}
}

// workerGCPercent is the collector headroom of the storm and session
// workers: their heap is a few MiB of connections and per-handshake
// garbage, and at Go's default of 100 the collector took a tenth of a
// generator's CPU in a TLS storm, CPU the broker measured on the same
// cores did not get (conn-storm-tls on shardmq, three repeats each,
// interleaved: 1.80k and 1.70k connects/s at 100, 1.94k and 1.90k at 400).
const workerGCPercent = 400

// lessGC sets a worker's collector headroom to workerGCPercent unless
// GOGC says otherwise.
func lessGC() {
	if os.Getenv("GOGC") == "" {
		debug.SetGCPercent(workerGCPercent)
	}
}

// workerCommand returns the command that re-executes exe as a worker of the
// given kind. The -test.run argument keeps a test binary from running
// tests should it reach m.Run.
func workerCommand(ctx context.Context, exe, kind, args string) *exec.Cmd {
	cmd := exec.CommandContext(ctx, exe, "-test.run=^$")
	cmd.Env = append(os.Environ(), workerEnv+"="+kind, workerArgsEnv+"="+args)
	cmd.Stderr = os.Stderr
	return cmd
}

// runWorkers runs one worker process of the given kind per job, each
// printing one JSON report line and exiting, and returns the reports in
// job order. Closing stop closes the workers' standard input, which asks
// them to finish early and still report; ctx ending kills them. A worker
// that fails or prints no report fails the call.
func runWorkers[J, R any](ctx context.Context, kind string, jobs []J, stop <-chan struct{}) ([]R, error) {
	exe, err := os.Executable()
	if err != nil {
		return nil, err
	}
	reps := make([]R, len(jobs))
	errs := make([]error, len(jobs))
	var wg sync.WaitGroup
	for i, job := range jobs {
		b, err := json.Marshal(job)
		if err != nil {
			return nil, err
		}
		cmd := workerCommand(ctx, exe, kind, string(b))
		stdin, err := cmd.StdinPipe()
		if err != nil {
			return nil, err
		}
		wg.Add(1)
		go func() {
			defer wg.Done()
			done := make(chan struct{})
			defer close(done)
			go func() {
				select {
				case <-stop:
					stdin.Close()
				case <-done:
				}
			}()
			out, err := cmd.Output()
			if err != nil {
				errs[i] = fmt.Errorf("%w: %s worker %d: %v", ErrWorker, kind, i, err)
				return
			}
			if err := json.Unmarshal(out, &reps[i]); err != nil {
				errs[i] = fmt.Errorf("%w: %s worker %d: %v", ErrWorker, kind, i, err)
			}
		}()
	}
	wg.Wait()
	return reps, errors.Join(errs...)
}

// stdinClosed returns a context that ends when this process's standard
// input closes: how a worker learns that the harness wants it to stop
// early.
func stdinClosed() (context.Context, context.CancelFunc) {
	ctx, cancel := context.WithCancel(context.Background())
	go func() {
		_, _ = io.Copy(io.Discard, os.Stdin)
		cancel()
	}()
	return ctx, cancel
}

// runRelayWorker is the body of a relay worker: it starts a Relay on the
// address in its arguments, prints the address, and stops when stdin
// closes.
func runRelayWorker() {
	r, err := NewRelay(os.Getenv(workerArgsEnv))
	if err != nil {
		fmt.Fprintln(os.Stderr, "bench relay worker:", err)
		os.Exit(2)
	}
	fmt.Println(r.Addr())
	_, _ = io.Copy(io.Discard, os.Stdin)
	_ = r.Close()
	os.Exit(0)
}

// startRelayProcess starts a relay worker process and returns it as an
// Instance with its PID, so its CPU and RSS are measured like a broker's.
func startRelayProcess(ctx context.Context) (*Instance, error) {
	exe, err := os.Executable()
	if err != nil {
		return nil, err
	}
	cmd := workerCommand(ctx, exe, relayWorker, "127.0.0.1:0")
	stdin, err := cmd.StdinPipe()
	if err != nil {
		return nil, err
	}
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		return nil, err
	}
	if err := cmd.Start(); err != nil {
		return nil, fmt.Errorf("%w: relay: %v", ErrWorker, err)
	}
	stop := func() error {
		stdin.Close()
		done := make(chan error, 1)
		go func() { done <- cmd.Wait() }()
		select {
		case err := <-done:
			return err
		case <-time.After(5 * time.Second):
			_ = cmd.Process.Signal(syscall.SIGKILL)
			return <-done
		}
	}
	line, err := bufio.NewReader(stdout).ReadString('\n')
	if err != nil {
		_ = stop()
		return nil, fmt.Errorf("%w: relay: no address: %v", ErrWorker, err)
	}
	return &Instance{Addr: strings.TrimSpace(line), PID: cmd.Process.Pid, Relay: true, stop: stop}, nil
}
