package main

import (
	"strings"
	"sync/atomic"
	"unicode/utf8"

	"github.com/fanio/fanio/sio"
)

// The chat's events, those of the well-known Socket.IO chat demo:
//
//	client → server: "add user" (name), "new message" (text), "typing", "stop typing"
//	server → client: "login" {numUsers}            to the user who logged in
//	                 "user joined" {username, numUsers}  to everyone else
//	                 "new message" {username, message}   to everyone else
//	                 "typing" / "stop typing" {username}  to everyone else
//	                 "user left" {username, numUsers}    to everyone else
const (
	maxNameRunes    = 32
	maxMessageRunes = 2000
)

// chat is the server side: a count of logged-in users, and per socket its
// user name. A socket's handlers run one at a time (sio's per-connection
// mailbox), so the per-socket state needs no lock; the count is shared.
type chat struct {
	users atomic.Int64
}

type user struct {
	name string // "" until "add user"
}

func (c *chat) onConnection(s *sio.Socket) {
	u := &user{}
	s.On("add user", func(s *sio.Socket, args sio.Args, _ sio.Ack) {
		if u.name != "" {
			return // once per connection, as in the demo
		}
		name, err := sio.Arg[string](args, 0)
		if name = strings.TrimSpace(name); err != nil || name == "" || utf8.RuneCountInString(name) > maxNameRunes {
			_ = s.Emit("login error", "a name is 1 to 32 characters")
			return
		}
		u.name = name
		n := c.users.Add(1)
		_ = s.Emit("login", map[string]any{"numUsers": n})
		_ = s.Broadcast().Emit("user joined", map[string]any{"username": name, "numUsers": n})
	})
	s.On("new message", func(s *sio.Socket, args sio.Args, _ sio.Ack) {
		msg, err := sio.Arg[string](args, 0)
		if u.name == "" || err != nil || msg == "" || utf8.RuneCountInString(msg) > maxMessageRunes {
			return
		}
		_ = s.Broadcast().Emit("new message", map[string]any{"username": u.name, "message": msg})
	})
	for _, ev := range []string{"typing", "stop typing"} {
		s.On(ev, func(s *sio.Socket, _ sio.Args, _ sio.Ack) {
			if u.name != "" {
				_ = s.Broadcast().Emit(ev, map[string]any{"username": u.name})
			}
		})
	}
	s.OnDisconnect(func(s *sio.Socket, _ sio.DisconnectReason) {
		if u.name == "" {
			return
		}
		n := c.users.Add(-1)
		_ = s.Broadcast().Emit("user left", map[string]any{"username": u.name, "numUsers": n})
	})
}
