package wire

import (
	"context"
	"errors"
	"testing"

	"github.com/shardmq/shardmq/httpapi"
	"github.com/shardmq/shardmq/shards/cluster"
)

// registryDown is a cluster whose registry and routes fail as they do
// while a node restarts; only the two calls remote makes are answered.
type registryDown struct {
	cluster.Cluster
	ownerErr, callErr error
}

func (r registryDown) Owner(context.Context, string) (string, error) {
	if r.ownerErr != nil {
		return "", r.ownerErr
	}
	return "n2", nil
}

func (r registryDown) Call(context.Context, string, string, []byte) ([]byte, error) {
	return nil, r.callErr
}

// TestRemoteUnavailable checks that a command for a client of another
// node answers 503 (httpapi.ErrTimeout) when the registry or the route
// fails, 404 when the owner is stopped, and never an unmapped error
// (which the API answers with 500).
func TestRemoteUnavailable(t *testing.T) {
	boom := errors.New("nats: timeout")
	for _, tc := range []struct {
		name string
		c    registryDown
		want error
	}{
		{"registry", registryDown{ownerErr: boom}, httpapi.ErrTimeout},
		{"route", registryDown{callErr: boom}, httpapi.ErrTimeout},
		{"owner stopped", registryDown{callErr: cluster.ErrNodeStopped}, httpapi.ErrClientNotFound},
	} {
		t.Run(tc.name, func(t *testing.T) {
			c := ClusterBroker{Cluster: tc.c}
			c.Node = "n1"
			_, err := c.remote(context.Background(), callClient, callRequest{ClientID: "dev-1"})
			if !errors.Is(err, tc.want) {
				t.Fatalf("remote: %v, want %v", err, tc.want)
			}
		})
	}
}
