package eventloop

import (
	"io"
	"net"
)

// prefixConn is a net.Conn whose Read returns prefix before what the
// connection reads: a connection handed over with bytes already read from
// it.
type prefixConn struct {
	net.Conn
	prefix []byte
}

func newPrefixConn(nc net.Conn, prefix []byte) net.Conn {
	if len(prefix) == 0 {
		return nc
	}
	return &prefixConn{Conn: nc, prefix: append([]byte(nil), prefix...)}
}

func (c *prefixConn) Read(b []byte) (int, error) {
	if len(c.prefix) > 0 {
		n := copy(b, c.prefix)
		c.prefix = c.prefix[n:]
		if len(c.prefix) == 0 {
			c.prefix = nil
		}
		return n, nil
	}
	return c.Conn.Read(b)
}

// ReadFrom keeps the connection's own (sendfile, splice) where it has one:
// net/http uses it to serve files.
func (c *prefixConn) ReadFrom(r io.Reader) (int64, error) {
	if rf, ok := c.Conn.(io.ReaderFrom); ok {
		return rf.ReadFrom(r)
	}
	return io.Copy(struct{ io.Writer }{c.Conn}, r)
}

// CloseWrite half-closes the connection where it can be.
func (c *prefixConn) CloseWrite() error {
	if cw, ok := c.Conn.(interface{ CloseWrite() error }); ok {
		return cw.CloseWrite()
	}
	return c.Conn.Close()
}
