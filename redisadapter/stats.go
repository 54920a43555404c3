package redisadapter

import (
	"sync/atomic"
	"time"

	"github.com/fanio/fanio/sio"
)

// Stats are a Client's counters since it was created, for metrics.
type Stats struct {
	// Published counts the messages published to Redis (broadcasts,
	// requests and answers); PublishErrors those that failed (Redis
	// unreachable, timeout, answer queue full).
	Published, PublishErrors uint64
	// Received counts the messages received from Redis; ReceiveErrors
	// those that could not be decoded and were dropped.
	Received, ReceiveErrors uint64
	// Reconnects counts the times the subscription connection was
	// established again after it was lost.
	Reconnects uint64
	// RequestTimeouts counts the requests (FetchSockets, AllRooms, ...)
	// that ended at their timeout without every node's answer.
	RequestTimeouts uint64
	// Connected reports whether the subscription connection is up, and
	// Subscriptions how many channels and patterns it holds.
	Connected     bool
	Subscriptions int
	// Since is when the subscription connection last went up or down.
	Since time.Time
	// Link counts the messages between this node and the others that
	// serve each other's sessions (see Client.EngineCluster).
	Link LinkStats
}

type counters struct {
	published, publishErrors atomic.Uint64
	received, receiveErrors  atomic.Uint64
	reconnects               atomic.Uint64
	requestTimeouts          atomic.Uint64
}

// sioStats is the Client's counters as sio reports a multi-node adapter's
// (sio.Server.Stats().Adapter: metrics, cmd/fanio's /readyz).
func (c *Client) sioStats() sio.AdapterStats {
	s := c.Stats()
	return sio.AdapterStats{
		Published: s.Published, PublishErrors: s.PublishErrors,
		Received: s.Received, ReceiveErrors: s.ReceiveErrors,
		Reconnects: s.Reconnects, RequestTimeouts: s.RequestTimeouts,
		Connected: s.Connected,
	}
}

// AdapterStats implements sio.AdapterStatser: the Client's counters
// (shared by the adapters of a server's namespaces).
func (a *classicAdapter) AdapterStats() sio.AdapterStats { return a.c.sioStats() }

// AdapterStats implements sio.AdapterStatser.
func (a *shardedAdapter) AdapterStats() sio.AdapterStats { return a.c.sioStats() }
