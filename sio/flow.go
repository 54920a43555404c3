package sio

import "math"

// Flow control of a connection's inbound packets: when its handlers fall
// behind (Options.MaxQueuedPackets or MaxQueuedBytes waiting), the
// connection's reads are paused — a WebSocket stops being read, so TCP
// pushes back on the client; a polling POST's answer waits — and resumed
// once the handlers have caught up with half of it. A legitimate burst
// (the official client flushes its offline buffer in one POST) is slowed
// down, never cut; only a transport that keeps delivering past twice the
// limits is disconnected (ErrInboundOverflow: the mailbox refuses a packet
// past twice MaxQueuedPackets, admit one past twice MaxQueuedBytes).
//
// The state is the client's paused flag under c.mu (it costs no byte: the
// client stays at 128). The pause is decided and passed to the session
// under c.mu, so a resume cannot overtake it; the resume is passed on
// outside (a polling session delivers the rest of a held POST right there,
// which may pause again). Nothing can pause meanwhile: a paused session
// delivers nothing.

// admit counts size bytes as queued for the handlers, unless what waits
// already is past twice MaxQueuedBytes (a transport that ignores the
// pause; one packet alone is never too big).
func (c *client) admit(size int) bool {
	hard := min(2*int64(c.srv.opts.MaxQueuedBytes), math.MaxInt32)
	if before := int64(c.queued.Load()); before > 0 && before+int64(size) > hard {
		return false
	}
	c.queued.Add(int32(min(size, math.MaxInt32)))
	return true
}

// flowAfterSubmit pauses the session's reads when the handlers are at the
// limits. On the loop, from dispatch.
func (c *client) flowAfterSubmit() {
	o := &c.srv.opts
	over := func() bool { return c.mb.Len() >= o.MaxQueuedPackets || int(c.queued.Load()) >= o.MaxQueuedBytes }
	if !over() {
		return
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	// Checked again under c.mu: had the handlers drained the queue since,
	// no packet would be left to resume the reads (maybeResume runs as
	// each one starts, and waits for c.mu).
	if c.paused || c.closed || !over() {
		return
	}
	c.paused = true
	c.srv.stats.readPauses.Add(1)
	c.sess.PauseReads()
}

// maybeResume resumes the session's reads once the handlers are down to
// half the limits. On the mailbox, as each packet starts.
func (c *client) maybeResume() {
	o := &c.srv.opts
	c.mu.Lock()
	resume := c.paused && c.mb.Len() <= o.MaxQueuedPackets/2 && int(c.queued.Load()) <= o.MaxQueuedBytes/2
	if resume {
		c.paused = false
	}
	c.mu.Unlock()
	if resume {
		c.sess.ResumeReads()
	}
}
