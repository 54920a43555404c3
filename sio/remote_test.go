package sio

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/fanio/fanio/internal/siotest"
)

// A RemoteSocket acts on its socket through the adapter; Timeout bounds
// its acknowledgements.
func TestRemoteSocket(t *testing.T) {
	srv := newTestServer(t, Options{})
	c := fakeDial(t, srv)
	sid := c.Connect("/", "")
	socks, err := srv.FetchSockets()
	if err != nil || len(socks) != 1 || socks[0].ID != sid || socks[0].Local == nil {
		t.Fatalf("FetchSockets = %v, %v", socks, err)
	}
	r := socks[0]
	r.Join("a", "b")
	r.Leave("b")
	if rooms := r.Local.Rooms(); len(rooms) != 2 {
		t.Fatalf("rooms %v, want its own and a", rooms)
	}
	type result struct {
		args Args
		err  error
	}
	done := make(chan result, 1)
	go func() {
		args, err := r.Timeout(5*time.Second).EmitWithAck(context.Background(), "q", 1)
		done <- result{args, err}
	}()
	q := c.ExpectPrefix("2")
	c.Send("3" + siotest.AckID(q) + `["a"]`)
	if res := <-done; res.err != nil || res.args.String() != `["a"]` {
		t.Fatalf("EmitWithAck = %v, %v", res.args, res.err)
	}
	if _, err := r.Timeout(50*time.Millisecond).EmitWithAck(context.Background(), "q", 2); !errors.Is(err, ErrAckTimeout) {
		t.Fatalf("unanswered: err %v, want ErrAckTimeout", err)
	}
	c.ExpectPrefix("2")
	got := make(chan Args, 1)
	if err := r.Timeout(5*time.Second).Emit("q", AckFunc(func(a Args, err error) { got <- a })); err != nil {
		t.Fatal(err)
	}
	c.Send("3" + siotest.AckID(c.ExpectPrefix("2")) + `[7]`)
	if a := <-got; a.String() != `[7]` {
		t.Fatalf("callback got %v", a)
	}
	r.Disconnect(false)
	c.Expect("1")
}
