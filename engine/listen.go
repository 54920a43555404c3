package engine

import (
	"context"
	"crypto/tls"
	"errors"
	"net"
	"net/http"
	"time"

	"github.com/fanio/fanio/internal/eventloop"
)

// Start listens on addr ("host:port"; port 0 picks a free one) and serves
// in the background; it returns once the listener is bound. If the server
// later stops for a reason other than Shutdown (its listener failed for
// good, its event loops died), the reason is logged, Done is closed and Err
// says why; ListenAndServe is the blocking form.
func (s *Server) Start(addr string) error {
	ln, err := listen(addr)
	if err != nil {
		return err
	}
	s.setAddr(ln.Addr())
	go func() {
		if err := s.Serve(ln); !errors.Is(err, http.ErrServerClosed) {
			s.opts.Logger.Error("engine: the server stopped", "err", err)
			s.loop.Fail(err)
		}
	}()
	return nil
}

// ListenAndServe listens on addr and serves until Shutdown, when it returns
// http.ErrServerClosed, or until the server cannot go on, when it returns
// why (a listener that failed for good, event loops that died). Accept
// errors that pass (out of file descriptors or memory) do not stop it: it
// backs off and goes on serving (see Options.MaxConnections).
func (s *Server) ListenAndServe(addr string) error {
	ln, err := listen(addr)
	if err != nil {
		return err
	}
	return s.Serve(ln)
}

// ListenAndServeTLS is ListenAndServe over TLS (wss:// and https polling),
// with Options.TLSConfig (cloned) plus the certificate and key in certFile
// and keyFile (PEM), which may be empty when TLSConfig has certificates.
// ALPN offers h2 and http/1.1 unless TLSConfig says otherwise: over HTTP/2
// polling works and a WebSocket client uses HTTP/1.1.
//
// TLS connections are served on a goroutine each, not on the event loops
// (gnet has no TLS): polling by a net/http server, WebSockets by the same
// code as on the loops, on goroutines. BENCHMARKS.md says what that costs.
func (s *Server) ListenAndServeTLS(addr, certFile, keyFile string) error {
	cfg, err := s.tlsConfig(certFile, keyFile)
	if err != nil {
		return err
	}
	ln, err := listen(addr)
	if err != nil {
		return err
	}
	return s.Serve(tls.NewListener(ln, cfg))
}

// listen binds addr for the server's own listeners. Accepted connections get
// no TCP keep-alive: Engine.IO's heartbeat already finds dead peers, and
// the four setsockopt calls per connection Go makes for it cost 2-3 µs of a
// connect's CPU.
func listen(addr string) (net.Listener, error) {
	lc := net.ListenConfig{KeepAlive: -1}
	return lc.Listen(context.Background(), "tcp", addr)
}

func (s *Server) tlsConfig(certFile, keyFile string) (*tls.Config, error) {
	cfg := &tls.Config{}
	if s.opts.TLSConfig != nil {
		cfg = s.opts.TLSConfig.Clone()
	}
	if certFile != "" || keyFile != "" {
		cert, err := tls.LoadX509KeyPair(certFile, keyFile)
		if err != nil {
			return nil, err
		}
		cfg.Certificates = append(cfg.Certificates, cert)
	}
	if len(cfg.Certificates) == 0 && cfg.GetCertificate == nil && cfg.GetConfigForClient == nil {
		return nil, errors.New("engine: TLS needs a certificate (certFile and keyFile, or Options.TLSConfig)")
	}
	if len(cfg.NextProtos) == 0 {
		cfg.NextProtos = []string{"h2", "http/1.1"}
	}
	return cfg, nil
}

// Serve serves on ln until Shutdown (it returns http.ErrServerClosed) or
// until the server cannot go on (it returns why); see ListenAndServe. It
// closes ln. Plain TCP connections are served on the event loops; others
// — TLS (a tls.NewListener), or all of them where there are no event loops —
// on goroutines, as ListenAndServeTLS says. Serve may be called for several
// listeners.
func (s *Server) Serve(ln net.Listener) error {
	s.setAddr(ln.Addr())
	if s.closing.Load() {
		ln.Close()
		return http.ErrServerClosed
	}
	err := s.loop.Serve(ln)
	if errors.Is(err, eventloop.ErrServerClosed) || (s.closing.Load() && errors.Is(err, net.ErrClosed)) {
		return http.ErrServerClosed
	}
	return err
}

func (s *Server) setAddr(a net.Addr) {
	s.addrMu.Lock()
	if s.addr == nil {
		s.addr = a
	}
	s.addrMu.Unlock()
}

// Addr is the address of the first listener the server served (Start,
// ListenAndServe, Serve), nil before.
func (s *Server) Addr() net.Addr {
	s.addrMu.Lock()
	defer s.addrMu.Unlock()
	return s.addr
}

// Done is closed when the server stops: after Shutdown, or when it cannot
// go on (its event loops died); Err says why.
func (s *Server) Done() <-chan struct{} { return s.loop.Done() }

// Err is why Done was closed: http.ErrServerClosed after Shutdown, or the
// failure; nil while the server runs.
func (s *Server) Err() error {
	err := s.loop.Err()
	if errors.Is(err, eventloop.ErrServerClosed) {
		return http.ErrServerClosed
	}
	return err
}

// ConnectionCount is the number of connections the server holds (see
// Stats.Connections).
func (s *Server) ConnectionCount() int { return s.loop.CountConnections() }

// Shutdown stops the server: it stops accepting, closes every session with
// "server shutting down" (a WebSocket gets a close frame 1001, a held poll
// the close packet), gives the connections a moment (at most 500 ms, within
// ctx) to take their last answers, stops the net/http server behind its
// listeners (gracefully within ctx: handlers of other routes may finish),
// and closes every connection left. With Options.ShutdownWindow, the
// sessions are closed evenly over that window (new handshakes get 503
// meanwhile), and what is left when ctx ends is closed at once.
// ListenAndServe and Serve then return
// http.ErrServerClosed. A mounted server's net/http server is not stopped:
// call Shutdown before that server's own Shutdown, so that polls it holds
// are answered. The server cannot be started again.
func (s *Server) Shutdown(ctx context.Context) error {
	if !s.closing.CompareAndSwap(false, true) {
		return nil
	}
	s.loop.StopAccepting()
	s.stopMemoryRelease()
	s.closeSessions(ctx, s.opts.ShutdownWindow)
	// Let queued close frames and answers drain, bounded by ctx and a short
	// grace.
	grace := time.NewTimer(500 * time.Millisecond)
	defer grace.Stop()
wait:
	for s.loop.CountConnections() > 0 {
		select {
		case <-ctx.Done():
			break wait
		case <-grace.C:
			break wait
		case <-time.After(10 * time.Millisecond):
		}
	}
	err := s.closeNetHTTP(ctx)
	err = errors.Join(err, s.loop.Stop(ctx))
	s.timers.Close()
	return err
}

// closeSessions closes every session with "server shutting down", spread
// evenly over window, in batches every 10 ms; when ctx ends the rest go at
// once.
func (s *Server) closeSessions(ctx context.Context, window time.Duration) {
	all := s.sessions.all()
	const step = 10 * time.Millisecond
	if window < 2*step || len(all) < 2 {
		for _, sess := range all {
			sess.close(ReasonServerShuttingDown)
		}
		return
	}
	steps := int(window / step)
	per := (len(all) + steps - 1) / steps
	start := time.Now()
	for i := 0; i < len(all); i += per {
		for _, sess := range all[i:min(i+per, len(all))] {
			sess.close(ReasonServerShuttingDown)
		}
		next := start.Add(time.Duration(i/per+1) * step)
		select {
		case <-ctx.Done():
			for _, sess := range all[min(i+per, len(all)):] {
				sess.close(ReasonServerShuttingDown)
			}
			return
		case <-time.After(time.Until(next)):
		}
	}
}
