package redisemitter

import (
	"bufio"
	"context"
	"encoding/hex"
	"net"
	"testing"
	"time"

	"github.com/fanio/fanio/internal/redistest"
)

// subscribe opens a raw subscription (PSUBSCRIBE pattern) and returns
// the (channel, payload) of each message.
func subscribe(t *testing.T, rs *redistest.Server, pattern string) <-chan [2]string {
	c, err := net.Dial("tcp", rs.Addr())
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	c.Write(redistest.AppendCommand(nil, "PSUBSCRIBE", pattern))
	r := bufio.NewReader(c)
	if _, err := redistest.ReadReply(r); err != nil {
		t.Fatal(err)
	}
	out := make(chan [2]string, 16)
	go func() {
		for {
			v, err := redistest.ReadReply(r)
			if err != nil {
				return
			}
			if a, ok := v.([]any); ok && len(a) == 4 {
				out <- [2]string{a[2].(string), a[3].(string)}
			}
		}
	}()
	return out
}

func next(t *testing.T, ch <-chan [2]string) [2]string {
	t.Helper()
	select {
	case m := <-ch:
		return m
	case <-time.After(5 * time.Second):
		t.Fatal("nothing published")
	}
	return [2]string{}
}

// The bytes on the wire are those of @socket.io/redis-emitter (its options
// keys in the adapter's order), on the channels it uses.
func TestWire(t *testing.T) {
	rs := redistest.Start(t)
	msgs := subscribe(t, rs, "*")
	em, err := New(context.Background(), Options{URL: rs.URL()})
	if err != nil {
		t.Fatal(err)
	}
	defer em.Close()
	if err := em.To("r").Emit("x", 1); err != nil {
		t.Fatal(err)
	}
	m := next(t, msgs)
	// ["emitter", {type:2, data:["x",1], nsp:"/"}, {rooms:["r"], except:[], flags:{}}]
	want := "93a7656d6974746572" + "83a47479706502a46461746192a17801a36e7370a12f" + "83a5726f6f6d7391a172a6657863657074" + "90a5666c61677380"
	if m[0] != "socket.io#/#r#" || hex.EncodeToString([]byte(m[1])) != want {
		t.Errorf("broadcast on %q: %x\nwant %s", m[0], m[1], want)
	}
	if err := em.Of("chat").Volatile().Except("a", "b").Emit("y", []byte{1}); err != nil {
		t.Fatal(err)
	}
	m = next(t, msgs)
	want = "93a7656d6974746572" + "83a47479706502a46461746192a179c40101a36e7370a52f63686174" + "83a5726f6f6d7390a6657863657074" + "92a161a162a5666c61677381a8766f6c6174696c65c3"
	if m[0] != "socket.io#/chat#" || hex.EncodeToString([]byte(m[1])) != want {
		t.Errorf("broadcast on %q: %x\nwant %s", m[0], m[1], want)
	}
	if err := em.In("r").SocketsJoin("s"); err != nil {
		t.Fatal(err)
	}
	if m = next(t, msgs); m[0] != "socket.io-request#/#" || m[1] != `{"type":2,"opts":{"rooms":["r"],"except":[]},"rooms":["s"]}` {
		t.Errorf("socketsJoin on %q: %s", m[0], m[1])
	}
	if err := em.DisconnectSockets(true); err != nil {
		t.Fatal(err)
	}
	if m = next(t, msgs); m[1] != `{"type":4,"opts":{"rooms":[],"except":[]},"close":true}` {
		t.Errorf("disconnectSockets: %s", m[1])
	}
	if err := em.ServerSideEmit("hello", []byte{7}); err != nil {
		t.Fatal(err)
	}
	if m = next(t, msgs); m[1] != `{"uid":"emitter","type":6,"data":["hello",{"type":"Buffer","data":[7]}]}` {
		t.Errorf("serverSideEmit: %s", m[1])
	}
	if err := em.Emit("disconnect"); err == nil {
		t.Error("a reserved event was published")
	}
}

func TestShardedWire(t *testing.T) {
	rs := redistest.Start(t)
	em, err := New(context.Background(), Options{URL: rs.URL(), Sharded: true})
	if err != nil {
		t.Fatal(err)
	}
	defer em.Close()
	c, err := net.Dial("tcp", rs.Addr())
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	c.Write(redistest.AppendCommand(nil, "SSUBSCRIBE", "socket.io#/#", "socket.io#/#room1#"))
	r := bufio.NewReader(c)
	for i := 0; i < 2; i++ {
		if _, err := redistest.ReadReply(r); err != nil {
			t.Fatal(err)
		}
	}
	read := func() (string, string) {
		c.SetReadDeadline(time.Now().Add(5 * time.Second))
		v, err := redistest.ReadReply(r)
		if err != nil {
			t.Fatal(err)
		}
		a := v.([]any)
		return a[1].(string), a[2].(string)
	}
	if err := em.To("room1").Emit("hello", "world"); err != nil {
		t.Fatal(err)
	}
	if ch, msg := read(); ch != "socket.io#/#room1#" || msg != `{"type":3,"data":{"packet":{"type":2,"data":["hello","world"]},"opts":{"rooms":["room1"],"except":[],"flags":{}}},"uid":"emitter","nsp":"/"}` {
		t.Errorf("%s %s", ch, msg)
	}
	if err := em.SocketsLeave("vip"); err != nil {
		t.Fatal(err)
	}
	if ch, msg := read(); ch != "socket.io#/#" || msg != `{"type":5,"data":{"opts":{"rooms":[],"except":[],"flags":{}},"rooms":["vip"]},"uid":"emitter","nsp":"/"}` {
		t.Errorf("%s %s", ch, msg)
	}
	if err := em.Emit("bin", []byte{1}); err != nil {
		t.Fatal(err)
	}
	if _, msg := read(); msg[0] == '{' {
		t.Errorf("a message with binary was sent as JSON: %q", msg)
	}
}

func TestRedisDown(t *testing.T) {
	rs := redistest.Start(t)
	url := rs.URL()
	rs.Kill()
	if _, err := New(context.Background(), Options{URL: url}); err == nil {
		t.Fatal("New with Redis down succeeded")
	}
}
