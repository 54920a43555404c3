//go:build !(darwin || dragonfly || freebsd || linux || netbsd || openbsd)

package eventloop

import (
	"errors"
	"net"
)

// Without epoll or kqueue (Windows, among others) there is no reactor:
// every connection is served on goroutines (netLink), and Serve hands the
// connections it accepts to the Diverter (a net/http server).

var errNoReactor = errors.New("eventloop: no reactor on this platform")

type reactor struct{}

func startReactor(*Server) (*reactor, error)                   { return nil, errNoReactor }
func (*reactor) enroll(*net.TCPConn, []byte) error             { return errNoReactor }
func (*reactor) enrollFrames(*net.TCPConn, *framesSetup) error { return errNoReactor }
func (*reactor) stop()                                         {}
func (c *Conn) canDetach() bool                                { return false }
func (c *Conn) detach([]byte) (net.Conn, error)                { return nil, errNoReactor }
func shutdownFd(int) error                                     { return errNoReactor }
func (s *Server) directAcceptor(net.Listener) directListener   { return nil }

// writeNow writes nothing: these links are written on their loop (or
// their writer goroutine) only.
func (c *Conn) writeNow([]byte) int { return 0 }

// linkState and reactorLoop are empty: these links are not held by their
// Conn, and a loop needs nothing more.
type (
	linkState   struct{}
	reactorLoop struct{}
)
