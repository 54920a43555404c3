package engine

import (
	"context"
	"errors"
	"fmt"
	"net/http/httptest"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"
)

// sessionOf waits for the server's only session.
func sessionOf(t *testing.T, srv *Server) *Session {
	t.Helper()
	deadline := time.Now().Add(5 * time.Second)
	for time.Now().Before(deadline) {
		if all := srv.Sessions(); len(all) == 1 {
			return all[0]
		}
		time.Sleep(5 * time.Millisecond)
	}
	t.Fatal("no session")
	return nil
}

// A polling client that never polls: its queue stops at the budget and the
// session closes as a slow reader, instead of growing without bound (10
// such clients of a busy room grew the server to 3.5 GB in 15 s).
func TestPollingQueueBounded(t *testing.T) {
	const budget = 256 << 10
	srv, base, h := start(t, Options{MaxOutboundBytes: budget})
	handshake(t, base, nil)
	sess := sessionOf(t, srv)
	msg := []byte(strings.Repeat("m", 1000))
	var err error
	maxBacklog := 0
	for i := 0; i < 10_000 && err == nil; i++ {
		err = sess.Send(msg, false)
		maxBacklog = max(maxBacklog, sess.Backlog())
	}
	if !errors.Is(err, ErrSlowReader) {
		t.Fatalf("sending to a client that never polls ended with %v, want ErrSlowReader", err)
	}
	if maxBacklog > budget {
		t.Errorf("polling queue reached %d bytes, budget %d", maxBacklog, budget)
	}
	if r := <-h.reason; r != ReasonSlowReader {
		t.Errorf("reason %q, want %q", r, ReasonSlowReader)
	}
	if n := srv.Stats().SlowReaders; n != 1 {
		t.Errorf("Stats().SlowReaders = %d, want 1", n)
	}
}

// A WebSocket client that stops reading is closed as a slow reader once
// its unwritten output passes the budget, and its session ends with
// ReasonSlowReader, counted in Stats().SlowReaders.
func TestWebSocketSlowReaderReason(t *testing.T) {
	const budget = 256 << 10
	srv, base, h := start(t, Options{MaxOutboundBytes: budget})
	c := wsDial(t, "ws"+strings.TrimPrefix(base, "http")+"/engine.io/?EIO=4&transport=websocket", nil)
	c.open(t) // then never reads again
	sess := sessionOf(t, srv)
	msg := []byte(strings.Repeat("m", 16<<10))
	deadline := time.Now().Add(10 * time.Second)
	var err error
	for err == nil && time.Now().Before(deadline) {
		err = sess.Send(msg, false)
		if err == nil {
			time.Sleep(100 * time.Microsecond) // let the loop write what the kernel takes
		}
	}
	if err == nil {
		t.Fatal("sending to a WebSocket that never reads kept succeeding for 10 s")
	}
	select {
	case r := <-h.reason:
		if r != ReasonSlowReader {
			t.Errorf("reason %q, want %q", r, ReasonSlowReader)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("the session did not close")
	}
	if n := srv.Stats().SlowReaders; n != 1 {
		t.Errorf("Stats().SlowReaders = %d, want 1", n)
	}
	if n := srv.Stats().Closes[ReasonSlowReader]; n != 1 {
		t.Errorf("Stats().Closes[slow reader] = %d, want 1", n)
	}
}

// A backlog leaves in bounded answers, in order, one per GET.
func TestPollAnswersBounded(t *testing.T) {
	srv, base, _ := start(t, Options{MaxOutboundBytes: 16 << 20, HTTPCompressionThreshold: -1})
	op, _ := handshake(t, base, nil)
	sess := sessionOf(t, srv)
	const n = 3000
	for i := 0; i < n; i++ {
		if err := sess.Send([]byte(fmt.Sprintf("%06d%s", i, strings.Repeat("p", 500))), false); err != nil {
			t.Fatal(err)
		}
	}
	u := base + "/engine.io/?EIO=4&transport=polling&sid=" + op.SID
	next, answers := 0, 0
	for next < n {
		resp, body := do(t, "GET", u, "", nil)
		if resp.StatusCode != 200 {
			t.Fatalf("poll: %d %q", resp.StatusCode, body)
		}
		answers++
		if len(body) > pollResponseMax+1024 {
			t.Fatalf("an answer of %d bytes, want at most %d", len(body), pollResponseMax)
		}
		for _, rec := range strings.Split(body, "\x1e") {
			if rec == "2" {
				continue // a ping
			}
			if got, _ := strconv.Atoi(rec[1:7]); rec[0] != '4' || got != next {
				t.Fatalf("record %q, want message %d", rec[:min(len(rec), 8)], next)
			}
			next++
		}
	}
	if answers < 5 {
		t.Errorf("1.5 MB left in %d answers", answers)
	}
}

// A client that never polls but posts pongs does not keep its session: a
// pong answers a ping only once the ping left in a poll's answer. So the
// session ends with "ping timeout" within pingInterval + pingTimeout while
// what it queued waits. A client that polls stays.
func TestPongWithoutPollDoesNotKeepSession(t *testing.T) {
	srv, base, h := start(t, Options{PingInterval: 100 * time.Millisecond, PingTimeout: 100 * time.Millisecond})
	op, _ := handshake(t, base, nil)
	sess := sessionOf(t, srv)
	_ = sess.Send([]byte("waiting"), false)
	u := base + "/engine.io/?EIO=4&transport=polling&sid=" + op.SID
	stop := time.After(5 * time.Second)
pong:
	for {
		select {
		case r := <-h.reason:
			if r != ReasonPingTimeout {
				t.Fatalf("reason %q, want %q", r, ReasonPingTimeout)
			}
			break pong
		case <-stop:
			t.Fatal("pongs to pings never received kept the session alive")
		case <-time.After(30 * time.Millisecond):
			do(t, "POST", u, "3", nil) // 400 once it is closed
		}
	}

	// The same client, polling: alive after many ping intervals.
	op, _ = handshake(t, base, nil)
	u = base + "/engine.io/?EIO=4&transport=polling&sid=" + op.SID
	for deadline := time.Now().Add(time.Second); time.Now().Before(deadline); {
		resp, body := do(t, "GET", u, "", nil)
		if resp.StatusCode != 200 {
			t.Fatalf("a polling client lost its session: %d %q", resp.StatusCode, body)
		}
		if strings.Contains(body, "2") {
			do(t, "POST", u, "3", nil)
		}
	}
	select {
	case r := <-h.reason:
		t.Fatalf("a polling client's session ended: %q", r)
	default:
	}
}

// pausingHandler pauses a session's reads every 100 messages, and a
// goroutine resumes them shortly after: a handler behind on its work.
type pausingHandler struct {
	mu   sync.Mutex
	msgs []string
	n    int
}

func (h *pausingHandler) OnMessage(s *Session, data []byte, binary bool) {
	h.mu.Lock()
	h.msgs = append(h.msgs, string(data))
	h.n++
	pause := h.n%100 == 0
	h.mu.Unlock()
	if pause {
		s.PauseReads()
		go func() {
			time.Sleep(20 * time.Millisecond)
			s.ResumeReads()
		}()
	}
}

func (h *pausingHandler) OnClose(*Session, DisconnectReason) {}

// A POST read while its handler pauses: the rest of its packets and its
// answer wait for ResumeReads, then every packet is delivered, in order.
// (The official client flushes its offline buffer in one POST: 2,000
// buffered emits were cut at 1,024 before.)
func TestHeldPostDeliversEverything(t *testing.T) {
	for _, mount := range []bool{false, true} {
		t.Run(map[bool]string{false: "standalone", true: "mounted"}[mount], func(t *testing.T) {
			h := &pausingHandler{}
			srv := NewServer(Options{})
			srv.OnConnection(func(s *Session) { s.SetHandler(h) })
			var base string
			if mount {
				hs := httptest.NewServer(srv)
				t.Cleanup(func() {
					_ = srv.Shutdown(context.Background())
					hs.Close()
				})
				base = hs.URL
			} else {
				if err := srv.Start("127.0.0.1:0"); err != nil {
					t.Fatal(err)
				}
				t.Cleanup(func() { _ = srv.Shutdown(context.Background()) })
				base = "http://" + srv.Addr().String()
			}
			op, _ := handshake(t, base, nil)
			u := base + "/engine.io/?EIO=4&transport=polling&sid=" + op.SID
			const n = 2000
			var body strings.Builder
			for i := 0; i < n; i++ {
				if i > 0 {
					body.WriteByte(0x1e)
				}
				fmt.Fprintf(&body, "4m%d", i)
			}
			resp, got := do(t, "POST", u, body.String(), nil)
			if resp.StatusCode != 200 || got != "ok" {
				t.Fatalf("post: %d %q", resp.StatusCode, got)
			}
			h.mu.Lock()
			defer h.mu.Unlock()
			if len(h.msgs) != n {
				t.Fatalf("%d of %d packets delivered", len(h.msgs), n)
			}
			for i, m := range h.msgs {
				if m != fmt.Sprintf("m%d", i) {
					t.Fatalf("packet %d is %q", i, m)
				}
			}
			if srv.Stats().ReadPauses < n/100-1 {
				t.Errorf("ReadPauses = %d", srv.Stats().ReadPauses)
			}
		})
	}
}

// A WebSocket session's PauseReads pauses its connection.
func TestSessionPauseReadsWebSocket(t *testing.T) {
	srv, base, _ := start(t, Options{})
	c := wsDial(t, "ws"+strings.TrimPrefix(base, "http")+"/engine.io/?EIO=4&transport=websocket", nil)
	c.open(t)
	sess := sessionOf(t, srv)
	sess.PauseReads()
	if !sess.ReadsPaused() || !sess.ws.ReadsPaused() {
		t.Fatal("the connection's reads are not paused")
	}
	sess.ResumeReads()
	if sess.ReadsPaused() || sess.ws.ReadsPaused() {
		t.Fatal("the connection's reads are still paused")
	}
}

// With MaxOutboundBytesTotal, the sessions holding the most are closed
// first when the sum of all backlogs passes it; the others stay.
func TestTotalBudgetCutsWorstFirst(t *testing.T) {
	srv, base, h := start(t, Options{MaxOutboundBytes: 8 << 20, MaxOutboundBytesTotal: 4 << 20})
	var sessions []*Session
	for i := 0; i < 3; i++ {
		handshake(t, base, nil)
	}
	deadline := time.Now().Add(5 * time.Second)
	for len(sessions) < 3 && time.Now().Before(deadline) {
		sessions = srv.Sessions()
	}
	if len(sessions) != 3 {
		t.Fatal("3 sessions wanted")
	}
	msg := []byte(strings.Repeat("x", 10_000))
	// Session 0 gets 3 MiB, session 1 1 MiB, session 2 a little.
	for i := 0; i < 300; i++ {
		_ = sessions[0].Send(msg, false)
	}
	for i := 0; i < 100; i++ {
		_ = sessions[1].Send(msg, false)
	}
	_ = sessions[2].Send(msg, false)
	for i := 0; i < 100 && srv.Stats().BudgetCuts == 0; i++ {
		_ = sessions[1].Send(msg, false)
		time.Sleep(time.Millisecond)
	}
	if srv.Stats().BudgetCuts == 0 {
		t.Fatalf("no cut with %d bytes held, budget %d", srv.Stats().OutboundBytes, 4<<20)
	}
	select {
	case r := <-h.reason:
		if r != ReasonSlowReader {
			t.Errorf("reason %q, want %q", r, ReasonSlowReader)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("no session closed")
	}
	time.Sleep(300 * time.Millisecond)
	if n := srv.SessionCount(); n < 1 {
		t.Errorf("%d sessions left: the smallest backlog was cut too", n)
	}
	for _, s := range srv.Sessions() {
		if s == sessions[0] {
			t.Error("the largest backlog survived the cut")
		}
	}
	if srv.Stats().OutboundBytes > 4<<20 {
		t.Errorf("OutboundBytes = %d after the cut", srv.Stats().OutboundBytes)
	}
}

// Volatile packets to a polling client with no GET held are dropped and
// counted; the session stays.
func TestSendVolatilePolling(t *testing.T) {
	srv, base, _ := start(t, Options{})
	op, _ := handshake(t, base, nil)
	sess := sessionOf(t, srv)
	p := NewPrepared([]Message{{Data: []byte("v")}}, false)
	if sess.SendVolatile(p) {
		t.Fatal("a volatile packet was queued with no poll waiting")
	}
	if srv.Stats().VolatileDropped != 1 {
		t.Errorf("VolatileDropped = %d", srv.Stats().VolatileDropped)
	}
	u := base + "/engine.io/?EIO=4&transport=polling&sid=" + op.SID
	got := make(chan string, 1)
	go func() {
		_, body := do(t, "GET", u, "", nil)
		got <- body
	}()
	deadline := time.Now().Add(5 * time.Second)
	for !sess.Writable() && time.Now().Before(deadline) {
		time.Sleep(time.Millisecond)
	}
	if !sess.SendVolatile(p) {
		t.Fatal("a volatile packet was dropped with a poll waiting")
	}
	if b := <-got; b != "4v" {
		t.Fatalf("poll got %q", b)
	}
}

// ShutdownWindow spreads the closes: the last session closes at least a
// fraction of the window after the first (never all in the same instant).
func TestShutdownWindowSpreadsCloses(t *testing.T) {
	srv := NewServer(Options{ShutdownWindow: 400 * time.Millisecond})
	var mu sync.Mutex
	var closes []time.Time
	srv.OnConnection(func(s *Session) {
		s.SetHandler(closeRecorder(func() {
			mu.Lock()
			closes = append(closes, time.Now())
			mu.Unlock()
		}))
	})
	if err := srv.Start("127.0.0.1:0"); err != nil {
		t.Fatal(err)
	}
	base := "http://" + srv.Addr().String()
	for i := 0; i < 40; i++ {
		handshake(t, base, nil)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if err := srv.Shutdown(ctx); err != nil {
		t.Fatal(err)
	}
	mu.Lock()
	defer mu.Unlock()
	if len(closes) != 40 {
		t.Fatalf("%d sessions closed, want 40", len(closes))
	}
	first, last := closes[0], closes[0]
	for _, c := range closes {
		if c.Before(first) {
			first = c
		}
		if c.After(last) {
			last = c
		}
	}
	if span := last.Sub(first); span < 100*time.Millisecond {
		t.Errorf("40 closes within %v, want them spread over the 400 ms window", span)
	}
}

type closeRecorder func()

func (closeRecorder) OnMessage(*Session, []byte, bool)     {}
func (f closeRecorder) OnClose(*Session, DisconnectReason) { f() }

// After half the sessions (at least 1,000) left, freed memory is returned
// to the OS; NoMemoryRelease turns that off.
func TestMemoryReleasedAfterDrop(t *testing.T) {
	old := releaseCheck
	releaseCheck = 20 * time.Millisecond
	defer func() { releaseCheck = old }()
	for _, off := range []bool{false, true} {
		srv, base, _ := start(t, Options{NoMemoryRelease: off})
		for i := 0; i < 1200; i++ {
			handshake(t, base, nil)
		}
		time.Sleep(100 * time.Millisecond) // the high-water mark is seen
		for _, s := range srv.Sessions() {
			s.closeAfterError()
		}
		deadline := time.Now().Add(3 * time.Second)
		for srv.Stats().MemoryReleases == 0 && time.Now().Before(deadline) {
			time.Sleep(10 * time.Millisecond)
		}
		if n := srv.Stats().MemoryReleases; (n == 0) != off {
			t.Errorf("NoMemoryRelease=%v: %d releases", off, n)
		}
	}
}
