package redisadapter

import (
	"context"
	"slices"
	"testing"
	"time"

	"github.com/fanio/fanio/redisemitter"
	"github.com/fanio/fanio/sio"
)

// The Go emitter reaches the sockets of the nodes, in both protocols.
func TestGoEmitter(t *testing.T) {
	forModes(t, func(t *testing.T, opts Options) {
		rs, ns := cluster(t, 2, opts)
		a, b := ns[0], ns[1]
		ca, cb := dial(t, a), dial(t, b)
		a.socket(t, ca).Join("r")
		sb := b.socket(t, cb)
		em, err := redisemitter.New(context.Background(), redisemitter.Options{URL: rs.URL(), Sharded: opts.Sharded, SubscriptionMode: string(opts.SubscriptionMode)})
		if err != nil {
			t.Fatal(err)
		}
		defer em.Close()
		if opts.Sharded && opts.SubscriptionMode != Static {
			waitFor(t, "room subscriptions", func() bool { return a.rc.sub.sync(context.Background(), time.Second) == nil })
		}
		if err := em.Emit("all", 1, []byte{2}); err != nil {
			t.Fatal(err)
		}
		for _, c := range []*client{ca, cb} {
			c.expect(`51-["all",1,{"_placeholder":true,"num":0}]`)
			c.expect("bin:\x02")
		}
		if err := em.To("r").Emit("room", "x"); err != nil {
			t.Fatal(err)
		}
		ca.expect(`2["room","x"]`)
		if err := em.Except("r").Volatile().Emit("except"); err != nil {
			t.Fatal(err)
		}
		cb.expect(`2["except"]`)
		ca.expectNothing(100 * time.Millisecond)
		cb.expectNothing(10 * time.Millisecond)

		if err := em.In(cb.sid).SocketsJoin("joined"); err != nil {
			t.Fatal(err)
		}
		waitFor(t, "the emitter's join", func() bool { return slices.Contains(sb.Rooms(), "joined") })
		if err := em.In("joined").SocketsLeave("joined"); err != nil {
			t.Fatal(err)
		}
		waitFor(t, "the emitter's leave", func() bool { return !slices.Contains(sb.Rooms(), "joined") })

		got := make(chan string, 2)
		for _, n := range ns {
			n.srv.Sockets().OnServerSideEmit("sse", func(args sio.Args, ack sio.Ack) {
				s, _ := sio.Arg[string](args, 0)
				got <- s
				if ack != nil {
					t.Error("an emitter's server-side emit asked for an ack")
				}
			})
		}
		if err := em.ServerSideEmit("sse", "hello"); err != nil {
			t.Fatal(err)
		}
		for i := 0; i < 2; i++ {
			select {
			case s := <-got:
				if s != "hello" {
					t.Fatal(s)
				}
			case <-time.After(5 * time.Second):
				t.Fatal("server-side emit lost")
			}
		}
		if err := em.Of("/other").Emit("elsewhere"); err != nil {
			t.Fatal(err)
		}
		ca.expectNothing(100 * time.Millisecond)

		if err := em.In(ca.sid).DisconnectSockets(false); err != nil {
			t.Fatal(err)
		}
		ca.expect("1")
		if err := em.Emit("connect"); err == nil {
			t.Error("a reserved event was published")
		}
	})
}

func TestEmitterRedisDown(t *testing.T) {
	rs, _ := cluster(t, 1, Options{})
	em, err := redisemitter.New(context.Background(), redisemitter.Options{URL: rs.URL(), PublishTimeout: time.Second})
	if err != nil {
		t.Fatal(err)
	}
	defer em.Close()
	rs.Kill()
	if err := em.Emit("x"); err == nil {
		t.Fatal("publish with Redis down succeeded")
	}
	if _, err := redisemitter.New(context.Background(), redisemitter.Options{URL: rs.URL()}); err == nil {
		t.Fatal("New with Redis down succeeded")
	}
}
