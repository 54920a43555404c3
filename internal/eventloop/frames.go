package eventloop

import (
	"encoding/binary"
	"errors"
	"fmt"
	"net"
	"time"

	"github.com/fanio/fanio/internal/pool"
)

// A framed connection carries length-prefixed messages (a 4-byte big-endian
// length, then that many bytes) between two servers (engine's cluster
// links): served like any other connection — on a reactor loop, with no
// goroutine of its own, or on goroutines where there is no reactor — but
// with no HTTP, no idle timeout, no MaxConns count, and an outbound cap of
// MaxFrameBytes instead of MaxOutboundBytes. Each complete frame goes to
// the owner's OnMessage (binary set), on the loop.

// ErrFrameTooBig is the close reason of a framed connection that announced
// a frame over MaxFrameBytes.
var ErrFrameTooBig = errors.New("eventloop: frame too big")

// framesSetup travels with a framed connection to the loop that opens it.
type framesSetup struct {
	owner  Owner
	conn   *Conn
	opened chan struct{}
}

// AdoptFrames serves nc as a framed connection whose messages go to owner
// (see above), and returns it: write frames with WriteFrame. It returns
// once the connection is registered; on error nc is closed.
func (s *Server) AdoptFrames(nc net.Conn, owner Owner) (*Conn, error) {
	if s.isDead() {
		nc.Close()
		return nil, ErrServerClosed
	}
	setup := &framesSetup{owner: owner, opened: make(chan struct{})}
	if tc, ok := nc.(*net.TCPConn); ok && s.Reactor() {
		if err := s.enrollFrames(tc, setup); err != nil {
			nc.Close()
			return nil, fmt.Errorf("eventloop: adopt frames: %w", err)
		}
		select {
		case <-setup.opened:
			if setup.conn == nil {
				return nil, errors.New("eventloop: adopt frames: the loop could not register the connection")
			}
		case <-time.After(10 * time.Second):
			return nil, errors.New("eventloop: adopt frames: the loop did not open the connection")
		}
		return setup.conn, nil
	}
	s.servePortableFrames(nc, setup)
	return setup.conn, nil
}

// openFrames makes c a framed connection. Loop only (or before it runs).
func (c *Conn) openFrames(setup *framesSetup) {
	c.mode = modeFrames
	c.link = true
	c.stopTimer(true)
	c.SetOwner(setup.owner)
	setup.conn = c
	close(setup.opened)
}

// WriteFrame queues msg as one frame (copied). Safe from any goroutine.
func (c *Conn) WriteFrame(msg []byte) error {
	bb := pool.Get()
	bb.B = binary.BigEndian.AppendUint32(bb.B, uint32(len(msg)))
	bb.B = append(bb.B, msg...)
	return c.WriteOwned(bb)
}

// readFrames hands every complete frame to the owner.
func (c *Conn) readFrames() {
	limit := c.loop.srv.cfg.MaxFrameBytes
	for c.mode == modeFrames && !c.Closed() {
		n := c.buffered()
		if n < 4 || n < int(c.need) {
			return
		}
		hdr, _ := c.peek(4)
		size := int(binary.BigEndian.Uint32(hdr))
		if size > limit {
			c.Close(ErrFrameTooBig)
			c.discard(-1)
			return
		}
		if n < 4+size {
			c.setNeed(4 + size)
			return
		}
		c.need = 0
		buf, _ := c.peek(4 + size)
		c.mu.Lock()
		owner := c.owner
		c.mu.Unlock()
		if owner != nil {
			owner.OnMessage(c, buf[4:], true)
		}
		c.discard(4 + size)
	}
}

// outCap is the most a connection may have queued unwritten.
func (c *Conn) outCap() int {
	if c.link {
		return c.loop.srv.cfg.MaxFrameBytes
	}
	return c.loop.srv.cfg.MaxOutboundBytes
}
