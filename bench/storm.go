package bench

import (
	"bufio"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"os"
	"os/exec"
	"sync"
	"sync/atomic"
	"time"

	"github.com/shardmq/shardmq/mqtt"
)

// stormJob is one generator process's share of a connection storm.
type stormJob struct {
	Addr    string       `json:"addr"`
	Version mqtt.Version `json:"version"`
	Prefix  string       `json:"prefix"`
	// Source is the local IP address the job's connections come from.
	Source      string `json:"source"`
	Count       int    `json:"count"`
	Concurrency int    `json:"concurrency"`
	// Rate is this job's connections per second; 0 is unpaced.
	Rate float64 `json:"rate,omitempty"`
	// Username and Password go into every CONNECT when set.
	Username string `json:"username,omitempty"`
	Password string `json:"password,omitempty"`
	// Transport is TLS or WebSocket, or zero for TCP.
	Transport transportSpec `json:"transport"`
}

// stormReport is what a storm job reports: how many connections were
// accepted and the wall-clock times of the first dial and the last CONNACK.
type stormReport struct {
	Connected int    `json:"connected"`
	FirstNs   int64  `json:"first_ns"`
	LastNs    int64  `json:"last_ns"`
	Err       string `json:"err,omitempty"`
}

// connectStorm opens job.Count MQTT connections, job.Concurrency at a time,
// and returns them with the report.
func connectStorm(ctx context.Context, job stormJob) ([]*client, stormReport) {
	conns := make([]*client, job.Count)
	var last atomic.Int64
	var src net.Addr
	if job.Source != "" {
		src = &net.TCPAddr{IP: net.ParseIP(job.Source)}
	}
	first := time.Now().UnixNano()
	ctx = withTransport(ctx, job.Transport)
	err := parallel(ctx, job.Count, job.Concurrency, job.Rate, func(i int) error {
		o := connectOptions{clientID: fmt.Sprintf("%s-%d", job.Prefix, i), username: job.Username, password: job.Password}
		c, err := dialMQTTFrom(ctx, src, job.Addr, o, job.Version, setupTimeout)
		if err != nil {
			return err
		}
		conns[i] = c
		storeMax(&last, time.Now().UnixNano())
		return nil
	})
	rep := stormReport{FirstNs: first, LastNs: last.Load()}
	kept := conns[:0]
	for _, c := range conns {
		if c != nil {
			kept = append(kept, c)
		}
	}
	rep.Connected = len(kept)
	if err != nil {
		rep.Err = err.Error()
	}
	return kept, rep
}

// runStormWorker is the body of a storm worker process: it connects its
// share, prints its report and holds the connections until stdin closes,
// then resets them (client.abort).
func runStormWorker() {
	var job stormJob
	if err := json.Unmarshal([]byte(os.Getenv(workerArgsEnv)), &job); err != nil {
		fmt.Fprintln(os.Stderr, "bench worker:", err)
		os.Exit(2)
	}
	conns, rep := connectStorm(context.Background(), job)
	b, _ := json.Marshal(rep)
	fmt.Println(string(b))
	_, _ = io.Copy(io.Discard, os.Stdin)
	for _, c := range conns {
		c.abort()
	}
	os.Exit(0)
}

// stormWorkers is the storm spread over worker processes.
type stormWorkers struct {
	cmds   []*exec.Cmd
	stdins []io.Closer
}

// startStormWorkers starts one worker per job and collects their reports.
func startStormWorkers(ctx context.Context, jobs []stormJob) (*stormWorkers, []stormReport, error) {
	exe, err := os.Executable()
	if err != nil {
		return nil, nil, err
	}
	w := &stormWorkers{}
	reps := make([]stormReport, len(jobs))
	var wg sync.WaitGroup
	errs := make([]error, len(jobs))
	for i, job := range jobs {
		b, _ := json.Marshal(job)
		cmd := workerCommand(ctx, exe, stormWorker, string(b))
		cmd.Stderr = os.Stderr
		stdin, err := cmd.StdinPipe()
		if err != nil {
			w.stop()
			return nil, nil, err
		}
		stdout, err := cmd.StdoutPipe()
		if err != nil {
			w.stop()
			return nil, nil, err
		}
		if err := cmd.Start(); err != nil {
			w.stop()
			return nil, nil, fmt.Errorf("%w: %v", ErrWorker, err)
		}
		w.cmds = append(w.cmds, cmd)
		w.stdins = append(w.stdins, stdin)
		wg.Add(1)
		go func() {
			defer wg.Done()
			line, err := bufio.NewReader(stdout).ReadBytes('\n')
			if err != nil {
				errs[i] = fmt.Errorf("%w: no report: %v", ErrWorker, err)
				return
			}
			if err := json.Unmarshal(line, &reps[i]); err != nil {
				errs[i] = fmt.Errorf("%w: %v", ErrWorker, err)
			}
		}()
	}
	wg.Wait()
	for _, err := range errs {
		if err != nil {
			w.stop()
			return nil, nil, err
		}
	}
	return w, reps, nil
}

// stop closes the workers' stdin, which makes them reset their
// connections (client.abort) and exit, and waits for them.
func (w *stormWorkers) stop() {
	for _, s := range w.stdins {
		s.Close()
	}
	for _, c := range w.cmds {
		_ = c.Wait()
	}
}

// stormSource returns the loopback address job i's connections come from:
// 127.0.0.2, 127.0.0.3, ... (the broker is still dialled on its own
// address). Linux's connect() takes ephemeral ports of one parity first
// (about 14,000 of the default range) and searches past the used ones, so
// beyond ~14,000 connections from one address to one broker every connect
// slowed down whatever the broker (a 19,000-connection storm ran at
// ~7k/s for shardmq and mosquitto alike, 13,000 at 17k/s); one source
// address per job of at most ConnsPerProcess connections keeps the search
// short.
func stormSource(i int) string {
	return fmt.Sprintf("127.0.0.%d", 2+i)
}

// jobSource is stormSource(i) for a broker on a loopback address, and ""
// (the kernel's choice) for any other: a remote broker cannot answer
// 127.0.0.x.
func jobSource(addr string, i int) string {
	if loopbackTarget(addr) {
		return stormSource(i)
	}
	return ""
}

// share returns job i's part of n items spread over jobs: n/jobs, one more
// for the first n%jobs jobs.
func share(n, jobs, i int) int {
	c := n / jobs
	if i < n%jobs {
		c++
	}
	return c
}

// maxStormJobs is the number of source addresses stormSource can give.
const maxStormJobs = 253

// stormJobs returns the number of generator processes (jobs) a storm of n
// connections takes: one per perProcess connections.
func stormJobs(n, perProcess int) int {
	return (n + perProcess - 1) / perProcess
}

// runStorm runs the connection storm and measures the idle memory.
func runStorm(ctx context.Context, cfg Config, in *Instance, r Result) Result {
	base := baseOf(in.PID)
	n := cfg.StormConns
	procs := stormJobs(n, cfg.ConnsPerProcess)
	jobs := make([]stormJob, procs)
	for i := range jobs {
		jobs[i] = stormJob{Addr: in.Addr, Version: cfg.Version, Prefix: fmt.Sprintf("%sstorm%d", cfg.ClientPrefix, i),
			Source: jobSource(in.Addr, i), Count: share(n, procs, i), Concurrency: cfg.StormConcurrency,
			Rate: float64(cfg.ConnectRate) / float64(procs), Username: cfg.Username, Password: cfg.Password,
			Transport: in.transport}
	}
	var reps []stormReport
	if procs == 1 {
		conns, rep := connectStorm(ctx, jobs[0])
		defer func() {
			for _, c := range conns {
				c.abort()
			}
		}()
		reps = []stormReport{rep}
	} else {
		w, rs, err := startStormWorkers(ctx, jobs)
		if err != nil {
			r.Err = err.Error()
			return r
		}
		defer w.stop()
		reps = rs
	}
	first, last := reps[0].FirstNs, reps[0].LastNs
	for _, rep := range reps {
		r.Conns += rep.Connected
		first, last = min(first, rep.FirstNs), max(last, rep.LastNs)
		if rep.Err != "" && r.Err == "" {
			r.Err = rep.Err
		}
	}
	if last > first {
		r.Seconds = float64(last-first) / 1e9
		r.ConnectRate = float64(r.Conns) / r.Seconds
	}
	if in.PID > 0 && r.Conns > 0 {
		grown := base.settle(ctx, &r, cfg.IdleHold)
		_, r.PeakRSS, _ = procMem(in.PID)
		r.BytesPerConn = float64(grown) / float64(r.Conns)
	}
	return r
}

// brokerBase is a broker process's RSS and CPU time before a storm of
// connections or sessions.
type brokerBase struct {
	pid int
	rss int64
	cpu float64
}

// baseOf reads process pid's RSS and CPU time; for pid 0 (a broker
// in-process or of unknown pid) it reads nothing.
func baseOf(pid int) brokerBase {
	b := brokerBase{pid: pid}
	if pid > 0 {
		b.rss, _, _ = procMem(pid)
		b.cpu, _ = procCPU(pid)
	}
	return b
}

// settle sets r.CPU to the broker's CPU per second of the r.Seconds the
// storm took, read now, as the storm ends (the idle hold would dilute it),
// then holds for hold, sets r.RSS to the settled idle RSS (idleRSS) and
// returns its growth since the base. Call it only for a known pid.
func (b brokerBase) settle(ctx context.Context, r *Result, hold time.Duration) (grown int64) {
	if cpu, err := procCPU(b.pid); err == nil && r.Seconds > 0 {
		r.CPU = (cpu - b.cpu) / r.Seconds
	}
	r.RSS = idleRSS(ctx, b.pid, hold)
	return r.RSS - b.rss
}

// Idle RSS sampling: every broker's connections are held idle for the same
// hold, then sampled until two samples settleStep apart differ by less than
// 1 % (or settleMax passes).
const (
	settleStep = 500 * time.Millisecond
	settleMax  = 10 * time.Second
)

// idleRSS holds the storm's connections idle for hold, then samples the
// broker's RSS until it is stable and returns the last sample. "Idle
// connections" are connections held idle, not the instant the storm ends:
// whatever a broker does once it is idle (collect, return memory) counts,
// for every broker alike.
func idleRSS(ctx context.Context, pid int, hold time.Duration) int64 {
	if !sleepCtx(ctx, hold) {
		rss, _, _ := procMem(pid)
		return rss
	}
	prev, _, _ := procMem(pid)
	for deadline := time.Now().Add(settleMax); time.Now().Before(deadline); {
		if !sleepCtx(ctx, settleStep) {
			break
		}
		cur, _, _ := procMem(pid)
		d := cur - prev
		if d < 0 {
			d = -d
		}
		prev = cur
		if d*100 < cur {
			break
		}
	}
	return prev
}
