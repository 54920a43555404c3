package sio_test

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"regexp"
	"strings"
	"time"

	"github.com/fanio/fanio/internal/siotest"
	"github.com/fanio/fanio/sio"
)

// The examples talk to a real server through siotest's client, which
// writes and reads raw Socket.IO packets ("0" CONNECT, "2" EVENT, "3"
// ACK...), so each shows the exact bytes a socket.io client exchanges.

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

func dial(srv *sio.Server) *siotest.Client { return siotest.Dial(nil, srv.Addr().String()) }

// masked returns the next packet with a CONNECT answer's random socket id
// masked.
func masked(c *siotest.Client) string {
	p := c.Next().Text
	if i := strings.Index(p, `{"sid":"`); i >= 0 && p[0] == '0' {
		return p[:i] + `{"sid":"…"}`
	}
	return p
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
	c.Send(`0{"token":"abc"}`) // CONNECT to "/" with an auth payload
	fmt.Println(masked(c))
	fmt.Println(masked(c))
	// Output:
	// 0{"sid":"…"}
	// 2["welcome","hello",{"n":1}]
}

// The options of a reference server, new Server({path, pingInterval,
// cors, maxHttpBufferSize, connectionStateRecovery}), port field by field.
func ExampleOptions() {
	srv := sio.NewServer(sio.Options{
		Path:                    "/socket.io/",
		PingInterval:            25 * time.Second,
		PingTimeout:             20 * time.Second,
		CORS:                    &sio.CORS{Origins: []string{"https://example.com"}, Credentials: true},
		MaxPayload:              1e6,
		ConnectionStateRecovery: &sio.ConnectionStateRecovery{MaxDisconnectionDuration: 2 * time.Minute},
		Logger:                  slog.Default(), // sio's, engine's and the reactor's logs
	})
	defer stop(srv)
	fmt.Println(srv.Options().Path, srv.Options().ConnectTimeout)
	// Output: /socket.io/ 45s
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
	c.Connect("/", "")
	c.Send(`27["add",40,2]`) // EVENT with ack id 7
	fmt.Println(c.Next().Text)
	// Output:
	// 37[42]
}

// OnTyped decodes the first argument into a Go type.
func ExampleOnTyped() {
	type move struct {
		X, Y int
	}
	srv := sio.NewServer(sio.Options{})
	srv.OnConnection(func(s *sio.Socket) {
		sio.OnTyped(s, "move", func(s *sio.Socket, m move, ack sio.Ack) {
			_ = ack(m.X + m.Y)
		})
	})
	start(srv)
	defer stop(srv)

	c := dial(srv)
	c.Connect("/", "")
	c.Send(`21["move",{"X":3,"Y":4}]`)
	fmt.Println(c.Next().Text)
	// Output: 31[7]
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
	for _, c := range []*siotest.Client{alice, bob} {
		c.Connect("/", "")
		c.Send(`21["join","lobby"]`)
		c.Next()
	}
	alice.Send(`2["say","hi <bob>"]`)
	fmt.Println("bob:", bob.Next().Text)
	_ = srv.To("lobby").Emit("news", 1) // from the server: every member
	fmt.Println("alice:", alice.Next().Text)
	fmt.Println("bob:", bob.Next().Text)
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
	c.Connect("/", "")
	q := c.Next().Text // 2<id>["question","ready?"]
	c.Send("3" + siotest.AckID(q) + `["yes"]`)
	fmt.Println(q[len(q)-21:], "->", <-done)
	// Output:
	// ["question","ready?"] -> yes
}

// A broadcast collects one answer per client; a client that disconnects
// without answering ends its share at once (an *AckError says so).
func ExampleBroadcastOperator_EmitWithAck() {
	srv := sio.NewServer(sio.Options{})
	joined := make(chan struct{}, 2)
	srv.OnConnection(func(s *sio.Socket) { s.Join("voters"); joined <- struct{}{} })
	start(srv)
	defer stop(srv)

	a, b := dial(srv), dial(srv)
	a.Connect("/", "")
	b.Connect("/", "")
	<-joined
	<-joined
	go func() {
		a.Send("3" + siotest.AckID(a.Next().Text) + `["yes"]`)
		b.Next()
		b.Close() // leaves without answering
	}()
	res, err := srv.To("voters").Timeout(10*time.Second).EmitWithAck(context.Background(), "vote?")
	var ae *sio.AckError
	fmt.Println(len(res), res[0][0], errors.As(err, &ae), errors.Is(err, sio.ErrDisconnected))
	fmt.Println(err)
	// Output:
	// 1 "yes" true true
	// sio: 1 of 2 clients answered, 1 disconnected
}

// A middleware refuses a connection with data for the client's
// connect_error.
func ExampleNamespace_Use() {
	srv := sio.NewServer(sio.Options{})
	admin := srv.Of("/admin")
	admin.Use(func(s *sio.Socket) error {
		if !strings.Contains(string(s.Handshake().Auth()), `"token":"secret"`) {
			return &sio.ConnectError{Message: "unauthorized", Data: map[string]any{"code": 401}}
		}
		return nil
	})
	start(srv)
	defer stop(srv)

	c := dial(srv)
	c.Send(`0/admin,{"token":"guess"}`)
	fmt.Println(c.Next().Text)
	c.Send(`0/admin,{"token":"secret"}`)
	fmt.Println(masked(c))
	// Output:
	// 4/admin,{"message":"unauthorized","data":{"code":401}}
	// 0/admin,{"sid":"…"}
}

// Middleware reads the handshake: the auth payload, a header, a query
// parameter. Each is parsed from the connection's compact copy of the
// request when asked; nothing stays behind on the socket.
func ExampleSocket_Handshake() {
	srv := sio.NewServer(sio.Options{})
	srv.Use(func(s *sio.Socket) error {
		hs := s.Handshake()
		var auth struct {
			Token string `json:"token"`
		}
		if err := json.Unmarshal(hs.Auth(), &auth); err != nil || auth.Token == "" {
			return errors.New("unauthorized")
		}
		s.SetData(auth.Token)
		return nil
	})
	srv.OnConnection(func(s *sio.Socket) {
		hs := s.Handshake()
		_ = s.Emit("hello", sio.DataAs[string](s), hs.Header("X-Client"), hs.Query("room"), hs.Address())
	})
	start(srv)
	defer stop(srv)

	c := siotest.DialWith(nil, srv.Addr().String(), siotest.DialOptions{
		Query:  "room=lobby",
		Header: http.Header{"X-Client": {"demo/1.0"}},
	})
	c.Connect("/", `{"token":"t-42"}`)
	fmt.Println(c.Next().Text)
	// Output:
	// 2["hello","t-42","demo/1.0","lobby","127.0.0.1"]
}

// Dynamic namespaces: every namespace whose name matches is created on
// first connection, with the parent's middleware and handlers.
func ExampleServer_OfRegexp() {
	srv := sio.NewServer(sio.Options{})
	srv.OfRegexp(regexp.MustCompile(`^/room-\d+$`)).OnConnection(func(s *sio.Socket) {
		_ = s.Emit("hello", s.Namespace().Name())
	})
	start(srv)
	defer stop(srv)

	c := dial(srv)
	c.Connect("/room-42", "")
	fmt.Println(c.Next().Text)
	c.Send("0/other,")
	fmt.Println(c.Next().Text)
	// Output:
	// 2/room-42,["hello","/room-42"]
	// 4/other,{"message":"Invalid namespace"}
}

// Socket.Context ends when the socket disconnects, so a handler that
// blocks (a stream, a long query) can stop.
func ExampleSocket_Context() {
	srv := sio.NewServer(sio.Options{})
	stopped := make(chan int, 1)
	srv.OnConnection(func(s *sio.Socket) {
		s.On("stream", func(s *sio.Socket, _ sio.Args, _ sio.Ack) {
			tick := time.NewTicker(10 * time.Millisecond)
			defer tick.Stop()
			for n := 0; ; n++ {
				select {
				case <-s.Context().Done():
					stopped <- n
					return
				case <-tick.C:
					_ = s.Emit("tick", n)
				}
			}
		})
	})
	start(srv)
	defer stop(srv)

	c := dial(srv)
	c.Connect("/", "")
	c.Send(`2["stream"]`)
	fmt.Println(c.Next().Text)
	c.Close()
	fmt.Println("stopped:", <-stopped > 0)
	// Output:
	// 2["tick",0]
	// stopped: true
}

// FetchSockets describes the selected sockets, wherever they live; each
// can be acted on.
func ExampleServer_FetchSockets() {
	srv := sio.NewServer(sio.Options{})
	start(srv)
	defer stop(srv)

	c := dial(srv)
	sid := c.Connect("/", "")
	socks, _ := srv.FetchSockets()
	fmt.Println(len(socks), socks[0].ID == sid)
	socks[0].Join("vip")
	_ = srv.To("vip").Emit("welcome")
	fmt.Println(c.Next().Text)
	socks[0].Disconnect(false)
	fmt.Println(c.Next().Text)
	// Output:
	// 1 true
	// 2["welcome"]
	// 1
}

// An adapter embeds *InMemoryAdapter for the local part and adds its own
// behaviour: here, counting broadcasts. Multi-node adapters do the same,
// publishing to the other nodes in Broadcast.
type countingAdapter struct {
	*sio.InMemoryAdapter
	broadcasts int
}

func (a *countingAdapter) Broadcast(p *sio.Packet, opts *sio.BroadcastOptions) error {
	a.broadcasts++
	return a.InMemoryAdapter.Broadcast(p, opts)
}

func ExampleAdapter() {
	var adapter *countingAdapter
	srv := sio.NewServer(sio.Options{
		Adapter: func(nsp *sio.Namespace) sio.Adapter {
			adapter = &countingAdapter{InMemoryAdapter: sio.NewInMemoryAdapter(nsp)}
			return adapter
		},
	})
	defer stop(srv)
	_ = srv.Emit("a")
	_ = srv.To("r").Emit("b")
	fmt.Println(adapter.broadcasts)
	// Output: 2
}
