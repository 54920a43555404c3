package sio

import (
	"encoding/json"
	"errors"
	"hash/maphash"
	"sync"
	"sync/atomic"
	"time"

	"github.com/fanio/fanio/internal/codec"
)

// Middleware runs for each socket connecting to a namespace, before its
// connection handlers; an error refuses the connection (the client gets a
// connect_error; use *ConnectError to attach data). It runs on a worker
// and may block.
type Middleware func(s *Socket) error

const socketShards = 32

// Namespace is a communication channel: sockets connect to it, and it has
// its own middleware, handlers, rooms and adapter.
type Namespace struct {
	srv     *Server
	name    string
	adapter Adapter
	parent  *ParentNamespace
	ackIDs  atomic.Int64

	mu      sync.RWMutex
	fns     []Middleware
	onConn  []func(*Socket)
	sseHand map[string][]func(args Args)

	seed    maphash.Seed
	shards  [socketShards]socketShard
	count   atomic.Int64
	outHook atomic.Int32 // sockets with OnAnyOutgoing listeners
}

type socketShard struct {
	mu sync.RWMutex
	m  map[SocketID]*Socket
}

func newNamespace(srv *Server, name string, parent *ParentNamespace) *Namespace {
	n := &Namespace{srv: srv, name: name, parent: parent, seed: maphash.MakeSeed()}
	for i := range n.shards {
		n.shards[i].m = make(map[SocketID]*Socket)
	}
	if parent != nil {
		parent.mu.RLock()
		n.fns = append(n.fns, parent.fns...)
		n.onConn = append(n.onConn, parent.onConn...)
		parent.mu.RUnlock()
	}
	n.adapter = srv.opts.Adapter(n)
	if err := n.adapter.Init(); err != nil {
		srv.log.Error("sio: adapter init failed", "nsp", name, "err", err)
	}
	return n
}

// Name is the namespace's name ("/", "/chat").
func (n *Namespace) Name() string { return n.name }

// Server is the namespace's server.
func (n *Namespace) Server() *Server { return n.srv }

// Adapter is the namespace's adapter.
func (n *Namespace) Adapter() Adapter { return n.adapter }

// Use adds a middleware.
func (n *Namespace) Use(fn Middleware) *Namespace {
	n.mu.Lock()
	n.fns = append(n.fns, fn)
	n.mu.Unlock()
	return n
}

// OnConnection adds a handler called for each socket that connected (after
// the middleware), on the socket's mailbox: register the socket's event
// handlers there.
func (n *Namespace) OnConnection(fn func(*Socket)) *Namespace {
	n.mu.Lock()
	n.onConn = append(n.onConn, fn)
	n.mu.Unlock()
	return n
}

// OnServerSideEmit adds a handler for events other nodes send with
// ServerSideEmit (the reference's namespace.on(event) for those).
func (n *Namespace) OnServerSideEmit(event string, fn func(args Args)) *Namespace {
	n.mu.Lock()
	if n.sseHand == nil {
		n.sseHand = make(map[string][]func(Args))
	}
	n.sseHand[event] = append(n.sseHand[event], fn)
	n.mu.Unlock()
	return n
}

// DeliverServerSideEmit runs the OnServerSideEmit handlers of event: an
// adapter calls it with what another node sent. It runs them on the
// calling goroutine.
func (n *Namespace) DeliverServerSideEmit(event string, args Args) {
	n.mu.RLock()
	hs := n.sseHand[event]
	n.mu.RUnlock()
	for _, h := range hs {
		h(args)
	}
}

// serverSideReserved are the names ServerSideEmit refuses.
var serverSideReserved = map[string]bool{"connect": true, "connection": true, "new_namespace": true}

// ServerSideEmit sends an event to this namespace on the other nodes
// through the adapter (a no-op with the in-memory adapter).
func (n *Namespace) ServerSideEmit(event string, args ...any) error {
	if serverSideReserved[event] {
		return ErrReservedEvent
	}
	return n.adapter.ServerSideEmit(event, args)
}

// Socket returns the connected socket id of this namespace, or nil.
func (n *Namespace) Socket(id SocketID) *Socket {
	sh := &n.shards[maphash.String(n.seed, id)%socketShards]
	sh.mu.RLock()
	s := sh.m[id]
	sh.mu.RUnlock()
	return s
}

// SocketCount is the number of connected sockets.
func (n *Namespace) SocketCount() int { return int(n.count.Load()) }

// EachSocket calls fn for every connected socket (a snapshot per shard;
// fn may do anything but must not block for long).
func (n *Namespace) EachSocket(fn func(*Socket) bool) {
	var buf []*Socket
	for i := range n.shards {
		sh := &n.shards[i]
		sh.mu.RLock()
		buf = buf[:0]
		for _, s := range sh.m {
			buf = append(buf, s)
		}
		sh.mu.RUnlock()
		for _, s := range buf {
			if !fn(s) {
				return
			}
		}
	}
}

func (n *Namespace) addSocket(s *Socket) {
	sh := &n.shards[maphash.String(n.seed, s.id)%socketShards]
	sh.mu.Lock()
	sh.m[s.id] = s
	sh.mu.Unlock()
	n.count.Add(1)
}

func (n *Namespace) removeSocket(s *Socket) {
	sh := &n.shards[maphash.String(n.seed, s.id)%socketShards]
	sh.mu.Lock()
	removed := sh.m[s.id] == s
	if removed {
		delete(sh.m, s.id)
	}
	sh.mu.Unlock()
	if removed && n.count.Add(-1) == 0 && n.parent != nil && n.srv.opts.CleanupEmptyChildNamespaces {
		n.srv.removeNamespace(n)
	}
}

// ---- broadcast shortcuts ----

func (n *Namespace) op() BroadcastOperator { return BroadcastOperator{nsp: n} }

// Emit broadcasts to every socket of the namespace.
func (n *Namespace) Emit(event string, args ...any) error { return n.op().Emit(event, args...) }

// To selects the sockets in rooms.
func (n *Namespace) To(rooms ...Room) BroadcastOperator { return n.op().To(rooms...) }

// In is To.
func (n *Namespace) In(rooms ...Room) BroadcastOperator { return n.op().To(rooms...) }

// Except excludes the sockets in rooms.
func (n *Namespace) Except(rooms ...Room) BroadcastOperator { return n.op().Except(rooms...) }

// Volatile marks the broadcast volatile.
func (n *Namespace) Volatile() BroadcastOperator { return n.op().Volatile() }

// Compress sets whether the broadcast may be compressed.
func (n *Namespace) Compress(c bool) BroadcastOperator { return n.op().Compress(c) }

// Local limits the broadcast to this node.
func (n *Namespace) Local() BroadcastOperator { return n.op().Local() }

// Timeout sets the acknowledgement timeout.
func (n *Namespace) Timeout(d time.Duration) BroadcastOperator { return n.op().Timeout(d) }

// FetchSockets describes every socket of the namespace.
func (n *Namespace) FetchSockets() ([]*RemoteSocket, error) { return n.op().FetchSockets() }

// SocketsJoin makes every socket join rooms.
func (n *Namespace) SocketsJoin(rooms ...Room) { n.op().SocketsJoin(rooms...) }

// SocketsLeave makes every socket leave rooms.
func (n *Namespace) SocketsLeave(rooms ...Room) { n.op().SocketsLeave(rooms...) }

// DisconnectSockets disconnects every socket.
func (n *Namespace) DisconnectSockets(close bool) { n.op().DisconnectSockets(close) }

// AllSockets returns the ids of every socket (of the nodes the adapter
// knows).
func (n *Namespace) AllSockets() ([]SocketID, error) { return n.adapter.Sockets(nil) }

// ---- connecting ----

// connect handles a CONNECT packet on the client's mailbox.
func (c *client) connect(p *inPacket) {
	srv := c.srv
	auth := json.RawMessage(p.data)
	if len(auth) == 0 {
		auth = json.RawMessage("{}")
	}
	n := srv.lookup([]byte(p.nsp))
	if n == nil {
		n = srv.dynamic(p.nsp, auth)
	}
	if n == nil {
		_ = c.sendRaw(codec.SIOConnectError, p.nsp, []byte(`{"message":"Invalid namespace"}`))
		return
	}
	var restored *RestoredSession
	if srv.opts.ConnectionStateRecovery != nil {
		var a struct {
			PID    *string `json:"pid"`
			Offset *string `json:"offset"`
		}
		if json.Unmarshal(auth, &a) == nil && a.PID != nil && a.Offset != nil {
			rs, err := n.adapter.RestoreSession(*a.PID, *a.Offset)
			if err == nil && rs != nil {
				restored = rs
			}
		}
	}
	s := newSocket(n, c, auth, restored)
	if restored == nil || !srv.opts.ConnectionStateRecovery.SkipMiddlewares {
		n.mu.RLock()
		fns := n.fns
		n.mu.RUnlock()
		for _, fn := range fns {
			err := runMiddleware(fn, s)
			if c.isClosed() {
				return
			}
			if err != nil {
				_ = c.sendRaw(codec.SIOConnectError, n.name, connectErrorPayload(err))
				return
			}
		}
	}
	if c.isClosed() {
		return
	}
	n.addSocket(s)
	if !c.addSocket(s) {
		n.removeSocket(s)
		return
	}
	c.stopConnectTimer()
	s.connected.Store(true)
	s.Join(s.id)
	if restored != nil {
		s.Join(restored.Rooms...)
		for _, mp := range restored.MissedPackets {
			_ = c.send(mp, false)
		}
	}
	payload := make([]byte, 0, 64)
	payload = append(payload, `{"sid":`...)
	payload = codec.AppendJSONString(payload, s.id)
	if s.pid != "" {
		payload = append(payload, `,"pid":`...)
		payload = codec.AppendJSONString(payload, s.pid)
	}
	payload = append(payload, '}')
	_ = c.sendRaw(codec.SIOConnect, n.name, payload)
	n.mu.RLock()
	hs := n.onConn
	n.mu.RUnlock()
	for _, h := range hs {
		if !s.Connected() {
			break
		}
		h(s)
	}
}

// runMiddleware calls fn, turning a panic into a refusal.
func runMiddleware(fn Middleware, s *Socket) (err error) {
	defer func() {
		if v := recover(); v != nil {
			s.nsp.srv.log.Error("sio: middleware panicked", "panic", v)
			err = errors.New("middleware error")
		}
	}()
	return fn(s)
}

// connectErrorPayload is {"message":...,"data":...}.
func connectErrorPayload(err error) []byte {
	b := []byte(`{"message":`)
	var ce *ConnectError
	if errors.As(err, &ce) {
		b = codec.AppendJSONString(b, ce.Message)
		if ce.Data != nil {
			e := getEncoder()
			if e.value(ce.Data, 0) == nil && len(e.atts) == 0 {
				b = append(b, `,"data":`...)
				b = append(b, e.buf...)
			}
			e.release()
		}
	} else {
		b = codec.AppendJSONString(b, err.Error())
	}
	return append(b, '}')
}

// ---- dynamic namespaces ----

// ParentNamespace declares dynamic namespaces (Server.OfFunc,
// Server.OfRegexp). Its middleware and connection handlers apply to every
// child namespace created after they were added; Emit broadcasts to all
// its children.
type ParentNamespace struct {
	srv      *Server
	allow    func(string, json.RawMessage) bool
	mu       sync.RWMutex
	fns      []Middleware
	onConn   []func(*Socket)
	children map[*Namespace]struct{}
}

func newParentNamespace(srv *Server, allow func(string, json.RawMessage) bool) *ParentNamespace {
	return &ParentNamespace{srv: srv, allow: allow, children: make(map[*Namespace]struct{})}
}

// Use adds a middleware for the children.
func (p *ParentNamespace) Use(fn Middleware) *ParentNamespace {
	p.mu.Lock()
	p.fns = append(p.fns, fn)
	p.mu.Unlock()
	return p
}

// OnConnection adds a connection handler for the children.
func (p *ParentNamespace) OnConnection(fn func(*Socket)) *ParentNamespace {
	p.mu.Lock()
	p.onConn = append(p.onConn, fn)
	p.mu.Unlock()
	return p
}

// Children returns the child namespaces created so far.
func (p *ParentNamespace) Children() []*Namespace {
	p.mu.RLock()
	defer p.mu.RUnlock()
	out := make([]*Namespace, 0, len(p.children))
	for n := range p.children {
		out = append(out, n)
	}
	return out
}

// Emit broadcasts to every socket of every child namespace.
func (p *ParentNamespace) Emit(event string, args ...any) error {
	var errs []error
	for _, n := range p.Children() {
		if err := n.Emit(event, args...); err != nil {
			errs = append(errs, err)
		}
	}
	return errors.Join(errs...)
}

func (p *ParentNamespace) addChild(n *Namespace) {
	p.mu.Lock()
	p.children[n] = struct{}{}
	p.mu.Unlock()
}

func (p *ParentNamespace) removeChild(n *Namespace) {
	p.mu.Lock()
	delete(p.children, n)
	p.mu.Unlock()
}
