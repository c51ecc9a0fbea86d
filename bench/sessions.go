package bench

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"math/rand/v2"
	"net"
	"os"
	"slices"
	"sync/atomic"
	"time"

	"github.com/shardmq/shardmq/mqtt"
)

// issueSessions is the size at which issue 21 compares persistent-session
// storms; the short profile's default is smaller (see Config.Sessions).
const issueSessions = 200000

// sessionJob is one generator process's share of a phase of the sessions
// scenario: clients IDs-i for i in [First, First+Count).
type sessionJob struct {
	Addr    string       `json:"addr"`
	Version mqtt.Version `json:"version"`
	// Source is the local IP address the job's connections come from, or
	// "" for the kernel's choice.
	Source string `json:"source"`
	// IDs prefixes the client ids; client i subscribes to Topic/i.
	IDs   string `json:"ids"`
	Topic string `json:"topic"`
	First int    `json:"first"`
	Count int    `json:"count"`
	// Resume selects the resume phase: CONNECT, CONNACK with session
	// present, DISCONNECT. Otherwise a client creates its session: CONNECT,
	// SUBSCRIBE at QoS 1, DISCONNECT.
	Resume   bool   `json:"resume"`
	Username string `json:"username"`
	Password string `json:"password,omitempty"`
	// Concurrency is the number of clients in flight.
	Concurrency int `json:"concurrency"`
	// Rate is this job's connections per second; 0 is unpaced.
	Rate float64 `json:"rate,omitempty"`
	// Deadline (Unix nanoseconds) stops the job with what it has done.
	Deadline int64 `json:"deadline"`
}

// sessionReport is what a session job did: the clients that completed
// their exchange, how many of them from the job's first on completed
// without a gap (the ones the resume phase asks for again), the resumed
// ones that found no session, the wall-clock times of the first dial and
// the last completion, and whether the deadline cut the job short.
type sessionReport struct {
	Done       int   `json:"done"`
	Prefix     int   `json:"prefix"`
	NotPresent int   `json:"not_present"`
	FirstNs    int64 `json:"first_ns"`
	LastNs     int64 `json:"last_ns"`
	// TimedOut reports a job cut short by its deadline or stopped early
	// by the harness (see sessionPhase).
	TimedOut bool `json:"timed_out,omitempty"`
	// Err is the first failure not caused by the deadline.
	Err string `json:"err,omitempty"`
}

// runSessionJob runs one job until its clients are done or its deadline
// passes.
func runSessionJob(ctx context.Context, job sessionJob) sessionReport {
	ctx, cancel := context.WithDeadline(ctx, time.Unix(0, job.Deadline))
	defer cancel()
	var src net.Addr
	if job.Source != "" {
		src = &net.TCPAddr{IP: net.ParseIP(job.Source)}
	}
	var done, notPresent, last atomic.Int64
	// ok[k] is written by client k's goroutine only, read after parallel
	// has waited for them all.
	ok := make([]bool, job.Count)
	first := time.Now().UnixNano()
	err := parallel(ctx, job.Count, job.Concurrency, job.Rate, func(k int) error {
		i := job.First + k
		o := connectOptions{clientID: fmt.Sprintf("%s-%d", job.IDs, i), persistent: true,
			username: job.Username, password: job.Password}
		c, err := dialMQTTFrom(ctx, src, job.Addr, o, job.Version, setupTimeout)
		if err == nil && !job.Resume {
			if err = c.subscribe(fmt.Sprintf("%s/%d", job.Topic, i), 1, setupTimeout); err != nil {
				c.close()
			}
		}
		if err != nil {
			if cutShort(ctx) {
				return nil // cut short by the deadline, not a failure
			}
			return err
		}
		if job.Resume && !c.sessionPresent {
			notPresent.Add(1)
		}
		c.disconnect()
		ok[k] = true
		done.Add(1)
		storeMax(&last, time.Now().UnixNano())
		return nil
	})
	rep := sessionReport{Done: int(done.Load()), NotPresent: int(notPresent.Load()), FirstNs: first,
		LastNs: last.Load(), TimedOut: cutShort(ctx)}
	for rep.Prefix < len(ok) && ok[rep.Prefix] {
		rep.Prefix++
	}
	if err != nil && !errors.Is(err, context.DeadlineExceeded) && !errors.Is(err, context.Canceled) {
		rep.Err = err.Error()
	}
	return rep
}

// runSessionWorker is the body of a session worker process: it runs its
// job, prints the report and exits.
func runSessionWorker() {
	var job sessionJob
	if err := json.Unmarshal([]byte(os.Getenv(workerArgsEnv)), &job); err != nil {
		fmt.Fprintln(os.Stderr, "bench worker:", err)
		os.Exit(2)
	}
	ctx, cancel := stdinClosed()
	defer cancel()
	b, _ := json.Marshal(runSessionJob(ctx, job))
	fmt.Println(string(b))
	os.Exit(0)
}

// sessionJobs returns the create phase's jobs: cfg.Sessions clients
// spread over cfg.SessionProcesses jobs.
func sessionJobs(cfg Config, addr, ids, topic string) []sessionJob {
	procs := cfg.SessionProcesses
	jobs := make([]sessionJob, procs)
	first := 0
	for i := range jobs {
		jobs[i] = sessionJob{Addr: addr, Version: cfg.Version, Source: jobSource(addr, i), IDs: ids, Topic: topic,
			First: first, Count: share(cfg.Sessions, procs, i), Username: cfg.sessionUser(), Password: cfg.Password,
			Concurrency: cfg.StormConcurrency, Rate: float64(cfg.ConnectRate) / float64(procs)}
		first += jobs[i].Count
	}
	return jobs
}

// resumeJobs returns the resume phase's jobs: each create job's clients
// again, as many as it created without a gap.
func resumeJobs(create []sessionJob, reps []sessionReport) []sessionJob {
	jobs := slices.Clone(create)
	for i := range jobs {
		jobs[i].Resume, jobs[i].Count = true, reps[i].Prefix
	}
	return jobs
}

// sessionPhase runs jobs, in worker processes when there is more than one,
// each until cfg.SessionTimeout from now, and returns their reports. When
// the broker's process (pid, if known) grows past cfg.BrokerMemLimit it
// stops them early and returns the RSS it saw (0 otherwise): a broker that
// needs tens of kilobytes per session would otherwise take the machine's
// memory at a million.
func sessionPhase(ctx context.Context, cfg Config, pid int, jobs []sessionJob) ([]sessionReport, int64, error) {
	deadline := time.Now().Add(cfg.SessionTimeout)
	for i := range jobs {
		jobs[i].Deadline = deadline.UnixNano()
	}
	stop := make(chan struct{})
	done := make(chan struct{})
	var over atomic.Int64
	go func() {
		if pid <= 0 || cfg.BrokerMemLimit <= 0 {
			return
		}
		for {
			select {
			case <-done:
				return
			case <-time.After(memWatchStep):
			}
			if rss, _, err := procMem(pid); err == nil && rss > cfg.BrokerMemLimit {
				over.Store(rss)
				close(stop)
				return
			}
		}
	}()
	defer close(done)
	if len(jobs) == 1 {
		jctx, cancel := context.WithCancel(ctx)
		defer cancel()
		go func() {
			select {
			case <-stop:
				cancel()
			case <-jctx.Done():
			}
		}()
		rep := runSessionJob(jctx, jobs[0])
		return []sessionReport{rep}, over.Load(), nil
	}
	reps, err := runWorkers[sessionJob, sessionReport](ctx, sessionWorker, jobs, stop)
	return reps, over.Load(), err
}

// memWatchStep is how often sessionPhase reads the broker's RSS.
const memWatchStep = 250 * time.Millisecond

// mergeSessionReports adds up the jobs' reports: counts summed, the
// earliest first dial, the latest completion and the first error.
func mergeSessionReports(reps []sessionReport) sessionReport {
	var m sessionReport
	for i, r := range reps {
		m.Done += r.Done
		m.Prefix += r.Prefix
		m.NotPresent += r.NotPresent
		m.TimedOut = m.TimedOut || r.TimedOut
		if i == 0 || r.FirstNs < m.FirstNs {
			m.FirstNs = r.FirstNs
		}
		m.LastNs = max(m.LastNs, r.LastNs)
		if m.Err == "" {
			m.Err = r.Err
		}
	}
	return m
}

// seconds returns the time from the first dial to the last completion.
func (r sessionReport) seconds() float64 {
	if r.LastNs <= r.FirstNs {
		return 0
	}
	return float64(r.LastNs-r.FirstNs) / 1e9
}

// rate returns the completed clients per second, or 0.
func (r sessionReport) rate() float64 {
	if s := r.seconds(); s > 0 {
		return float64(r.Done) / s
	}
	return 0
}

// outcome judges a phase that asked for want clients: "" when all
// completed; partial when the time limit cut it short after some
// completed (the figures stand for what was done); failed otherwise.
func (r sessionReport) outcome(verb string, want int, limit time.Duration) (partial, failed string) {
	if r.Done >= want && r.Err == "" {
		return "", ""
	}
	what := fmt.Sprintf("%s %d of %d sessions within %v (%s/s)", verb, r.Done, want, limit, fmtCount(r.rate()))
	if r.Err == "" && r.TimedOut && r.Done > 0 {
		return what, ""
	}
	why := r.Err
	if why == "" {
		why = "cancelled"
	}
	return "", what + "; first error: " + why
}

// runSessions runs the sessions scenario: create cfg.Sessions persistent
// sessions, sample the broker's memory with them offline (after
// cfg.IdleHold, as for idle connections), then resume every one. A broker
// slower than cfg.SessionTimeout allows gives partial figures: its rates
// over the sessions it created (and resumed) in time, its memory over
// those it created, and r.Partial says so.
func runSessions(ctx context.Context, cfg Config, in *Instance, r Result) Result {
	base := baseOf(in.PID)
	// A run tag keeps ids fresh on a Target, which keeps earlier runs'
	// sessions.
	ids := fmt.Sprintf("%ssess%04x", cfg.ClientPrefix, rand.IntN(1<<16))
	jobs := sessionJobs(cfg, in.Addr, ids, cfg.TopicPrefix+"/sess")
	creps, over, err := sessionPhase(ctx, cfg, in.PID, jobs)
	if err != nil {
		r.Err = err.Error()
		return r
	}
	create := mergeSessionReports(creps)
	r.Sessions, r.Seconds, r.CreateRate = create.Done, create.seconds(), create.rate()
	if r.Partial, r.Err = create.outcome("created", cfg.Sessions, cfg.SessionTimeout); r.Err != "" {
		return r
	}
	if over > 0 {
		// No resume: the broker already holds more than it may.
		r.Partial = fmt.Sprintf("created %d of %d sessions, stopped when the broker's RSS reached %s (limit %s)",
			create.Done, cfg.Sessions, fmtBytes(float64(over)), fmtBytes(float64(cfg.BrokerMemLimit)))
		r.BytesPerSession = float64(over-base.rss) / float64(r.Sessions)
		r.RSS, r.PeakRSS = over, over
		return r
	}
	if in.PID > 0 {
		r.BytesPerSession = float64(base.settle(ctx, &r, cfg.IdleHold)) / float64(r.Sessions)
	}
	rreps, _, err := sessionPhase(ctx, cfg, in.PID, resumeJobs(jobs, creps))
	if err != nil {
		r.Err = err.Error()
		return r
	}
	resume := mergeSessionReports(rreps)
	r.ResumeRate = resume.rate()
	if in.PID > 0 {
		_, r.PeakRSS, _ = procMem(in.PID)
	}
	partial, failed := resume.outcome("resumed", create.Prefix, cfg.SessionTimeout)
	switch {
	case failed != "":
		r.Err = failed
	case resume.NotPresent > 0:
		r.Err = fmt.Sprintf("%d of %d resumed sessions were gone (CONNACK session present 0)", resume.NotPresent, resume.Done)
	case partial != "" && r.Partial != "":
		r.Partial += "; " + partial
	case partial != "":
		r.Partial = partial
	}
	return r
}

// storeMax raises a to v if v is larger.
func storeMax(a *atomic.Int64, v int64) {
	for {
		old := a.Load()
		if v <= old || a.CompareAndSwap(old, v) {
			return
		}
	}
}
