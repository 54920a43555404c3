package sio

import (
	"context"
	"errors"
	"fmt"
	"runtime"
	"strings"
	"testing"
	"time"

	"github.com/fanio/fanio/internal/siotest"
)

func TestServerAcks(t *testing.T) {
	srv := newTestServer(t, Options{})
	results := make(chan string, 8)
	srv.OnConnection(func(s *Socket) {
		s.On("go", func(s *Socket, _ Args, _ Ack) {
			// blocking, from inside a handler of the same connection
			args, err := s.Timeout(2*time.Second).EmitWithAck(context.Background(), "q1", 1)
			results <- "blocking:" + args.String() + errString(err)
			_ = s.Timeout(2*time.Second).Emit("q2", AckFunc(func(args Args, err error) {
				results <- "callback:" + args.String() + errString(err)
			}))
			_ = s.Timeout(100*time.Millisecond).Emit("q3", AckFunc(func(args Args, err error) {
				results <- "timeout:" + errString(err)
			}))
		})
	})
	c := fakeDial(t, srv)
	c.Connect("/", "")
	c.Send(`2["go"]`)
	q1 := c.ExpectPrefix(`2`)
	if !strings.HasSuffix(q1, `["q1",1]`) {
		t.Fatalf("q1 packet %q", q1)
	}
	c.Send("3" + q1[1:strings.IndexByte(q1, '[')] + `["a1"]`)
	if r := <-results; r != `blocking:["a1"]` {
		t.Fatalf("got %q", r)
	}
	q2 := c.ExpectPrefix(`2`)
	c.ExpectPrefix(`2`) // q3, never answered
	c.Send("3" + q2[1:strings.IndexByte(q2, '[')] + `["a2",{"x":1}]`)
	got := map[string]bool{}
	for i := 0; i < 2; i++ {
		select {
		case r := <-results:
			got[r] = true
		case <-time.After(5 * time.Second):
			t.Fatalf("results so far %v", got)
		}
	}
	for _, w := range []string{`callback:["a2",{"x":1}]`, "timeout: err=operation has timed out"} {
		if !got[w] {
			t.Errorf("missing %q in %v", w, got)
		}
	}
	// a late answer to the timed-out request is ignored
	c.Send(`399["late"]`)
	c.Send(`2["go"]`)
	c.ExpectPrefix(`2`)
}

func TestBroadcastWithAck(t *testing.T) {
	srv := newTestServer(t, Options{})
	a, b := fakeDial(t, srv), fakeDial(t, srv)
	a.Connect("/", "")
	b.Connect("/", "")
	type result struct {
		res []Args
		err error
	}
	done := make(chan result, 1)
	go func() {
		res, err := srv.Timeout(3*time.Second).EmitWithAck(context.Background(), "q", "?")
		done <- result{res, err}
	}()
	for i, c := range []*siotest.Client{a, b} {
		m := c.ExpectPrefix("2")
		c.Send(fmt.Sprintf("3%s[%d]", m[1:strings.IndexByte(m, '[')], i))
	}
	r := <-done
	if r.err != nil || len(r.res) != 2 {
		t.Fatalf("EmitWithAck = %v, %v; want 2 answers", r.res, r.err)
	}
	// one client does not answer: a timeout error says how many did
	go func() {
		res, err := srv.Timeout(200*time.Millisecond).EmitWithAck(context.Background(), "q", "?")
		done <- result{res, err}
	}()
	m := a.ExpectPrefix("2")
	a.Send("3" + m[1:strings.IndexByte(m, '[')] + `["yes"]`)
	b.ExpectPrefix("2")
	r = <-done
	var te *AckError
	if !errors.As(r.err, &te) || !errors.Is(r.err, ErrAckTimeout) || te.Answered != 1 || te.Expected != 2 {
		t.Fatalf("err = %v, want a timeout with 1 of 2 answers", r.err)
	}
	if want := "operation has timed out: 1 of 2 clients answered"; r.err.Error() != want {
		t.Fatalf("error text %q, want %q", r.err.Error(), want)
	}
	if len(r.res) != 1 || r.res[0][0].String() != `"yes"` {
		t.Fatalf("responses %v", r.res)
	}
}

// A broadcast's member that disconnects without answering counts as
// answered-with-error: EmitWithAck returns at once, without a Timeout.
func TestBroadcastAckMemberLeaves(t *testing.T) {
	srv := newTestServer(t, Options{})
	// The connection handler runs after the client has its CONNECT answer:
	// wait for both joins before broadcasting from this goroutine.
	joined := make(chan struct{}, 2)
	srv.OnConnection(func(s *Socket) { s.Join("r"); joined <- struct{}{} })
	a, b := fakeDial(t, srv), fakeDial(t, srv)
	a.Connect("/", "")
	b.Connect("/", "")
	<-joined
	<-joined
	type result struct {
		res []Args
		err error
	}
	done := make(chan result, 1)
	go func() {
		res, err := srv.To("r").EmitWithAck(context.Background(), "q")
		done <- result{res, err}
	}()
	q := a.ExpectPrefix("2")
	a.Send("3" + siotest.AckID(q) + `["yes"]`)
	b.ExpectPrefix("2")
	b.Close()
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
	srv := newTestServer(t, Options{})
	joined := make(chan struct{}, 1)
	srv.OnConnection(func(s *Socket) { s.Join("r"); joined <- struct{}{} })
	c := fakeDial(t, srv)
	c.Connect("/", "")
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
		c.ExpectPrefix("2") // received, never answered
	}
	if g := runtime.NumGoroutine(); g > before+n/4 {
		t.Fatalf("%d goroutines after %d pending broadcasts (%d before)", g, n, before)
	}
	select {
	case err := <-results:
		t.Fatalf("a callback ran (%v) before its member answered or left", err)
	default:
	}
	c.Close()
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
	srv := newTestServer(t, Options{})
	// The connection handler runs after the client has its CONNECT answer:
	// wait for both joins before broadcasting from this goroutine.
	joined := make(chan struct{}, 2)
	srv.OnConnection(func(s *Socket) { s.Join("r"); joined <- struct{}{} })
	a, b := fakeDial(t, srv), fakeDial(t, srv)
	a.Connect("/", "")
	b.Connect("/", "")
	<-joined
	<-joined
	got := make(chan error, 1)
	var answers []Args
	err := srv.To("r").Timeout(200*time.Millisecond).Emit("q", BroadcastAckFunc(func(res []Args, err error) {
		answers = res
		got <- err
	}))
	if err != nil {
		t.Fatal(err)
	}
	a.Send("3" + siotest.AckID(a.ExpectPrefix("2")) + `[1]`)
	b.ExpectPrefix("2")
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
	srv := newTestServer(t, Options{})
	results := make(chan error, 4)
	srv.OnConnection(func(s *Socket) {
		_ = s.Emit("q1", AckFunc(func(_ Args, err error) { results <- err }))
		go func() {
			_, err := s.EmitWithAck(context.Background(), "q2")
			results <- err
		}()
	})
	c := fakeDial(t, srv)
	c.Connect("/", "")
	c.ExpectPrefix("2")
	c.ExpectPrefix("2")
	c.Close()
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
