package disk

import (
	"math/rand/v2"
	"os"
	"strconv"
	"syscall"
	"testing"
	"time"

	"github.com/shardmq/shardmq/shards/store"
)

// soak reports whether the long variants run (make soak sets
// SHARDMQ_SOAK=1).
func soak() bool { return os.Getenv("SHARDMQ_SOAK") != "" }

// TestCrash kills a child that commits in a loop (childCommit) with
// SIGKILL at a random point, reopens the store and checks it, then lets a
// new child go on from what survived, over and over in one directory.
//
// sync: every Commit that returned is there. batch: every Commit the
// child saw synced by its flusher is there, and what is lost is the tail
// committed after that. Both: each worker's Batches are whole (its queue
// is its last three messages, each marked sent) and in order.
func TestCrash(t *testing.T) {
	rounds := 3
	if soak() {
		rounds = 40
	}
	if testing.Short() {
		rounds = 1
	}
	for _, mode := range []store.Durability{store.DurabilitySync, store.DurabilityBatch} {
		t.Run("durability="+string(mode), func(t *testing.T) {
			dir := t.TempDir()
			var lost uint64
			floor := make([]uint64, crashWorkers)
			for round := range rounds {
				lost += crashRound(t, dir, mode, round, floor)
			}
			t.Logf("%d rounds, %d returned commits lost (batch loses only unsynced ones)", rounds, lost)
		})
	}
}

// crashRound runs one child until SIGKILL and checks what survived. floor
// holds each worker's last message found by the previous round, and is
// updated. It returns how many returned Commits were lost.
func crashRound(t *testing.T, dir string, mode store.Durability, round int, floor []uint64) (lost uint64) {
	cmd, in, lines := child(t, "commit", dir, mode)
	defer in.Close()
	committed := append([]uint64(nil), floor...)
	durable := append([]uint64(nil), floor...)
	killAfter := time.Duration(rand.IntN(150)) * time.Millisecond
	got := make(chan struct{})
	go func() {
		<-got
		time.Sleep(killAfter)
		cmd.Process.Signal(syscall.SIGKILL)
	}()
	first := true
	for lines.Scan() {
		kind, w, k, err := parseLine(lines.Text())
		if err != nil {
			t.Fatalf("round %d: child said %q: %v", round, lines.Text(), err)
		}
		switch kind {
		case 'c':
			committed[w] = max(committed[w], k)
		case 'd':
			durable[w] = max(durable[w], k)
		}
		if first {
			first = false
			close(got)
		}
	}
	if first {
		close(got)
	}
	err := cmd.Wait()
	if ws, ok := cmd.ProcessState.Sys().(syscall.WaitStatus); !ok || !ws.Signaled() {
		t.Fatalf("round %d: child ended by itself: %v", round, err)
	}

	db := open(t, dir)
	st := load(t, db, time.Now())
	// Each message of the queues is one body shared by w<w> and w<w>x;
	// Load deleted the bodies a crash left without deliveries.
	bodies := bodyCount(t, db)
	if err := db.Close(); err != nil {
		t.Fatal(err)
	}
	if st.stats.Orphans != 0 {
		t.Errorf("round %d: %d orphans", round, st.stats.Orphans)
	}
	queued := 0
	for w := range crashWorkers {
		id := "w" + strconv.Itoa(w)
		ss := st.sessions[id]
		var top uint64
		if n := len(ss.Queue); n > 0 {
			top = ss.Queue[n-1].Seq
		}
		promised := committed[w]
		if mode == store.DurabilityBatch {
			promised = durable[w]
			if committed[w] > top {
				lost += committed[w] - top
			}
		}
		if top < promised {
			t.Errorf("round %d: %s: store holds up to message %d, but Commit of %d returned (%s)", round, id, top, promised, mode)
		}
		if top > committed[w]+1 {
			// Only one Commit per worker can be in progress unreported.
			t.Errorf("round %d: %s: store holds message %d, child reported %d", round, id, top, committed[w])
		}
		// A whole Batch or none: the queue is the last three messages,
		// each with its in-flight mark.
		want := top - min(top, 3) + 1
		for i, d := range ss.Queue {
			if d.Seq != want+uint64(i) || !d.InFlight() || d.PacketID != uint16(d.Seq%65535+1) {
				t.Errorf("round %d: %s: queue %+v is not messages %d..%d, each sent", round, id, ss.Queue, want, top)
				break
			}
		}
		floor[w] = top
		queued += len(ss.Queue)
		x := st.sessions[id+"x"]
		if len(x.Queue) != len(ss.Queue) || len(x.Queue) > 0 && (x.Queue[0].Seq != ss.Queue[0].Seq || x.Queue[0].Message != ss.Queue[0].Message) {
			t.Errorf("round %d: %sx: queue %+v does not share %s's", round, id, x.Queue, id)
		}
		if top > 0 && (ss.Session == nil || len(ss.Queue) != int(top-want+1)) {
			t.Errorf("round %d: %s: session %v with %d messages, want %d", round, id, ss.Session != nil, len(ss.Queue), top-want+1)
		}
	}
	if bodies != queued {
		t.Errorf("round %d: %d bodies for %d shared messages", round, bodies, queued)
	}
	return lost
}
