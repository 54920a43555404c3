package eventloop

import (
	"errors"
	"io"
	"net"
	"sync"
	"syscall"
	"time"
)

// Serve accepts connections on ln until Stop (then it returns
// ErrServerClosed), until the server fails (it returns why), or until ln
// fails with an error that is not worth retrying (it returns that error).
// It closes ln when it returns.
//
// Plain TCP connections go to a reactor loop; others (TLS, or every one
// where there is no reactor) to the handler's Diverter.Handoff, or to
// goroutines (netLink) if the handler is no Diverter.
//
// Accept errors never stop it: out of descriptors or memory (EMFILE,
// ENFILE, ENOBUFS, ENOMEM), an aborted connection, it backs off (5 ms,
// doubling to 1 s, as net/http) and accepts again; the connections it holds
// are served meanwhile. Past Options.MaxConns connections, a new one is
// closed at once and counted (Refused), which keeps descriptors for the
// ones being served and makes EMFILE rare.
//
// On Linux a *net.TCPListener is accepted from directly (accept4 on a
// duplicate of its descriptor, by one goroutine: handing a descriptor to a
// loop does not wait for the loop). Elsewhere as many goroutines as there
// are loops accept from ln: handing a connection to a loop waits for the
// loop to open it, and several hand-offs are in flight at once.
func (s *Server) Serve(ln net.Listener) error {
	_ = s.Start()
	direct := s.directAcceptor(ln)
	s.mu.Lock()
	if s.isDead() || s.noAccept {
		err := s.deadErrLocked()
		s.mu.Unlock()
		ln.Close()
		if direct != nil {
			direct.Close()
		}
		return err
	}
	s.listeners[ln] = nil
	if direct != nil {
		s.listeners[ln] = direct
	}
	s.mu.Unlock()
	defer func() {
		s.mu.Lock()
		delete(s.listeners, ln)
		s.mu.Unlock()
		ln.Close()
		if direct != nil {
			direct.Close()
		}
	}()

	var err error
	if direct != nil {
		err = direct.acceptLoop(s)
	} else {
		n := max(1, s.cfg.EventLoops)
		errs := make(chan error, n)
		var wg sync.WaitGroup
		for i := 0; i < n; i++ {
			wg.Add(1)
			go func() {
				defer wg.Done()
				errs <- s.acceptLoop(ln)
			}()
		}
		err = <-errs
		ln.Close() // the other acceptors end too
		wg.Wait()
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.isDead() || s.noAccept {
		return s.deadErrLocked()
	}
	return err
}

// directListener is a listener the reactor accepts descriptors from itself,
// with no net.Conn made (reactor_epoll.go). Close ends acceptLoop.
type directListener interface {
	io.Closer
	acceptLoop(s *Server) error
}

func (s *Server) deadErrLocked() error {
	if s.deadErr != nil {
		return s.deadErr
	}
	return ErrServerClosed
}

func (s *Server) acceptLoop(ln net.Listener) error {
	return acceptEach(s, ln.Accept, net.Conn.Close, s.take)
}

// acceptEach is an accept loop: errors that allow it are backed off from,
// connections past the limits are refused (drop closes them), the others
// are handed to take. One loop for net.Conns and for descriptors
// (fdListener).
func acceptEach[T any](s *Server, accept func() (T, error), drop func(T) error, take func(T)) error {
	var b acceptBackoff
	for {
		x, err := accept()
		if err != nil {
			if s.backOff(&b, err) {
				continue
			}
			return err
		}
		b.reset()
		if s.refuse() {
			_ = drop(x)
			continue
		}
		take(x)
	}
}

// enrollFailed undoes the count of an accepted connection that could not
// be moved to a loop, and says so.
func (s *Server) enrollFailed(err error) {
	s.conns.Add(-1)
	s.acceptErrs.Add(1)
	s.cfg.Logger.Warn("eventloop: cannot move an accepted connection to a loop", "err", err)
}

// acceptBackoff is the delay before accepting again after an error.
type acceptBackoff struct{ delay time.Duration }

func (b *acceptBackoff) reset() { b.delay = 0 }

// backOff waits before the next accept after err and reports true, or
// reports false if err ends the accept loop.
func (s *Server) backOff(b *acceptBackoff, err error) bool {
	if s.isDead() || s.stoppedAccepting() || errors.Is(err, net.ErrClosed) || !retryAccept(err) {
		return false
	}
	s.acceptErrs.Add(1)
	if b.delay == 0 {
		b.delay = 5 * time.Millisecond
	} else {
		b.delay = min(2*b.delay, time.Second)
	}
	s.cfg.Logger.Error("eventloop: accept failed; backing off", "err", err, "retry_in", b.delay, "connections", s.conns.Load())
	select {
	case <-time.After(b.delay):
	case <-s.dead:
	}
	return true
}

// refuse reports whether a connection just accepted is to be closed at
// once, the server holding MaxConns (and counts it). Cheap refusal: the
// peer sees its connection closed. (A reset would save the server a
// TIME_WAIT but looks like a network fault to the client.)
func (s *Server) refuse() bool {
	if s.cfg.MaxConns > 0 && s.conns.Load() >= int64(s.cfg.MaxConns) {
		s.refused.Add(1)
		return true
	}
	return false
}

func (s *Server) stoppedAccepting() bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.noAccept
}

// take serves a connection Serve accepted.
func (s *Server) take(nc net.Conn) {
	s.conns.Add(1)
	if tc, ok := nc.(*net.TCPConn); ok && s.Reactor() {
		if err := s.enroll(tc, nil); err != nil {
			nc.Close()
			s.enrollFailed(err)
		}
		return
	}
	if d, ok := s.handler.(Diverter); ok {
		var once sync.Once
		d.Handoff(nc, func() { once.Do(func() { s.conns.Add(-1) }) })
		return
	}
	s.servePortable(nc, nil)
}

// retryAccept reports whether an accept error is one to back off from
// rather than stop for.
func retryAccept(err error) bool {
	for _, e := range retryErrnos {
		if errors.Is(err, e) {
			return true
		}
	}
	var te interface{ Temporary() bool }
	if errors.As(err, &te) && te.Temporary() {
		return true
	}
	var ne net.Error
	return errors.As(err, &ne) && ne.Timeout()
}

var retryErrnos = []error{
	syscall.EMFILE, syscall.ENFILE, syscall.ENOBUFS, syscall.ENOMEM,
	syscall.ECONNABORTED, syscall.ECONNRESET, syscall.EINTR, syscall.EAGAIN,
	syscall.EPROTO, syscall.EPERM,
}
