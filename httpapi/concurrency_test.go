package httpapi

import (
	"fmt"
	"net/http"
	"sync"
	"testing"

	"github.com/shardmq/shardmq/catalog"
)

// TestConcurrentRequests runs list, read and command requests from many
// goroutines while the catalog applies changes: every answer is a success
// or a documented error, never a 500, and the listing stays consistent.
func TestConcurrentRequests(t *testing.T) {
	rows := testRows(500)
	env := newTestEnv(t, Config{}, rows)
	const workers, perWorker = 8, 25
	var wg sync.WaitGroup
	errs := make(chan string, workers*perWorker)
	for w := 0; w < workers; w++ {
		wg.Add(1)
		go func(w int) {
			defer wg.Done()
			for i := 0; i < perWorker; i++ {
				id := rows[(w*perWorker+i)%len(rows)].ClientID
				var (
					r   response
					err error
				)
				switch i % 5 {
				case 0:
					r, err = env.doErr("GET", fmt.Sprintf("/clients?_page=%d&_limit=50&conn_state=connected", i%4+1), viewerUser, nil)
				case 1:
					r, err = env.doErr("GET", "/clients/"+id, viewerUser, nil)
				case 2:
					r, err = env.doErr("POST", "/clients/"+id+"/subscribe", adminUser, fmt.Sprintf(`{"topic":"w/%d/#","qos":1}`, w))
				case 3:
					r, err = env.doErr("POST", "/publish", pubUser, fmt.Sprintf(`{"topic":"w/%d/x","payload":"p"}`, w))
				case 4:
					// Keep the catalog writer busy with lifecycle changes.
					changed := rows[i]
					changed.MqueueLen = int64(w)
					env.cat.Upsert([]catalog.Row{changed})
					r, err = env.doErr("GET", "/subscriptions?limit=10", viewerUser, nil)
				}
				if err != nil {
					errs <- fmt.Sprintf("worker %d request %d: %v", w, i, err)
					continue
				}
				switch r.status {
				case http.StatusOK, http.StatusAccepted, http.StatusNoContent, http.StatusNotFound:
				default:
					errs <- fmt.Sprintf("worker %d request %d: %d %s", w, i, r.status, r.body)
				}
			}
		}(w)
	}
	wg.Wait()
	close(errs)
	for e := range errs {
		t.Error(e)
	}
	env.flush(t)
	p := env.list(t, "_limit=10000")
	if p.Meta.Count != len(rows) || len(p.Data) != len(rows) {
		t.Fatalf("after the storm: count %d, %d rows", p.Meta.Count, len(p.Data))
	}
}
