package natscluster

import (
	"errors"
	"fmt"
	"log/slog"
	"net"
	"time"

	"github.com/shardmq/shardmq/shards/cluster"
)

// Config configures one node of a cluster.
type Config struct {
	// Node is this node's name, unique in the cluster. Required.
	Node string
	// ClusterListen is the HOST:PORT the embedded NATS server accepts
	// routes from the other nodes on. Required unless ExternalURLs is set.
	ClusterListen string
	// Advertise is the HOST:PORT the other nodes reach this node's route
	// listener at, when it differs from ClusterListen (a NAT, a container
	// port mapping, a TCP proxy in front of the node). NATS tells it to the
	// nodes that learn of this one from a third, and a seed listing this
	// address is known as this node. If empty, ClusterListen.
	Advertise string
	// Join are the HOST:PORT route addresses of seed nodes. A node whose
	// seeds do not answer runs alone and keeps trying them.
	Join []string
	// ExternalURLs, when set, are the URLs of an external NATS cluster (with
	// JetStream) to use instead of an embedded server.
	ExternalURLs []string
	// Name prefixes every subject and key-value bucket and names the NATS
	// cluster, so that several shardmq clusters can share one NATS. If
	// empty, "shardmq" is used. Letters, digits, '-' and '_' only.
	Name string
	// StoreDir is where the embedded server keeps JetStream's data (the
	// retained messages and the session registry survive a restart of the
	// node from it). If empty, a temporary directory is used and removed at
	// Shutdown.
	StoreDir string
	// Replicas is the number of copies JetStream keeps of the retained
	// messages and the session registry. If zero, min(3, 1+len(Join)) is
	// used with an embedded server, 3 with ExternalURLs.
	Replicas int
	// RegistryBuckets is the number of key-value buckets the client id
	// registry is split over, by a hash of the client id: each is a stream
	// with its own leader, so more buckets spread a connect storm's
	// claims. Every node of a cluster must have the same (a node logs an
	// error for a peer whose heartbeat says otherwise). 1 to 64; if zero,
	// 1 (the bucket {Name}_sessions).
	RegistryBuckets int
	// Version is reported in this node's heartbeats.
	Version string
	// ShareStrategy chooses the node that serves a shared group for each
	// message: round_robin (default), random, hash_clientid or sticky.
	ShareStrategy string
	// Heartbeat is the interval between two heartbeats. If zero, 1 s.
	Heartbeat time.Duration
	// DeadAfter is how long a node may miss heartbeats before the others
	// mark it stopped and drop its interest. If zero, 5 × Heartbeat.
	DeadAfter time.Duration
	// AckTimeout is how long a forwarded QoS 1/2 batch waits for its
	// acknowledgement before it is sent again (three times at most). If
	// zero, 2 s.
	AckTimeout time.Duration
	// RequestTimeout bounds the requests this node makes (interest
	// snapshots, takeovers, listings) when the caller's context has no
	// earlier deadline. If zero, 5 s.
	RequestTimeout time.Duration
	// Handler is the broker of this node. Required.
	Handler cluster.Handler
	// Logger receives the node's and the embedded server's log. If nil,
	// slog.Default() is used.
	Logger *slog.Logger
}

// Errors of the package.
var (
	// ErrConfig wraps every configuration error.
	ErrConfig = errors.New("natscluster: invalid configuration")
	// ErrClosed is returned by calls on a node after Shutdown.
	ErrClosed = errors.New("natscluster: node shut down")
	// ErrUnavailable is returned when JetStream (the registry) cannot be
	// reached while other nodes run.
	ErrUnavailable = errors.New("natscluster: session registry unavailable")
	// ErrRemote wraps the error a remote node's Handler returned.
	ErrRemote = errors.New("natscluster: remote node")
)

// maxNodes is the number of node names one node can know in its
// lifetime: interest is a 64-bit mask of slots.
const maxNodes = 64

// maxRegistryBuckets bounds Config.RegistryBuckets: each bucket is a
// stream and a raft group on every replica.
const maxRegistryBuckets = 64

// Validate reports the first error in c, wrapping ErrConfig.
func (c *Config) Validate() error {
	if c.Node == "" {
		return fmt.Errorf("%w: Node is required", ErrConfig)
	}
	if c.Handler == nil {
		return fmt.Errorf("%w: Handler is required", ErrConfig)
	}
	if c.Name != "" && !plainToken(c.Name) {
		return fmt.Errorf("%w: Name %q: letters, digits, '-' and '_' only", ErrConfig, c.Name)
	}
	if len(c.ExternalURLs) == 0 {
		if _, _, err := net.SplitHostPort(c.ClusterListen); err != nil {
			return fmt.Errorf("%w: ClusterListen %q: %v", ErrConfig, c.ClusterListen, err)
		}
	} else if c.ClusterListen != "" || len(c.Join) > 0 || c.Advertise != "" {
		return fmt.Errorf("%w: ExternalURLs excludes ClusterListen, Advertise and Join", ErrConfig)
	}
	if c.Advertise != "" {
		if _, _, err := net.SplitHostPort(c.Advertise); err != nil {
			return fmt.Errorf("%w: Advertise %q: %v", ErrConfig, c.Advertise, err)
		}
	}
	for _, j := range c.Join {
		if _, _, err := net.SplitHostPort(j); err != nil {
			return fmt.Errorf("%w: Join %q: %v", ErrConfig, j, err)
		}
	}
	if _, err := cluster.ParseShareStrategy(c.ShareStrategy); err != nil {
		return fmt.Errorf("%w: %w", ErrConfig, err)
	}
	if c.RegistryBuckets < 0 || c.RegistryBuckets > maxRegistryBuckets {
		return fmt.Errorf("%w: RegistryBuckets %d: want 0 (1) to %d", ErrConfig, c.RegistryBuckets, maxRegistryBuckets)
	}
	if c.Replicas < 0 || c.Heartbeat < 0 || c.DeadAfter < 0 || c.AckTimeout < 0 || c.RequestTimeout < 0 {
		return fmt.Errorf("%w: negative Replicas or duration", ErrConfig)
	}
	return nil
}

// withDefaults returns c with every zero field given its default.
func (c Config) withDefaults() Config {
	if c.Name == "" {
		c.Name = "shardmq"
	}
	if c.RegistryBuckets == 0 {
		c.RegistryBuckets = 1
	}
	if c.Replicas == 0 {
		c.Replicas = min(3, 1+len(c.Join))
		if len(c.ExternalURLs) > 0 {
			c.Replicas = 3
		}
	}
	if c.Heartbeat == 0 {
		c.Heartbeat = time.Second
	}
	if c.DeadAfter == 0 {
		c.DeadAfter = 5 * c.Heartbeat
	}
	if c.AckTimeout == 0 {
		c.AckTimeout = 2 * time.Second
	}
	if c.RequestTimeout == 0 {
		c.RequestTimeout = 5 * time.Second
	}
	if c.Logger == nil {
		c.Logger = slog.Default()
	}
	return c
}

// errMalformed is returned for a frame that does not decode.
var errMalformed = errors.New("natscluster: malformed frame")

// errRemoteList marks a node whose Handler.List failed.
var errRemoteList = errors.New("natscluster: remote listing failed")
