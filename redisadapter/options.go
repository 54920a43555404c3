package redisadapter

import (
	"log/slog"
	"time"

	"github.com/redis/rueidis"
)

// SubscriptionMode says which channels a node subscribes to in sharded
// mode, as the subscriptionMode option of createShardedAdapter.
type SubscriptionMode string

const (
	// Dynamic (the default): the main channel of each namespace, and the
	// channel of each room that has a member on this node, except the
	// sockets' own rooms. A broadcast to one such room is published on
	// the room's channel, so only the nodes serving the room receive it.
	Dynamic SubscriptionMode = "dynamic"
	// DynamicPrivate: as Dynamic, the sockets' own rooms included (a
	// subscription per connected socket).
	DynamicPrivate SubscriptionMode = "dynamic-private"
	// Static: the main channel only; every node receives every broadcast.
	Static SubscriptionMode = "static"
)

// Options configure a Client. The zero value of each field is its default.
type Options struct {
	// URL of the Redis server: redis://[[user]:password@]host[:port][/db]
	// (rediss:// for TLS, unix:///path/to/socket), as rueidis.ParseURL
	// reads it. Ignored when Redis is set. Default redis://127.0.0.1:6379.
	URL string
	// Redis is a rueidis client to use instead of dialing URL (for
	// Sentinel, TLS settings or shared connections). Client.Close does
	// not close it. Redis Cluster is not supported (see the package doc).
	Redis rueidis.Client

	// Key prefixes every channel name: Node's `key` option (classic) or
	// `channelPrefix` (sharded). Default "socket.io".
	Key string
	// Sharded selects the protocol of createShardedAdapter (SPUBLISH and
	// SSUBSCRIBE, Redis 7.0 or later) instead of createAdapter's. Every
	// node of a cluster must use the same.
	Sharded bool
	// SubscriptionMode applies to sharded mode (default Dynamic).
	SubscriptionMode SubscriptionMode
	// PublishOnSpecificResponseChannel (classic mode): answer a request on
	// the requesting node's own response channel instead of the common
	// one, as the option of the same name.
	PublishOnSpecificResponseChannel bool

	// RequestsTimeout bounds how long a request waits for the other
	// nodes' answers (FetchSockets, AllRooms, Sockets, ServerSideEmitWithAck;
	// FetchSockets with a Timeout flag uses that). Default 5 s, as Node.
	RequestsTimeout time.Duration
	// PublishTimeout bounds one batch of PUBLISH commands: a request (or,
	// while Redis is failing, a broadcast) whose publish takes longer
	// returns an error. Default 3 s.
	PublishTimeout time.Duration
	// DialTimeout bounds connecting to Redis, at start and on each
	// reconnection attempt. Default 5 s.
	DialTimeout time.Duration
	// MaxQueued bounds the messages waiting to be published (broadcasts,
	// answers); past it a broadcast fails with ErrQueueFull and an answer
	// is dropped, both counted as publish errors. Default 65536.
	MaxQueued int

	// NoForwarding turns off serving the Engine.IO requests of another
	// node's sessions (see "Load balancers without sticky sessions" in the
	// package doc): such a request gets 400 "Session ID unknown", as with
	// Node. Set it when the load balancer pins each client to one node
	// (sticky sessions): the node then opens no listener for the others.
	NoForwarding bool
	// PeerAddr is where the node listens for the other nodes' connections
	// ("host:port"). Default: a free port on the address of the network
	// interface that reaches Redis (the nodes are taken to reach each other
	// as they reach Redis).
	PeerAddr string
	// PeerAdvertise is the address the other nodes dial to reach this one
	// ("host:port"). Default: the address listened on (a wildcard host
	// replaced by the address of the interface that reaches Redis). Set it
	// when the nodes reach each other through other addresses (NAT).
	PeerAdvertise string
	// ForwardTimeout bounds how long a request forwarded to another node
	// waits for its answer (beyond the ping interval for a held poll);
	// past it the client gets 400 "Session ID unknown". Default 10 s (see
	// engine.ClusterConfig).
	ForwardTimeout time.Duration
	// TakeoverWindow is how long a new polling session waits for its
	// WebSocket upgrade before it is handed to Socket.IO, so that it can
	// move to the node the upgrade reaches. Default 300 ms; negative:
	// sessions never move (an upgrade reaching another node is refused and
	// the client stays on polling). See engine.ClusterConfig.
	TakeoverWindow time.Duration

	// Logger receives the adapter's logs: lost and regained connections,
	// publish failures (at most one line per 10 s with how many were
	// left out), undecodable messages. Default slog.Default().
	Logger *slog.Logger
}

func (o *Options) setDefaults() {
	if o.URL == "" {
		o.URL = "redis://127.0.0.1:6379"
	}
	if o.Key == "" {
		o.Key = "socket.io"
	}
	if o.SubscriptionMode == "" {
		o.SubscriptionMode = Dynamic
	}
	if o.RequestsTimeout <= 0 {
		o.RequestsTimeout = 5 * time.Second
	}
	if o.PublishTimeout <= 0 {
		o.PublishTimeout = 3 * time.Second
	}
	if o.DialTimeout <= 0 {
		o.DialTimeout = 5 * time.Second
	}
	if o.MaxQueued <= 0 {
		o.MaxQueued = 65536
	}
	if o.Logger == nil {
		o.Logger = slog.Default()
	}
}
