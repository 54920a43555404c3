package sio

import (
	"time"

	"github.com/fanio/fanio/internal/codec"
	"github.com/fanio/fanio/internal/pool"
)

// Disconnect disconnects the socket from its namespace (the client gets a
// DISCONNECT; reason "server namespace disconnect"), or with close the
// whole connection (every socket of the client). The disconnect handlers
// run on the socket's mailbox: right away when called from one of its
// handlers, soon after otherwise.
func (s *Socket) Disconnect(close bool) {
	if !s.Connected() {
		return
	}
	c := s.c
	if close {
		socks := c.socketList()
		for _, x := range socks {
			x.serverDisconnect()
		}
		_ = c.mb.ForceSubmit(pool.TaskFunc(func() {
			c.mu.Lock()
			c.closed = true
			c.mu.Unlock()
			_ = c.sess.Close()
		}))
		return
	}
	s.serverDisconnect()
}

func (s *Socket) serverDisconnect() {
	if s.setFlag(socketClosing, true) {
		return
	}
	s.markEnded(false)
	_ = s.c.sendRaw(codec.SIODisconnect, s.nsp.name, nil)
	s.setFlag(socketConnected, false)
	if err := s.c.mb.ForceSubmit(pool.TaskFunc(func() { s.finish(ReasonServerNamespaceDisconnect) })); err != nil {
		s.finish(ReasonServerNamespaceDisconnect)
	}
}

// onClose disconnects the socket for reason; on the mailbox.
func (s *Socket) onClose(reason DisconnectReason) {
	if s.setFlag(socketClosing, true) {
		return
	}
	s.markEnded(true)
	s.setFlag(socketConnected, false)
	s.finish(reason)
}

// finish runs the disconnecting handlers (rooms still readable), keeps the
// session for recovery, leaves the rooms, and runs the disconnect
// handlers.
func (s *Socket) finish(reason DisconnectReason) {
	s.nsp.srv.stats.disconnected(reason)
	s.runOwnEvent(eventDisconnecting, reason)
	n := s.nsp
	if n.srv.opts.ConnectionStateRecovery != nil && recoverable[reason] {
		n.adapter.PersistSession(&PersistedSession{
			SID: s.id, PID: s.privateID(), Rooms: s.Rooms(), Data: s.Data(), DisconnectedAt: time.Now(),
		})
	}
	n.adapter.DelAll(s.id)
	n.removeSocket(s)
	s.c.removeSocket(s)
	s.OffAnyOutgoing()
	// Acknowledgements that can no longer come: requests get
	// ErrDisconnected, broadcasts count the socket as gone.
	s.failAcks(ErrDisconnected, true)
	s.runOwnEvent(eventDisconnect, reason)
}
