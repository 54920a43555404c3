package redisadapter

import (
	"context"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"
	"unsafe"

	"github.com/redis/rueidis"

	"github.com/fanio/fanio/engine"
	"github.com/fanio/fanio/sio"
)

// ErrClosed is returned by a Client, and the adapters it made, once closed.
var ErrClosed = errors.New("redisadapter: closed")

// Client is the connection to Redis shared by the adapters of a server's
// namespaces: a pipelined connection that publishes (one queue, sent in
// batches: see publisher), and one
// connection that holds every subscription, so that PUBSUB NUMSUB counts
// each node once.
//
//	rc, err := redisadapter.NewClient(ctx, redisadapter.Options{URL: "redis://127.0.0.1:6379"})
//	srv := sio.NewServer(sio.Options{Adapter: rc.Adapter})
//	...
//	srv.Shutdown(ctx) // closes the adapters
//	rc.Close()
//
// Its methods are safe for concurrent use.
type Client struct {
	opts   Options
	rc     rueidis.Client
	ownsRC bool
	sub    *subscriber
	pub    *publisher
	link   *peerLink // nil with NoForwarding
	stats  counters
	logs   logLimiter
	closed atomic.Bool
	stop   chan struct{}
	wg     sync.WaitGroup
}

// NewClient connects to Redis and starts the subscription connection. It
// fails with a clear error if Redis cannot be reached within DialTimeout
// (or ctx), or, in sharded mode, if it is older than 7.0. Once it has
// started, a lost connection is re-established in the background (see the
// package doc).
func NewClient(ctx context.Context, opts Options) (*Client, error) {
	opts.setDefaults()
	c := &Client{opts: opts, rc: opts.Redis, stop: make(chan struct{})}
	c.logs.log = opts.Logger
	if c.rc == nil {
		ro, err := rueidis.ParseURL(opts.URL)
		if err != nil {
			return nil, fmt.Errorf("redisadapter: bad Redis URL %q: %w", opts.URL, err)
		}
		ro.DisableCache = true
		ro.Dialer.Timeout = opts.DialTimeout
		ro.ConnWriteTimeout = opts.DialTimeout
		if c.rc, err = rueidis.NewClient(ro); err != nil {
			return nil, fmt.Errorf("redisadapter: cannot connect to Redis at %s: %w", RedactURL(opts.URL), err)
		}
		c.ownsRC = true
	}
	if c.rc.Mode() == rueidis.ClientModeCluster {
		c.closeRC()
		return nil, errors.New("redisadapter: Redis Cluster is not supported (see the package doc): use a standalone Redis")
	}
	version, err := c.serverVersion(ctx)
	if err != nil {
		c.closeRC()
		return nil, fmt.Errorf("redisadapter: Redis at %s does not answer: %w", RedactURL(opts.URL), err)
	}
	if opts.Sharded && version < 7 {
		c.closeRC()
		return nil, fmt.Errorf("redisadapter: sharded mode needs Redis 7.0 or later (SPUBLISH); %s runs %d.x", RedactURL(opts.URL), version)
	}
	c.sub = newSubscriber(c)
	c.pub = newPublisher(c)
	c.wg.Add(2)
	go func() { defer c.wg.Done(); c.sub.run() }()
	go func() { defer c.wg.Done(); c.pub.run() }()
	if err := c.sub.waitConnected(ctx, opts.DialTimeout); err != nil {
		c.Close()
		return nil, fmt.Errorf("redisadapter: cannot open the subscription connection to %s: %w", RedactURL(opts.URL), err)
	}
	if !opts.NoForwarding {
		if c.link, err = newPeerLink(ctx, c); err != nil {
			c.Close()
			return nil, err
		}
	}
	return c, nil
}

// EngineCluster returns the Client's link to the other nodes as an
// engine.Cluster (nil with Options.NoForwarding): with it, a node serves
// the Engine.IO requests of sessions another node holds, so the load
// balancer in front needs no sticky sessions (see the package doc). A
// sio.Server whose Adapter is the Client's picks it up by itself; an
// engine.Server takes it with SetCluster. One server per Client.
func (c *Client) EngineCluster() engine.Cluster {
	if c.link == nil {
		return nil
	}
	return c.link
}

// serverVersion returns the major version of the Redis server.
func (c *Client) serverVersion(ctx context.Context) (int, error) {
	ctx, cancel := context.WithTimeout(ctx, c.opts.DialTimeout)
	defer cancel()
	info, err := c.rc.Do(ctx, c.rc.B().Info().Section("server").Build()).ToString()
	if err != nil {
		return 0, err
	}
	for _, l := range strings.Split(info, "\n") {
		if v, ok := strings.CutPrefix(strings.TrimSpace(l), "redis_version:"); ok {
			major, _, _ := strings.Cut(v, ".")
			n, err := strconv.Atoi(major)
			if err != nil {
				return 0, fmt.Errorf("unreadable redis_version %q", v)
			}
			return n, nil
		}
	}
	return 0, errors.New("INFO server has no redis_version")
}

// RedactURL hides the password of a Redis URL (for logs and errors).
func RedactURL(u string) string {
	scheme, rest, ok := strings.Cut(u, "://")
	if !ok {
		return u
	}
	if at := strings.LastIndexByte(rest, '@'); at >= 0 {
		rest = "***@" + rest[at+1:]
	}
	return scheme + "://" + rest
}

// Adapter creates the adapter of nsp: the Adapter option of sio.Options.
// The adapter's uid (the node id on the wire) is new for each namespace,
// as in Node.
func (c *Client) Adapter(nsp *sio.Namespace) sio.Adapter {
	if c.opts.Sharded {
		return newShardedAdapter(c, nsp)
	}
	return newClassicAdapter(c, nsp)
}

// Stats returns the client's counters.
func (c *Client) Stats() Stats {
	s := Stats{
		Published:       c.stats.published.Load(),
		PublishErrors:   c.stats.publishErrors.Load(),
		Received:        c.stats.received.Load(),
		ReceiveErrors:   c.stats.receiveErrors.Load(),
		Reconnects:      c.stats.reconnects.Load(),
		RequestTimeouts: c.stats.requestTimeouts.Load(),
	}
	s.Connected, s.Subscriptions, s.Since = c.sub.state()
	s.Link = c.link.linkStats()
	return s
}

// Close stops the subscription connection and the answer queue, and closes
// the Redis client if the Client dialed it. Adapters still in use fail
// with ErrClosed. Close the sio.Server first: it closes its adapters,
// which unsubscribe.
func (c *Client) Close() error {
	if !c.closed.CompareAndSwap(false, true) {
		return nil
	}
	if c.link != nil {
		c.link.close()
	}
	close(c.stop)
	c.wg.Wait()
	c.closeRC()
	return nil
}

func (c *Client) closeRC() {
	if c.ownsRC {
		c.rc.Close()
	}
}

func (c *Client) publishCmd(channel string, payload []byte) rueidis.Completed {
	msg := rueidis.BinaryString(payload)
	if c.opts.Sharded {
		return c.rc.B().Spublish().Channel(channel).Message(msg).Build()
	}
	return c.rc.B().Publish().Channel(channel).Message(msg).Build()
}

func (c *Client) countPublish(err error, channel string) {
	if err == nil {
		c.stats.published.Add(1)
		return
	}
	c.stats.publishErrors.Add(1)
	c.logs.warn("publish", "redisadapter: publish failed", "channel", channel, "err", err)
}

// numSub returns PUBSUB NUMSUB (SHARDNUMSUB in sharded mode) of channel:
// the number of nodes subscribed to it, this one included.
func (c *Client) numSub(channel string) (int, error) {
	if c.closed.Load() {
		return 0, ErrClosed
	}
	ctx, cancel := context.WithTimeout(context.Background(), c.opts.PublishTimeout)
	defer cancel()
	var cmd rueidis.Completed
	if c.opts.Sharded {
		// Not marked read-only by rueidis, so not retried: after a Redis
		// restart, the first command on each of its connections fails
		// with EOF while it reconnects. Counting is safe to retry.
		cmd = c.rc.B().PubsubShardnumsub().Channel(channel).Build().ToRetryable()
	} else {
		cmd = c.rc.B().PubsubNumsub().Channel(channel).Build()
	}
	m, err := c.rc.Do(ctx, cmd).AsIntMap()
	if err != nil {
		c.logs.warn("numsub", "redisadapter: PUBSUB NUMSUB failed", "channel", channel, "err", err)
		return 0, fmt.Errorf("redisadapter: counting the nodes: %w", err)
	}
	return int(m[channel]), nil
}

// bytesOf views a string received from Redis as bytes, without copying.
// The string is a fresh allocation of the Redis client, never written
// again; the bytes must not be modified.
func bytesOf(s string) []byte { return unsafe.Slice(unsafe.StringData(s), len(s)) }

// stringOf views bytes as a string without copying; the bytes must not
// change while the string is used.
func stringOf(b []byte) string { return unsafe.String(unsafe.SliceData(b), len(b)) }

// logLimiter writes a warning of each kind at most once per interval,
// saying how many it left out.
type logLimiter struct {
	log   interface{ Warn(string, ...any) }
	mu    sync.Mutex
	kinds map[string]*limited
}

type limited struct {
	last    time.Time
	dropped int
}

const logInterval = 10 * time.Second

func (l *logLimiter) warn(kind, msg string, args ...any) {
	now := time.Now()
	l.mu.Lock()
	if l.kinds == nil {
		l.kinds = make(map[string]*limited)
	}
	k := l.kinds[kind]
	if k == nil {
		k = &limited{}
		l.kinds[kind] = k
	}
	if now.Sub(k.last) < logInterval {
		k.dropped++
		l.mu.Unlock()
		return
	}
	dropped := k.dropped
	k.last, k.dropped = now, 0
	l.mu.Unlock()
	if dropped > 0 {
		args = append(args, "suppressed", dropped)
	}
	l.log.Warn(msg, args...)
}
