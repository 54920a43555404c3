package engine

import (
	"context"
	"log/slog"
	"net"
	"net/http"
	"sync"
	"time"
)

// netHTTP is the net/http server behind a server's own listeners, for the
// connections the event loops do not serve:
//   - connections whose request is outside Path, when there is a NotFound
//     handler: the loop hands the connection over from that request on
//     (eventloop.Diverter), so that handler gets all of net/http —
//     streaming with backpressure, HEAD, http.Flusher, a context that ends
//     when the client goes, logged panics;
//   - TLS connections, and every connection where there are no event loops
//     (Windows): the engine serves them mounted on this server, as it
//     serves one mounted by a user (ServeHTTP).
//
// It is started on first use.
type netHTTP struct {
	srv      *http.Server
	ln       *connListener
	releases sync.Map // net.Conn → func(): stop counting it against MaxConnections
	served   chan struct{}
}

// netHTTP returns the server's net/http server, started on first use; nil
// after Shutdown.
func (s *Server) netHTTP() *netHTTP {
	s.httpMu.Lock()
	defer s.httpMu.Unlock()
	if s.http == nil && !s.httpClosed {
		h := &netHTTP{ln: newConnListener(), served: make(chan struct{})}
		h.ln.dropped = func(c net.Conn) { h.connState(c, http.StateClosed) }
		h.srv = &http.Server{
			Handler: s,
			// Bounds a TLS handshake and a request's head, as the loops'
			// idle timeout does; no write timeout: long polls and streams.
			ReadHeaderTimeout: 60 * time.Second,
			IdleTimeout:       60 * time.Second,
			MaxHeaderBytes:    s.opts.MaxHeaderBytes,
			ErrorLog:          slog.NewLogLogger(s.opts.Logger.Handler(), slog.LevelError),
			ConnState:         h.connState,
		}
		go func() {
			defer close(h.served)
			_ = h.srv.Serve(h.ln)
		}()
		s.http = h
	}
	return s.http
}

// closeNetHTTP stops the net/http server (if it ever started) and keeps it
// from starting again.
func (s *Server) closeNetHTTP(ctx context.Context) error {
	s.httpMu.Lock()
	h := s.http
	s.httpClosed = true
	s.httpMu.Unlock()
	if h == nil {
		return nil
	}
	return h.shutdown(ctx)
}

// serveConn gives nc to the net/http server (h may be nil: shut down). It
// does not block.
func (h *netHTTP) serveConn(nc net.Conn, release func()) {
	if h == nil {
		release()
		nc.Close()
		return
	}
	h.releases.Store(nc, release)
	if !h.ln.push(nc) {
		h.releases.Delete(nc)
		release()
		nc.Close()
	}
}

func (h *netHTTP) connState(c net.Conn, st http.ConnState) {
	if st == http.StateClosed || st == http.StateHijacked {
		if r, ok := h.releases.LoadAndDelete(c); ok {
			r.(func())()
		}
	}
}

// shutdown stops the net/http server: gracefully within ctx, then by force.
func (h *netHTTP) shutdown(ctx context.Context) error {
	err := h.srv.Shutdown(ctx)
	if err != nil {
		_ = h.srv.Close()
	}
	<-h.served
	return err
}

// connListener is a net.Listener whose connections are pushed to it.
type connListener struct {
	mu      sync.Mutex
	queue   []net.Conn
	closed  bool
	ready   chan struct{}
	done    chan struct{}
	dropped func(net.Conn) // told of the connections closed unaccepted
}

func newConnListener() *connListener {
	return &connListener{ready: make(chan struct{}, 1), done: make(chan struct{})}
}

func (l *connListener) push(c net.Conn) bool {
	l.mu.Lock()
	if l.closed {
		l.mu.Unlock()
		return false
	}
	l.queue = append(l.queue, c)
	l.mu.Unlock()
	select {
	case l.ready <- struct{}{}:
	default:
	}
	return true
}

func (l *connListener) Accept() (net.Conn, error) {
	for {
		l.mu.Lock()
		if len(l.queue) > 0 {
			c := l.queue[0]
			l.queue[0] = nil
			l.queue = l.queue[1:]
			l.mu.Unlock()
			return c, nil
		}
		closed := l.closed
		l.mu.Unlock()
		if closed {
			return nil, net.ErrClosed
		}
		select {
		case <-l.ready:
		case <-l.done:
		}
	}
}

func (l *connListener) Close() error {
	l.mu.Lock()
	if l.closed {
		l.mu.Unlock()
		return nil
	}
	l.closed = true
	queued := l.queue
	l.queue = nil
	close(l.done)
	l.mu.Unlock()
	for _, c := range queued {
		c.Close()
		if l.dropped != nil {
			l.dropped(c)
		}
	}
	return nil
}

func (l *connListener) Addr() net.Addr { return connListenerAddr{} }

type connListenerAddr struct{}

func (connListenerAddr) Network() string { return "handoff" }
func (connListenerAddr) String() string  { return "handoff" }
