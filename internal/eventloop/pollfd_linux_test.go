//go:build linux && fanio_gnet && !poll_opt

package eventloop

import "testing"

// The reactor's poller descriptor is found in gnet's connection (it is how
// PauseReads turns reading off): this fails if gnet's layout changes.
func TestPollerFdFound(t *testing.T) {
	_, _, _, sc := wsConn(t, startServer, Options{}, nil)
	fd, ok := pollerFd(sc.ln.(gnetLink).Conn)
	if !ok || fd <= 0 {
		t.Fatalf("pollerFd = %d, %v: the poller of gnet's loop was not found", fd, ok)
	}
}
