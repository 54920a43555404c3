package redisadapter

import (
	"context"
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"net"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/redis/rueidis"

	"github.com/fanio/fanio/engine"
)

// peerLink is the Client's engine.Cluster: it carries the engine's
// messages between the nodes (requests for another node's session, their
// answers, sessions moving on a WebSocket upgrade) over direct TCP
// connections, and uses Redis only to find the nodes: each node
// registers its address under <key>-node#<node id> (with a TTL it
// refreshes), and a node dials another the first time it has something
// for it.
//
// Chosen by measurement over Redis pub/sub (bench/clusterlink, in
// BENCHMARKS.md): a message and its answer between two nodes cost 7-10 µs
// of CPU and 5 µs of latency one at a time (1.2-1.6 µs each when 32 are in
// flight) on a direct connection, against 21-76 µs of the nodes' CPU plus
// 13-46 µs of Redis's, and 29-144 µs, through Redis — and Redis,
// single-threaded and shared by the whole cluster's broadcasts, is the
// part that does not scale out.
//
// Each node dials each node it sends to, and messages to a node go, in
// order, on that one connection; a connection starts with a challenge: the
// dialing node proves it knows the cluster's secret (kept in Redis under
// <key>-link-secret, made by the first node) with an HMAC-SHA256 of the
// listener's nonce and both node ids. Then frames are a 4-byte big-endian
// length and the message, and the connection is served on the engine's
// event loops (engine.ClusterInbox.Serve), both ends: a message is read,
// handed to the engine and answered on a loop, with no goroutine per
// connection, session or request (a goroutine blocked in a read would wait
// for a P that the loops hold: measured 4 ms added per forwarded request
// at p50 with one event loop and GOMAXPROCS 1). Goroutines run only to
// accept, to dial and authenticate, and to refresh the registration.
type peerLink struct {
	c      *Client
	node   string
	ln     net.Listener
	addr   string // advertised
	regKey string // <key>-node#<node>
	in     atomic.Pointer[engine.ClusterInbox]
	stop   chan struct{}
	logs   logLimiter

	secretMu sync.Mutex
	secret   []byte

	mu          sync.Mutex
	peers       map[string]*peer     // dialed, by node id
	dead        map[string]time.Time // found gone: Send fails at once until deadCacheFor later
	handshaking map[net.Conn]struct{}
	accepted    map[*acceptedConn]struct{}
	closed      bool

	wg    sync.WaitGroup
	stats struct {
		sent, dialFailures, authFailures atomic.Uint64
	}
}

const (
	linkMagic    = "fanioL1\n"
	nonceLen     = 16
	macLen       = sha256.Size
	maxFrame     = 64 << 20 // a message's largest size on the link
	maxPeerQueue = 64 << 20 // bytes queued for one peer before Send fails
	registerTTL  = 15 * time.Second
	deadCacheFor = 2 * time.Second
	linkWriteFor = 10 * time.Second // a write that takes longer: the peer is hung
)

// Handshake answers of the listening node.
const (
	linkOK        = 0
	linkBadAuth   = 1
	linkWrongNode = 2
)

var errNodeGone = errors.New("redisadapter: no such node in the cluster (gone)")

// newPeerLink binds the listener, picks a node id and registers it.
func newPeerLink(ctx context.Context, c *Client) (*peerLink, error) {
	l := &peerLink{
		c:           c,
		stop:        make(chan struct{}),
		peers:       make(map[string]*peer),
		dead:        make(map[string]time.Time),
		handshaking: make(map[net.Conn]struct{}),
		accepted:    make(map[*acceptedConn]struct{}),
	}
	l.logs.log = c.opts.Logger
	listenAddr, localIP, err := c.peerListenAddr()
	if err != nil {
		return nil, err
	}
	lc := net.ListenConfig{KeepAliveConfig: linkKeepAlive}
	if l.ln, err = lc.Listen(ctx, "tcp", listenAddr); err != nil {
		return nil, fmt.Errorf("redisadapter: cannot listen for the other nodes on %s: %w", listenAddr, err)
	}
	l.addr = c.opts.PeerAdvertise
	if l.addr == "" {
		tcp := l.ln.Addr().(*net.TCPAddr)
		host := tcp.IP.String()
		if tcp.IP.IsUnspecified() {
			host = localIP
		}
		l.addr = net.JoinHostPort(host, fmt.Sprint(tcp.Port))
	}
	if _, err := l.loadSecret(ctx, false); err != nil {
		l.ln.Close()
		return nil, fmt.Errorf("redisadapter: cannot read the cluster's link secret: %w", err)
	}
	if err := l.register(ctx); err != nil {
		l.ln.Close()
		return nil, err
	}
	l.wg.Add(1)
	go l.refresh()
	return l, nil
}

var linkKeepAlive = net.KeepAliveConfig{Enable: true, Idle: 5 * time.Second, Interval: 5 * time.Second, Count: 3}

// peerListenAddr is where to listen: Options.PeerAddr, or port 0 on the
// address of the interface that reaches Redis (returned as localIP too).
func (c *Client) peerListenAddr() (addr, localIP string, err error) {
	localIP = "127.0.0.1"
	for a := range c.rc.Nodes() {
		if strings.HasPrefix(a, "/") || strings.HasPrefix(a, "unix") {
			break // a unix socket: every node is on this host
		}
		if u, err := net.Dial("udp", a); err == nil { // sends nothing: picks the route
			localIP = u.LocalAddr().(*net.UDPAddr).IP.String()
			u.Close()
		}
		break
	}
	if c.opts.PeerAddr != "" {
		return c.opts.PeerAddr, localIP, nil
	}
	return net.JoinHostPort(localIP, "0"), localIP, nil
}

// register claims a free node id with this node's address.
func (l *peerLink) register(ctx context.Context) error {
	rc := l.c.rc
	for range 16 {
		var b [3]byte
		_, _ = rand.Read(b[:])
		id := base64.RawURLEncoding.EncodeToString(b[:])
		key := l.c.opts.Key + "-node#" + id
		cctx, cancel := context.WithTimeout(ctx, l.c.opts.DialTimeout)
		err := rc.Do(cctx, rc.B().Set().Key(key).Value(l.addr).Nx().Px(registerTTL).Build()).Error()
		cancel()
		if rueidis.IsRedisNil(err) {
			continue // taken
		}
		if err != nil {
			return fmt.Errorf("redisadapter: cannot register this node: %w", err)
		}
		l.node, l.regKey = id, key
		return nil
	}
	return errors.New("redisadapter: no free node id (16 tries)")
}

// refresh keeps the registration alive until the link closes.
func (l *peerLink) refresh() {
	defer l.wg.Done()
	t := time.NewTicker(registerTTL / 3)
	defer t.Stop()
	for {
		select {
		case <-l.stop:
			return
		case <-t.C:
		}
		rc := l.c.rc
		ctx, cancel := context.WithTimeout(context.Background(), l.c.opts.DialTimeout)
		n, err := rc.Do(ctx, rc.B().Pexpire().Key(l.regKey).Milliseconds(registerTTL.Milliseconds()).Build()).AsInt64()
		if err == nil && n == 0 {
			// Gone (Redis restarted, or was out for longer than the TTL).
			err = rc.Do(ctx, rc.B().Set().Key(l.regKey).Value(l.addr).Nx().Px(registerTTL).Build()).Error()
			if rueidis.IsRedisNil(err) {
				l.c.opts.Logger.Error("redisadapter: this node's id was taken by another node while it was unregistered; requests for its sessions may go there", "node", l.node)
				err = nil
			}
			_, _ = l.loadSecret(ctx, true)
		}
		cancel()
		if err != nil {
			l.logs.warn("register", "redisadapter: cannot refresh this node's registration", "err", err)
		}
	}
}

// loadSecret returns the cluster's link secret, making it if there is
// none; refresh reads it again from Redis.
func (l *peerLink) loadSecret(ctx context.Context, refresh bool) ([]byte, error) {
	l.secretMu.Lock()
	defer l.secretMu.Unlock()
	if l.secret != nil && !refresh {
		return l.secret, nil
	}
	rc := l.c.rc
	key := l.c.opts.Key + "-link-secret"
	var b [32]byte
	_, _ = rand.Read(b[:])
	ctx, cancel := context.WithTimeout(ctx, l.c.opts.DialTimeout)
	defer cancel()
	err := rc.Do(ctx, rc.B().Set().Key(key).Value(hex.EncodeToString(b[:])).Nx().Build()).Error()
	if err != nil && !rueidis.IsRedisNil(err) {
		return nil, err
	}
	s, err := rc.Do(ctx, rc.B().Get().Key(key).Build()).ToString()
	if err != nil {
		return nil, err
	}
	l.secret = []byte(s)
	return l.secret, nil
}

func linkMAC(secret, nonce []byte, from, to string) []byte {
	m := hmac.New(sha256.New, secret)
	m.Write(nonce)
	m.Write([]byte(from))
	m.Write([]byte(to))
	return m.Sum(nil)
}

// Join implements engine.Cluster: the engine's inbox, and the node's
// configuration; the link starts serving the other nodes now.
func (l *peerLink) Join(in engine.ClusterInbox) (engine.ClusterConfig, error) {
	if !l.in.CompareAndSwap(nil, &in) {
		return engine.ClusterConfig{}, errors.New("redisadapter: the Client's link serves one engine.Server already")
	}
	l.wg.Add(1)
	go l.accept()
	return engine.ClusterConfig{
		NodeID:         l.node,
		ForwardTimeout: l.c.opts.ForwardTimeout,
		TakeoverWindow: l.c.opts.TakeoverWindow,
	}, nil
}

func (l *peerLink) inbox() engine.ClusterInbox {
	if p := l.in.Load(); p != nil {
		return *p
	}
	return nil
}

// Send implements engine.Cluster.
func (l *peerLink) Send(node string, msg []byte) error {
	if len(msg) > maxFrame {
		return errors.New("redisadapter: message too large for the link")
	}
	l.mu.Lock()
	if l.closed {
		l.mu.Unlock()
		return ErrClosed
	}
	p := l.peers[node]
	if p == nil {
		if t, ok := l.dead[node]; ok && time.Since(t) < deadCacheFor {
			l.mu.Unlock()
			return errNodeGone
		}
		delete(l.dead, node)
		p = &peer{l: l, node: node}
		l.peers[node] = p
		l.wg.Add(1)
		go p.run()
	}
	l.mu.Unlock()
	return p.enqueue(msg)
}

// peer is the connection this node dialed to another; messages queue
// here while it is being dialed, then go straight to the connection.
type peer struct {
	l    *peerLink
	node string

	mu     sync.Mutex
	out    [][]byte // queued while dialing
	queued int
	cc     engine.ClusterConn // once connected
	broken bool
}

func (p *peer) enqueue(msg []byte) error {
	p.mu.Lock()
	defer p.mu.Unlock()
	switch {
	case p.broken:
		return errNodeGone
	case p.cc != nil:
		if err := p.cc.Send(msg); err != nil {
			return err
		}
	case p.queued+len(msg) > maxPeerQueue:
		return ErrQueueFull
	default:
		p.out = append(p.out, append([]byte(nil), msg...))
		p.queued += len(msg)
	}
	p.l.stats.sent.Add(1)
	return nil
}

// run dials and authenticates, then hands the connection to the engine's
// event loops with what queued meanwhile, and ends: a connected peer has
// no goroutine.
func (p *peer) run() {
	defer p.l.wg.Done()
	conn, err := p.l.dial(p.node)
	if err != nil {
		p.fail(err)
		return
	}
	in := p.l.inbox()
	cc, err := in.Serve(p.node, conn, p.fail)
	if err != nil {
		p.fail(err)
		return
	}
	p.mu.Lock()
	if p.broken {
		p.mu.Unlock()
		cc.Close()
		return
	}
	for _, m := range p.out {
		if err = cc.Send(m); err != nil {
			break
		}
	}
	p.out, p.queued = nil, 0
	p.cc = cc
	p.mu.Unlock()
	if err != nil {
		p.fail(err)
	}
}

// fail ends the connection (once): the engine is told the node may have
// lost messages, and the next Send dials again. It runs on the dialing
// goroutine, or on an event loop when the connection closes.
func (p *peer) fail(err error) {
	p.mu.Lock()
	if p.broken {
		p.mu.Unlock()
		return
	}
	p.broken = true
	p.out = nil
	cc := p.cc
	p.mu.Unlock()
	if cc != nil {
		cc.Close()
	}
	l := p.l
	switch {
	case errors.Is(err, ErrClosed):
	case err == nil || errors.Is(err, io.EOF):
		l.c.opts.Logger.Info("redisadapter: a node closed its connection (it left or restarted)", "node", p.node)
	default:
		l.logs.warn("peer "+p.node, "redisadapter: lost the connection to a node", "node", p.node, "err", err)
	}
	if in := l.inbox(); in != nil {
		in.NodeGone(p.node)
	}
	l.mu.Lock()
	if l.peers[p.node] == p {
		delete(l.peers, p.node)
	}
	if errors.Is(err, errNodeGone) || isRefused(err) {
		l.dead[p.node] = time.Now()
	}
	l.mu.Unlock()
}

func isRefused(err error) bool {
	var op *net.OpError
	return errors.As(err, &op) && op.Op == "dial"
}

// dial finds node's address in Redis, connects and authenticates.
func (l *peerLink) dial(node string) (net.Conn, error) {
	rc := l.c.rc
	ctx, cancel := context.WithTimeout(context.Background(), l.c.opts.DialTimeout)
	defer cancel()
	addr, err := rc.Do(ctx, rc.B().Get().Key(l.c.opts.Key+"-node#"+node).Build()).ToString()
	if rueidis.IsRedisNil(err) {
		l.stats.dialFailures.Add(1)
		return nil, errNodeGone
	}
	if err != nil {
		l.stats.dialFailures.Add(1)
		return nil, fmt.Errorf("looking the node up in Redis: %w", err)
	}
	d := net.Dialer{KeepAliveConfig: linkKeepAlive}
	conn, err := d.DialContext(ctx, "tcp", addr)
	if err != nil {
		l.stats.dialFailures.Add(1)
		return nil, err
	}
	if err := l.handshakeOut(ctx, conn, node); err != nil {
		conn.Close()
		l.stats.dialFailures.Add(1)
		return nil, err
	}
	return conn, nil
}

func (l *peerLink) handshakeOut(ctx context.Context, conn net.Conn, node string) error {
	dl, _ := ctx.Deadline()
	_ = conn.SetDeadline(dl)
	defer conn.SetDeadline(time.Time{})
	var hello [len(linkMagic) + nonceLen]byte
	if _, err := io.ReadFull(conn, hello[:]); err != nil {
		return fmt.Errorf("link handshake: %w", err)
	}
	if string(hello[:len(linkMagic)]) != linkMagic {
		return errors.New("link handshake: not a fanio node")
	}
	secret, err := l.loadSecret(ctx, false)
	if err != nil {
		return err
	}
	msg := make([]byte, 0, len(linkMagic)+8+macLen)
	msg = append(msg, linkMagic...)
	msg = append(msg, l.node...)
	msg = append(msg, node...)
	msg = append(msg, linkMAC(secret, hello[len(linkMagic):], l.node, node)...)
	if _, err := conn.Write(msg); err != nil {
		return fmt.Errorf("link handshake: %w", err)
	}
	var st [1]byte
	if _, err := io.ReadFull(conn, st[:]); err != nil {
		return fmt.Errorf("link handshake: %w", err)
	}
	switch st[0] {
	case linkOK:
		return nil
	case linkBadAuth:
		_, _ = l.loadSecret(ctx, true) // it may have changed (Redis restarted)
		return errors.New("link handshake: the node refused this node's secret")
	default:
		return errNodeGone // another node listens there now
	}
}

// accept serves the connections other nodes dial to this one.
func (l *peerLink) accept() {
	defer l.wg.Done()
	backoff := 5 * time.Millisecond
	for {
		conn, err := l.ln.Accept()
		if err != nil {
			select {
			case <-l.stop:
				return
			default:
			}
			if errors.Is(err, net.ErrClosed) {
				return
			}
			time.Sleep(backoff)
			backoff = min(2*backoff, time.Second)
			continue
		}
		backoff = 5 * time.Millisecond
		l.mu.Lock()
		if l.closed {
			l.mu.Unlock()
			conn.Close()
			return
		}
		l.handshaking[conn] = struct{}{}
		l.wg.Add(1)
		l.mu.Unlock()
		go l.serve(conn)
	}
}

// acceptedConn is a connection another node dialed to this one.
type acceptedConn struct {
	l    *peerLink
	from string
	mu   sync.Mutex
	cc   engine.ClusterConn
}

// serve authenticates a node that dialed this one, then hands the
// connection to the engine's event loops, which deliver its messages; the
// goroutine ends there.
func (l *peerLink) serve(conn net.Conn) {
	defer l.wg.Done()
	from, ok := l.handshakeIn(conn)
	ac := &acceptedConn{l: l, from: from}
	l.mu.Lock()
	delete(l.handshaking, conn)
	if !ok || l.closed {
		l.mu.Unlock()
		conn.Close()
		return
	}
	l.accepted[ac] = struct{}{}
	l.mu.Unlock()
	cc, err := l.inbox().Serve(from, conn, ac.closed)
	if err != nil {
		ac.closed(err)
		return
	}
	ac.mu.Lock()
	ac.cc = cc
	ac.mu.Unlock()
	l.mu.Lock()
	closing := l.closed
	l.mu.Unlock()
	if closing {
		cc.Close()
	}
}

// closed runs once the connection ended.
func (ac *acceptedConn) closed(err error) {
	l := ac.l
	l.mu.Lock()
	_, live := l.accepted[ac]
	delete(l.accepted, ac)
	closing := l.closed
	l.mu.Unlock()
	if !live || closing {
		return
	}
	if err != nil && !errors.Is(err, io.EOF) && !errors.Is(err, net.ErrClosed) {
		l.logs.warn("serve "+ac.from, "redisadapter: lost the connection from a node", "node", ac.from, "err", err)
	}
	// What that node forwarded here and waits for can no longer reach it.
	l.inbox().NodeGone(ac.from)
}

func (ac *acceptedConn) close() {
	ac.mu.Lock()
	cc := ac.cc
	ac.mu.Unlock()
	if cc != nil {
		cc.Close()
	}
}

func (l *peerLink) handshakeIn(conn net.Conn) (from string, ok bool) {
	_ = conn.SetDeadline(time.Now().Add(l.c.opts.DialTimeout))
	defer conn.SetDeadline(time.Time{})
	hello := make([]byte, 0, len(linkMagic)+nonceLen)
	hello = append(hello, linkMagic...)
	nonce := make([]byte, nonceLen)
	_, _ = rand.Read(nonce)
	if _, err := conn.Write(append(hello, nonce...)); err != nil {
		return "", false
	}
	var msg [len(linkMagic) + 8 + macLen]byte
	if _, err := io.ReadFull(conn, msg[:]); err != nil || string(msg[:len(linkMagic)]) != linkMagic {
		return "", false
	}
	ids := msg[len(linkMagic) : len(linkMagic)+8]
	from, to := string(ids[:4]), string(ids[4:])
	mac := msg[len(linkMagic)+8:]
	if to != l.node || !engine.ValidNodeID(from) {
		_, _ = conn.Write([]byte{linkWrongNode})
		return "", false
	}
	ctx := context.Background()
	for _, refresh := range []bool{false, true} {
		secret, err := l.loadSecret(ctx, refresh)
		if err == nil && hmac.Equal(mac, linkMAC(secret, nonce, from, to)) {
			_, err = conn.Write([]byte{linkOK})
			return from, err == nil
		}
	}
	l.stats.authFailures.Add(1)
	l.logs.warn("auth", "redisadapter: refused a connection that does not know the cluster's secret", "remote", conn.RemoteAddr().String())
	_, _ = conn.Write([]byte{linkBadAuth})
	return "", false
}

// close ends the link: the registration goes, every connection closes,
// every goroutine ends.
func (l *peerLink) close() {
	l.mu.Lock()
	if l.closed {
		l.mu.Unlock()
		return
	}
	l.closed = true
	conns := make([]net.Conn, 0, len(l.handshaking))
	for c := range l.handshaking {
		conns = append(conns, c)
	}
	accepted := make([]*acceptedConn, 0, len(l.accepted))
	for ac := range l.accepted {
		accepted = append(accepted, ac)
	}
	peers := make([]*peer, 0, len(l.peers))
	for _, p := range l.peers {
		peers = append(peers, p)
	}
	l.mu.Unlock()
	close(l.stop)
	l.ln.Close()
	for _, c := range conns {
		c.Close()
	}
	for _, ac := range accepted {
		ac.close()
	}
	for _, p := range peers {
		p.fail(ErrClosed)
	}
	rc := l.c.rc
	ctx, cancel := context.WithTimeout(context.Background(), l.c.opts.DialTimeout)
	// Only this node's own registration (another node may hold the id if
	// this one was unregistered for a while).
	if v, err := rc.Do(ctx, rc.B().Get().Key(l.regKey).Build()).ToString(); err == nil && v == l.addr {
		_ = rc.Do(ctx, rc.B().Del().Key(l.regKey).Build()).Error()
	}
	cancel()
	l.wg.Wait()
}

// LinkStats are the counters of a Client's link to the other nodes.
type LinkStats struct {
	// NodeID is this node's id (the first 4 characters of its session
	// ids) and Addr the address the other nodes dial; empty without a
	// link (Options.NoForwarding).
	NodeID, Addr string
	// Peers is the number of nodes this one is connected to (dialed).
	Peers int
	// Sent counts the messages sent to other nodes (what they send here is
	// counted by the engine: engine.Server.ClusterStats); DialFailures the
	// connections to other nodes that could not be made (gone,
	// unreachable, refused); AuthFailures the connections refused here for
	// a wrong secret.
	Sent, DialFailures, AuthFailures uint64
}

func (l *peerLink) linkStats() LinkStats {
	if l == nil {
		return LinkStats{}
	}
	l.mu.Lock()
	n := len(l.peers)
	l.mu.Unlock()
	return LinkStats{
		NodeID:       l.node,
		Addr:         l.addr,
		Peers:        n,
		Sent:         l.stats.sent.Load(),
		DialFailures: l.stats.dialFailures.Load(),
		AuthFailures: l.stats.authFailures.Load(),
	}
}
