package eventloop

import (
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"net"
	"sync"
	"testing"
	"time"
)

// frameOwner records a framed connection's messages and close.
type frameOwner struct {
	mu     sync.Mutex
	msgs   []string
	got    chan struct{}
	closed chan error
}

func newFrameOwner() *frameOwner {
	return &frameOwner{got: make(chan struct{}, 64), closed: make(chan error, 1)}
}

func (o *frameOwner) OnMessage(c *Conn, data []byte, binary bool) {
	o.mu.Lock()
	o.msgs = append(o.msgs, fmt.Sprintf("%v:%s", binary, data))
	o.mu.Unlock()
	o.got <- struct{}{}
}

func (o *frameOwner) OnClose(_ *Conn, err error) { o.closed <- err }

func frame(msg string) []byte {
	return append(binary.BigEndian.AppendUint32(nil, uint32(len(msg))), msg...)
}

// A framed connection (a cluster link) delivers each complete frame to its
// owner, whatever the reads cut it into, writes frames from any goroutine,
// is not counted as a client connection, and tells its owner when it
// closes; a frame over the limit closes it. On a loop and on goroutines.
func TestAdoptFrames(t *testing.T) {
	for _, portable := range []bool{false, true} {
		t.Run(fmt.Sprintf("portable=%v", portable), func(t *testing.T) {
			s := NewServer(Options{Logger: quiet, MaxFrameBytes: 1000}, &testHandler{})
			t.Cleanup(func() { _ = s.Stop(context.Background()) })
			ln, err := net.Listen("tcp", "127.0.0.1:0")
			if err != nil {
				t.Fatal(err)
			}
			defer ln.Close()
			peer, err := net.Dial("tcp", ln.Addr().String())
			if err != nil {
				t.Fatal(err)
			}
			defer peer.Close()
			_ = peer.SetDeadline(time.Now().Add(10 * time.Second))
			sc, err := ln.Accept()
			if err != nil {
				t.Fatal(err)
			}
			if portable {
				sc = struct{ net.Conn }{sc}
			}
			o := newFrameOwner()
			c, err := s.AdoptFrames(sc, o)
			if err != nil {
				t.Fatal(err)
			}
			if n := s.CountConnections(); n != 0 {
				t.Errorf("CountConnections = %d with only a framed connection", n)
			}
			all := append(append(frame("one"), frame("")...), frame("three")...)
			for i := 0; i < len(all); i += 3 { // cut anywhere
				if _, err := peer.Write(all[i:min(i+3, len(all))]); err != nil {
					t.Fatal(err)
				}
				time.Sleep(time.Millisecond)
			}
			for range 3 {
				select {
				case <-o.got:
				case <-time.After(10 * time.Second):
					t.Fatal("frames not delivered")
				}
			}
			o.mu.Lock()
			got := fmt.Sprint(o.msgs)
			o.mu.Unlock()
			if got != "[true:one true: true:three]" {
				t.Fatalf("delivered %s", got)
			}
			var wg sync.WaitGroup
			for i := range 10 {
				wg.Add(1)
				go func() { defer wg.Done(); _ = c.WriteFrame([]byte(fmt.Sprint(i))) }()
			}
			wg.Wait()
			seen := map[string]bool{}
			for range 10 {
				var h [4]byte
				if _, err := io.ReadFull(peer, h[:]); err != nil {
					t.Fatal(err)
				}
				b := make([]byte, binary.BigEndian.Uint32(h[:]))
				if _, err := io.ReadFull(peer, b); err != nil {
					t.Fatal(err)
				}
				seen[string(b)] = true
			}
			if len(seen) != 10 {
				t.Fatalf("read %v", seen)
			}
			// Too big: closed, the owner told why.
			if _, err := peer.Write(binary.BigEndian.AppendUint32(nil, 1001)); err != nil {
				t.Fatal(err)
			}
			select {
			case err := <-o.closed:
				if !errors.Is(err, ErrFrameTooBig) {
					t.Fatalf("closed with %v", err)
				}
			case <-time.After(10 * time.Second):
				t.Fatal("a frame over the limit did not close the connection")
			}
			if _, err := io.ReadAll(peer); err != nil && !errors.Is(err, io.EOF) {
				var ne net.Error
				if errors.As(err, &ne) && ne.Timeout() {
					t.Fatal("the connection stayed open")
				}
			}
		})
	}
}

// The peer closing a framed connection is reported to its owner.
func TestAdoptFramesPeerCloses(t *testing.T) {
	s := NewServer(Options{Logger: quiet}, &testHandler{})
	t.Cleanup(func() { _ = s.Stop(context.Background()) })
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	peer, err := net.Dial("tcp", ln.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	sc, err := ln.Accept()
	if err != nil {
		t.Fatal(err)
	}
	o := newFrameOwner()
	if _, err := s.AdoptFrames(sc, o); err != nil {
		t.Fatal(err)
	}
	peer.Close()
	select {
	case <-o.closed:
	case <-time.After(10 * time.Second):
		t.Fatal("the owner was not told")
	}
}
