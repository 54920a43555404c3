package engine

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/gobwas/ws"
)

// memNet is an in-process Cluster transport for the tests: each node
// delivers what it receives in order, on a goroutine of its own.
type memNet struct {
	mu    sync.Mutex
	nodes map[string]*memNode
}

func newMemNet() *memNet { return &memNet{nodes: map[string]*memNode{}} }

type memNode struct {
	net  *memNet
	id   string
	cfg  ClusterConfig
	in   ClusterInbox
	mu   sync.Mutex
	q    []memMsg
	wake chan struct{}
	deaf atomic.Bool // drops what it receives: a server that hangs
	sent atomic.Int64
}

type memMsg struct {
	from string
	msg  []byte
}

func (n *memNet) node(id string, cfg ClusterConfig) *memNode {
	cfg.NodeID = id
	m := &memNode{net: n, id: id, cfg: cfg, wake: make(chan struct{}, 1)}
	n.mu.Lock()
	n.nodes[id] = m
	n.mu.Unlock()
	return m
}

func (m *memNode) Join(in ClusterInbox) (ClusterConfig, error) {
	m.in = in
	go m.run()
	return m.cfg, nil
}

func (m *memNode) Send(to string, msg []byte) error {
	m.net.mu.Lock()
	dst := m.net.nodes[to]
	m.net.mu.Unlock()
	if dst == nil {
		return errors.New("memnet: no node " + to)
	}
	m.sent.Add(1)
	dst.mu.Lock()
	dst.q = append(dst.q, memMsg{m.id, append([]byte(nil), msg...)})
	dst.mu.Unlock()
	select {
	case dst.wake <- struct{}{}:
	default:
	}
	return nil
}

func (m *memNode) run() {
	for range m.wake {
		m.mu.Lock()
		q := m.q
		m.q = nil
		m.mu.Unlock()
		for _, x := range q {
			if !m.deaf.Load() {
				m.in.Receive(x.from, x.msg)
			}
		}
	}
}

// cut removes a node from the network, as when it dies: the others are
// told it is gone, and it is told they are.
func (n *memNet) cut(id string) {
	n.mu.Lock()
	gone := n.nodes[id]
	delete(n.nodes, id)
	others := make([]*memNode, 0, len(n.nodes))
	for _, o := range n.nodes {
		others = append(others, o)
	}
	n.mu.Unlock()
	for _, o := range others {
		o.in.NodeGone(id)
		gone.in.NodeGone(o.id)
	}
}

// clusterNode is a server in a memNet cluster, on its own listener.
type clusterNode struct {
	srv   *Server
	base  string
	h     *recordingHandler
	conns atomic.Int32 // OnConnection calls
	mem   *memNode
	log   *syncBuffer
}

func startNode(t *testing.T, mn *memNet, id string, opts Options, cfg ClusterConfig) *clusterNode {
	t.Helper()
	n := &clusterNode{h: &recordingHandler{reason: make(chan DisconnectReason, 16)}, log: &syncBuffer{}}
	opts.Logger = slog.New(slog.NewTextHandler(n.log, nil))
	n.srv = NewServer(opts)
	n.srv.OnConnection(func(s *Session) {
		n.conns.Add(1)
		s.SetHandler(n.h)
	})
	n.mem = mn.node(id, cfg)
	if err := n.srv.SetCluster(n.mem); err != nil {
		t.Fatal(err)
	}
	if err := n.srv.SetCluster(n.mem); !errors.Is(err, ErrClusterSet) {
		t.Fatalf("second SetCluster: %v", err)
	}
	if err := n.srv.Start("127.0.0.1:0"); err != nil {
		t.Fatal(err)
	}
	n.base = "http://" + n.srv.Addr().String()
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		_ = n.srv.Shutdown(ctx)
	})
	return n
}

func (n *clusterNode) msgs() string {
	n.h.mu.Lock()
	defer n.h.mu.Unlock()
	return strings.Join(n.h.msgs, ",")
}

func pollURL(base, sid string) string {
	return base + "/engine.io/?EIO=4&transport=polling&sid=" + sid
}

func clusterWSURL(base, sid string) string {
	return "ws" + strings.TrimPrefix(base, "http") + "/engine.io/?EIO=4&transport=websocket&sid=" + sid
}

// asyncGet sends a GET in the background; its answer comes on the channel.
func asyncGet(url string) <-chan string {
	out := make(chan string, 1)
	go func() {
		resp, err := client.Get(url)
		if err != nil {
			out <- "error: " + err.Error()
			return
		}
		b, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		out <- fmt.Sprintf("%d %s", resp.StatusCode, b)
	}()
	return out
}

func waitFor(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(5 * time.Millisecond)
	}
}

const unknownSID = `{"code":1,"message":"Session ID unknown"}`

// Every polling request of a session opened on A is served through B, on
// B's own listener and on B mounted in a net/http server: messages both
// ways, a held poll answered when A sends, heartbeats, the close.
func TestClusterForwardPolling(t *testing.T) {
	for _, mode := range []string{"listener", "mounted"} {
		t.Run(mode, func(t *testing.T) {
			mn := newMemNet()
			opts := Options{PingInterval: 300 * time.Millisecond, PingTimeout: 5 * time.Second}
			a := startNode(t, mn, "AAAA", opts, ClusterConfig{TakeoverWindow: -1})
			b := startNode(t, mn, "BBBB", opts, ClusterConfig{TakeoverWindow: -1})
			edge := b.base
			if mode == "mounted" {
				hs := httptest.NewServer(b.srv)
				t.Cleanup(hs.Close)
				edge = hs.URL
			}
			op, _ := handshake(t, a.base, nil)
			if !strings.HasPrefix(op.SID, "AAAA") || len(op.SID) != 20 {
				t.Fatalf("sid %q does not start with A's node id", op.SID)
			}
			u := pollURL(edge, op.SID)
			if resp, body := do(t, "POST", u, "4hello\x1ebAQID", nil); resp.StatusCode != 200 || body != "ok" {
				t.Fatalf("post through B: %d %q", resp.StatusCode, body)
			}
			if got := a.msgs(); got != "hello,\x01\x02\x03" {
				t.Fatalf("A saw %q", got)
			}
			if b.srv.SessionCount() != 0 || b.msgs() != "" {
				t.Fatalf("B holds a session or saw messages")
			}
			if resp, body := do(t, "GET", u, "", nil); resp.StatusCode != 200 || body != "4hello\x1ebAQID" {
				t.Fatalf("poll through B: %d %q", resp.StatusCode, body)
			}
			// A held poll on B, answered when A sends (or with A's ping:
			// either is fine, the push must come in order after it).
			held := asyncGet(u)
			time.Sleep(50 * time.Millisecond)
			sess := a.srv.Sessions()[0]
			_ = sess.Send([]byte("pushed"), false)
			var got string
			for i := 0; i < 3 && !strings.Contains(got, "4pushed"); i++ {
				r := <-held
				if !strings.HasPrefix(r, "200 ") {
					t.Fatalf("held poll: %q", r)
				}
				got += r[4:]
				if strings.Contains(r, "2") && !strings.Contains(got, "4pushed") {
					held = asyncGet(u)
				}
			}
			if !strings.Contains(got, "4pushed") {
				t.Fatalf("held poll through B got %q", got)
			}
			// Heartbeats through B: answer pings with pongs for several
			// intervals; the session stays.
			deadline := time.Now().Add(4 * opts.PingInterval)
			pings := 0
			for time.Now().Before(deadline) {
				_, body := do(t, "GET", u, "", nil)
				if strings.Contains(body, "2") {
					pings++
					if resp, _ := do(t, "POST", u, "3", nil); resp.StatusCode != 200 {
						t.Fatal("pong through B refused")
					}
				}
			}
			if pings < 2 {
				t.Fatalf("%d pings through B in %v", pings, 4*opts.PingInterval)
			}
			if a.srv.SessionCount() != 1 {
				t.Fatal("the session did not survive its heartbeats through B")
			}
			// The close through B ends the session on A.
			if resp, body := do(t, "POST", u, "1", nil); resp.StatusCode != 200 || body != "ok" {
				t.Fatalf("close through B: %d %q", resp.StatusCode, body)
			}
			select {
			case r := <-a.h.reason:
				if r != ReasonTransportClose {
					t.Fatalf("reason %q", r)
				}
			case <-time.After(5 * time.Second):
				t.Fatal("no close on A")
			}
			if resp, body := do(t, "GET", u, "", nil); resp.StatusCode != 400 || body != unknownSID {
				t.Fatalf("after the close: %d %q", resp.StatusCode, body)
			}
			st := b.srv.ClusterStats()
			if st.Forwarded < 6 || st.Waiting != 0 || st.ForwardFailures != 0 {
				t.Errorf("B's stats %+v", st)
			}
			if st := a.srv.ClusterStats(); st.Served < 6 {
				t.Errorf("A's stats %+v", st)
			}
		})
	}
}

// A session whose server is gone gets the same 400 as today, at once for a
// new request and for a poll that was held, with a log line and a count.
func TestClusterOwnerGone(t *testing.T) {
	mn := newMemNet()
	a := startNode(t, mn, "AAAA", Options{}, ClusterConfig{TakeoverWindow: -1})
	b := startNode(t, mn, "BBBB", Options{}, ClusterConfig{TakeoverWindow: -1})
	op, _ := handshake(t, a.base, nil)
	u := pollURL(b.base, op.SID)
	held := asyncGet(u)
	waitFor(t, "the poll to be held on A", func() bool { return a.srv.ClusterStats().Served == 1 })
	time.Sleep(20 * time.Millisecond)
	mn.cut("AAAA")
	if r := <-held; r != "400 "+unknownSID {
		t.Fatalf("held poll of a gone server: %q", r)
	}
	if resp, body := do(t, "POST", u, "4x", nil); resp.StatusCode != 400 || body != unknownSID {
		t.Fatalf("post to a gone server: %d %q", resp.StatusCode, body)
	}
	if st := b.srv.ClusterStats(); st.ForwardFailures != 2 || st.Waiting != 0 {
		t.Errorf("B's stats %+v", st)
	}
	if !strings.Contains(b.log.String(), "is gone") {
		t.Errorf("no log line on B:\n%s", b.log.String())
	}
	// On A, the poll B had forwarded ended as if its client had left.
	select {
	case r := <-a.h.reason:
		if r != ReasonTransportError {
			t.Fatalf("reason on A %q", r)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("the session on A did not end")
	}
	// A session id of no node at all, and one of this node that it does
	// not hold, are unknown as before.
	for _, sid := range []string{"ZZZZ" + op.SID[4:], "BBBB" + op.SID[4:], "short"} {
		if resp, body := do(t, "GET", pollURL(b.base, sid), "", nil); resp.StatusCode != 400 || body != unknownSID {
			t.Fatalf("sid %q: %d %q", sid, resp.StatusCode, body)
		}
	}
}

// A server that does not answer: the forwarded request ends at the
// forward timeout with 400, and the holder is told to let it go.
func TestClusterForwardTimeout(t *testing.T) {
	mn := newMemNet()
	a := startNode(t, mn, "AAAA", Options{}, ClusterConfig{TakeoverWindow: -1})
	// A POST waits ForwardTimeout beyond B's PingInterval (its reads may
	// be paused that long there).
	b := startNode(t, mn, "BBBB", Options{PingInterval: 300 * time.Millisecond}, ClusterConfig{TakeoverWindow: -1, ForwardTimeout: 200 * time.Millisecond})
	op, _ := handshake(t, a.base, nil)
	a.mem.deaf.Store(true)
	start := time.Now()
	resp, body := do(t, "POST", pollURL(b.base, op.SID), "4x", nil)
	if resp.StatusCode != 400 || body != unknownSID {
		t.Fatalf("post to a server that hangs: %d %q", resp.StatusCode, body)
	}
	if d := time.Since(start); d < 400*time.Millisecond {
		t.Fatalf("answered after %v, before the timeout", d)
	}
	if st := b.srv.ClusterStats(); st.ForwardFailures != 1 || st.ForwardTimeouts != 1 || st.Waiting != 0 {
		t.Errorf("B's stats %+v", st)
	}
	if !strings.Contains(b.log.String(), "did not answer") {
		t.Errorf("no log line on B:\n%s", b.log.String())
	}
}

// The client of a held poll forwarded through B leaves: the session on A
// ends as with a client of A's own ("poll connection closed prematurely").
func TestClusterClientLeavesForwardedPoll(t *testing.T) {
	mn := newMemNet()
	a := startNode(t, mn, "AAAA", Options{}, ClusterConfig{TakeoverWindow: -1})
	b := startNode(t, mn, "BBBB", Options{}, ClusterConfig{TakeoverWindow: -1})
	op, _ := handshake(t, a.base, nil)
	conn, err := net.Dial("tcp", strings.TrimPrefix(b.base, "http://"))
	if err != nil {
		t.Fatal(err)
	}
	fmt.Fprintf(conn, "GET /engine.io/?EIO=4&transport=polling&sid=%s HTTP/1.1\r\nHost: x\r\n\r\n", op.SID)
	waitFor(t, "the poll to be held on A", func() bool { return a.srv.ClusterStats().Served == 1 })
	time.Sleep(20 * time.Millisecond)
	conn.Close()
	select {
	case r := <-a.h.reason:
		if r != ReasonTransportError {
			t.Fatalf("reason %q", r)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("the session on A did not end")
	}
	waitFor(t, "B to forget the request", func() bool { return b.srv.ClusterStats().Waiting == 0 })
}

// The upgrade of a session opened on A reaches B: the session moves to B
// with what it had received (delivered first, in order) and what A had
// queued for the client; A's held poll is released at the probe, as in a
// local upgrade.
//
// B takes the upgrade on its own listener, mounted in a net/http server
// (the upgrade is hijacked onto its loops), and with no reactor (the
// connection served on goroutines).
func TestClusterTakeover(t *testing.T) {
	for _, mode := range []string{"listener", "mounted", "noReactor"} {
		t.Run(mode, func(t *testing.T) { testClusterTakeover(t, mode) })
	}
}

func testClusterTakeover(t *testing.T, mode string) {
	mn := newMemNet()
	cfg := ClusterConfig{TakeoverWindow: 5 * time.Second}
	a := startNode(t, mn, "AAAA", Options{}, cfg)
	if mode == "noReactor" {
		noReactor = true
		defer func() { noReactor = false }()
	}
	b := startNode(t, mn, "BBBB", Options{}, cfg)
	edge := b.base
	if mode == "mounted" {
		hs := httptest.NewServer(b.srv)
		t.Cleanup(hs.Close)
		edge = hs.URL
	}
	op, _ := handshake(t, a.base, nil)
	if resp, _ := do(t, "POST", pollURL(edge, op.SID), "4first", nil); resp.StatusCode != 200 {
		t.Fatal("post through B")
	}
	if a.conns.Load() != 0 || a.msgs() != "" {
		t.Fatal("A handed the session over during the takeover window")
	}
	held := asyncGet(pollURL(a.base, op.SID))
	time.Sleep(20 * time.Millisecond)
	c := wsDial(t, clusterWSURL(edge, op.SID), nil)
	c.send(t, "2probe")
	if f := c.recv(t); string(f.Payload) != "3probe" {
		t.Fatalf("probe: %q", f.Payload)
	}
	if r := <-held; r != "200 6" {
		t.Fatalf("the held poll on A got %q, want a noop", r)
	}
	c.send(t, "5")
	c.send(t, "4second")
	for _, want := range []string{"4first", "4second"} {
		if f := c.recv(t); string(f.Payload) != want {
			t.Fatalf("got %q, want %q", f.Payload, want)
		}
	}
	if a.srv.SessionCount() != 0 || b.srv.SessionCount() != 1 || a.conns.Load() != 0 || b.conns.Load() != 1 {
		t.Fatalf("sessions A %d B %d, OnConnection A %d B %d", a.srv.SessionCount(), b.srv.SessionCount(), a.conns.Load(), b.conns.Load())
	}
	sess := b.srv.Sessions()[0]
	if sess.ID() != op.SID || sess.Transport() != TransportWebSocket || sess.RemoteAddr() == nil ||
		sess.RequestHead().Query("transport") != "polling" {
		t.Fatalf("moved session: id %q transport %q remote %v head %q", sess.ID(), sess.Transport(), sess.RemoteAddr(), sess.RequestHead().URI())
	}
	if got := b.msgs(); got != "first,second" || a.msgs() != "" {
		t.Fatalf("B saw %q, A %q", got, a.msgs())
	}
	if st := b.srv.ClusterStats(); st.TakenOver != 1 || st.Waiting != 0 {
		t.Errorf("B's stats %+v", st)
	}
	if st := a.srv.ClusterStats(); st.HandedOver != 1 {
		t.Errorf("A's stats %+v", st)
	}
	// Polling for it now answers 400, as after an upgrade.
	if resp, _ := do(t, "GET", pollURL(a.base, op.SID), "", nil); resp.StatusCode != 400 {
		t.Fatalf("poll after the takeover: %d", resp.StatusCode)
	}
	// The session lives on B: a close packet ends it there.
	c.send(t, "1")
	select {
	case r := <-b.h.reason:
		if r != ReasonTransportClose {
			t.Fatalf("reason %q", r)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("no close on B")
	}
}

// What A sent while the session waited (a ping queued after the probe)
// goes out first on B's WebSocket, and the pong is expected there.
func TestClusterTakeoverCarriesQueuedPackets(t *testing.T) {
	mn := newMemNet()
	cfg := ClusterConfig{TakeoverWindow: 10 * time.Second}
	opts := Options{PingInterval: 200 * time.Millisecond, PingTimeout: 10 * time.Second}
	a := startNode(t, mn, "AAAA", opts, cfg)
	b := startNode(t, mn, "BBBB", opts, cfg)
	op, _ := handshake(t, a.base, nil)
	c := wsDial(t, clusterWSURL(b.base, op.SID), nil)
	c.send(t, "2probe")
	if f := c.recv(t); string(f.Payload) != "3probe" {
		t.Fatalf("probe: %q", f.Payload)
	}
	time.Sleep(400 * time.Millisecond) // A's ping is queued: polls get noops now
	c.send(t, "5")
	if f := c.recv(t); string(f.Payload) != "2" {
		t.Fatalf("first frame on B %q, want A's ping", f.Payload)
	}
	c.send(t, "3")
	c.send(t, "4after")
	f := c.recv(t)
	for string(f.Payload) == "2" { // B's own pings
		c.send(t, "3")
		f = c.recv(t)
	}
	if string(f.Payload) != "4after" {
		t.Fatalf("got %q", f.Payload)
	}
}

// Past the takeover window the session is A's: an upgrade reaching B is
// refused like any failed upgrade (the WebSocket opens and closes) and the
// client goes on polling.
func TestClusterUpgradeAfterWindow(t *testing.T) {
	mn := newMemNet()
	cfg := ClusterConfig{TakeoverWindow: 50 * time.Millisecond}
	a := startNode(t, mn, "AAAA", Options{}, cfg)
	b := startNode(t, mn, "BBBB", Options{}, cfg)
	start := time.Now()
	op, _ := handshake(t, a.base, nil)
	if resp, _ := do(t, "POST", pollURL(a.base, op.SID), "4x", nil); resp.StatusCode != 200 {
		t.Fatal("post")
	}
	waitFor(t, "A to hand the session over", func() bool { return a.msgs() == "x" })
	if d := time.Since(start); d < 40*time.Millisecond {
		t.Fatalf("delivered %v after the handshake, inside the window", d)
	}
	c := wsDial(t, clusterWSURL(b.base, op.SID), nil)
	f, err := ws.ReadFrame(c.br)
	if err != nil || f.Header.OpCode != ws.OpClose {
		t.Fatalf("refused upgrade: %v %v", f.Header.OpCode, err)
	}
	if st := b.srv.ClusterStats(); st.UpgradesRefused != 1 {
		t.Errorf("B's stats %+v", st)
	}
	if resp, body := do(t, "GET", pollURL(b.base, op.SID), "", nil); resp.StatusCode != 200 || body != "4x" {
		t.Fatalf("polling after the refused upgrade: %d %q", resp.StatusCode, body)
	}
}

// A session's upgrade reaching its own server ends the wait at once.
func TestClusterLocalUpgradeEndsWindow(t *testing.T) {
	mn := newMemNet()
	a := startNode(t, mn, "AAAA", Options{}, ClusterConfig{TakeoverWindow: time.Minute})
	op, _ := handshake(t, a.base, nil)
	if resp, _ := do(t, "POST", pollURL(a.base, op.SID), "4x", nil); resp.StatusCode != 200 {
		t.Fatal("post")
	}
	c := wsDial(t, clusterWSURL(a.base, op.SID), nil)
	waitFor(t, "the hand-over", func() bool { return a.msgs() == "x" })
	c.send(t, "2probe")
	if f := c.recv(t); string(f.Payload) != "3probe" {
		t.Fatalf("probe: %q", f.Payload)
	}
	c.send(t, "5")
	if f := c.recv(t); string(f.Payload) != "4x" {
		t.Fatalf("echo: %q", f.Payload)
	}
}

// An upgrade for a session of a server that is gone or does not know it
// gets the same 400 as for an unknown session; one that hangs, the same
// after the forward timeout.
func TestClusterUpgradeUnknown(t *testing.T) {
	mn := newMemNet()
	a := startNode(t, mn, "AAAA", Options{}, ClusterConfig{})
	b := startNode(t, mn, "BBBB", Options{}, ClusterConfig{ForwardTimeout: 200 * time.Millisecond})
	upgrade := func(sid string) string {
		t.Helper()
		conn, err := net.Dial("tcp", strings.TrimPrefix(b.base, "http://"))
		if err != nil {
			t.Fatal(err)
		}
		defer conn.Close()
		_ = conn.SetDeadline(time.Now().Add(10 * time.Second))
		fmt.Fprintf(conn, "GET /engine.io/?EIO=4&transport=websocket&sid=%s HTTP/1.1\r\nHost: x\r\nConnection: Upgrade\r\nUpgrade: websocket\r\nSec-WebSocket-Version: 13\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n\r\n", sid)
		resp, err := http.ReadResponse(bufio.NewReader(conn), nil)
		if err != nil {
			t.Fatal(err)
		}
		body, _ := io.ReadAll(resp.Body)
		return fmt.Sprintf("%d %s", resp.StatusCode, body)
	}
	op, _ := handshake(t, a.base, nil)
	if got := upgrade("AAAA" + strings.Repeat("x", 16)); got != "400 Session ID unknown" {
		t.Fatalf("unknown on A: %q", got)
	}
	a.mem.deaf.Store(true)
	if got := upgrade(op.SID); got != "400 Session ID unknown" {
		t.Fatalf("A hangs: %q", got)
	}
	mn.cut("AAAA")
	if got := upgrade(op.SID); got != "400 Session ID unknown" {
		t.Fatalf("A gone: %q", got)
	}
	if st := b.srv.ClusterStats(); st.ForwardFailures != 2 || st.ForwardTimeouts != 1 || st.Waiting != 0 {
		t.Errorf("B's stats %+v", st)
	}
}

// A polling session in a cluster waits the takeover window for its
// upgrade; a client that does not upgrade has its packets delivered after
// it, in order.
func TestClusterWindowDelaysPollingOnly(t *testing.T) {
	mn := newMemNet()
	a := startNode(t, mn, "AAAA", Options{}, ClusterConfig{TakeoverWindow: 300 * time.Millisecond})
	op, _ := handshake(t, a.base, nil)
	u := pollURL(a.base, op.SID)
	for _, m := range []string{"4a", "4b\x1e4c"} {
		if resp, _ := do(t, "POST", u, m, nil); resp.StatusCode != 200 {
			t.Fatal("post")
		}
	}
	if a.conns.Load() != 0 || a.msgs() != "" {
		t.Fatal("delivered inside the window")
	}
	waitFor(t, "the hand-over", func() bool { return a.msgs() == "a,b,c" })
	if _, body := do(t, "GET", u, "", nil); body != "4a\x1e4b\x1e4c" {
		t.Fatalf("echoes: %q", body)
	}
}

// Malformed and unexpected cluster messages are dropped without harm.
func FuzzClusterReceive(f *testing.F) {
	for _, seed := range [][]byte{
		nil, {'F'}, {'F', 1}, []byte("F\x01GET /engine.io/?EIO=4&transport=polling&sid=AAAAxxxxxxxxxxxxxxxx HTTP/1.1\r\nHost: x\r\n\r\n"),
		[]byte("F\x02POST /engine.io/?EIO=4&transport=polling&sid=AAAAxxxxxxxxxxxxxxxx HTTP/1.1\r\nHost: x\r\nContent-Length: 99\r\n\r\n4x"),
		[]byte("F\x03GET /engine.io/?EIO=4&transport=polling HTTP/1.1\r\n\r\n"),
		{'R', 1, 0}, {'R', 1}, {'C', 1}, []byte("U\x01AAAAxxxxxxxxxxxxxxxx"), {'u', 1, 0}, {'u', 1, 9},
		{'P', 1}, {'T', 1}, {'S', 1, 0, 5, 'a'}, {'S', 1, 0, 0, 0, 0, 0, 0, 200}, {'A', 1}, {'D', 1}, {'Z', 1},
		{'F', 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff},
	} {
		f.Add(seed)
	}
	srv := NewServer(Options{Logger: slog.New(slog.NewTextHandler(io.Discard, nil))})
	srv.OnConnection(func(s *Session) { s.SetHandler(&recordingHandler{reason: make(chan DisconnectReason, 16)}) })
	if err := srv.SetCluster(nullCluster{}); err != nil {
		f.Fatal(err)
	}
	in := srv.cluster.Load()
	defer srv.Shutdown(context.Background())
	f.Fuzz(func(t *testing.T, msg []byte) {
		clusterInbox{in}.Receive("BBBB", msg)
		if st, ok := parseState(msg); ok && st == nil {
			t.Fatal("parseState ok without a state")
		}
	})
}

// nullCluster is node AAAA of a cluster whose messages go nowhere.
type nullCluster struct{}

func (nullCluster) Join(ClusterInbox) (ClusterConfig, error) {
	return ClusterConfig{NodeID: "AAAA"}, nil
}
func (nullCluster) Send(string, []byte) error { return nil }

// An Engine.IO v3 session moves too: the held poll is released with a v3
// noop, the session keeps its version (the client pings, binary frames
// carry the type byte), and what it received meanwhile (a base64 binary
// POST through B) is delivered on B first.
func TestClusterTakeoverEIO3(t *testing.T) {
	mn := newMemNet()
	cfg := ClusterConfig{TakeoverWindow: 5 * time.Second}
	opts := Options{AllowEIO3: true, PingInterval: time.Minute, PingTimeout: time.Minute}
	a := startNode(t, mn, "AAAA", opts, cfg)
	b := startNode(t, mn, "BBBB", opts, cfg)
	sid := handshake3(t, a.base, "")
	if !strings.HasPrefix(sid, "AAAA") {
		t.Fatalf("sid %q", sid)
	}
	held := asyncGet(a.base + "/engine.io/?EIO=3&transport=polling&sid=" + sid)
	if resp, body := do(t, "POST", b.base+"/engine.io/?EIO=3&transport=polling&sid="+sid, "10:b4AQIDBA==", nil); resp.StatusCode != 200 {
		t.Fatalf("post through B: %d %q", resp.StatusCode, body)
	}
	c := wsDial(t, wsURL(b.base, "&EIO=3&sid="+sid), nil)
	c.send(t, "2probe")
	expectFrame(t, c, ws.OpText, "3probe")
	if r := <-held; r != "200 1:6" {
		t.Fatalf("the held poll on A got %q, want a v3 noop", r)
	}
	c.send(t, "5")
	expectFrame(t, c, ws.OpBinary, "\x04\x01\x02\x03\x04")
	c.sendBinary(t, []byte{4, 7})
	expectFrame(t, c, ws.OpBinary, "\x04\x07")
	c.send(t, "2")
	expectFrame(t, c, ws.OpText, "3")
	if b.srv.SessionCount() != 1 || a.srv.SessionCount() != 0 || b.srv.Sessions()[0].Protocol() != 3 {
		t.Fatalf("sessions A %d B %d", a.srv.SessionCount(), b.srv.SessionCount())
	}
	if st := b.srv.Stats(); st.WebSocketSessions != 1 || st.Upgrades != 1 || st.Cluster == nil || st.Cluster.TakenOver != 1 {
		t.Errorf("B's stats %+v %+v", st, st.Cluster)
	}
	if st := a.srv.Stats(); st.PollingSessions != 0 || st.Cluster.HandedOver != 1 {
		t.Errorf("A's stats %+v %+v", st, st.Cluster)
	}
}
