package bench

import (
	"context"
	"encoding/json"
	"fmt"
	"math/rand/v2"
	"net"
	"os"
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
// their exchange, the resumed ones that found no session, and the
// wall-clock times of the first dial and the last completion.
type sessionReport struct {
	Done       int    `json:"done"`
	NotPresent int    `json:"not_present"`
	FirstNs    int64  `json:"first_ns"`
	LastNs     int64  `json:"last_ns"`
	Err        string `json:"err,omitempty"`
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
	first := time.Now().UnixNano()
	err := parallel(ctx, job.Count, job.Concurrency, job.Rate, func(k int) error {
		i := job.First + k
		o := connectOptions{clientID: fmt.Sprintf("%s-%d", job.IDs, i), persistent: true,
			username: job.Username, password: job.Password}
		c, err := dialMQTTFrom(ctx, src, job.Addr, o, job.Version, setupTimeout)
		if err != nil {
			return err
		}
		if job.Resume {
			if !c.sessionPresent {
				notPresent.Add(1)
			}
		} else if err := c.subscribe(fmt.Sprintf("%s/%d", job.Topic, i), 1, setupTimeout); err != nil {
			c.close()
			return err
		}
		c.disconnect()
		done.Add(1)
		storeMax(&last, time.Now().UnixNano())
		return nil
	})
	rep := sessionReport{Done: int(done.Load()), NotPresent: int(notPresent.Load()), FirstNs: first, LastNs: last.Load()}
	if err != nil {
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
	b, _ := json.Marshal(runSessionJob(context.Background(), job))
	fmt.Println(string(b))
	os.Exit(0)
}

// sessionPhase runs one phase of cfg.Sessions clients, spread over
// cfg.SessionProcesses jobs (worker processes when more than one), and
// merges their reports.
func sessionPhase(ctx context.Context, cfg Config, addr, ids, topic string, resume bool) (sessionReport, error) {
	procs := cfg.SessionProcesses
	deadline := time.Now().Add(cfg.SessionTimeout).UnixNano()
	jobs := make([]sessionJob, procs)
	first := 0
	for i := range jobs {
		jobs[i] = sessionJob{Addr: addr, Version: cfg.Version, Source: jobSource(addr, i), IDs: ids, Topic: topic,
			First: first, Count: share(cfg.Sessions, procs, i), Resume: resume, Username: cfg.sessionUser(),
			Password: cfg.Password, Concurrency: cfg.StormConcurrency, Rate: float64(cfg.ConnectRate) / float64(procs),
			Deadline: deadline}
		first += jobs[i].Count
	}
	if procs == 1 {
		return runSessionJob(ctx, jobs[0]), nil
	}
	reps, err := runWorkers[sessionJob, sessionReport](ctx, sessionWorker, jobs)
	if err != nil {
		return sessionReport{}, err
	}
	return mergeSessionReports(reps), nil
}

// mergeSessionReports adds up the jobs' reports: counts summed, the
// earliest first dial, the latest completion and the first error.
func mergeSessionReports(reps []sessionReport) sessionReport {
	var m sessionReport
	for i, r := range reps {
		m.Done += r.Done
		m.NotPresent += r.NotPresent
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

// incomplete describes a phase that did not complete every client, or
// returns "".
func (r sessionReport) incomplete(verb string, want int, limit time.Duration) string {
	if r.Done >= want {
		return ""
	}
	why := r.Err
	if why == "" {
		why = "no error"
	}
	return fmt.Sprintf("%s %d of %d sessions within %v (%s/s; first error: %s)", verb, r.Done, want, limit,
		fmtCount(r.rate()), why)
}

// runSessions runs the sessions scenario: create cfg.Sessions persistent
// sessions, sample the broker's memory with them offline (after
// cfg.IdleHold, as for idle connections), then resume every one.
func runSessions(ctx context.Context, cfg Config, in *Instance, r Result) Result {
	base := baseOf(in.PID)
	// A run tag keeps ids fresh on a Target, which keeps earlier runs'
	// sessions.
	ids := fmt.Sprintf("%ssess%04x", cfg.ClientPrefix, rand.IntN(1<<16))
	topic := cfg.TopicPrefix + "/sess"
	create, err := sessionPhase(ctx, cfg, in.Addr, ids, topic, false)
	if err != nil {
		r.Err = err.Error()
		return r
	}
	r.Sessions, r.Seconds, r.CreateRate = create.Done, create.seconds(), create.rate()
	if r.Err = create.incomplete("created", cfg.Sessions, cfg.SessionTimeout); r.Err != "" {
		return r
	}
	if in.PID > 0 {
		r.BytesPerSession = float64(base.settle(ctx, &r, cfg.IdleHold)) / float64(r.Sessions)
	}
	resume, err := sessionPhase(ctx, cfg, in.Addr, ids, topic, true)
	if err != nil {
		r.Err = err.Error()
		return r
	}
	r.ResumeRate = resume.rate()
	if in.PID > 0 {
		_, r.PeakRSS, _ = procMem(in.PID)
	}
	switch {
	case resume.Done < cfg.Sessions:
		r.Err = resume.incomplete("resumed", cfg.Sessions, cfg.SessionTimeout)
	case resume.NotPresent > 0:
		r.Err = fmt.Sprintf("%d of %d resumed sessions were gone (CONNACK session present 0)", resume.NotPresent, resume.Done)
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
