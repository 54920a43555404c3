package integration

// The Socket.IO fixture the sio scenarios (node/sio/*.mjs) run against:
// fanio's sio server in process, or, with FANIO_IT_SERVER=reference, the
// npm socket.io server (node/sio/reference-server.mjs) with the same
// behaviour, to prove the scenarios' expectations are the reference's.
//
// Behaviour (identical in node/sio/reference-server.mjs):
//   - the JSON parser, or socket.io-msgpack-parser's (parser "msgpack";
//     the scenarios are then run with --parser msgpack);
//   - path /socket.io/, pingInterval 300 ms, pingTimeout 200 ms (fanio:
//     the harness's pingTimeout; the tests of 2.x clients set the same on
//     both), maxPayload 1000000, connectTimeout 1000 ms, CORS "*", Engine.IO
//     v3 clients allowed (socket.io-client 2.x); with recovery, connection
//     state recovery (2 min, skipMiddlewares);
//   - "/" and "/custom": a middleware refuses auth {reject: R} with an error
//     "rejected" whose data is {reason: R}; "/" on connection emits "auth"
//     with the auth payload;
//   - "echo" (...args, ack): emit "echo-back" with args, ack with args;
//   - "join" (room, ack) / "leave" (room, ack): then ack();
//   - "bcast" ({to, except, volatile, fromSocket}, event, ...args, ack):
//     broadcast (from the socket, excluding it, if fromSocket), then ack();
//   - "ask" ({timeout}, ...args, ack): socket.timeout(t).emitWithAck
//     ("question", ...args), then ack({answer}) or ack({error});
//   - "ask-room" ({room, timeout}, ack): io.to(room).timeout(t)
//     .emitWithAck("question"), then ack({responses}) or ack({error,
//     responses}) (responses: each client's first argument, sorted);
//   - "disconnect-me" (close): socket.disconnect(close);
//   - "handshake" (names, ack): ack({headers, query, auth, address,
//     xdomain, secure, url, issued}) from socket.handshake, headers being
//     each of names (any case) with its value, or null when absent;
//   - "stream" ({room, count, interval}): emit "n" i to room for i <
//     count, one every interval ms;
//   - "/custom": emits "auth" on connection;
//   - one JSON line per connect and disconnect on stdout (the reference),
//     or in the SessionLog (fanio), keyed by socket id (id + "/recovered"
//     for a recovered socket).

import (
	"cmp"
	"context"
	"encoding/json"
	"fmt"
	"log/slog"
	"net/http"
	"os"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/fanio/fanio/sio"
)

const sioPath = "/socket.io/"

type sioServer interface {
	URL() string
	// Parser is the parser the server speaks ("json", "msgpack"); the
	// scenarios run against it are given it as --parser.
	Parser() string
	Log() *SessionLog
	// Shutdown stops the server now (sockets get "server shutting down").
	Shutdown()
	Diagnostics() string
}

// startSIO starts the fixture for t (recovery: with connection state
// recovery). At cleanup it checks every socket disconnected.
func startSIO(t *testing.T, recovery bool) sioServer {
	t.Helper()
	return startSIOWith(t, sioFixtureOptions{recovery: recovery})
}

// sioFixtureOptions vary the fixture.
type sioFixtureOptions struct {
	recovery bool
	// pingTimeout, when set, replaces the defaults (fanio: the harness's
	// pingTimeout; the reference fixture: 200 ms). A socket.io-client 2.x
	// pings every pingInterval and must be heard within pingInterval +
	// pingTimeout: the tests of 2.x clients give both servers the same
	// room on a loaded machine.
	pingTimeout time.Duration
	// pingInterval, when set, replaces the fixtures' 300 ms: a scenario
	// bursting thousands of packets (the reference echoing 10,000 emits)
	// can miss a 300/200 ms heartbeat on a loaded machine.
	pingInterval time.Duration
	// refuseEIO3: Engine.IO v3 clients are not allowed (the default of
	// both servers).
	refuseEIO3 bool
	// parser: "json" (the default) or "msgpack" (socket.io-msgpack-parser).
	parser string
}

func startSIOWith(t *testing.T, o sioFixtureOptions) sioServer {
	t.Helper()
	if o.parser == "" {
		o.parser = "json"
	}
	var s sioServer
	if backend() == backendReference {
		r, err := startSIOReference(o)
		if err != nil {
			t.Fatalf("reference socket.io server: %v", err)
		}
		s = r
	} else {
		s = startSIOFanio(t, o)
	}
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		if err := s.Log().WaitIdle(ctx); err != nil {
			t.Errorf("sockets after the test: %v", err)
		}
		for _, e := range s.Log().Errors() {
			t.Errorf("server side: %s", e)
		}
		s.Shutdown()
		if t.Failed() {
			t.Logf("server output:\n%s", s.Diagnostics())
		}
	})
	return s
}

// runSIO runs a sio scenario against s and fails t unless it succeeds.
func runSIO(t *testing.T, s sioServer, script string, args ...string) *ScriptResult {
	t.Helper()
	res := runSIOResult(t, s, script, args...)
	if !res.OK() {
		t.Fatalf("scenario failed:\n%s\nserver output:\n%s", res, s.Diagnostics())
	}
	t.Logf("%s: %s", script, strings.TrimSpace(lastLine(res.Stdout)))
	return res
}

func runSIOResult(t *testing.T, s sioServer, script string, args ...string) *ScriptResult {
	t.Helper()
	all := []string{"--url", s.URL(), "--path", sioPath, "--timeout", "20000"}
	if p := s.Parser(); p != "json" {
		all = append(all, "--parser", p)
	}
	all = append(all, args...)
	return node.RunScript(context.Background(), 60*time.Second, script, all...)
}

// expectSIODisconnect asserts the server-side disconnect reason of socket id.
func expectSIODisconnect(t *testing.T, s sioServer, id, want string) {
	t.Helper()
	if id == "" {
		t.Fatal("the scenario reported no socket id")
	}
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	rec, err := s.Log().WaitClosed(ctx, id)
	if err != nil {
		t.Fatalf("server side: %v", err)
	}
	if rec.Reason != want {
		t.Errorf("server disconnect reason of %s = %q, want %q", id, rec.Reason, want)
	}
}

// ---- fanio ----

type sioFanio struct {
	srv    *sio.Server
	parser string
	log    *SessionLog
	logs   *tailBuffer
	once   sync.Once
}

func (f *sioFanio) URL() string         { return "http://" + f.srv.Addr().String() }
func (f *sioFanio) Parser() string      { return f.parser }
func (f *sioFanio) Log() *SessionLog    { return f.log }
func (f *sioFanio) Diagnostics() string { return f.logs.String() }
func (f *sioFanio) Shutdown() {
	f.once.Do(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		if err := f.srv.Shutdown(ctx); err != nil {
			f.log.Errorf("Shutdown: %v", err)
		}
	})
}

func startSIOFanio(t *testing.T, o sioFixtureOptions) *sioFanio {
	t.Helper()
	f := &sioFanio{parser: o.parser, log: NewSessionLog(), logs: &tailBuffer{max: 256 << 10}}
	parser, err := sio.ParserByName(o.parser)
	if err != nil {
		t.Fatal(err)
	}
	opts := sio.Options{
		Parser:         parser,
		Path:           sioPath,
		PingInterval:   cmp.Or(o.pingInterval, pingInterval),
		PingTimeout:    cmp.Or(o.pingTimeout, pingTimeout),
		MaxPayload:     maxPayload,
		CORS:           &sio.CORS{Origins: []string{"*"}},
		ConnectTimeout: time.Second,
		AllowEIO3:      !o.refuseEIO3,
		Logger:         slog.New(slog.NewTextHandler(f.logs, &slog.HandlerOptions{Level: slog.LevelDebug})),
	}
	if o.recovery {
		opts.ConnectionStateRecovery = &sio.ConnectionStateRecovery{MaxDisconnectionDuration: 2 * time.Minute, SkipMiddlewares: true}
	}
	opts.NotFound = v2Page()
	srv := sio.NewServer(opts)
	f.srv = srv
	// A recovered socket is logged as "<id>/recovered", and as
	// "<id>/recovered/<n>" when it is recovered again (the n-th time).
	var recMu sync.Mutex
	recoveries := map[sio.SocketID]int{}
	key := func(s *sio.Socket) string {
		if !s.Recovered() {
			return s.ID()
		}
		recMu.Lock()
		defer recMu.Unlock()
		recoveries[s.ID()]++
		if n := recoveries[s.ID()]; n > 1 {
			return s.ID() + "/recovered/" + strconv.Itoa(n)
		}
		return s.ID() + "/recovered"
	}
	track := func(s *sio.Socket) {
		k := key(s)
		f.log.Opened(k, s.Transport())
		fmt.Fprintf(f.logs, "connect nsp=%s sid=%s recovered=%v\n", s.Namespace().Name(), s.ID(), s.Recovered())
		s.OnDisconnect(func(s *sio.Socket, reason sio.DisconnectReason) {
			fmt.Fprintf(f.logs, "disconnect nsp=%s sid=%s reason=%q\n", s.Namespace().Name(), s.ID(), reason)
			f.log.Closed(k, string(reason), s.Transport())
		})
	}
	rejectOnAuth := func(s *sio.Socket) error {
		var a struct {
			Reject *string `json:"reject"`
		}
		if json.Unmarshal(s.Handshake().Auth(), &a) == nil && a.Reject != nil {
			return &sio.ConnectError{Message: "rejected", Data: map[string]any{"reason": *a.Reject}}
		}
		return nil
	}
	srv.Use(rejectOnAuth)
	srv.Of("/custom").Use(rejectOnAuth)
	srv.OnConnection(func(s *sio.Socket) {
		track(s)
		_ = s.Emit("auth", s.Handshake().Auth())
		s.On("echo", func(s *sio.Socket, args sio.Args, ack sio.Ack) {
			_ = s.Emit("echo-back", args.Any()...)
			if ack != nil {
				_ = ack(args.Any()...)
			}
		})
		s.On("join", func(s *sio.Socket, args sio.Args, ack sio.Ack) {
			room, _ := sio.Arg[string](args, 0)
			s.Join(room)
			if ack != nil {
				_ = ack()
			}
		})
		s.On("leave", func(s *sio.Socket, args sio.Args, ack sio.Ack) {
			room, _ := sio.Arg[string](args, 0)
			s.Leave(room)
			if ack != nil {
				_ = ack()
			}
		})
		s.On("bcast", func(s *sio.Socket, args sio.Args, ack sio.Ack) {
			var o struct {
				To, Except []string
				Volatile   bool
				FromSocket bool `json:"fromSocket"`
			}
			_ = args.Decode(0, &o)
			event, _ := sio.Arg[string](args, 1)
			var op sio.BroadcastOperator
			if o.FromSocket {
				op = s.Broadcast()
			} else {
				op = s.Namespace().To()
			}
			op = op.To(o.To...).Except(o.Except...)
			if o.Volatile {
				op = op.Volatile()
			}
			if err := op.Emit(event, args[2:].Any()...); err != nil {
				f.log.Errorf("bcast: %v", err)
			}
			if ack != nil {
				_ = ack()
			}
		})
		s.On("ask", func(s *sio.Socket, args sio.Args, ack sio.Ack) {
			var o struct{ Timeout int }
			_ = args.Decode(0, &o)
			answer, err := s.Timeout(time.Duration(o.Timeout)*time.Millisecond).EmitWithAck(context.Background(), "question", args[1:].Any()...)
			if err != nil {
				_ = ack(map[string]any{"error": err.Error()})
				return
			}
			_ = ack(map[string]any{"answer": answer.Any()})
		})
		s.On("ask-room", func(s *sio.Socket, args sio.Args, ack sio.Ack) {
			var o struct {
				Room    string
				Timeout int
			}
			_ = args.Decode(0, &o)
			res, err := s.Namespace().To(o.Room).Timeout(time.Duration(o.Timeout)*time.Millisecond).EmitWithAck(context.Background(), "question")
			firsts := make([]string, 0, len(res))
			for _, r := range res {
				if len(r) > 0 {
					firsts = append(firsts, string(r[0].Raw()))
				}
			}
			sort.Strings(firsts)
			list := make([]any, len(firsts))
			for i, x := range firsts {
				list[i] = json.RawMessage(x)
			}
			if err != nil {
				_ = ack(map[string]any{"error": err.Error(), "responses": list})
				return
			}
			_ = ack(map[string]any{"responses": list})
		})
		s.On("handshake", func(s *sio.Socket, args sio.Args, ack sio.Ack) {
			var names []string
			_ = args.Decode(0, &names)
			hs := s.Handshake()
			headers := map[string]any{}
			for _, n := range names {
				if hs.HeaderValues(n) == nil {
					headers[n] = nil
				} else {
					headers[n] = hs.Header(n)
				}
			}
			// The reference's query object: a string per parameter, an
			// array for one sent several times.
			query := map[string]any{}
			for k, v := range hs.Full().Query {
				if len(v) == 1 {
					query[k] = v[0]
				} else {
					query[k] = v
				}
			}
			_ = ack(map[string]any{
				"headers": headers, "query": query, "auth": hs.Auth(), "address": hs.Address(),
				"xdomain": hs.XDomain(), "secure": hs.Secure(), "url": hs.URL(), "issued": hs.Issued(),
			})
		})
		s.On("disconnect-me", func(s *sio.Socket, args sio.Args, _ sio.Ack) {
			closeAll, _ := sio.Arg[bool](args, 0)
			s.Disconnect(closeAll)
		})
		s.On("stream", func(s *sio.Socket, args sio.Args, _ sio.Ack) {
			var o struct {
				Room            string
				Count, Interval int
			}
			_ = args.Decode(0, &o)
			nsp := s.Namespace()
			go func() {
				tick := time.NewTicker(time.Duration(max(1, o.Interval)) * time.Millisecond)
				defer tick.Stop()
				for i := 0; i < min(o.Count, 100_000); i++ {
					if i > 0 {
						<-tick.C
					}
					_ = nsp.To(o.Room).Emit("n", i)
				}
			}()
		})
	})
	srv.Of("/custom").OnConnection(func(s *sio.Socket) {
		track(s)
		_ = s.Emit("auth", s.Handshake().Auth())
	})
	if err := srv.Start("127.0.0.1:0"); err != nil {
		t.Fatalf("sio Start: %v", err)
	}
	return f
}

// v2Page serves /v2/: the page of the socket.io-client 2.x browser test,
// on the server's own origin (a 2.x client sends credentials), as the
// reference fixture does.
func v2Page() http.Handler {
	files := map[string][2]string{
		"/v2/index.html":   {"browser/sio2.html", "text/html; charset=utf-8"},
		"/v2/scenario.js":  {"browser/sio2-scenario.js", "text/javascript; charset=utf-8"},
		"/v2/socket.io.js": {"node_modules/socket.io-client-v2/dist/socket.io.js", "text/javascript; charset=utf-8"},
	}
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		f, ok := files[r.URL.Path]
		if !ok {
			http.NotFound(w, r)
			return
		}
		body, err := os.ReadFile(filepath.Join(node.Dir, f[0]))
		if err != nil {
			http.Error(w, err.Error(), http.StatusInternalServerError)
			return
		}
		w.Header().Set("Content-Type", f[1])
		_, _ = w.Write(body)
	})
}

// ---- the reference ----

// sioReference is the npm socket.io fixture (sio/reference-server.mjs),
// which exits when its stdin closes.
type sioReference struct {
	ref    *RefServer
	parser string
	once   sync.Once
}

func (r *sioReference) URL() string         { return "http://" + r.ref.HostPort() }
func (r *sioReference) Parser() string      { return r.parser }
func (r *sioReference) Log() *SessionLog    { return r.ref.Log }
func (r *sioReference) Diagnostics() string { return r.ref.Output() }
func (r *sioReference) Shutdown()           { r.once.Do(r.ref.Stop) }

func startSIOReference(o sioFixtureOptions) (*sioReference, error) {
	args := []string{"sio/reference-server.mjs", "--host", "127.0.0.1", "--port", "0"}
	if o.pingInterval > 0 {
		args = append(args, "--ping-interval", strconv.Itoa(int(o.pingInterval.Milliseconds())))
	}
	if o.pingTimeout > 0 {
		args = append(args, "--ping-timeout", strconv.Itoa(int(o.pingTimeout.Milliseconds())))
	}
	if o.recovery {
		args = append(args, "--recovery", "yes")
	}
	if o.refuseEIO3 {
		args = append(args, "--allow-eio3", "no")
	}
	if o.parser == "" {
		o.parser = "json"
	}
	args = append(args, "--parser", o.parser)
	ref, err := node.startRefServer("connect", "disconnect", args...)
	if err != nil {
		return nil, fmt.Errorf("start socket.io reference server: %w", err)
	}
	return &sioReference{ref: ref, parser: o.parser}, nil
}
