package main

import (
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"log/slog"
	"os"
	"slices"
	"strings"
	"sync"

	"github.com/shardmq/shardmq/httpapi"
	"github.com/shardmq/shardmq/internal/atomicfile"
	"github.com/shardmq/shardmq/netio"
)

// stoppedListeners is the set of MQTT listeners stopped through the API,
// kept in the data directory (listenersFile) so that a stop outlives a
// restart, as EMQX keeps a stopped listener's enable = false in its
// configuration. A start or restart through the API removes the listener
// from it. Safe from any goroutine.
type stoppedListeners struct {
	path string

	mu  sync.Mutex
	ids []string // sorted
}

// listenersFile is the file of stoppedListeners in the data directory.
const listenersFile = "listeners.json"

// stoppedFile is the file's JSON.
type stoppedFile struct {
	Stopped []string `json:"stopped"`
}

// loadStoppedListeners reads path (none: no listener stopped) and keeps
// only the ids of known, the listeners configured now, writing the file
// again when it named others.
func loadStoppedListeners(path string, known []string) (*stoppedListeners, error) {
	st := &stoppedListeners{path: path}
	b, err := os.ReadFile(path)
	if errors.Is(err, fs.ErrNotExist) {
		return st, nil
	}
	if err != nil {
		return nil, err
	}
	var f stoppedFile
	if err := json.Unmarshal(b, &f); err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	for _, id := range f.Stopped {
		if slices.Contains(known, id) {
			st.ids = append(st.ids, id)
		} else {
			slog.Info("shardmq: " + path + " names listener " + id + ", which the configuration no longer has: forgotten")
		}
	}
	slices.Sort(st.ids)
	st.ids = slices.Compact(st.ids)
	if len(st.ids) != len(f.Stopped) {
		if err := st.write(); err != nil {
			return nil, err
		}
	}
	return st, nil
}

// has reports whether listener id is stopped.
func (st *stoppedListeners) has(id string) bool {
	st.mu.Lock()
	defer st.mu.Unlock()
	_, found := slices.BinarySearch(st.ids, id)
	return found
}

// set records listener id stopped or not, and writes the file when that
// changed it.
func (st *stoppedListeners) set(id string, stopped bool) error {
	st.mu.Lock()
	defer st.mu.Unlock()
	i, found := slices.BinarySearch(st.ids, id)
	switch {
	case stopped && !found:
		st.ids = slices.Insert(st.ids, i, id)
	case !stopped && found:
		st.ids = slices.Delete(st.ids, i, i+1)
	default:
		return nil
	}
	return st.write()
}

// write writes the file; st.mu is held.
func (st *stoppedListeners) write() error {
	b, err := json.Marshal(stoppedFile{Stopped: append([]string{}, st.ids...)})
	if err != nil {
		return err
	}
	return atomicfile.WriteFile(st.path, append(b, '\n'))
}

// listenerControl returns the function that runs the API's listener
// actions on srv's listeners, with netio's errors as httpapi's, and keeps
// st in step.
func listenerControl(srv *netio.Server, st *stoppedListeners) func(id, action string) error {
	return func(id, action string) error {
		var err error
		switch action {
		case httpapi.ActionStop:
			err = srv.StopListener(id)
		case httpapi.ActionStart:
			err = srv.StartListener(id)
		case httpapi.ActionRestart:
			err = srv.RestartListener(id)
		default:
			return fmt.Errorf("%w: unknown listener action %q", httpapi.ErrRejected, action)
		}
		switch {
		case err == nil:
			slog.Info("shardmq: listener "+id+": "+action, "listener", id)
			if err := st.set(id, action == httpapi.ActionStop); err != nil {
				return fmt.Errorf("listener %s: %s done, but not recorded in %s: %w", id, action, st.path, err)
			}
			return nil
		case errors.Is(err, netio.ErrUnknownListener):
			return fmt.Errorf("%w: %s", httpapi.ErrListenerNotFound, id)
		case errors.Is(err, netio.ErrNotStoppable):
			return fmt.Errorf("%w: %s is a gateway's udp listener, whose socket all the gateway's clients share: it runs as long as the broker", httpapi.ErrRejected, id)
		case errors.Is(err, netio.ErrNoListenerControl):
			return fmt.Errorf("%w: listener control is off: start the broker with --listener-control (listener_control = true) "+
				"to stop, start and restart listeners", httpapi.ErrRejected)
		case errors.Is(err, netio.ErrServerClosed):
			return fmt.Errorf("%w: the broker is starting or stopping", httpapi.ErrRejected)
		}
		return fmt.Errorf("%w: listener %s: %v", httpapi.ErrRejected, id, strings.TrimPrefix(err.Error(), "netio: listener "+id+": "))
	}
}
