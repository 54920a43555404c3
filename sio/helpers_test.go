package sio

import (
	"context"
	"log/slog"
	"net"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/fanio/fanio/engine"
	"github.com/fanio/fanio/internal/siotest"
)

// Most of sio's tests run in process: newTestServer makes a server
// without a listener and fakeDial connects a siotest.Client to it through
// a fakeSession, the stand-in for an Engine.IO session. The few tests where
// the wire matters start a listener (startServer) and dial a real
// WebSocket (dialWS).

// testOptions fills in a quiet logger.
func testOptions(t testing.TB, opts Options) Options {
	if opts.Logger == nil {
		opts.Logger = slog.New(slog.NewTextHandler(testWriter{t}, &slog.HandlerOptions{Level: slog.LevelWarn}))
	}
	return opts
}

// newTestServer returns a server without a listener, shut down at cleanup.
func newTestServer(t testing.TB, opts Options) *Server {
	t.Helper()
	srv := NewServer(testOptions(t, opts))
	t.Cleanup(func() { shutdown(srv) })
	return srv
}

// startServer starts a server on 127.0.0.1:0 with short heartbeats; it is
// shut down at cleanup.
func startServer(t testing.TB, opts Options) *Server {
	t.Helper()
	if opts.PingInterval == 0 {
		opts.PingInterval = 300 * time.Millisecond
		opts.PingTimeout = 200 * time.Millisecond
	}
	srv := NewServer(testOptions(t, opts))
	if err := srv.Start("127.0.0.1:0"); err != nil {
		t.Fatalf("Start: %v", err)
	}
	t.Cleanup(func() { shutdown(srv) })
	return srv
}

func shutdown(srv *Server) {
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	_ = srv.Shutdown(ctx)
}

// dialWS connects a client to a started server over a loopback WebSocket.
func dialWS(t testing.TB, srv *Server) *siotest.Client {
	t.Helper()
	return siotest.Dial(t, srv.Addr().String())
}

// fakeDial connects a client to srv in process: what the client sends is
// handed to the server's connection on the calling goroutine (standing
// for the event loop), what the server sends is delivered to the client.
func fakeDial(t testing.TB, srv *Server) *siotest.Client {
	c, _ := fakeDialSession(t, srv, false)
	return c
}

// fakeDialFlow is fakeDial with a transport that honours PauseReads: the
// client's sends wait while the server's reads are paused.
func fakeDialFlow(t testing.TB, srv *Server) (*siotest.Client, *fakeSession) {
	return fakeDialSession(t, srv, true)
}

func fakeDialSession(t testing.TB, srv *Server, honorPause bool) (*siotest.Client, *fakeSession) {
	f := &fakeSession{id: newID(), honorPause: honorPause}
	var c *client
	peer := siotest.NewClient(t, func(data []byte, binary bool) error {
		if f.honorPause {
			f.waitReads()
		}
		if !f.closed.Load() { // a closed transport drops what is written
			c.OnMessage(nil, data, binary)
		}
		return nil
	}, func() error {
		f.end(ReasonTransportClose)
		return nil
	})
	f.peer = peer
	c = srv.newClient(f)
	f.c.Store(c)
	return peer, f
}

// fakeSession stands in for an engine.Session. With a peer it delivers
// what the server sends to that client; without one (benchmarks) it only
// counts the shared packets, which it still prepares as a real session
// would.
type fakeSession struct {
	id          string
	c           atomic.Pointer[client] // set just after newClient, which arms the connect timer
	peer        *siotest.Client
	shared      atomic.Int64
	closed      atomic.Bool
	notWritable atomic.Bool
	eio3        bool // stands for an Engine.IO v3 session (eio3_test.go)

	honorPause  bool // the peer's sends wait while reads are paused
	flowMu      sync.Mutex
	pausedReads bool
	pauses      int
	resumed     chan struct{}
}

func (f *fakeSession) ID() string                      { return f.id }
func (f *fakeSession) Transport() string               { return engine.TransportWebSocket }
func (f *fakeSession) RemoteAddr() net.Addr            { return &net.TCPAddr{IP: net.IPv4(127, 0, 0, 1), Port: 1} }
func (f *fakeSession) Writable() bool                  { return !f.closed.Load() && !f.notWritable.Load() }
func (f *fakeSession) RequestHead() engine.RequestHead { return engine.RequestHead{} }
func (f *fakeSession) Secure() bool                    { return false }
func (f *fakeSession) Protocol() int {
	if f.eio3 {
		return 3
	}
	return 4
}

func (f *fakeSession) Send(data []byte, binary bool) error {
	if f.closed.Load() {
		return engine.ErrClosed
	}
	if f.peer != nil {
		f.peer.Deliver(data, binary)
	}
	return nil
}

func (f *fakeSession) SendBatch(msgs []engine.Message) error {
	for _, m := range msgs {
		if err := f.Send(m.Data, m.Binary); err != nil {
			return err
		}
	}
	return nil
}

func (f *fakeSession) SendShared(p *Packet, parser Parser, compress bool, _ *engine.Fanout) error {
	if f.closed.Load() {
		return engine.ErrClosed
	}
	f.shared.Add(1)
	if f.peer == nil {
		_, err := p.prepared(parser, compress)
		return err
	}
	msgs, err := parser.encode(p)
	if err != nil {
		return err
	}
	return f.SendBatch(msgs)
}

func (f *fakeSession) SendVolatile(p *Packet, parser Parser, compress bool, _ *engine.Fanout) bool {
	if !f.Writable() {
		return false
	}
	return f.SendShared(p, parser, compress, nil) == nil
}

// PauseReads and ResumeReads: a peer created with fakeDialFlow waits in
// its sends while reads are paused, as TCP would make it; with fakeDial
// it ignores them (a transport that keeps delivering).
func (f *fakeSession) PauseReads() {
	f.flowMu.Lock()
	f.pausedReads = true
	f.pauses++
	f.flowMu.Unlock()
}

func (f *fakeSession) ResumeReads() {
	f.flowMu.Lock()
	f.pausedReads = false
	if f.resumed != nil {
		close(f.resumed)
		f.resumed = nil
	}
	f.flowMu.Unlock()
}

// waitReads blocks while reads are paused.
func (f *fakeSession) waitReads() {
	for {
		f.flowMu.Lock()
		if !f.pausedReads || f.closed.Load() {
			f.flowMu.Unlock()
			return
		}
		if f.resumed == nil {
			f.resumed = make(chan struct{})
		}
		ch := f.resumed
		f.flowMu.Unlock()
		select {
		case <-ch:
		case <-time.After(10 * time.Millisecond): // the close does not signal
		}
	}
}

func (f *fakeSession) SetSlowReaderPolicy(SlowReaderPolicy) {}

// Close is the server closing the session (engine's "forced close").
func (f *fakeSession) Close() error {
	f.end(ReasonForcedClose)
	return nil
}

// end closes the session once, telling the server's connection (as
// engine does, synchronously) and the client.
func (f *fakeSession) end(reason DisconnectReason) {
	if f.closed.Swap(true) {
		return
	}
	f.c.Load().OnClose(nil, reason)
	if f.peer != nil {
		f.peer.Hangup()
	}
}

// addFakeSockets connects n sockets with counting fake sessions to nsp,
// without a network or a client, and returns them.
func addFakeSockets(srv *Server, nsp *Namespace, n int) []*Socket {
	out := make([]*Socket, n)
	for i := range out {
		f := &fakeSession{id: newID()}
		c := srv.newClient(f)
		f.c.Store(c)
		s := newSocket(nsp, c, []byte("{}"), nil)
		nsp.addSocket(s)
		c.addSocket(s)
		c.stopConnectTimer()
		s.setFlag(socketConnected, true)
		s.Join(s.id)
		out[i] = s
	}
	return out
}

type testWriter struct{ t testing.TB }

func (w testWriter) Write(p []byte) (int, error) {
	w.t.Log(strings.TrimSpace(string(p)))
	return len(p), nil
}

// String formats the arguments for test messages.
func (a Args) String() string {
	parts := make([]string, len(a))
	for i, v := range a {
		parts[i] = v.String()
	}
	return "[" + strings.Join(parts, ",") + "]"
}

func errString(err error) string {
	if err == nil {
		return ""
	}
	return " err=" + err.Error()
}
