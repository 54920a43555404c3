package integration

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/fanio/fanio/engine"
)

// The server the tests drive: FANIO_IT_SERVER=fanio (default) is our engine
// in process; FANIO_IT_SERVER=reference is the npm engine.io fixture
// (node/reference-eio-server.mjs), to check that the tests' expectations are
// the reference's.
const (
	backendFanio     = "fanio"
	backendReference = "reference"
)

func backend() string {
	switch b := os.Getenv("FANIO_IT_SERVER"); b {
	case "", backendFanio:
		return backendFanio
	case backendReference:
		return backendReference
	default:
		panic(fmt.Sprintf("FANIO_IT_SERVER=%q: want %q or %q", b, backendFanio, backendReference))
	}
}

// Both servers are configured alike (see node/reference-eio-server.mjs).
const (
	enginePath   = "/engine.io/"
	pingInterval = 300 * time.Millisecond
	pingTimeout  = 1000 * time.Millisecond // generous: CI runs many node clients on 2 cores
	maxPayload   = 1_000_000
)

// testServer is a running server under test.
type testServer interface {
	Kind() string
	HostPort() string // 127.0.0.1:port
	URL() string      // http://127.0.0.1:port
	Log() *SessionLog
	// SessionCount is the server's own count of open sessions.
	SessionCount() int
	// Diagnostics returns what the server logged, for failure messages.
	Diagnostics() string
}

// startServer starts the server under test for t. At cleanup it checks
// that the server's session count went back to 0, that the server side of
// the test saw no error, and it shuts the server down.
func startServer(t *testing.T) testServer {
	t.Helper()
	var s testServer
	var stop func() error
	switch backend() {
	case backendReference:
		r, err := node.StartReference()
		if err != nil {
			t.Fatalf("reference server: %v", err)
		}
		rs := &refServer{r}
		s, stop = rs, func() error { r.Stop(); return nil }
	default:
		fs := startFanio(t)
		s, stop = fs, fs.shutdown
	}
	t.Cleanup(func() {
		checkIdle(t, s)
		for _, e := range s.Log().Errors() {
			t.Errorf("server side: %s", e)
		}
		if err := stop(); err != nil {
			t.Errorf("shutdown: %v", err)
		}
		if t.Failed() {
			t.Logf("%s server output:\n%s", s.Kind(), s.Diagnostics())
		}
	})
	return s
}

// checkIdle asserts that every session has closed: both the server's own
// count and the sessions the handler saw open and close (bounded wait: a
// session nobody closes ends by ping timeout, 500 ms).
func checkIdle(t *testing.T, s testServer) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if err := s.Log().WaitIdle(ctx); err != nil {
		t.Errorf("sessions after the test: %v", err)
		return
	}
	for s.SessionCount() != 0 {
		select {
		case <-ctx.Done():
			t.Errorf("SessionCount() = %d after every session closed, want 0", s.SessionCount())
			return
		case <-time.After(10 * time.Millisecond):
		}
	}
}

// runScenario runs a scenario script against s and fails the test with the
// script's output unless it succeeds.
func runScenario(t *testing.T, s testServer, script string, args ...string) *ScriptResult {
	t.Helper()
	res := runScenarioResult(t, s, script, args...)
	if !res.OK() {
		t.Fatalf("scenario failed:\n%s", res)
	}
	t.Logf("%s: %s", script, strings.TrimSpace(lastLine(res.Stdout)))
	return res
}

func runScenarioResult(t *testing.T, s testServer, script string, args ...string) *ScriptResult {
	t.Helper()
	all := append([]string{"--url", s.URL(), "--path", enginePath, "--timeout", "20000"}, args...)
	return node.RunScript(context.Background(), 60*time.Second, script, all...)
}

// startScenario starts a scenario script against s without waiting for it.
func startScenario(t *testing.T, s testServer, script string, args ...string) *Script {
	t.Helper()
	all := append([]string{"--url", s.URL(), "--path", enginePath}, args...)
	sc, err := node.StartScript(context.Background(), 120*time.Second, script, all...)
	if err != nil {
		t.Fatal(err)
	}
	return sc
}

func lastLine(s string) string {
	s = strings.TrimSpace(s)
	if i := strings.LastIndexByte(s, '\n'); i >= 0 {
		return s[i+1:]
	}
	return s
}

// expectServerClose asserts how the server reported the end of session sid.
// wantTransport "" skips the transport check.
func expectServerClose(t *testing.T, s testServer, sid string, wantReason engine.DisconnectReason, wantTransport string) {
	t.Helper()
	if sid == "" {
		t.Fatalf("the scenario reported no sid")
	}
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	rec, err := s.Log().WaitClosed(ctx, sid)
	if err != nil {
		t.Fatalf("server side: %v", err)
	}
	if rec.Reason != string(wantReason) {
		t.Errorf("server close reason for %s = %q, want %q", sid, rec.Reason, wantReason)
	}
	if wantTransport != "" && rec.Transport != wantTransport {
		t.Errorf("server transport at close for %s = %q, want %q", sid, rec.Transport, wantTransport)
	}
}

// expectOnlySession asserts that the server saw exactly one session, sid
// (no reconnection, no stray handshake).
func expectOnlySession(t *testing.T, s testServer, sid string) {
	t.Helper()
	if opens := s.Log().Opens(); len(opens) != 1 || opens[0] != sid {
		t.Errorf("server sessions = %v, want only %q", opens, sid)
	}
}

// ---- the reference fixture as a testServer ----

type refServer struct{ r *RefServer }

func (s *refServer) Kind() string        { return backendReference }
func (s *refServer) HostPort() string    { return s.r.HostPort() }
func (s *refServer) URL() string         { return "http://" + s.r.HostPort() }
func (s *refServer) Log() *SessionLog    { return s.r.Log }
func (s *refServer) SessionCount() int   { return s.r.Log.Live() }
func (s *refServer) Diagnostics() string { return s.r.Output() }

// ---- our engine as a testServer ----

// fanioServer is engine.Server with the test behaviour (the same as the
// reference fixture's):
//   - every message is echoed as is (text stays text, binary binary),
//     except the two text commands, which are not echoed;
//   - "close-me": the server closes the session (Session.Close);
//   - "stream <count> <intervalMs>": the server sends "srv <i>" for
//     i = 0..count-1, one every intervalMs, from another goroutine, and stops
//     when the session closes.
type fanioServer struct {
	srv  *engine.Server
	log  *SessionLog
	logs *tailBuffer
	wg   sync.WaitGroup // stream goroutines
}

func startFanio(t *testing.T) *fanioServer {
	t.Helper()
	fs := &fanioServer{log: NewSessionLog(), logs: &tailBuffer{max: 256 << 10}}
	fs.srv = engine.NewServer(engine.Options{
		Path:         enginePath,
		PingInterval: pingInterval,
		PingTimeout:  pingTimeout,
		MaxPayload:   maxPayload,
		CORS:         &engine.CORS{Origins: []string{"*"}},
		Logger:       slog.New(slog.NewTextHandler(fs.logs, &slog.HandlerOptions{Level: slog.LevelDebug})),
	})
	fs.srv.OnConnection(func(s *engine.Session) {
		s.SetHandler(&echoSession{fs: fs, done: make(chan struct{})})
		fs.log.Opened(s.ID(), s.Transport())
	})
	if err := fs.srv.Start("127.0.0.1:0"); err != nil {
		t.Fatalf("engine Start: %v", err)
	}
	return fs
}

func (fs *fanioServer) Kind() string        { return backendFanio }
func (fs *fanioServer) HostPort() string    { return fs.srv.Addr().String() }
func (fs *fanioServer) URL() string         { return "http://" + fs.srv.Addr().String() }
func (fs *fanioServer) Log() *SessionLog    { return fs.log }
func (fs *fanioServer) SessionCount() int   { return fs.srv.SessionCount() }
func (fs *fanioServer) Diagnostics() string { return fs.logs.String() }

func (fs *fanioServer) shutdown() error {
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	err := fs.srv.Shutdown(ctx)
	done := make(chan struct{})
	go func() {
		fs.wg.Wait()
		close(done)
	}()
	select {
	case <-done:
	case <-ctx.Done():
		return errors.Join(err, errors.New("stream goroutines still running after Shutdown (a session never reported OnClose?)"))
	}
	return err
}

var streamRE = regexp.MustCompile(`^stream (\d+) (\d+)$`)

type echoSession struct {
	fs        *fanioServer
	done      chan struct{} // closed by OnClose
	closeOnce sync.Once
}

func (h *echoSession) OnMessage(s *engine.Session, data []byte, binary bool) {
	if !binary {
		if string(data) == "close-me" {
			if err := s.Close(); err != nil && !errors.Is(err, engine.ErrClosed) {
				h.fs.log.Errorf("session %s: Close: %v", s.ID(), err)
			}
			return
		}
		if m := streamRE.FindSubmatch(data); m != nil {
			count, _ := strconv.Atoi(string(m[1]))
			interval, _ := strconv.Atoi(string(m[2]))
			count = min(count, 100_000)
			interval = min(interval, 10_000)
			h.fs.wg.Add(1)
			go h.stream(s, count, time.Duration(interval)*time.Millisecond)
			return
		}
	}
	if err := s.Send(data, binary); err != nil && !errors.Is(err, engine.ErrClosed) {
		h.fs.log.Errorf("session %s: Send echo: %v", s.ID(), err)
	}
}

func (h *echoSession) stream(s *engine.Session, count int, interval time.Duration) {
	defer h.fs.wg.Done()
	if count == 0 {
		return
	}
	tick := time.NewTicker(max(interval, time.Millisecond))
	defer tick.Stop()
	for i := 0; i < count; i++ {
		if i > 0 {
			select {
			case <-h.done:
				return
			case <-tick.C:
			}
		}
		if err := s.Send([]byte("srv "+strconv.Itoa(i)), false); err != nil {
			if !errors.Is(err, engine.ErrClosed) {
				h.fs.log.Errorf("session %s: Send stream %d: %v", s.ID(), i, err)
			}
			return
		}
	}
}

func (h *echoSession) OnClose(s *engine.Session, reason engine.DisconnectReason) {
	first := false
	h.closeOnce.Do(func() {
		first = true
		close(h.done)
	})
	if !first {
		h.fs.log.Errorf("session %s: OnClose called again (%q)", s.ID(), reason)
		return
	}
	h.fs.log.Closed(s.ID(), string(reason), s.Transport())
}

// tailBuffer keeps the last max bytes written to it (the engine's log).
type tailBuffer struct {
	mu      sync.Mutex
	max     int
	buf     []byte
	dropped int
}

func (b *tailBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	b.buf = append(b.buf, p...)
	if over := len(b.buf) - b.max; over > b.max/4 {
		b.dropped += over
		b.buf = append(b.buf[:0], b.buf[over:]...)
	}
	return len(p), nil
}

func (b *tailBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	if b.dropped > 0 {
		return fmt.Sprintf("[... %d bytes dropped ...]\n%s", b.dropped, b.buf)
	}
	return string(b.buf)
}
