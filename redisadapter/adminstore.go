package redisadapter

import (
	"context"
	"time"
)

// SessionStore keeps the Admin UI's session ids in Redis (package admin's
// Store: admin.Options.Store), so that a UI that logged in on one node is
// known to every node of the cluster. Its keys are those of the
// reference's RedisStore (@socket.io/admin-ui): "socket.io-admin#<id>",
// value "1", expiring after 24 h — Node.js nodes running the admin UI with
// a RedisStore on the same Redis share the sessions.
type SessionStore struct {
	c   *Client
	ttl time.Duration
}

// AdminSessions returns the Client's SessionStore.
func (c *Client) AdminSessions() *SessionStore { return &SessionStore{c: c, ttl: 24 * time.Hour} }

func sessionKey(id string) string { return "socket.io-admin#" + id }

// SaveSession records a session id (SET key 1 EX 86400).
func (s *SessionStore) SaveSession(ctx context.Context, id string) error {
	rc := s.c.rc
	return rc.Do(ctx, rc.B().Set().Key(sessionKey(id)).Value("1").ExSeconds(int64(s.ttl/time.Second)).Build()).Error()
}

// SessionExists reports whether a session id was saved and has not
// expired (EXISTS key).
func (s *SessionStore) SessionExists(ctx context.Context, id string) (bool, error) {
	rc := s.c.rc
	n, err := rc.Do(ctx, rc.B().Exists().Key(sessionKey(id)).Build()).AsInt64()
	return n > 0, err
}
