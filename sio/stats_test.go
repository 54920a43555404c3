package sio

import (
	"bytes"
	"context"
	"errors"
	"log/slog"
	"strings"
	"sync"
	"testing"
	"time"
)

type lockedBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (l *lockedBuffer) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.Write(p)
}
func (l *lockedBuffer) String() string { l.mu.Lock(); defer l.mu.Unlock(); return l.b.String() }

func waitStats(t *testing.T, srv *Server, what string, cond func(Stats) bool) Stats {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for {
		st := srv.Stats()
		if cond(st) {
			return st
		}
		if time.Now().After(deadline) {
			t.Fatalf("%s: stats %+v", what, st)
		}
		time.Sleep(2 * time.Millisecond)
	}
}

func nspStats(st Stats, name string) NamespaceStats {
	for _, n := range st.Namespaces {
		if n.Name == name {
			return n
		}
	}
	return NamespaceStats{Rooms: -2}
}

// The counters follow what happens: connects, rooms, refusals, broadcasts
// and their deliveries, acknowledgements pending and timed out,
// disconnects by reason, handler durations.
func TestStatsFollowTraffic(t *testing.T) {
	srv := newTestServer(t, Options{})
	srv.TimeHandlers(true)
	chat := srv.Of("/chat")
	chat.Use(func(s *Socket) error {
		if strings.Contains(string(s.Handshake().Auth()), "deny") {
			return errors.New("no")
		}
		return nil
	})
	chat.OnConnection(func(s *Socket) {
		s.Join("room")
		s.On("ask", func(s *Socket, _ Args, _ Ack) {
			s.Timeout(20*time.Millisecond).Emit("question", AckFunc(func(Args, error) {}))
		})
	})
	a, b := fakeDial(t, srv), fakeDial(t, srv)
	aSID := a.Connect("/chat", "")
	b.Connect("/chat", "")
	c := fakeDial(t, srv)
	c.Send(`0/chat,{"deny":1}`)
	c.ExpectPrefix(`4/chat,{"message":"no"}`)
	c.Send(`0/nope,`)
	c.ExpectPrefix(`4/nope,`)

	st := waitStats(t, srv, "two connected", func(st Stats) bool { return nspStats(st, "/chat").Sockets == 2 })
	if ns := nspStats(st, "/chat"); ns.Rooms != 1 || ns.Connects != 2 {
		t.Fatalf("/chat: %+v", ns)
	}
	if st.Refused["middleware"] != 1 || st.Refused["invalid_namespace"] != 1 {
		t.Fatalf("refused %v", st.Refused)
	}

	// Both in the room (their connection handlers joined it).
	waitStats(t, srv, "both in the room", func(Stats) bool {
		ids, _ := chat.In("room").AllSockets()
		return len(ids) == 2
	})
	if err := chat.To("room").Emit("news", 1); err != nil {
		t.Fatal(err)
	}
	a.Expect(`2/chat,["news",1]`)
	b.Expect(`2/chat,["news",1]`)
	st = srv.Stats()
	if st.Broadcasts != 1 || st.Deliveries != 2 {
		t.Fatalf("after one broadcast to two: broadcasts %d deliveries %d", st.Broadcasts, st.Deliveries)
	}

	a.Send(`2/chat,["ask"]`)
	q := a.ExpectPrefix(`2/chat,`)
	if !strings.Contains(q, `"question"`) {
		t.Fatalf("got %q", q)
	}
	waitStats(t, srv, "ack pending", func(st Stats) bool { return st.AcksPending == 1 })
	st = waitStats(t, srv, "ack timed out", func(st Stats) bool { return st.AcksPending == 0 && st.AckTimeouts == 1 })

	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	go func() {
		m := b.ExpectPrefix(`2/chat,`)
		b.Send(`3/chat,` + strings.TrimPrefix(strings.SplitN(m, "[", 2)[0], "2/chat,") + `["ok"]`)
	}()
	res, err := chat.Timeout(5*time.Second).Except(aSID).EmitWithAck(ctx, "poll")
	if err != nil || len(res) != 1 {
		t.Fatalf("broadcast ack: %v %v", res, err)
	}
	st = srv.Stats()
	if st.AcksPending != 0 || st.Broadcasts != 2 || st.Deliveries != 3 {
		t.Fatalf("after a broadcast with ack: %+v", st)
	}

	a.Send(`1/chat,`)
	b.Close()
	st = waitStats(t, srv, "both gone", func(st Stats) bool {
		return nspStats(st, "/chat").Sockets == 0 && nspStats(st, "/chat").Rooms == 0 &&
			st.Disconnects[ReasonClientNamespaceDisconnect] == 1 && st.Disconnects[ReasonTransportClose] == 1
	})
	if ns := nspStats(st, "/chat"); ns.Rooms != 0 || ns.Connects != 2 {
		t.Fatalf("/chat after: %+v", ns)
	}
	h := st.HandlerDurations["event"]
	if h.Count() < 1 || h.Sum <= 0 || len(h.Counts) != len(HandlerDurationBounds)+1 {
		t.Fatalf("event durations %+v", h)
	}
	if st.HandlerDurations["connect"].Count() < 3 {
		t.Fatalf("connect durations %+v", st.HandlerDurations["connect"])
	}
}

// A panicking handler is logged with its stack, socket, namespace and
// event, and counted; the connection lives on.
func TestHandlerPanicLogged(t *testing.T) {
	var buf lockedBuffer
	srv := newTestServer(t, Options{Logger: slog.New(slog.NewTextHandler(&buf, nil))})
	srv.OnConnection(func(s *Socket) {
		s.On("boom", func(*Socket, Args, Ack) { panic("kaboom") })
		s.On("ping", func(s *Socket, _ Args, ack Ack) { _ = ack("pong") })
	})
	c := fakeDial(t, srv)
	sid := c.Connect("/", "")
	c.Send(`2["boom"]`)
	c.Send(`21["ping"]`)
	c.Expect(`31["pong"]`)
	waitStats(t, srv, "panic counted", func(st Stats) bool { return st.HandlerPanics == 1 })
	out := buf.String()
	for _, want := range []string{"handler panicked", "panic=kaboom", "sid=" + sid, "event=boom", "nsp=/", "stats_test.go"} {
		if !strings.Contains(out, want) {
			t.Fatalf("the panic's log lacks %q:\n%s", want, out)
		}
	}
}

// An invalid packet and an inbound flood are counted and logged with the
// remote address; the log is rate-limited.
func TestProtocolErrorsCountedAndLogged(t *testing.T) {
	var buf lockedBuffer
	srv := newTestServer(t, Options{Logger: slog.New(slog.NewTextHandler(&buf, nil)), MaxQueuedPackets: 2})
	block := make(chan struct{})
	srv.OnConnection(func(s *Socket) {
		s.On("slow", func(*Socket, Args, Ack) { <-block })
	})
	defer close(block)
	for i := 0; i < 30; i++ {
		c := fakeDial(t, srv)
		c.Connect("/", "")
		c.Send(`2{"not":"an array"}`)
		c.WaitClosed()
	}
	c := fakeDial(t, srv)
	c.Connect("/", "")
	for i := 0; i < 20; i++ {
		c.Send(`2["slow"]`)
	}
	c.WaitClosed()
	st := waitStats(t, srv, "counted", func(st Stats) bool {
		return st.ProtocolErrors == 30 && st.InboundOverflows == 1 && st.Disconnects[ReasonForcedClose] == 30
	})
	if st.ProtocolErrors != 30 {
		t.Fatalf("protocol errors %d", st.ProtocolErrors)
	}
	out := buf.String()
	if n := strings.Count(out, `msg="sio: invalid packet; connection closed"`); n == 0 || n > 10 {
		t.Fatalf("%d lines for 30 protocol errors (want at most a burst of 10):\n%s", n, out)
	}
	if !strings.Contains(out, "MaxQueuedPackets") || !strings.Contains(out, "remote=127.0.0.1") {
		t.Fatalf("the overflow is not logged with its address:\n%s", out)
	}
}

// Recording the counters and handler durations adds no allocation to
// handling an event.
func TestCountingAllocatesNothing(t *testing.T) {
	srv := newTestServer(t, Options{})
	srv.OnConnection(func(s *Socket) { s.On("ev", func(*Socket, Args, Ack) {}) })
	socks := addFakeSockets(srv, srv.Sockets(), 1)
	c := socks[0].c
	run := func() {
		p, err := parseInbound(c, []byte(`2["ev",1]`), 10, 10_000, srv.intern)
		if err != nil {
			t.Fatal(err)
		}
		p.Run()
	}
	srv.TimeHandlers(false)
	off := testing.AllocsPerRun(200, run)
	srv.TimeHandlers(true)
	on := testing.AllocsPerRun(200, run)
	if on != off {
		t.Fatalf("handling an event allocates %.1f times with timing on, %.1f off", on, off)
	}
}
