package sio

import (
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"
)

// A burst past MaxQueuedPackets from a client whose transport honours
// PauseReads is slowed down, not cut: reads pause while the handlers are
// behind, and every event is handled, in order. (The official client
// flushes its offline buffer in one polling POST: 2,000 buffered emits were
// cut at 1,024 before.)
func TestInboundBackpressure(t *testing.T) {
	srv := newTestServer(t, Options{MaxQueuedPackets: 8})
	release := make(chan struct{})
	var mu sync.Mutex
	var got []int
	reasons := make(chan DisconnectReason, 1)
	srv.OnConnection(func(s *Socket) {
		s.OnDisconnect(func(s *Socket, r DisconnectReason) { reasons <- r })
		s.On("slow", func(s *Socket, args Args, _ Ack) {
			<-release
			n, _ := Arg[int](args, 0)
			mu.Lock()
			got = append(got, n)
			mu.Unlock()
		})
	})
	c, f := fakeDialFlow(t, srv)
	c.Connect("/", "")
	sent := make(chan struct{})
	go func() {
		for i := 0; i < 200; i++ {
			c.Send(fmt.Sprintf(`2["slow",%d]`, i))
		}
		close(sent)
	}()
	// The sends block: reads are paused.
	deadline := time.Now().Add(5 * time.Second)
	for time.Now().Before(deadline) {
		f.flowMu.Lock()
		paused := f.pausedReads
		f.flowMu.Unlock()
		if paused {
			break
		}
		time.Sleep(time.Millisecond)
	}
	select {
	case <-sent:
		t.Fatal("200 events went through a paused connection")
	case <-time.After(50 * time.Millisecond):
	}
	close(release)
	select {
	case <-sent:
	case <-time.After(10 * time.Second):
		t.Fatal("the client's sends stayed blocked after the handlers caught up")
	}
	deadline = time.Now().Add(10 * time.Second)
	for time.Now().Before(deadline) {
		mu.Lock()
		n := len(got)
		mu.Unlock()
		if n == 200 {
			break
		}
		time.Sleep(5 * time.Millisecond)
	}
	mu.Lock()
	defer mu.Unlock()
	if len(got) != 200 {
		t.Fatalf("%d of 200 events handled", len(got))
	}
	for i, n := range got {
		if n != i {
			t.Fatalf("event %d handled as %d", i, n)
		}
	}
	select {
	case r := <-reasons:
		t.Fatalf("disconnected (%q) instead of slowed down", r)
	default:
	}
	if st := srv.Stats(); st.ReadPauses == 0 || st.InboundOverflows != 0 {
		t.Errorf("Stats() = %+v, want pauses and no overflow", st)
	}
}

// An event or acknowledgement with more than MaxEventArgs arguments is
// invalid: the connection closes as for a malformed packet.
func TestMaxEventArgs(t *testing.T) {
	srv := newTestServer(t, Options{MaxEventArgs: 5})
	handled := make(chan int, 4)
	errs := make(chan error, 4)
	srv.OnConnection(func(s *Socket) {
		s.OnError(func(s *Socket, err error) { errs <- err })
		s.On("e", func(s *Socket, args Args, _ Ack) { handled <- len(args) })
	})
	c := fakeDial(t, srv)
	c.Connect("/", "")
	c.Send(`2["e",1,2,3,4,5]`)
	if n := <-handled; n != 5 {
		t.Fatalf("%d arguments", n)
	}
	c.Send(`2["e",[1,2,3,4,5,6,7,8,9],{"a":[1,2,3,4,5,6]}]`) // nested arrays do not count
	if n := <-handled; n != 2 {
		t.Fatalf("%d arguments", n)
	}
	c.Send(`2["e",1,2,3,4,5,6]`)
	c.WaitClosed()
	if err := <-errs; !errors.Is(err, ErrInvalidPayload) {
		t.Fatalf("error %v, want ErrInvalidPayload", err)
	}

	c = fakeDial(t, srv)
	c.Connect("/", "")
	c.Send(`3` + "7[" + strings.Repeat("1,", 5) + "1]")
	c.WaitClosed()
}

// A connection may join at most MaxNamespacesPerConnection namespaces at
// once; past it a CONNECT is refused and no dynamic namespace is created.
func TestMaxNamespacesPerConnection(t *testing.T) {
	srv := newTestServer(t, Options{MaxNamespacesPerConnection: 2})
	srv.OfFunc(func(name string, _ json.RawMessage) bool { return strings.HasPrefix(name, "/dyn-") })
	c := fakeDial(t, srv)
	c.Connect("/dyn-1", "")
	c.Connect("/dyn-2", "")
	c.Send("0/dyn-3,")
	c.Expect(`4/dyn-3,{"message":"Too many namespaces"}`)
	if srv.lookup([]byte("/dyn-3")) != nil {
		t.Error("the refused namespace was created")
	}
	c.Send("1/dyn-1,")
	c.Connect("/dyn-3", "")
	if n := srv.Stats().Refused["too_many_namespaces"]; n != 1 {
		t.Errorf(`Refused["too_many_namespaces"] = %d, want 1`, n)
	}
}

// Connection state recovery while broadcasts keep coming: a client cut
// again and again gets every broadcast once, in order. The middleware's
// pause widens the window between the restore of the session and the
// joining of its rooms, where broadcasts were lost (or doubled) before
// restore and join became one step against the broadcasts.
func TestRecoveryUnderConcurrentBroadcasts(t *testing.T) {
	srv := newTestServer(t, Options{ConnectionStateRecovery: &ConnectionStateRecovery{}})
	srv.Use(func(s *Socket) error { time.Sleep(20 * time.Millisecond); return nil })
	gone := make(chan struct{}, 1)
	joined := make(chan struct{}, 1)
	srv.OnConnection(func(s *Socket) {
		if !s.Recovered() {
			s.Join("r")
			joined <- struct{}{}
		}
		s.OnDisconnect(func(*Socket, DisconnectReason) { gone <- struct{}{} })
	})
	const n, cycles, perCycle = 3000, 6, 300
	var got []int
	pid, offset := "", ""
	started := false
	for cycle := 0; len(got) < n; cycle++ {
		c := fakeDial(t, srv)
		c.Wait = 10 * time.Second
		if pid == "" {
			c.Send("0")
		} else {
			c.Send(`0{"pid":"` + pid + `","offset":"` + offset + `"}`)
		}
		target := len(got) + perCycle
		for len(got) < n && (cycle >= cycles || len(got) < target) {
			m := c.Next().Text
			switch {
			case strings.HasPrefix(m, `0{"sid":`):
				var p struct{ SID, PID string }
				_ = json.Unmarshal([]byte(m[1:]), &p)
				if pid != "" && p.PID != pid {
					t.Fatalf("cycle %d: not recovered (pid %q, want %q)", cycle, p.PID, pid)
				}
				pid = p.PID
				if !started {
					started = true
					<-joined
					go func() {
						for i := 0; i < n; i++ {
							_ = srv.To("r").Emit("m", i)
							time.Sleep(100 * time.Microsecond)
						}
					}()
				}
			case strings.HasPrefix(m, `2["m",`):
				var a []any
				if err := json.Unmarshal([]byte(m[1:]), &a); err != nil || len(a) != 3 {
					t.Fatalf("event %q", m)
				}
				if v := int(a[1].(float64)); v != len(got) {
					t.Fatalf("cycle %d: got event %d, want %d", cycle, v, len(got))
				}
				got = append(got, int(a[1].(float64)))
				offset = a[2].(string)
			default:
				t.Fatalf("unexpected packet %q", m)
			}
		}
		c.Close()
		select {
		case <-gone:
		case <-time.After(5 * time.Second):
			t.Fatal("the cut socket did not disconnect")
		}
	}
}

// The msgpack parser refuses an event past MaxEventArgs on its array's
// header, before reading an element.
func TestMaxEventArgsMsgpack(t *testing.T) {
	intern := func(b []byte) string { return string(b) }
	ok := mpEncode(t, `{"type":2,"nsp":"/","data":["e",1,2,3,4,5]}`)
	if _, err := decodeMsgpackPacket(ok, intern, 5); err != nil {
		t.Fatalf("5 arguments: %v", err)
	}
	over := mpEncode(t, `{"type":2,"nsp":"/","data":["e",1,2,3,4,5,6]}`)
	if _, err := decodeMsgpackPacket(over, intern, 5); !errors.Is(err, ErrInvalidPayload) {
		t.Fatalf("6 arguments: %v, want ErrInvalidPayload", err)
	}
	ack := mpEncode(t, `{"type":3,"nsp":"/","id":1,"data":[1,2,3,4,5,6]}`)
	if _, err := decodeMsgpackPacket(ack, intern, 5); !errors.Is(err, ErrInvalidPayload) {
		t.Fatalf("an ack of 6 arguments: %v, want ErrInvalidPayload", err)
	}
}
