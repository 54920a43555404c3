//go:build darwin || dragonfly || freebsd || linux || netbsd || openbsd

package eventloop

import (
	"net"
	"os"
	"syscall"

	"golang.org/x/sys/unix"

	"github.com/fanio/fanio/internal/pool"
)

// adoption travels with a connection moved onto a loop, to the loop that
// opens it.
type adoption struct {
	pre    *pool.Buffer // the bytes read already, copied (they become Conn.pre)
	frames *framesSetup // a framed connection (frames.go)
}

// newAdoption copies prefix (the caller may reuse it once enroll returns);
// nil without one.
func newAdoption(prefix []byte) *adoption {
	if len(prefix) == 0 {
		return nil
	}
	pre := pool.Get()
	pre.B = append(pre.B, prefix...)
	return &adoption{pre: pre}
}

// canDetach reports whether the connection can change hands: a reactor
// connection can (its descriptor is duplicated), a netLink serves only the
// hijacked requests that brought it here.
func (c *Conn) canDetach() bool {
	_, ok := c.ln.(*netLink)
	return !ok
}

// detach returns a net.Conn on a duplicate of c's descriptor whose Read
// returns prefix first. The loop then closes its own descriptor (the caller
// marks c detached; OnTraffic closes it). Loop only.
func (c *Conn) detach(prefix []byte) (net.Conn, error) {
	fd, err := unix.FcntlInt(uintptr(c.ln.Fd()), unix.F_DUPFD_CLOEXEC, 0)
	if err != nil {
		return nil, os.NewSyscallError("dup", err)
	}
	f := os.NewFile(uintptr(fd), "fanio-handoff")
	nc, err := net.FileConn(f)
	f.Close()
	if err != nil {
		return nil, err
	}
	return newPrefixConn(nc, prefix), nil
}

// shutdownFd half-closes a socket descriptor (FIN after what is written).
func shutdownFd(fd int) error { return syscall.Shutdown(fd, syscall.SHUT_WR) }
