package engine

import "github.com/fanio/fanio/internal/pool"

// Flow control: a Handler that cannot keep up with a client pauses the
// session's reads instead of dropping or disconnecting it.

// PauseReads stops taking messages from the client until ResumeReads: the
// Handler's way to push back when it cannot keep up. On a WebSocket the
// connection stops reading, so the kernel's buffers fill and TCP pushes
// back on the client; on polling, the POST being read keeps its remaining
// packets, and its answer, until ResumeReads (a client sends one POST at a
// time). Called from OnMessage, it takes effect before the next message.
// While reads are paused the ping timeout is suspended: the pong may be
// among what is not read yet. Safe from any goroutine.
func (s *Session) PauseReads() {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.flow&flowPaused != 0 || s.state != stateOpen {
		return
	}
	s.flow |= flowPaused
	if s.kind == kindWebSocket {
		s.ws.PauseReads()
	} else {
		s.srv.stats.pollPauses.Add(1)
	}
}

// ResumeReads undoes PauseReads. On polling, the packets of a held POST
// are delivered on the calling goroutine (Handler.OnMessage runs there,
// and may pause again) before the POST is answered. Safe from any
// goroutine.
func (s *Session) ResumeReads() {
	s.mu.Lock()
	if s.flow&flowPaused == 0 {
		s.mu.Unlock()
		return
	}
	s.flow &^= flowPaused
	var post *heldPost
	switch {
	case s.kind == kindWebSocket:
		s.ws.ResumeReads()
	case s.p != nil && s.p.post != nil:
		post = s.p.post
		s.p.post = nil
		post.x.unhold()
	}
	s.mu.Unlock()
	if post == nil {
		return
	}
	var body []byte
	if post.rest != nil {
		body = post.rest.B
	}
	hp := *post
	hp.rest = nil
	s.readPost(&hp, body) // copies what it holds again
	pool.Put(post.rest)
}

// ReadsPaused reports whether PauseReads is in effect.
func (s *Session) ReadsPaused() bool { return s.readsPaused() }
