package disk

import (
	"bufio"
	"fmt"
	"io"
	"os"
	"os/exec"
	"strconv"
	"sync"
	"testing"
	"time"

	"github.com/shardmq/shardmq/shards/store"
)

// The tests that need a second process re-execute the test binary with
// childEnv set to a role; TestMain runs the role instead of the tests.
const (
	childEnv = "SHARDMQ_STORE_CHILD"
	dirEnv   = "SHARDMQ_STORE_DIR"
	modeEnv  = "SHARDMQ_STORE_DURABILITY"
)

func TestMain(m *testing.M) {
	switch os.Getenv(childEnv) {
	case "":
		os.Exit(m.Run())
	case "hold":
		childHold()
	case "commit":
		childCommit()
	default:
		fmt.Fprintln(os.Stderr, "unknown child role", os.Getenv(childEnv))
		os.Exit(2)
	}
}

// child starts the test binary as a child in role with the store in dir.
func child(t *testing.T, role, dir string, durability store.Durability) (*exec.Cmd, io.WriteCloser, *bufio.Scanner) {
	t.Helper()
	cmd := exec.Command(os.Args[0], "-test.run=^$")
	cmd.Env = append(os.Environ(), childEnv+"="+role, dirEnv+"="+dir, modeEnv+"="+string(durability))
	cmd.Stderr = os.Stderr
	in, err := cmd.StdinPipe()
	if err != nil {
		t.Fatal(err)
	}
	out, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	return cmd, in, bufio.NewScanner(out)
}

func childOpen() *DB {
	db, err := Open(store.Config{Dir: os.Getenv(dirEnv), Durability: store.Durability(os.Getenv(modeEnv)),
		Reserve: 1 << 20, FlushInterval: 10 * time.Millisecond})
	if err != nil {
		fmt.Fprintln(os.Stderr, "child:", err)
		os.Exit(3)
	}
	return db
}

// childHold opens the store, says "open" and holds it until its standard
// input closes.
func childHold() {
	db := childOpen()
	fmt.Println("open")
	io.Copy(io.Discard, os.Stdin)
	db.Close()
	os.Exit(0)
}

// crashWorkers commit at once in the "commit" child, each for its own
// client, as shards do.
const crashWorkers = 3

// childCommit commits until it is killed. Worker w's k-th Batch queues
// message k for clients "w<w>" and "w<w>x" (one Message: a shared body),
// marks it sent to the first, and acknowledges message k-3 for both, so
// that each client's queue is always its last three messages. After
// each Commit returns it prints "c w k". With DurabilityBatch, a watcher
// prints "d w k" once every Commit of w up to k is synced: it notes the
// last Commits returned, then waits for two flushes to complete (the
// second began after the note).
func childCommit() {
	db := childOpen()
	next := make([]uint64, crashWorkers)
	if _, err := db.Load(time.Now(), store.Loader{Session: func(ss *store.SessionState) error {
		var w int
		if _, err := fmt.Sscanf(ss.Session.ClientID, "w%d", &w); err == nil && w < crashWorkers && len(ss.Queue) > 0 {
			next[w] = ss.Queue[len(ss.Queue)-1].Seq
		}
		return nil
	}}); err != nil {
		fmt.Fprintln(os.Stderr, "child load:", err)
		os.Exit(3)
	}
	var mu sync.Mutex // guards stdout and last
	last := make([]uint64, crashWorkers)
	out := bufio.NewWriter(os.Stdout)
	for w := range crashWorkers {
		go func() {
			id := fmt.Sprintf("w%d", w)
			payload := make([]byte, 64+w*100)
			for k := next[w] + 1; ; k++ {
				m := msg("t/"+id, string(payload))
				ops := []store.Op{queued(id, k, m), queued(id+"x", k, m), sent(id, k, uint16(k%65535+1))}
				if k == 1 {
					ops = append([]store.Op{saved(session(id, "t/#")), saved(session(id+"x", "t/#"))}, ops...)
				}
				if k > 3 {
					ops = append(ops, acked(id, k-3), acked(id+"x", k-3))
				}
				if err := db.Commit(&store.Batch{Shard: w, Ops: ops}); err != nil {
					fmt.Fprintln(os.Stderr, "child commit:", err)
					os.Exit(4)
				}
				mu.Lock()
				last[w] = k
				fmt.Fprintf(out, "c %d %d\n", w, k)
				out.Flush()
				mu.Unlock()
			}
		}()
	}
	if db.cfg.Durability == store.DurabilityBatch {
		for {
			mu.Lock()
			noted := append([]uint64(nil), last...)
			mu.Unlock()
			f0 := db.flushes.Load()
			for db.flushes.Load() < f0+2 {
				time.Sleep(time.Millisecond)
			}
			mu.Lock()
			for w, k := range noted {
				fmt.Fprintf(out, "d %d %d\n", w, k)
			}
			out.Flush()
			mu.Unlock()
		}
	}
	select {}
}

// parseLine splits a child's "c w k" or "d w k" line.
func parseLine(line string) (kind byte, w int, k uint64, err error) {
	var ks string
	if _, err = fmt.Sscanf(line, "%c %d %s", &kind, &w, &ks); err != nil {
		return 0, 0, 0, err
	}
	k, err = strconv.ParseUint(ks, 10, 64)
	if err == nil && (w < 0 || w >= crashWorkers) {
		err = fmt.Errorf("worker %d", w)
	}
	return kind, w, k, err
}
