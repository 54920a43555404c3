package sio

import (
	"context"
	"crypto/rand"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"regexp"
	"runtime"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/fanio/fanio/engine"
	"github.com/fanio/fanio/internal/pool"
	"github.com/fanio/fanio/internal/ratelog"
	"github.com/fanio/fanio/internal/timer"
)

// Server is a Socket.IO server: an Engine.IO server plus namespaces.
type Server struct {
	opts     Options
	parser   Parser // opts.Parser
	eng      *engine.Server
	workers  *pool.Workers
	timers   *timer.Wheel // connect and acknowledgement timeouts
	connects connectWatch // connections that joined no namespace yet
	log      *slog.Logger
	closed   atomic.Bool

	nspMu   sync.RWMutex
	nsps    map[string]*Namespace
	parents []*ParentNamespace
	main    *Namespace

	offsets offsetGen
	newNsp  hookList[func(*Namespace)] // OnNewNamespace
	stats   counters                   // stats.go
	rlog    *ratelog.Limiter           // what clients can cause, logged rate-limited
}

// NewServer returns a server with opts. Register namespaces and handlers,
// then Start.
func NewServer(opts Options) *Server {
	opts.setDefaults()
	s := &Server{opts: opts, parser: opts.Parser, log: opts.Logger, nsps: make(map[string]*Namespace)}
	s.offsets.init()
	s.timers = timer.NewWheel(max(2, runtime.GOMAXPROCS(0)), 5*time.Millisecond)
	s.connects.init(opts.ConnectTimeout, s.timers)
	s.rlog = ratelog.New(opts.Logger, numLogKinds, 0, 0)
	s.workers = pool.NewWorkers(pool.WorkersOptions{
		MaxWorkers: opts.MaxWorkers,
		OnPanic:    s.onPanic,
	})
	s.eng = engine.NewServer(opts.engineOptions())
	s.opts.withEngine(s.eng.Options())
	s.eng.OnConnection(s.onSession)
	s.main = s.Of("/")
	s.joinEngineCluster()
	return s
}

// Options returns the effective options.
func (s *Server) Options() Options { return s.opts }

// Engine is the underlying Engine.IO server.
func (s *Server) Engine() *engine.Server { return s.eng }

// Start listens on addr (host:port; port 0 picks one) and serves in the
// background.
func (s *Server) Start(addr string) error { return s.eng.Start(addr) }

// Addr is the listener's address, after Start (nil before).
func (s *Server) Addr() net.Addr { return s.eng.Addr() }

// Shutdown disconnects every socket with "server shutting down", closes
// the listener, waits (within ctx) for the handlers already queued, and
// closes the adapters.
func (s *Server) Shutdown(ctx context.Context) error {
	if !s.closed.CompareAndSwap(false, true) {
		return nil
	}
	err := s.eng.Shutdown(ctx)
	done := make(chan struct{})
	go func() {
		s.workers.Stop()
		close(done)
	}()
	select {
	case <-done:
	case <-ctx.Done():
		err = errors.Join(err, fmt.Errorf("sio: handlers still running: %w", ctx.Err()))
	}
	s.timers.Close()
	s.nspMu.RLock()
	nsps := make([]*Namespace, 0, len(s.nsps))
	for _, n := range s.nsps {
		nsps = append(nsps, n)
	}
	s.nspMu.RUnlock()
	for _, n := range nsps {
		if cerr := n.adapter.Close(); cerr != nil {
			err = errors.Join(err, cerr)
		}
	}
	return err
}

// Of returns the namespace name, creating it ("chat" means "/chat").
func (s *Server) Of(name string) *Namespace {
	if !strings.HasPrefix(name, "/") {
		name = "/" + name
	}
	s.nspMu.RLock()
	n := s.nsps[name]
	s.nspMu.RUnlock()
	if n != nil {
		return n
	}
	s.nspMu.Lock()
	created := false
	if n = s.nsps[name]; n == nil {
		n = newNamespace(s, name, nil)
		s.nsps[name] = n
		created = true
	}
	s.nspMu.Unlock()
	if created {
		s.fireNewNamespace(n)
	}
	return n
}

// OfFunc declares dynamic namespaces: a client connecting to a namespace
// that does not exist gets it created when allow(name, auth) says so
// (auth is the CONNECT payload). allow runs on a worker.
func (s *Server) OfFunc(allow func(name string, auth json.RawMessage) bool) *ParentNamespace {
	p := newParentNamespace(s, allow)
	s.nspMu.Lock()
	s.parents = append(s.parents, p)
	s.nspMu.Unlock()
	return p
}

// OfRegexp declares the dynamic namespaces whose names match re.
func (s *Server) OfRegexp(re *regexp.Regexp) *ParentNamespace {
	return s.OfFunc(func(name string, _ json.RawMessage) bool { return re.MatchString(name) })
}

// Namespaces returns the namespaces that exist now (dynamic ones
// included), sorted by name.
func (s *Server) Namespaces() []*Namespace {
	s.nspMu.RLock()
	out := make([]*Namespace, 0, len(s.nsps))
	for _, n := range s.nsps {
		out = append(out, n)
	}
	s.nspMu.RUnlock()
	slices.SortFunc(out, func(a, b *Namespace) int { return strings.Compare(a.name, b.name) })
	return out
}

// Lookup returns the namespace name if it exists (nil otherwise), without
// creating it as Of does.
func (s *Server) Lookup(name string) *Namespace {
	if !strings.HasPrefix(name, "/") {
		name = "/" + name
	}
	return s.lookup([]byte(name))
}

// Sockets is the main namespace "/".
func (s *Server) Sockets() *Namespace { return s.main }

// lookup returns an existing namespace by name ([]byte, without allocating).
func (s *Server) lookup(name []byte) *Namespace {
	s.nspMu.RLock()
	n := s.nsps[string(name)]
	s.nspMu.RUnlock()
	return n
}

// intern returns the namespace's own name string when it exists.
func (s *Server) intern(name []byte) string {
	if len(name) == 1 && name[0] == '/' {
		return "/"
	}
	if n := s.lookup(name); n != nil {
		return n.name
	}
	return string(name)
}

// dynamic finds or creates a namespace through the parents.
func (s *Server) dynamic(name string, auth json.RawMessage) *Namespace {
	s.nspMu.RLock()
	parents := s.parents
	s.nspMu.RUnlock()
	for _, p := range parents {
		if !p.allow(name, auth) {
			continue
		}
		s.nspMu.Lock()
		n := s.nsps[name]
		created := n == nil
		if created {
			n = newNamespace(s, name, p)
			s.nsps[name] = n
			p.addChild(n)
		}
		s.nspMu.Unlock()
		if created {
			s.fireNewNamespace(n)
		}
		return n
	}
	return nil
}

// Use adds a middleware to the main namespace.
func (s *Server) Use(fn Middleware) *Server { s.main.Use(fn); return s }

// OnConnection adds a connection handler to the main namespace.
func (s *Server) OnConnection(fn func(*Socket)) *Server { s.main.OnConnection(fn); return s }

// Emit broadcasts to every socket of the main namespace.
func (s *Server) Emit(event string, args ...any) error { return s.main.Emit(event, args...) }

// To selects rooms of the main namespace.
func (s *Server) To(rooms ...Room) BroadcastOperator { return s.main.To(rooms...) }

// In is To.
func (s *Server) In(rooms ...Room) BroadcastOperator { return s.main.To(rooms...) }

// Except excludes rooms of the main namespace.
func (s *Server) Except(rooms ...Room) BroadcastOperator { return s.main.Except(rooms...) }

// Volatile marks a broadcast of the main namespace volatile.
func (s *Server) Volatile() BroadcastOperator { return s.main.Volatile() }

// Local limits a broadcast of the main namespace to this node.
func (s *Server) Local() BroadcastOperator { return s.main.Local() }

// Timeout sets the acknowledgement timeout of a broadcast.
func (s *Server) Timeout(d time.Duration) BroadcastOperator { return s.main.Timeout(d) }

// FetchSockets describes the sockets of the main namespace.
func (s *Server) FetchSockets() ([]*RemoteSocket, error) { return s.main.FetchSockets() }

// SocketsJoin makes every socket of the main namespace join rooms.
func (s *Server) SocketsJoin(rooms ...Room) { s.main.SocketsJoin(rooms...) }

// SocketsLeave makes every socket of the main namespace leave rooms.
func (s *Server) SocketsLeave(rooms ...Room) { s.main.SocketsLeave(rooms...) }

// DisconnectSockets disconnects every socket of the main namespace.
func (s *Server) DisconnectSockets(close bool) { s.main.DisconnectSockets(close) }

// ServerSideEmit emits to the main namespace of the other nodes.
func (s *Server) ServerSideEmit(event string, args ...any) error {
	return s.main.ServerSideEmit(event, args...)
}

// newID returns 20 URL-safe random characters, like the reference's
// base64id (the Engine.IO id is not reused: it is sensitive).
func newID() string {
	var b [15]byte
	_, _ = rand.Read(b[:])
	return base64.RawURLEncoding.EncodeToString(b[:])
}

// offsetGen makes the offsets of connection state recovery: a per-server
// random prefix and a sequence number, so offsets sort by time and never
// collide with a previous run's.
type offsetGen struct {
	prefix string
	seq    atomic.Uint64
}

func (g *offsetGen) init() {
	var b [6]byte
	_, _ = rand.Read(b[:])
	g.prefix = base64.RawURLEncoding.EncodeToString(b[:]) + "-"
}
