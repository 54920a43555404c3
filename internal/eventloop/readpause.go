package eventloop

import (
	"errors"

	"github.com/gobwas/ws"
)

// ErrInboundOverflow is passed to Owner.OnClose for a connection whose
// reads were paused and that still piled up more than the server holds for
// a paused connection (see PauseReads).
var ErrInboundOverflow = errors.New("eventloop: inbound overflow while reads were paused")

// PauseReads stops reading from the connection: a WebSocket delivers no
// message after the one being delivered, and the poller stops reading from
// the socket, so the kernel's buffers fill and TCP pushes back on the
// client. ResumeReads undoes it. Writes go on. Safe from any goroutine
// (from an Owner's OnMessage, it takes effect before the next message).
//
// A gnet loop turns reads back on when its write buffer drains; the
// connection then reads once more (up to the loop's read buffer) and pauses
// again. A paused WebSocket that still piles up more than the largest
// message plus 1 MiB is closed (1008, ErrInboundOverflow). Where gnet's
// poller cannot be reached (kqueue), pausing only stops the delivery of
// messages, within the same bound.
func (c *Conn) PauseReads() {
	if c.readPaused.Swap(true) {
		return
	}
	c.loop.srv.readPauses.Add(1)
	c.kick()
}

// ResumeReads resumes reading after PauseReads; buffered messages are
// delivered at once. Safe from any goroutine.
func (c *Conn) ResumeReads() {
	if !c.readPaused.Swap(false) {
		return
	}
	c.kick()
}

// ReadsPaused reports whether PauseReads is in effect.
func (c *Conn) ReadsPaused() bool { return c.readPaused.Load() }

// pausedInboundSlack is what a paused connection may buffer beyond its
// largest message before it is closed.
const pausedInboundSlack = 1 << 20

// syncReads makes the poller's read interest match readPaused. Loop only.
func (c *Conn) syncReads() {
	if c.Closed() || c.detached {
		return
	}
	if c.readPaused.Load() {
		if c.mode == modeWebSocket && c.buffered() > c.loop.srv.cfg.MaxMessageBytes+pausedInboundSlack {
			c.loop.srv.inboundOverflows.Add(1)
			c.failWebSocket(ws.StatusPolicyViolation, "inbound overflow", ErrInboundOverflow)
			return
		}
		c.pollPaused = true
		c.setReadInterest(false)
		return
	}
	if c.pollPaused {
		c.pollPaused = false
		c.setReadInterest(true)
		if c.buffered() > 0 {
			_ = c.ln.Wake() // deliver what was read before the pause
		}
	}
}

// readSwitch is a link on a reactor loop that can stop reading its socket.
type readSwitch interface {
	setReads(l *loop, on bool) // loop only
}

// setReadInterest turns the reading of c's socket on or off. Loop only.
func (c *Conn) setReadInterest(on bool) {
	switch ln := c.ln.(type) {
	case *netLink:
		if on {
			ln.resumeReader()
		}
		// else the reader goroutine checks readPaused before each read
	case readSwitch:
		ln.setReads(c.loop, on)
	}
}
