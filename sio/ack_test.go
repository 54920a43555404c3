package sio

import (
	"context"
	"errors"
	"runtime"
	"strings"
	"testing"
	"time"
)

// ackID returns the ack id of an EVENT packet as the client received it
// ("2<id>[...]").
func ackID(t testing.TB, packet string) string {
	t.Helper()
	i := strings.IndexByte(packet, '[')
	if !strings.HasPrefix(packet, "2") || i < 2 {
		t.Fatalf("%q is not an EVENT with an ack id", packet)
	}
	return packet[1:i]
}

// A broadcast's member that disconnects without answering counts as
// answered-with-error: EmitWithAck returns at once, without a Timeout.
func TestBroadcastAckMemberLeaves(t *testing.T) {
	srv := startServer(t, Options{})
	srv.OnConnection(func(s *Socket) { s.Join("r") })
	a, b := dialWS(t, srv), dialWS(t, srv)
	a.connect("/", "")
	b.connect("/", "")
	type result struct {
		res []Args
		err error
	}
	done := make(chan result, 1)
	go func() {
		res, err := srv.To("r").EmitWithAck(context.Background(), "q")
		done <- result{res, err}
	}()
	q := a.expectPrefix("2")
	a.send("3" + ackID(t, q) + `["yes"]`)
	b.expectPrefix("2")
	b.conn.Close()
	select {
	case r := <-done:
		var ae *AckError
		if !errors.As(r.err, &ae) || !errors.Is(r.err, ErrDisconnected) || errors.Is(r.err, ErrAckTimeout) {
			t.Fatalf("err = %v, want an *AckError for a disconnected client", r.err)
		}
		if ae.Expected != 2 || ae.Answered != 1 || ae.Disconnected != 1 || len(r.res) != 1 || r.res[0][0].String() != `"yes"` {
			t.Fatalf("got %+v, responses %v", ae, r.res)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("EmitWithAck still waiting after a member left")
	}
}

// Emit with a BroadcastAckFunc waits on no goroutine: a member that never
// answers holds no goroutine, and its disconnection ends every collector.
func TestBroadcastAckFuncHoldsNoGoroutine(t *testing.T) {
	srv := startServer(t, Options{})
	joined := make(chan struct{}, 1)
	srv.OnConnection(func(s *Socket) { s.Join("r"); joined <- struct{}{} })
	c := dialWS(t, srv)
	c.connect("/", "")
	<-joined
	const n = 200
	results := make(chan error, n)
	before := runtime.NumGoroutine()
	for i := 0; i < n; i++ {
		err := srv.To("r").Emit("q", i, BroadcastAckFunc(func(res []Args, err error) { results <- err }))
		if err != nil {
			t.Fatal(err)
		}
	}
	for i := 0; i < n; i++ {
		c.expectPrefix("2") // received, never answered
	}
	if g := runtime.NumGoroutine(); g > before+n/4 {
		t.Fatalf("%d goroutines after %d pending broadcasts (%d before)", g, n, before)
	}
	select {
	case err := <-results:
		t.Fatalf("a callback ran (%v) before its member answered or left", err)
	default:
	}
	c.conn.Close()
	for i := 0; i < n; i++ {
		select {
		case err := <-results:
			if !errors.Is(err, ErrDisconnected) {
				t.Fatalf("callback %d: err %v, want ErrDisconnected", i, err)
			}
		case <-time.After(10 * time.Second):
			t.Fatalf("only %d of %d callbacks ran after the member left", i, n)
		}
	}
}

// A Timeout ends a broadcast's callback with ErrAckTimeout and the answers
// that came; an ack placed wrongly is refused.
func TestBroadcastAckFuncTimeout(t *testing.T) {
	srv := startServer(t, Options{})
	srv.OnConnection(func(s *Socket) { s.Join("r") })
	a, b := dialWS(t, srv), dialWS(t, srv)
	a.connect("/", "")
	b.connect("/", "")
	got := make(chan error, 1)
	var answers []Args
	err := srv.To("r").Timeout(200*time.Millisecond).Emit("q", BroadcastAckFunc(func(res []Args, err error) {
		answers = res
		got <- err
	}))
	if err != nil {
		t.Fatal(err)
	}
	a.send("3" + ackID(t, a.expectPrefix("2")) + `[1]`)
	b.expectPrefix("2")
	select {
	case err := <-got:
		var ae *AckError
		if !errors.As(err, &ae) || !ae.TimedOut || !errors.Is(err, ErrAckTimeout) || len(answers) != 1 {
			t.Fatalf("err %v, answers %v", err, answers)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("no callback after the timeout")
	}
	if err := srv.To("r").Emit("q", AckFunc(func(Args, error) {})); !errors.Is(err, errAckPlacement) {
		t.Fatalf("broadcast Emit with an AckFunc: %v", err)
	}
}

// An AckFunc of a socket that disconnects is called once, with
// ErrDisconnected; a blocking EmitWithAck returns.
func TestSocketAckEndsOnDisconnect(t *testing.T) {
	srv := startServer(t, Options{})
	results := make(chan error, 4)
	srv.OnConnection(func(s *Socket) {
		_ = s.Emit("q1", AckFunc(func(_ Args, err error) { results <- err }))
		go func() {
			_, err := s.EmitWithAck(context.Background(), "q2")
			results <- err
		}()
	})
	c := dialWS(t, srv)
	c.connect("/", "")
	c.expectPrefix("2")
	c.expectPrefix("2")
	c.conn.Close()
	for i := 0; i < 2; i++ {
		select {
		case err := <-results:
			if !errors.Is(err, ErrDisconnected) {
				t.Fatalf("err %v, want ErrDisconnected", err)
			}
		case <-time.After(10 * time.Second):
			t.Fatal("an acknowledgement never ended")
		}
	}
	select {
	case err := <-results:
		t.Fatalf("an acknowledgement ended twice (%v)", err)
	case <-time.After(100 * time.Millisecond):
	}
}

// Socket.Context is cancelled as soon as the connection is gone, while a
// handler of the socket is still blocked on it.
func TestSocketContext(t *testing.T) {
	srv := startServer(t, Options{})
	stopped := make(chan error, 1)
	disconnected := make(chan DisconnectReason, 1)
	var late context.Context
	srv.OnConnection(func(s *Socket) {
		s.OnDisconnect(func(s *Socket, r DisconnectReason) {
			late = s.Context()
			disconnected <- r
		})
		s.On("block", func(s *Socket, _ Args, _ Ack) {
			<-s.Context().Done()
			stopped <- context.Cause(s.Context())
		})
	})
	c := dialWS(t, srv)
	c.connect("/", "")
	c.send(`2["block"]`)
	time.Sleep(50 * time.Millisecond)
	c.conn.Close()
	select {
	case err := <-stopped:
		if !errors.Is(err, context.Canceled) {
			t.Fatalf("cause %v", err)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("the blocked handler was not released")
	}
	if r := <-disconnected; r != ReasonTransportClose {
		t.Fatalf("reason %q", r)
	}
	if late.Err() == nil {
		t.Fatal("a context asked for after the disconnection is not done")
	}
}
