package integration

// Harness of the cluster tests (cluster_test.go): long-running Node
// processes driven over stdin/stdout (node/lib/rpc.mjs), a fanio node on
// the Redis adapter with the same behaviour as node/cluster/server.mjs,
// and a private redis-server.

import (
	"bufio"
	"context"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"os/exec"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/fanio/fanio/internal/redistest"
	"github.com/fanio/fanio/redisadapter"
	"github.com/fanio/fanio/sio"
)

// rpcProc is a Node process speaking node/lib/rpc.mjs.
type rpcProc struct {
	t      testing.TB
	name   string
	cmd    *exec.Cmd
	stdin  io.WriteCloser
	stderr *tailBuffer
	port   int

	mu      sync.Mutex
	nextID  int
	waiting map[int]chan rpcReply
	events  []map[string]any
	changed chan struct{}
	done    chan struct{}
}

type rpcReply struct {
	OK     bool            `json:"ok"`
	Result json.RawMessage `json:"result"`
	Error  string          `json:"error"`
}

// startRPC starts `node script args...` and waits for its "listening"
// event. It is stopped at cleanup (stdin closed, then killed).
func startRPC(t testing.TB, name, script string, args ...string) *rpcProc {
	t.Helper()
	p := &rpcProc{t: t, name: name, stderr: &tailBuffer{max: 64 << 10}, waiting: map[int]chan rpcReply{},
		changed: make(chan struct{}), done: make(chan struct{})}
	cmd, out, stdin, err := node.startFixture(p.stderr, append([]string{script}, args...)...)
	if err != nil {
		t.Fatalf("start %s: %v", script, err)
	}
	p.cmd, p.stdin = cmd, stdin
	listening := make(chan int, 1)
	go p.read(out, listening)
	t.Cleanup(p.stop)
	select {
	case port := <-listening:
		p.port = port
	case <-p.done:
		t.Fatalf("%s exited before listening:\n%s", name, p.stderr.String())
	case <-time.After(20 * time.Second):
		t.Fatalf("%s did not start within 20 s:\n%s", name, p.stderr.String())
	}
	return p
}

func (p *rpcProc) read(out io.Reader, listening chan<- int) {
	defer close(p.done)
	sc := bufio.NewScanner(out)
	sc.Buffer(make([]byte, 64<<10), 16<<20)
	for sc.Scan() {
		var m map[string]json.RawMessage
		if json.Unmarshal(sc.Bytes(), &m) != nil {
			continue
		}
		if raw, ok := m["id"]; ok {
			var id int
			var r rpcReply
			_ = json.Unmarshal(raw, &id)
			_ = json.Unmarshal(sc.Bytes(), &r)
			p.mu.Lock()
			ch := p.waiting[id]
			delete(p.waiting, id)
			p.mu.Unlock()
			if ch != nil {
				ch <- r
			}
			continue
		}
		var ev map[string]any
		_ = json.Unmarshal(sc.Bytes(), &ev)
		if ev["event"] == "listening" {
			port, _ := ev["port"].(float64)
			select {
			case listening <- int(port):
			default:
			}
			continue
		}
		p.mu.Lock()
		p.events = append(p.events, ev)
		close(p.changed)
		p.changed = make(chan struct{})
		p.mu.Unlock()
	}
}

func (p *rpcProc) stop() {
	p.stdin.Close()
	select {
	case <-p.done:
	case <-time.After(5 * time.Second):
		p.cmd.Process.Kill()
		<-p.done
	}
	p.cmd.Wait()
	if p.t.Failed() {
		p.t.Logf("%s stderr:\n%s", p.name, p.stderr.String())
	}
}

// call runs op with params and decodes its result into out (if non-nil).
func (p *rpcProc) call(op string, params map[string]any, out any) error {
	p.mu.Lock()
	p.nextID++
	id := p.nextID
	ch := make(chan rpcReply, 1)
	p.waiting[id] = ch
	p.mu.Unlock()
	req := map[string]any{"id": id, "op": op}
	for k, v := range params {
		req[k] = v
	}
	line, err := json.Marshal(req)
	if err != nil {
		return err
	}
	if _, err := p.stdin.Write(append(line, '\n')); err != nil {
		return fmt.Errorf("%s: %w", p.name, err)
	}
	select {
	case r := <-ch:
		if !r.OK {
			return fmt.Errorf("%s %s: %s", p.name, op, r.Error)
		}
		if out != nil {
			return json.Unmarshal(r.Result, out)
		}
		return nil
	case <-p.done:
		return fmt.Errorf("%s exited during %s:\n%s", p.name, op, p.stderr.String())
	case <-time.After(30 * time.Second):
		return fmt.Errorf("%s: no answer to %s within 30 s", p.name, op)
	}
}

// must is call, failing the test on error.
func (p *rpcProc) must(t testing.TB, op string, params map[string]any, out any) {
	t.Helper()
	if err := p.call(op, params, out); err != nil {
		t.Fatal(err)
	}
}

// waitEvent waits for an event line for which match returns true.
func (p *rpcProc) waitEvent(t testing.TB, what string, match func(map[string]any) bool) map[string]any {
	t.Helper()
	deadline := time.After(10 * time.Second)
	seen := 0
	for {
		p.mu.Lock()
		evs, ch := p.events, p.changed
		p.mu.Unlock()
		for _, e := range evs[seen:] {
			if match(e) {
				return e
			}
		}
		seen = len(evs)
		select {
		case <-ch:
		case <-deadline:
			t.Fatalf("%s: no %s within 10 s (events: %v)", p.name, what, evs)
		}
	}
}

// bin is how node/lib/rpc.mjs carries binary: {"$bin": hex}.
func bin(b []byte) map[string]any { return map[string]any{"$bin": hex.EncodeToString(b)} }

// fanioNode is a fanio server on the Redis adapter, with the behaviour of
// node/cluster/server.mjs.
type fanioNode struct {
	srv  *sio.Server
	rc   *redisadapter.Client
	logs *tailBuffer
	mu   sync.Mutex
	sse  [][]any // server-side events received (their arguments)
}

func startFanioNode(t testing.TB, redisURL string, opts redisadapter.Options) *fanioNode {
	t.Helper()
	return startFanioNodeParser(t, redisURL, opts, nil)
}

// startFanioNodeParser is startFanioNode with the parser given (nil: JSON).
func startFanioNodeParser(t testing.TB, redisURL string, opts redisadapter.Options, parser sio.Parser) *fanioNode {
	t.Helper()
	f := &fanioNode{logs: &tailBuffer{max: 256 << 10}}
	log := slog.New(slog.NewTextHandler(f.logs, &slog.HandlerOptions{Level: slog.LevelDebug}))
	opts.URL = redisURL
	opts.Logger = log
	if opts.RequestsTimeout == 0 {
		opts.RequestsTimeout = 3 * time.Second
	}
	rc, err := redisadapter.NewClient(context.Background(), opts)
	if err != nil {
		t.Fatal(err)
	}
	f.rc = rc
	f.srv = sio.NewServer(sio.Options{
		Adapter: rc.Adapter,
		Logger:  log,
		Path:    sioPath,
		CORS:    &sio.CORS{Origins: []string{"*"}},
		Parser:  parser,
	})
	f.srv.OnConnection(func(s *sio.Socket) {
		var auth struct {
			Name *string `json:"name"`
		}
		_ = json.Unmarshal(s.Handshake().Auth(), &auth)
		s.SetData(map[string]any{"name": auth.Name})
		room := func(args sio.Args) string { r, _ := sio.Arg[string](args, 0); return r }
		s.On("join", func(s *sio.Socket, args sio.Args, ack sio.Ack) {
			s.Join(room(args))
			if ack != nil {
				_ = ack()
			}
		})
		s.On("leave", func(s *sio.Socket, args sio.Args, ack sio.Ack) {
			s.Leave(room(args))
			if ack != nil {
				_ = ack()
			}
		})
	})
	f.srv.Sockets().OnServerSideEmit("sse", func(args sio.Args, ack sio.Ack) {
		vals := make([]any, len(args))
		for i, a := range args {
			vals[i] = a.String()
		}
		f.mu.Lock()
		f.sse = append(f.sse, vals)
		f.mu.Unlock()
		if ack != nil {
			first, _ := sio.Arg[string](args, 0)
			_ = ack("fanio:" + first)
		}
	})
	if err := f.srv.Start("127.0.0.1:0"); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		_ = f.srv.Shutdown(ctx)
		_ = f.rc.Close()
		if t.Failed() {
			t.Logf("fanio node log:\n%s", f.logs.String())
		}
	})
	return f
}

func (f *fanioNode) URL() string { return "http://" + f.srv.Addr().String() }

func (f *fanioNode) sseSeen() [][]any {
	f.mu.Lock()
	defer f.mu.Unlock()
	return append([][]any(nil), f.sse...)
}

// startRedis starts a private redis-server for t.
func startRedis(t testing.TB) *redistest.Server { return redistest.Start(t) }

// jsonString is the JSON text of v, for messages.
func jsonString(v any) string {
	b, _ := json.Marshal(v)
	return string(b)
}

var _ = strings.TrimSpace
