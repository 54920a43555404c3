package eventloop

import (
	"io"
	"net"

	"github.com/fanio/fanio/internal/pool"
)

// link is the byte stream under a Conn: an fdLink on an epoll loop
// (reactor_epoll.go), a gnetLink on a gnet loop (reactor_gnet.go), or a
// netLink, a net.Conn served by goroutines.
// Inbound and outbound methods are for the Conn's loop only; Close, Wake
// and the addresses are safe from any goroutine.
type link interface {
	InboundBuffered() int
	Peek(n int) ([]byte, error)
	Discard(n int) (int, error)
	Write(b []byte) (int, error)
	Writev(bs [][]byte) (int, error)
	OutboundBuffered() int
	Wake() error // runs the reading code again (for bytes already buffered)
	Close() error
	Fd() int
	RemoteAddr() net.Addr
}

// The Conn's view of its inbound bytes. A connection adopted onto a reactor
// loop with bytes already read (a hijacked request and what net/http had
// buffered after it) keeps them in pre until they are consumed: what the
// socket brings meanwhile is appended to pre, so that the reading code
// always sees one contiguous buffer. Without pre these are the link's own
// zero-copy methods. Loop only.

func (c *Conn) buffered() int {
	n := c.ln.InboundBuffered()
	if c.pre != nil {
		n += len(c.pre.B)
	}
	return n
}

// peek returns the first n buffered bytes (all with n < 0), valid until the
// next discard or the end of the callback.
func (c *Conn) peek(n int) ([]byte, error) {
	if c.pre == nil {
		return c.ln.Peek(n)
	}
	if m := c.ln.InboundBuffered(); m > 0 {
		b, _ := c.ln.Peek(-1)
		c.pre.B = append(c.pre.B, b...)
		_, _ = c.ln.Discard(m)
	}
	switch {
	case n < 0:
		return c.pre.B, nil
	case n > len(c.pre.B):
		return c.pre.B, io.ErrShortBuffer
	}
	return c.pre.B[:n], nil
}

// discard drops the first n buffered bytes (all with n < 0).
func (c *Conn) discard(n int) {
	if c.pre == nil {
		_, _ = c.ln.Discard(n)
		return
	}
	if n >= 0 && n < len(c.pre.B) {
		c.pre.B = c.pre.B[:copy(c.pre.B, c.pre.B[n:])]
		return
	}
	rest := n - len(c.pre.B)
	pool.Put(c.pre)
	c.pre = nil
	switch {
	case n < 0:
		_, _ = c.ln.Discard(-1)
	case rest > 0:
		_, _ = c.ln.Discard(rest)
	}
}
