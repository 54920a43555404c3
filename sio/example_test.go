package sio_test

import (
	"context"
	"fmt"
	"io"
	"net"
	"strings"
	"time"

	"github.com/gobwas/ws"
	"github.com/gobwas/ws/wsutil"

	"github.com/fanio/fanio/sio"
)

// client is a tiny Socket.IO client for the examples: raw Engine.IO
// packets over a WebSocket ("4" + Socket.IO packet).
type client struct {
	conn net.Conn
	in   chan string
}

// bufConn reads first what ws.Dial buffered past the handshake response.
type bufConn struct {
	net.Conn
	r io.Reader
}

func (c bufConn) Read(p []byte) (int, error) { return c.r.Read(p) }

func dial(srv *sio.Server) *client {
	raw, br, _, err := ws.Dial(context.Background(), "ws://"+srv.Addr().String()+"/socket.io/?EIO=4&transport=websocket")
	if err != nil {
		panic(err)
	}
	var conn net.Conn = raw
	if br != nil {
		conn = bufConn{raw, br}
	}
	c := &client{conn: conn, in: make(chan string, 64)}
	go func() {
		for {
			data, _, err := wsutil.ReadServerData(conn)
			if err != nil {
				close(c.in)
				return
			}
			switch {
			case string(data) == "2": // ping
				_ = wsutil.WriteClientText(conn, []byte("3"))
			case len(data) > 0 && data[0] == '4': // a Socket.IO packet
				c.in <- string(data[1:])
			}
		}
	}()
	return c
}

func (c *client) send(packet string) { _ = wsutil.WriteClientText(c.conn, []byte("4"+packet)) }

// next returns the next Socket.IO packet, with the CONNECT answer's
// random socket id masked.
func (c *client) next() string {
	select {
	case p := <-c.in:
		if strings.HasPrefix(p, `0{"sid":"`) {
			return `0{"sid":"…"}`
		}
		return p
	case <-time.After(5 * time.Second):
		return "(nothing)"
	}
}

func start(srv *sio.Server) {
	if err := srv.Start("127.0.0.1:0"); err != nil {
		panic(err)
	}
}

func stop(srv *sio.Server) {
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	_ = srv.Shutdown(ctx)
}

// A connection handler registers the socket's event handlers and may emit
// right away.
func Example() {
	srv := sio.NewServer(sio.Options{})
	srv.OnConnection(func(s *sio.Socket) {
		_ = s.Emit("welcome", "hello", map[string]any{"n": 1})
	})
	start(srv)
	defer stop(srv)

	c := dial(srv)
	c.send(`0{"token":"abc"}`) // CONNECT to "/" with an auth payload
	fmt.Println(c.next())
	fmt.Println(c.next())
	// Output:
	// 0{"sid":"…"}
	// 2["welcome","hello",{"n":1}]
}

// Events with acknowledgements: the handler decodes its arguments on
// demand and answers through ack.
func ExampleSocket_On() {
	srv := sio.NewServer(sio.Options{})
	srv.OnConnection(func(s *sio.Socket) {
		s.On("add", func(s *sio.Socket, args sio.Args, ack sio.Ack) {
			a, err1 := sio.Arg[int](args, 0)
			b, err2 := sio.Arg[int](args, 1)
			if err1 != nil || err2 != nil || ack == nil {
				return
			}
			_ = ack(a + b)
		})
	})
	start(srv)
	defer stop(srv)

	c := dial(srv)
	c.send(`0`)
	c.next()
	c.send(`27["add",40,2]`) // EVENT with ack id 7
	fmt.Println(c.next())
	// Output:
	// 37[42]
}

// Rooms and broadcasts: the packet is encoded once and written to every
// member; Socket.Broadcast leaves the sender out.
func ExampleBroadcastOperator_Emit() {
	srv := sio.NewServer(sio.Options{})
	srv.OnConnection(func(s *sio.Socket) {
		s.On("join", func(s *sio.Socket, args sio.Args, ack sio.Ack) {
			room, _ := sio.Arg[string](args, 0)
			s.Join(room)
			_ = ack()
		})
		s.On("say", func(s *sio.Socket, args sio.Args, _ sio.Ack) {
			msg, _ := sio.Arg[string](args, 0)
			_ = s.To("lobby").Emit("said", msg) // everyone in the room but s
		})
	})
	start(srv)
	defer stop(srv)

	alice, bob := dial(srv), dial(srv)
	for _, c := range []*client{alice, bob} {
		c.send(`0`)
		c.next()
		c.send(`21["join","lobby"]`)
		c.next()
	}
	alice.send(`2["say","hi <bob>"]`)
	fmt.Println("bob:", bob.next())
	_ = srv.To("lobby").Emit("news", 1) // from the server: every member
	fmt.Println("alice:", alice.next())
	fmt.Println("bob:", bob.next())
	// Output:
	// bob: 2["said","hi <bob>"]
	// alice: 2["news",1]
	// bob: 2["news",1]
}

// The server asks a client for an acknowledgement and waits for it.
func ExampleSocket_EmitWithAck() {
	srv := sio.NewServer(sio.Options{})
	done := make(chan string, 1)
	srv.OnConnection(func(s *sio.Socket) {
		args, err := s.Timeout(time.Second).EmitWithAck(context.Background(), "question", "ready?")
		if err != nil {
			done <- err.Error()
			return
		}
		answer, _ := sio.Arg[string](args, 0)
		done <- answer
	})
	start(srv)
	defer stop(srv)

	c := dial(srv)
	c.send(`0`)
	c.next()
	q := c.next() // 2<id>["question","ready?"]
	id := q[1:strings.IndexByte(q, '[')]
	c.send("3" + id + `["yes"]`)
	fmt.Println(q[len(q)-21:], "->", <-done)
	// Output:
	// ["question","ready?"] -> yes
}
