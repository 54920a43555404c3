package redisadapter

import (
	"bufio"
	"context"
	"errors"
	"net"
	"runtime"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/fanio/fanio/internal/redistest"
	"github.com/fanio/fanio/sio"
)

// Redis unreachable at start: a clear error, quickly.
func TestRedisDownAtStart(t *testing.T) {
	rs := redistest.Start(t)
	url := rs.URL()
	rs.Kill()
	start := time.Now()
	_, err := NewClient(context.Background(), Options{URL: url, DialTimeout: 2 * time.Second, Logger: testLogger(t)})
	if err == nil || !strings.Contains(err.Error(), "cannot connect to Redis at "+url) {
		t.Fatalf("error %v", err)
	}
	if d := time.Since(start); d > 5*time.Second {
		t.Fatalf("took %v", d)
	}
	if _, err := NewClient(context.Background(), Options{URL: "http://nope"}); err == nil || !strings.Contains(err.Error(), "bad Redis URL") {
		t.Fatalf("bad URL: %v", err)
	}
}

// syncWriter collects log lines.
type syncWriter struct {
	mu sync.Mutex
	b  strings.Builder
}

func (w *syncWriter) Write(p []byte) (int, error) {
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.b.Write(p)
}

func (w *syncWriter) String() string {
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.b.String()
}

// Redis lost while running: local delivery goes on, every publish fails
// with an error (logged once per interval, not once per failure), and the
// adapter comes back by itself.
func TestRedisLostWhileRunning(t *testing.T) {
	forModes(t, func(t *testing.T, opts Options) {
		var logs syncWriter
		opts.Logger = slogTo(&logs)
		opts.PublishTimeout = 500 * time.Millisecond
		rs, ns := cluster(t, 2, opts)
		a, b := ns[0], ns[1]
		ca, cb := dial(t, a), dial(t, b)
		rs.Kill()
		waitFor(t, "the subscription connection to notice", func() bool { return !a.rc.Stats().Connected })
		failures := 0
		for i := 0; i < 20; i++ {
			if err := a.srv.Emit("tick", i); err != nil {
				failures++
			}
			ca.expect(`2["tick",` + itoa(i) + `]`)
		}
		if failures < 19 {
			t.Fatalf("%d of 20 publishes failed with Redis down", failures)
		}
		if n := strings.Count(logs.String(), "publish failed"); n == 0 || n > 2 {
			t.Errorf("%d log lines for %d failures (want 1 or 2):\n%s", n, failures, logs.String())
		}
		if _, err := a.srv.Sockets().Adapter().ServerCount(); err == nil {
			t.Error("ServerCount with Redis down succeeded")
		}
		if _, err := a.srv.FetchSockets(); err == nil {
			t.Error("FetchSockets with Redis down succeeded")
		}
		if err := rs.Restart(); err != nil {
			t.Fatal(err)
		}
		waitFor(t, "both subscription connections back", func() bool {
			return a.rc.Stats().Connected && b.rc.Stats().Connected
		})
		waitFor(t, "both nodes counted", func() bool {
			n, err := a.srv.Sockets().Adapter().ServerCount()
			return err == nil && n == 2
		})
		if err := a.srv.Emit("back"); err != nil {
			t.Fatal(err)
		}
		ca.expect(`2["back"]`)
		cb.expect(`2["back"]`)
		if st := a.rc.Stats(); st.Reconnects != 1 || st.PublishErrors == 0 {
			t.Errorf("stats %+v", st)
		}
	})
}

// A node that is subscribed but never answers (hung) makes requests end
// with a timeout error, with what the others sent; once its connection
// goes, it is dropped from the count and requests complete at once.
func TestSilentNode(t *testing.T) {
	forModes(t, func(t *testing.T, opts Options) {
		opts.RequestsTimeout = 700 * time.Millisecond
		rs, ns := cluster(t, 2, opts)
		a, b := ns[0], ns[1]
		ca, cb := dial(t, a), dial(t, b)
		_, _ = ca, cb
		// a fake node: a connection subscribed to the request channel
		// (classic) or main channel (sharded), answering nothing
		conn, err := net.Dial("tcp", rs.Addr())
		if err != nil {
			t.Fatal(err)
		}
		cmd := []string{"SUBSCRIBE", "socket.io-request#/#"}
		if opts.Sharded {
			cmd = []string{"SSUBSCRIBE", "socket.io#/#"}
		}
		conn.Write(redistest.AppendCommand(nil, cmd...))
		if _, err := redistest.ReadReply(bufio.NewReader(conn)); err != nil {
			t.Fatal(err)
		}
		waitFor(t, "three nodes counted", func() bool {
			n, _ := a.srv.Sockets().Adapter().ServerCount()
			return n == 3
		})
		start := time.Now()
		socks, err := a.srv.Sockets().Adapter().FetchSockets(&sio.BroadcastOptions{})
		var te *TimeoutError
		if !errors.As(err, &te) || !errors.Is(err, ErrTimeout) || te.Expected != 2 || te.Answered != 1 || len(socks) != 2 {
			t.Fatalf("fetch with a silent node: %d sockets (what came is kept), %v", len(socks), err)
		}
		if _, err := a.srv.FetchSockets(); !errors.Is(err, ErrTimeout) {
			t.Fatalf("through sio: %v", err)
		}
		if d := time.Since(start); d < 600*time.Millisecond || d > 5*time.Second {
			t.Errorf("timed out after %v", d)
		}
		res, err := a.srv.ServerSideEmitWithAck(context.Background(), "nobody-answers")
		if !errors.Is(err, sio.ErrAckTimeout) || len(res) != 0 {
			t.Errorf("server-side ack with silent nodes: %v %v", res, err)
		}
		if st := a.rc.Stats(); st.RequestTimeouts < 2 {
			t.Errorf("stats %+v", st)
		}
		// ctx ends a request early
		ctx, cancel := context.WithTimeout(context.Background(), 100*time.Millisecond)
		_, err = a.srv.ServerSideEmitWithAck(ctx, "nobody-answers")
		cancel()
		if !errors.Is(err, context.DeadlineExceeded) {
			t.Errorf("ctx: %v", err)
		}
		conn.Close()
		waitFor(t, "the silent node to leave the count", func() bool {
			n, _ := a.srv.Sockets().Adapter().ServerCount()
			return n == 2
		})
		start = time.Now()
		if socks, err := a.srv.FetchSockets(); err != nil || len(socks) != 2 {
			t.Fatalf("after: %d %v", len(socks), err)
		}
		if d := time.Since(start); d > 600*time.Millisecond {
			t.Errorf("fetch took %v (the timeout is 700 ms: it waited for the silent node)", d)
		}
	})
}

// Garbage on the channels is counted and dropped; the node goes on.
func TestGarbageMessages(t *testing.T) {
	forModes(t, func(t *testing.T, opts Options) {
		rs, ns := cluster(t, 1, opts)
		a := ns[0]
		ca := dial(t, a)
		a.socket(t, ca).Join("r")
		if opts.Sharded && opts.SubscriptionMode != Static {
			waitFor(t, "room subscription", func() bool { return a.rc.sub.sync(context.Background(), time.Second) == nil })
		}
		pub := "PUBLISH"
		channels := []string{"socket.io#/#", "socket.io#/#r#", "socket.io-request#/#", "socket.io-response#/#"}
		if opts.Sharded {
			pub = "SPUBLISH"
			channels = []string{"socket.io#/#", "socket.io#/#" + ns[0].srv.Sockets().Adapter().(interface{ UID() string }).UID() + "#"}
			if opts.SubscriptionMode != Static {
				channels = append(channels, "socket.io#/#r#")
			}
		}
		garbage := []string{"", "\xc1", "{", `{"type":3,"data":{"packet":{"type":2,"data":"x"}},"uid":"u","nsp":"/"}`,
			"\x93\xa1u\x83\xa4type\x02\xa4data\xa1x\xa3nsp\xa1/\x80", `{"type":7,"requestId":"x","opts":5}`,
			"\x93\xa1u\x82\xa4type\x02\xa4data\x91\xa7connect\x80", `{"type":6,"uid":"z","data":[]}`, "\xdd\xff\xff\xff\xff"}
		for _, ch := range channels {
			for _, g := range garbage {
				if _, err := rs.Do(pub, ch, g); err != nil {
					t.Fatal(err)
				}
			}
		}
		waitFor(t, "every message received", func() bool { return a.rc.Stats().Received >= uint64(len(channels)*len(garbage)) })
		if a.rc.Stats().ReceiveErrors == 0 {
			t.Error("no receive error counted")
		}
		ca.expectNothing(100 * time.Millisecond)
		if err := a.srv.To("r").Emit("still-fine"); err != nil {
			t.Fatal(err)
		}
		ca.expect(`2["still-fine"]`)
	})
}

// No goroutine is left behind: not after shutdown, not after a lost and
// regained connection, not by requests that timed out.
func TestNoGoroutineLeak(t *testing.T) {
	before := runtime.NumGoroutine()
	func() {
		rs := redistest.Start(t)
		n := startNode(t, rs.URL(), Options{RequestsTimeout: 300 * time.Millisecond})
		c := dial(t, n)
		_ = c
		_ = n.srv.Emit("x")
		rs.Kill()
		_ = n.srv.Emit("y")
		_, _ = n.srv.FetchSockets()
		if err := rs.Restart(); err != nil {
			t.Fatal(err)
		}
		waitFor(t, "reconnection", func() bool { return n.rc.Stats().Reconnects > 0 })
		_, _ = n.srv.Timeout(100*time.Millisecond).EmitWithAck(context.Background(), "q")
		c.conn.Close()
		n.stop()
	}()
	deadline := time.Now().Add(10 * time.Second)
	for {
		after := runtime.NumGoroutine()
		if after <= before+2 { // the test's own helpers may linger a moment
			return
		}
		if time.Now().After(deadline) {
			buf := make([]byte, 1<<20)
			t.Fatalf("%d goroutines before, %d after:\n%s", before, after, buf[:runtime.Stack(buf, true)])
		}
		time.Sleep(50 * time.Millisecond)
	}
}

func TestRedactURL(t *testing.T) {
	for in, want := range map[string]string{
		"redis://127.0.0.1:6379":       "redis://127.0.0.1:6379",
		"redis://:s3cret@host:6379/2":  "redis://***@host:6379/2",
		"rediss://user:p@ss@host:6380": "rediss://***@host:6380",
		"unix:///run/redis.sock":       "unix:///run/redis.sock",
	} {
		if got := RedactURL(in); got != want {
			t.Errorf("RedactURL(%q) = %q, want %q", in, got, want)
		}
	}
}
