package admin

import (
	"context"
	"crypto/rand"
	"crypto/subtle"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"sync"
	"sync/atomic"
	"time"

	"golang.org/x/crypto/bcrypt"

	"github.com/fanio/fanio/sio"
)

// Features the server announces in "config" (the reference's Feature).
const (
	FeatureEmit             = "EMIT"
	FeatureJoin             = "JOIN"
	FeatureLeave            = "LEAVE"
	FeatureDisconnect       = "DISCONNECT"
	FeatureMJoin            = "MJOIN"
	FeatureMLeave           = "MLEAVE"
	FeatureMDisconnect      = "MDISCONNECT"
	FeatureAggregatedEvents = "AGGREGATED_EVENTS"
	FeatureAllEvents        = "ALL_EVENTS"
)

// ErrInvalidCredentials is the connect_error a failed login gets (its text
// is the reference's, which the UI shows).
var ErrInvalidCredentials = errors.New("invalid credentials")

// Admin is an instrumented server's admin side. Close stops it.
type Admin struct {
	srv      *sio.Server
	nsp      *sio.Namespace
	opts     Options
	dev      bool
	features []string
	log      *slog.Logger
	serverID string
	hostname string

	// Logins that passed the middleware and wait for their connection
	// handler to send the new session id (after the CONNECT packet).
	pendingMu sync.Mutex
	pending   map[*sio.Socket]pendingLogin

	events    chan event // development mode's stream, to the emitter goroutine
	dropped   atomic.Uint64
	agg       aggregator
	removesMu sync.Mutex
	removes   []func()
	watched   map[*sio.Namespace]bool // (removesMu)
	stop      chan struct{}
	done      sync.WaitGroup
	closed    atomic.Bool
}

type pendingLogin struct {
	session string
	at      time.Time
}

// processStart approximates the process's start for "uptime".
var processStart = time.Now()

// Instrument serves the Admin UI protocol on srv's admin namespace. It
// fails if opts set neither Auth nor NoAuth (or both), or if the password
// hash is not a bcrypt hash. Call it before clients connect to see them all
// in the UI's event stream (all_sockets lists those already there).
func Instrument(srv *sio.Server, opts Options) (*Admin, error) {
	switch {
	case opts.Auth == nil && !opts.NoAuth:
		return nil, errors.New("admin: Options.Auth must be set, or NoAuth set explicitly")
	case opts.Auth != nil && opts.NoAuth:
		return nil, errors.New("admin: Options.Auth and NoAuth exclude each other")
	case opts.Auth != nil:
		if _, err := bcrypt.Cost([]byte(opts.Auth.PasswordHash)); err != nil {
			return nil, fmt.Errorf("admin: the password must be a valid bcrypt hash: %w", err)
		}
	}
	if opts.Namespace == "" {
		opts.Namespace = "/admin"
	}
	if opts.Mode == "" {
		opts.Mode = ModeDevelopment
	}
	if opts.Mode != ModeDevelopment && opts.Mode != ModeProduction {
		return nil, fmt.Errorf("admin: Mode %q is neither %q nor %q", opts.Mode, ModeDevelopment, ModeProduction)
	}
	if opts.Store == nil {
		opts.Store = NewMemoryStore(0)
	}
	if opts.StatsInterval <= 0 {
		opts.StatsInterval = 2 * time.Second
	}
	host, _ := os.Hostname()
	a := &Admin{
		srv:      srv,
		opts:     opts,
		dev:      opts.Mode == ModeDevelopment,
		log:      srv.Options().Logger,
		hostname: host,
		serverID: opts.ServerID,
		pending:  make(map[*sio.Socket]pendingLogin),
		stop:     make(chan struct{}),
	}
	if a.serverID == "" {
		a.serverID = host
	}
	if !opts.ReadOnly {
		a.features = []string{FeatureEmit, FeatureJoin, FeatureLeave, FeatureDisconnect, FeatureMJoin, FeatureMLeave, FeatureMDisconnect}
	} else {
		a.features = []string{}
	}
	a.features = append(a.features, FeatureAggregatedEvents)
	if a.dev {
		a.features = append(a.features, FeatureAllEvents)
	}
	if opts.NoAuth {
		a.log.Warn("admin: authentication is disabled: anyone reaching the admin namespace can administer the server", "namespace", opts.Namespace)
	}

	a.nsp = srv.Of(opts.Namespace)
	if opts.Auth != nil {
		a.nsp.Use(a.authenticate)
	}
	a.nsp.OnConnection(a.onAdminConnection)

	if a.dev {
		a.events = make(chan event, eventQueue)
		a.done.Add(1)
		go a.emitter()
		a.watched = make(map[*sio.Namespace]bool)
		a.addRemove(srv.OnNewNamespace(a.watch)) // first: no namespace falls between
		for _, n := range srv.Namespaces() {
			a.watch(n)
		}
	}
	a.agg.init(srv)
	a.done.Add(1)
	go a.statsLoop()
	return a, nil
}

// Namespace is the admin namespace.
func (a *Admin) Namespace() *sio.Namespace { return a.nsp }

// Dropped is the number of development-mode events dropped because the
// emitter's queue was full.
func (a *Admin) Dropped() uint64 { return a.dropped.Load() }

// Close stops emitting stats and events and removes the listeners it
// added to namespaces and adapters (sockets already connected keep theirs
// until they disconnect, but they emit nothing). The admin namespace and
// its sockets stay.
func (a *Admin) Close() {
	if !a.closed.CompareAndSwap(false, true) {
		return
	}
	a.removesMu.Lock()
	removes := a.removes
	a.removes = nil
	a.removesMu.Unlock()
	for _, rm := range removes {
		rm()
	}
	close(a.stop)
	a.done.Wait()
}

// ---- authentication

// authenticate is the admin namespace's middleware: a known session id, or
// the user name and password (then a new session id for the UI to keep).
func (a *Admin) authenticate(s *sio.Socket) error {
	var auth struct {
		SessionID string `json:"sessionId"`
		Username  string `json:"username"`
		Password  string `json:"password"`
	}
	_ = json.Unmarshal(s.Handshake().Auth(), &auth)
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if auth.SessionID != "" {
		ok, err := a.opts.Store.SessionExists(ctx, auth.SessionID)
		if err != nil {
			a.log.Warn("admin: session store failed", "err", err)
		}
		if ok {
			return nil
		}
	}
	want := a.opts.Auth
	userOK := subtle.ConstantTimeCompare([]byte(auth.Username), []byte(want.Username)) == 1
	// The hash is always compared, also for an unknown user, so that the
	// time taken does not tell the user name.
	passOK := bcrypt.CompareHashAndPassword([]byte(want.PasswordHash), []byte(auth.Password)) == nil
	if !userOK || !passOK {
		a.log.Info("admin: login refused", "remote", s.Handshake().Address(), "user", auth.Username)
		return ErrInvalidCredentials
	}
	id := newSessionID()
	if err := a.opts.Store.SaveSession(ctx, id); err != nil {
		a.log.Warn("admin: session store failed; the UI will log in again next time", "err", err)
	}
	now := time.Now()
	a.pendingMu.Lock()
	for k, p := range a.pending {
		if now.Sub(p.at) > time.Minute { // never connected after all
			delete(a.pending, k)
		}
	}
	a.pending[s] = pendingLogin{session: id, at: now}
	a.pendingMu.Unlock()
	a.log.Info("admin: login", "remote", s.Handshake().Address(), "user", auth.Username)
	return nil
}

// newSessionID is 16 hex characters from 8 random bytes, as the
// reference's.
func newSessionID() string {
	var b [8]byte
	_, _ = rand.Read(b[:])
	return hex.EncodeToString(b[:])
}

// ---- an admin connection

func (a *Admin) onAdminConnection(s *sio.Socket) {
	a.pendingMu.Lock()
	p, ok := a.pending[s]
	delete(a.pending, s)
	a.pendingMu.Unlock()
	if ok {
		_ = s.Emit("session", p.session)
	}
	if !a.opts.ReadOnly {
		a.registerCommands(s)
	}
	_ = s.Emit("config", map[string]any{"supportedFeatures": a.features})
	if a.dev {
		_ = s.Emit("all_sockets", a.allSockets())
	}
}

// registerCommands handles the UI's commands (the reference's
// registerFeatureHandlers, Socket.IO v4 path): each acts on every socket
// of a namespace, or on those in the room (or with the id) filter, on every
// node.
func (a *Admin) registerCommands(s *sio.Socket) {
	s.On("emit", func(s *sio.Socket, args sio.Args, _ sio.Ack) {
		nsp, filter, ok := a.target(args, 0, 1)
		if !ok || len(args) < 3 {
			return
		}
		ev, err := sio.Arg[string](args, 2)
		if err != nil {
			return
		}
		rest := args[3:].Any()
		if filter != "" {
			err = nsp.To(filter).Emit(ev, rest...)
		} else {
			err = nsp.Emit(ev, rest...)
		}
		if err != nil {
			a.log.Info("admin: emit refused", "event", ev, "err", err)
		}
	})
	s.On("join", func(s *sio.Socket, args sio.Args, _ sio.Ack) {
		nsp, filter, ok := a.target(args, 0, 2)
		room, err := sio.Arg[string](args, 1)
		if !ok || err != nil || room == "" {
			return
		}
		if filter != "" {
			nsp.In(filter).SocketsJoin(room)
		} else {
			nsp.SocketsJoin(room)
		}
	})
	s.On("leave", func(s *sio.Socket, args sio.Args, _ sio.Ack) {
		nsp, filter, ok := a.target(args, 0, 2)
		room, err := sio.Arg[string](args, 1)
		if !ok || err != nil || room == "" {
			return
		}
		if filter != "" {
			nsp.In(filter).SocketsLeave(room)
		} else {
			nsp.SocketsLeave(room)
		}
	})
	s.On("_disconnect", func(s *sio.Socket, args sio.Args, _ sio.Ack) {
		nsp, filter, ok := a.target(args, 0, 2)
		if !ok {
			return
		}
		closeConn, _ := sio.Arg[bool](args, 1)
		if filter != "" {
			nsp.In(filter).DisconnectSockets(closeConn)
		} else {
			nsp.DisconnectSockets(closeConn)
		}
	})
}

// target reads a command's namespace (args[nspAt], which must exist: the
// UI never names another) and its optional filter (args[filterAt]: a room
// or a socket id; absent, null or "" for all).
func (a *Admin) target(args sio.Args, nspAt, filterAt int) (*sio.Namespace, string, bool) {
	name, err := sio.Arg[string](args, nspAt)
	if err != nil {
		return nil, "", false
	}
	n := a.srv.Lookup(name)
	if n == nil {
		return nil, "", false
	}
	var filter string
	if filterAt < len(args) {
		filter, _ = sio.Arg[string](args, filterAt)
	}
	return n, filter, true
}
