package admin

import (
	"context"
	"sync"
	"time"
)

// Options configure Instrument. Exactly one of Auth and NoAuth must be
// set: there is no unauthenticated admin by accident.
type Options struct {
	// Namespace is the admin namespace ("namespaceName"); default "/admin".
	Namespace string
	// Auth requires a user name and password: basic authentication.
	Auth *BasicAuth
	// NoAuth lets anyone who reaches the namespace administer the server
	// ("auth: false"). Use it only where the network already restricts
	// who can.
	NoAuth bool
	// ReadOnly accepts no command (emit, join, leave, disconnect) from the
	// UI ("readonly").
	ReadOnly bool
	// ServerID identifies this node in the UI's server list ("serverId");
	// default the host name.
	ServerID string
	// Store keeps the session ids of logged-in UIs ("store"); default an
	// in-memory store (sessions last 24 h). In a cluster, use a store all
	// nodes share, or a UI reconnecting to another node logs in again.
	Store Store
	// Mode is "development" (the default, as the reference's without
	// NODE_ENV) or "production" ("mode"): production sends only the
	// aggregated stats, not the sockets, rooms and events.
	Mode string
	// StatsInterval is how often server_stats is emitted; default 2 s, as
	// the reference (the UI marks a server unhealthy after 10 s without).
	StatsInterval time.Duration
}

// Modes.
const (
	ModeDevelopment = "development"
	ModeProduction  = "production"
)

// BasicAuth is the user name and the bcrypt hash of the password the UI
// must give ("auth: {type: 'basic', username, password}"), e.g. from
// `htpasswd -bnBC 10 "" PASSWORD | tr -d ':\n'` or
// bcrypt.GenerateFromPassword.
type BasicAuth struct {
	Username     string
	PasswordHash string
}

// Store keeps the ids of authenticated sessions (the reference's Store:
// InMemoryStore, RedisStore). Its methods may block briefly; they run on a
// handler goroutine during an admin connection's middleware.
type Store interface {
	// SaveSession records a new session id.
	SaveSession(ctx context.Context, id string) error
	// SessionExists reports whether id was saved and has not expired.
	SessionExists(ctx context.Context, id string) (bool, error)
}

// NewMemoryStore returns a Store in this process's memory, whose sessions
// expire after ttl (24 h when ttl <= 0, as the reference's Redis store).
func NewMemoryStore(ttl time.Duration) Store {
	if ttl <= 0 {
		ttl = 24 * time.Hour
	}
	return &memoryStore{ttl: ttl, m: make(map[string]time.Time)}
}

type memoryStore struct {
	ttl time.Duration
	mu  sync.Mutex
	m   map[string]time.Time // id → expiry
}

func (s *memoryStore) SaveSession(_ context.Context, id string) error {
	now := time.Now()
	s.mu.Lock()
	defer s.mu.Unlock()
	if len(s.m) >= 1024 {
		for k, exp := range s.m {
			if now.After(exp) {
				delete(s.m, k)
			}
		}
	}
	s.m[id] = now.Add(s.ttl)
	return nil
}

func (s *memoryStore) SessionExists(_ context.Context, id string) (bool, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	exp, ok := s.m[id]
	if ok && time.Now().After(exp) {
		delete(s.m, id)
		return false, nil
	}
	return ok, nil
}
