package engine

import (
	"encoding/binary"
	"errors"
	"log/slog"
	"net"
	"sync"
	"sync/atomic"
	"time"

	"github.com/fanio/fanio/internal/eventloop"
	"github.com/fanio/fanio/internal/ratelog"
)

// Cluster joins servers that share their clients, for deployments where a
// load balancer spreads a client's requests over several servers without
// pinning the client to one of them (no sticky sessions). A session lives
// on the server that opened it; a server that receives a request for a
// session another server holds does not answer 400 "Session ID unknown" but
// serves it through the Cluster:
//
//   - a polling request (GET or POST) is forwarded to the server holding the
//     session, which answers it as if the client had sent it there; the
//     answer is relayed, unchanged, to the client. A held poll costs no
//     goroutine on either server: the client's connection waits on this
//     server's event loop, the request on the other server's session.
//   - a WebSocket upgrade takes the session over: the session moves to the
//     server that holds the WebSocket, with what it had queued either way,
//     so that the WebSocket is not relayed for the session's life. A session
//     can move only before it is handed to OnConnection: a server in a
//     cluster delays that hand-over, for a polling session, until the
//     client upgrades or ClusterConfig.TakeoverWindow has passed. An upgrade
//     that comes later is refused like any failed upgrade: the client goes
//     on polling, through forwarding.
//
// The order of packets, heartbeats, acknowledgements and the upgrade are
// what the client would see from one server. A session id begins with the
// id of the server that made it (ClusterConfig.NodeID), so no lookup is
// needed to find it; session ids stay 20 characters of base64url.
//
// The engine implements the whole protocol; a Cluster only carries
// messages between servers (package redisadapter provides one: a direct
// connection between each pair of nodes, found through Redis). Set it with
// Server.SetCluster.
type Cluster interface {
	// Join is called once, by SetCluster. The Cluster then delivers every
	// message another server's engine sends to this one to in.Receive, and
	// reports a server it lost to in.NodeGone. It returns this server's
	// configuration in the cluster.
	Join(in ClusterInbox) (ClusterConfig, error)
	// Send delivers msg to the server whose NodeID is node, where it is
	// given to that server's ClusterInbox.Receive. Messages to one server
	// arrive in the order Send was called, or not at all (and then the
	// Cluster calls NodeGone). Send must not block: it queues; and it must
	// not call back into the server (ClusterInbox) before it returns: the
	// engine may hold a session's lock. msg is valid only during the call.
	// An error says msg will not be delivered (no such server, the Cluster
	// closed); the engine then ends what waited for an answer at once.
	Send(node string, msg []byte) error
}

// ClusterInbox is how a Cluster hands a server what other servers sent it.
// Its methods are safe for concurrent use and do not block for long (no
// user code runs in them).
type ClusterInbox interface {
	// Receive handles one message from the server with NodeID from. msg
	// is read during the call only.
	Receive(from string, msg []byte)
	// NodeGone tells that messages to or from node may have been lost (its
	// connection broke, it cannot be reached, it left): what this server
	// awaited from it ends now (a forwarded poll is answered 400 "Session
	// ID unknown") and what it held for it is released (a poll it had
	// forwarded here ends, as when a client goes away).
	NodeGone(node string)
	// Serve moves nc, a connection between this server and node that the
	// Cluster opened (and authenticated), onto the server's event loops:
	// each frame the peer sends on it (a 4-byte big-endian length, then the
	// message) is given to Receive(node, message) on a loop, in order, with
	// no goroutine of its own (a goroutine blocked reading would wait for
	// a P the loops hold: up to 10 ms per message where GOMAXPROCS is the
	// number of loops); closed is called once, on a loop, when the
	// connection ends, either side. The Cluster writes frames with the
	// returned ClusterConn and must not use nc any more.
	Serve(node string, nc net.Conn, closed func(error)) (ClusterConn, error)
}

// ClusterConn is a connection between two servers of a cluster
// (ClusterInbox.Serve). Its methods are safe for concurrent use.
type ClusterConn interface {
	// Send queues msg (copied) as one frame; it does not block. Past 64
	// MiB queued unwritten the connection closes (a peer that does not
	// read).
	Send(msg []byte) error
	// Close closes the connection once what is queued is written.
	Close()
}

// loopClusterConn is a ClusterConn on the event loops.
type loopClusterConn struct{ c *eventloop.Conn }

func (c loopClusterConn) Send(msg []byte) error { return c.c.WriteFrame(msg) }
func (c loopClusterConn) Close()                { c.c.Close(nil) }

// Serve implements ClusterInbox.
func (in clusterInbox) Serve(node string, nc net.Conn, closed func(error)) (ClusterConn, error) {
	c, err := in.cl.srv.loop.AdoptFrames(nc, &linkOwner{in: in, node: node, closed: closed})
	if err != nil {
		return nil, err
	}
	return loopClusterConn{c}, nil
}

// linkOwner receives a cluster connection's frames and its close.
type linkOwner struct {
	in     clusterInbox
	node   string
	closed func(error)
	once   sync.Once
}

func (o *linkOwner) OnMessage(_ *eventloop.Conn, msg []byte, _ bool) { o.in.Receive(o.node, msg) }

func (o *linkOwner) OnClose(_ *eventloop.Conn, err error) {
	o.once.Do(func() {
		if o.closed != nil {
			o.closed(err)
		}
	})
}

// ClusterConfig is a server's configuration in a cluster, given by
// Cluster.Join. Zero durations take their defaults.
type ClusterConfig struct {
	// NodeID identifies the server: 4 characters of the base64url alphabet
	// (A-Z a-z 0-9 - _), unique in the cluster. Every session id the
	// server makes begins with it.
	NodeID string
	// ForwardTimeout bounds how long a forwarded request waits for the
	// other server's answer: an upgrade and a takeover that long; a
	// polling GET or POST that long beyond PingInterval (a poll is held
	// until the next ping at the latest; a POST while the session's reads
	// are paused). Past it the client gets 400 "Session ID unknown", as
	// from a server that lost the session. Default 10 s.
	ForwardTimeout time.Duration
	// TakeoverWindow is how long a new polling session waits, before it is
	// handed to OnConnection, for the client's WebSocket upgrade, so that a
	// session whose upgrade reaches another server can move there (see
	// Cluster). The upgrade reaching this server ends the wait at once;
	// packets received meanwhile are delivered after the hand-over, in
	// order. A client that never upgrades (polling only) waits it once,
	// at its first packet. Default 300 ms (as @socket.io/cluster-engine's
	// delayedConnectionTimeout); negative: sessions never move, and an
	// upgrade reaching another server than the session's is refused (the
	// client stays on polling).
	TakeoverWindow time.Duration
}

func (c *ClusterConfig) setDefaults() {
	if c.ForwardTimeout <= 0 {
		c.ForwardTimeout = 10 * time.Second
	}
	if c.TakeoverWindow == 0 {
		c.TakeoverWindow = 300 * time.Millisecond
	}
}

// ValidNodeID reports whether id can be a ClusterConfig.NodeID.
func ValidNodeID(id string) bool {
	if len(id) != nodeIDLen {
		return false
	}
	for i := 0; i < len(id); i++ {
		if !isBase64URL(id[i]) {
			return false
		}
	}
	return true
}

const nodeIDLen = 4

func isBase64URL(c byte) bool {
	return 'A' <= c && c <= 'Z' || 'a' <= c && c <= 'z' || '0' <= c && c <= '9' || c == '-' || c == '_'
}

// ClusterStats are a server's cluster counters since SetCluster.
type ClusterStats struct {
	// Forwarded counts the polling requests received here for a session
	// another server holds, and forwarded to it.
	Forwarded uint64
	// ForwardFailures counts the requests answered 400 "Session ID
	// unknown" here because the server holding the session was gone,
	// unreachable, or did not answer in time; ForwardTimeouts counts those
	// of them that timed out.
	ForwardFailures, ForwardTimeouts uint64
	// Served counts the requests other servers forwarded here.
	Served uint64
	// TakenOver counts the sessions that moved here on a WebSocket
	// upgrade; HandedOver those that moved from here to another server.
	TakenOver, HandedOver uint64
	// UpgradesRefused counts the WebSocket upgrades received here for
	// another server's session that could not move (it had been handed to
	// OnConnection already): the client goes on polling.
	UpgradesRefused uint64
	// Waiting is the number of forwarded requests, upgrades and takeovers
	// waiting for another server's answer now (held polls included).
	Waiting int
}

// ErrClusterSet is returned by SetCluster when the server already has a
// cluster.
var ErrClusterSet = errors.New("engine: the server is in a cluster already")

// SetCluster puts the server in a cluster (see Cluster). Call it before
// the server serves. It calls c.Join and fails with its error, or when
// the configuration is unusable.
func (s *Server) SetCluster(c Cluster) error {
	if s.cluster.Load() != nil {
		return ErrClusterSet
	}
	cl := &clusterState{
		srv:  s,
		c:    c,
		out:  make(map[uint64]waiter),
		in:   make(map[peerKey]*remoteExchange),
		ups:  make(map[peerKey]*Session),
		logs: ratelog.New(s.opts.Logger, numClusterLogKinds, 1, 10*time.Second),
	}
	cfg, err := c.Join(clusterInbox{cl})
	if err != nil {
		return err
	}
	if !ValidNodeID(cfg.NodeID) {
		return errors.New("engine: cluster node id " + `"` + cfg.NodeID + `"` + " is not 4 base64url characters")
	}
	cfg.setDefaults()
	cl.cfg = cfg
	if !s.cluster.CompareAndSwap(nil, cl) {
		return ErrClusterSet
	}
	return nil
}

// ClusterStats returns the server's cluster counters (zero without a
// cluster).
func (s *Server) ClusterStats() ClusterStats {
	cl := s.cluster.Load()
	if cl == nil {
		return ClusterStats{}
	}
	cl.mu.Lock()
	waiting := len(cl.out)
	cl.mu.Unlock()
	return ClusterStats{
		Forwarded:       cl.stats.forwarded.Load(),
		ForwardFailures: cl.stats.failures.Load(),
		ForwardTimeouts: cl.stats.timeouts.Load(),
		Served:          cl.stats.served.Load(),
		TakenOver:       cl.stats.takenOver.Load(),
		HandedOver:      cl.stats.handedOver.Load(),
		UpgradesRefused: cl.stats.refused.Load(),
		Waiting:         waiting,
	}
}

// clusterState is a server's side of a cluster: what it waits for from
// other servers (out, by the id it gave the request), and what it holds
// for them (in: polls held for a forwarded request; ups: sessions another
// server is taking over), by the sender and the sender's id.
type clusterState struct {
	srv    *Server
	c      Cluster
	cfg    ClusterConfig
	nextID atomic.Uint64

	mu  sync.Mutex
	out map[uint64]waiter
	in  map[peerKey]*remoteExchange
	ups map[peerKey]*Session

	stats struct {
		forwarded, failures, timeouts, served atomic.Uint64
		takenOver, handedOver, refused        atomic.Uint64
	}
	logs *ratelog.Limiter
}

// peerKey names a request of another server: its node and its id there.
type peerKey struct {
	node string
	id   uint64
}

// waiter is something this server sent to another and waits for an
// answer to: a forwarded request (outbound) or an upgrade taking a session
// over (migration).
type waiter interface {
	peer() string
	// answer handles the other server's answer (typ and what follows the
	// id). It runs on the Cluster's goroutine.
	answer(typ byte, rest []byte)
	// lost ends the wait: the other server is gone, or timed out.
	lost(timedOut bool)
}

// register adds w under a new id.
func (cl *clusterState) register(w waiter) uint64 {
	id := cl.nextID.Add(1)
	cl.mu.Lock()
	cl.out[id] = w
	cl.mu.Unlock()
	return id
}

// take removes the waiter id and returns it if it was w (or any, when w is
// nil): whoever takes it answers it, once.
func (cl *clusterState) take(id uint64, w waiter) waiter {
	cl.mu.Lock()
	defer cl.mu.Unlock()
	got, ok := cl.out[id]
	if !ok || (w != nil && got != w) {
		return nil
	}
	delete(cl.out, id)
	return got
}

// send sends a message to node and reports whether the Cluster took it.
func (cl *clusterState) send(node string, msg []byte) bool {
	if err := cl.c.Send(node, msg); err != nil {
		cl.warn(clusterLogSend, "engine: cannot reach the server of a session", "node", node, "err", err)
		return false
	}
	return true
}

// sendShort sends a message made only of a type and an id.
func (cl *clusterState) sendShort(node string, typ byte, id uint64) bool {
	var b [1 + binary.MaxVarintLen64]byte
	return cl.send(node, appendMsgHeader(b[:0], typ, id))
}

// ownerOf returns the node of sid when it is another server's.
func (cl *clusterState) ownerOf(sid []byte) (string, bool) {
	if len(sid) != sidLen {
		return "", false
	}
	node := sid[:nodeIDLen]
	if string(node) == cl.cfg.NodeID || !ValidNodeID(string(node)) {
		return "", false
	}
	return string(node), true
}

const sidLen = 20

// clusterInbox is the ClusterInbox of a server (kept apart from Server so
// that its methods are not in Server's API).
type clusterInbox struct{ cl *clusterState }

// The messages between servers. Each starts with its type and the id the
// requesting server gave the request (uvarint); what follows depends on the
// type. Unknown types are ignored, so that a newer server can add some.
const (
	msgForward  = 'F' // edge → owner: the request as HTTP/1.1 bytes, body included
	msgResponse = 'R' // owner → edge: flags (1: close after), the HTTP response
	msgCancel   = 'C' // edge → owner: the client of a held forwarded poll left
	msgUpgrade  = 'U' // edge → owner: may the session (sid follows) move to me?
	msgUpgraded = 'u' // owner → edge: answer to U (one of upgrade*)
	msgProbed   = 'P' // edge → owner: the probe was answered: release the polls
	msgTake     = 'T' // edge → owner: the client sent the upgrade packet: hand over
	msgState    = 'S' // owner → edge: the session's state (or upgradeUnknown)
	msgAbort    = 'A' // edge → owner: the upgrade failed: keep the session
	msgDrop     = 'D' // owner → edge: the session ended during the upgrade
)

// Answers to msgUpgrade and msgState.
const (
	upgradeOK      = 0
	upgradeUnknown = 1 // no such session: 400 "Session ID unknown"
	upgradeRefused = 2 // it cannot move: the upgrade fails, polling goes on
)

func appendMsgHeader(dst []byte, typ byte, id uint64) []byte {
	return binary.AppendUvarint(append(dst, typ), id)
}

func parseMsgHeader(msg []byte) (typ byte, id uint64, rest []byte, ok bool) {
	if len(msg) < 2 {
		return 0, 0, nil, false
	}
	id, n := binary.Uvarint(msg[1:])
	if n <= 0 {
		return 0, 0, nil, false
	}
	return msg[0], id, msg[1+n:], true
}

// Receive implements ClusterInbox.
func (in clusterInbox) Receive(from string, msg []byte) {
	cl := in.cl
	typ, id, rest, ok := parseMsgHeader(msg)
	if !ok {
		cl.warn(clusterLogBad, "engine: dropped a malformed cluster message", "from", from)
		return
	}
	switch typ {
	case msgForward:
		cl.serveForwarded(from, id, rest)
	case msgCancel:
		cl.cancelForwarded(from, id)
	case msgUpgrade:
		cl.upgradeRequested(from, id, rest)
	case msgProbed, msgTake, msgAbort:
		cl.upgradeStep(from, id, typ)
	case msgResponse, msgUpgraded, msgState, msgDrop:
		cl.mu.Lock()
		w := cl.out[id]
		cl.mu.Unlock()
		if w == nil || w.peer() != from {
			return // timed out, or its client left: nobody waits
		}
		w.answer(typ, rest)
	}
}

// NodeGone implements ClusterInbox.
func (in clusterInbox) NodeGone(node string) {
	cl := in.cl
	var lost []waiter
	var held []*remoteExchange
	var ups []*Session
	cl.mu.Lock()
	for id, w := range cl.out {
		if w.peer() == node {
			lost = append(lost, w)
			delete(cl.out, id)
		}
	}
	for k, x := range cl.in {
		if k.node == node {
			held = append(held, x)
			delete(cl.in, k)
		}
	}
	for k, sess := range cl.ups {
		if k.node == node {
			ups = append(ups, sess)
			delete(cl.ups, k)
		}
	}
	cl.mu.Unlock()
	if n := len(lost) + len(held) + len(ups); n > 0 {
		cl.warn(clusterLogGone, "engine: lost the link to a server: ending what was waiting on it", "node", node, "requests", n)
	}
	for _, w := range lost {
		w.lost(false)
	}
	for _, x := range held {
		x.gone()
	}
	for _, sess := range ups {
		sess.remoteUpgradeFailed(nil)
	}
}

// The cluster's log kinds: a server gone takes every session of its
// clients with it, and one line per request would flood the log, so each
// kind is logged at most once per 10 s (with how many were left out).
const (
	clusterLogSend = iota
	clusterLogBad
	clusterLogGone
	clusterLogTimeout
	clusterLogLost
	numClusterLogKinds
)

// warn logs a warning of kind, rate-limited.
func (cl *clusterState) warn(kind int, msg string, args ...any) {
	cl.logs.Log(kind, slog.LevelWarn, msg, args...)
}
