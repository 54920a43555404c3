package redisclient

import (
	"bufio"
	"context"
	"fmt"
	"net"
	"strconv"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	goredis "github.com/redis/go-redis/v9"
	"github.com/redis/rueidis"

	"github.com/fanio/fanio/internal/redistest"
)

// payload is the size of a typical msgpack broadcast ([uid, packet, opts]
// with a short event and a small object).
var payload = func() []byte {
	b := make([]byte, 160)
	for i := range b {
		b[i] = byte('a' + i%26)
	}
	return b
}()

// lib is one client under test.
type lib struct {
	name string
	// newPublisher returns a publish function safe for concurrent use.
	newPublisher func(tb testing.TB, addr string) func(ctx context.Context, ch string, msg []byte) error
	// subscribe subscribes to ch and calls fn for each message; it
	// returns once the subscription is active.
	subscribe func(tb testing.TB, addr, ch string, fn func(msg string))
}

var libs = []lib{
	{
		name: "rueidis",
		newPublisher: func(tb testing.TB, addr string) func(context.Context, string, []byte) error {
			c, err := rueidis.NewClient(rueidis.ClientOption{InitAddress: []string{addr}, DisableCache: true})
			if err != nil {
				tb.Fatal(err)
			}
			tb.Cleanup(c.Close)
			return func(ctx context.Context, ch string, msg []byte) error {
				return c.Do(ctx, c.B().Publish().Channel(ch).Message(rueidis.BinaryString(msg)).Build()).Error()
			}
		},
		subscribe: func(tb testing.TB, addr, ch string, fn func(string)) {
			c, err := rueidis.NewClient(rueidis.ClientOption{InitAddress: []string{addr}, DisableCache: true})
			if err != nil {
				tb.Fatal(err)
			}
			dc, release := c.Dedicate()
			tb.Cleanup(func() { release(); c.Close() })
			dc.SetPubSubHooks(rueidis.PubSubHooks{OnMessage: func(m rueidis.PubSubMessage) { fn(m.Message) }})
			if err := dc.Do(context.Background(), dc.B().Subscribe().Channel(ch).Build()).Error(); err != nil {
				tb.Fatal(err)
			}
		},
	},
	{
		name: "go-redis",
		newPublisher: func(tb testing.TB, addr string) func(context.Context, string, []byte) error {
			c := goredis.NewClient(&goredis.Options{Addr: addr})
			tb.Cleanup(func() { c.Close() })
			return func(ctx context.Context, ch string, msg []byte) error {
				return c.Publish(ctx, ch, msg).Err()
			}
		},
		subscribe: func(tb testing.TB, addr, ch string, fn func(string)) {
			c := goredis.NewClient(&goredis.Options{Addr: addr})
			ps := c.Subscribe(context.Background(), ch)
			if _, err := ps.Receive(context.Background()); err != nil { // the subscribe confirmation
				tb.Fatal(err)
			}
			ctx, cancel := context.WithCancel(context.Background())
			done := make(chan struct{})
			go func() {
				defer close(done)
				for {
					m, err := ps.ReceiveMessage(ctx)
					if err != nil {
						if ctx.Err() != nil {
							return
						}
						continue
					}
					fn(m.Payload)
				}
			}()
			tb.Cleanup(func() { cancel(); ps.Close(); <-done; c.Close() })
		},
	},
}

func cpuNow() time.Duration {
	var ru syscall.Rusage
	_ = syscall.Getrusage(syscall.RUSAGE_SELF, &ru)
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

func redisCPU(tb testing.TB, s *redistest.Server) time.Duration {
	sys, user, err := s.CPU()
	if err != nil {
		tb.Fatal(err)
	}
	return time.Duration((sys + user) * float64(time.Second))
}

// measure wraps a benchmark body with the CPU metrics.
func measure(b *testing.B, s *redistest.Server, body func()) {
	r0, c0 := redisCPU(b, s), cpuNow()
	b.ResetTimer()
	body()
	b.StopTimer()
	c1, r1 := cpuNow(), redisCPU(b, s)
	b.ReportMetric(float64(c1-c0)/float64(b.N), "cpu-ns/op")
	b.ReportMetric(float64(r1-r0)/float64(b.N), "redis-cpu-ns/op")
}

// BenchmarkPublish: PUBLISH from P goroutines at once (handlers
// broadcasting), to a channel with one subscriber on another connection.
func BenchmarkPublish(b *testing.B) {
	for _, l := range libs {
		for _, par := range []int{1, 16, 128} {
			b.Run(l.name+"/goroutines="+strconv.Itoa(par), func(b *testing.B) {
				s := redistest.Start(b)
				var got atomic.Int64
				l.subscribe(b, s.Addr(), "bench", func(string) { got.Add(1) })
				pub := l.newPublisher(b, s.Addr())
				ctx := context.Background()
				b.ReportAllocs()
				measure(b, s, func() {
					var wg sync.WaitGroup
					var next atomic.Int64
					for g := 0; g < par; g++ {
						wg.Add(1)
						go func() {
							defer wg.Done()
							for next.Add(1) <= int64(b.N) {
								if err := pub(ctx, "bench", payload); err != nil {
									b.Error(err)
									return
								}
							}
						}()
					}
					wg.Wait()
					waitCount(b, &got, int64(b.N))
				})
			})
		}
	}
}

// BenchmarkReceive: one connection subscribed, messages published as fast
// as Redis takes them by a raw pipelined writer (the same for both
// clients); measures the subscriber's cost per message.
func BenchmarkReceive(b *testing.B) {
	for _, l := range libs {
		b.Run(l.name, func(b *testing.B) {
			s := redistest.Start(b)
			var got atomic.Int64
			l.subscribe(b, s.Addr(), "bench", func(m string) {
				if len(m) != len(payload) {
					b.Errorf("message of %d bytes", len(m))
				}
				got.Add(1)
			})
			raw := rawPublisher(b, s.Addr())
			b.ReportAllocs()
			measure(b, s, func() {
				raw(b.N)
				waitCount(b, &got, int64(b.N))
			})
		})
	}
}

func waitCount(tb testing.TB, got *atomic.Int64, want int64) {
	deadline := time.Now().Add(60 * time.Second)
	for got.Load() < want {
		if time.Now().After(deadline) {
			tb.Fatalf("received %d of %d messages", got.Load(), want)
		}
		time.Sleep(50 * time.Microsecond)
	}
}

// rawPublisher returns a function that publishes n messages on one
// connection, pipelined in batches of 256, and reads the replies.
func rawPublisher(tb testing.TB, addr string) func(n int) {
	c, err := net.Dial("tcp", addr)
	if err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(func() { c.Close() })
	one := redistest.AppendCommand(nil, "PUBLISH", "bench", string(payload))
	const batch = 256
	var buf []byte
	for i := 0; i < batch; i++ {
		buf = append(buf, one...)
	}
	r := bufio.NewReader(c)
	return func(n int) {
		done := make(chan error, 1)
		go func() {
			for i := 0; i < n; i++ {
				if _, err := r.ReadString('\n'); err != nil {
					done <- err
					return
				}
			}
			done <- nil
		}()
		for sent := 0; sent < n; sent += batch {
			k := min(batch, n-sent)
			if _, err := c.Write(buf[:k*len(one)]); err != nil {
				tb.Fatal(err)
			}
		}
		if err := <-done; err != nil {
			tb.Fatal(err)
		}
	}
}

// TestReconnect kills redis-server while a subscriber and a publisher are
// connected, restarts it on the same port, and reports how each client
// behaves: how long a publish takes to fail while Redis is down, and how
// long after the restart a message published again reaches the subscriber
// (without the test resubscribing by hand).
func TestReconnect(t *testing.T) {
	for _, l := range libs {
		t.Run(l.name, func(t *testing.T) {
			s := redistest.Start(t)
			got := make(chan string, 1024)
			l.subscribe(t, s.Addr(), "ch", func(m string) { got <- m })
			pub := l.newPublisher(t, s.Addr())
			ctx := context.Background()
			if err := pub(ctx, "ch", []byte("before")); err != nil {
				t.Fatal(err)
			}
			if m := <-got; m != "before" {
				t.Fatalf("got %q", m)
			}
			s.Kill()
			t0 := time.Now()
			ctx2, cancel := context.WithTimeout(ctx, 10*time.Second)
			err := pub(ctx2, "ch", []byte("down"))
			cancel()
			t.Logf("%s: publish while down: %v after %v", l.name, err, time.Since(t0).Round(time.Microsecond))
			if err == nil {
				t.Errorf("publish while Redis is down succeeded")
			}
			if err := s.Restart(); err != nil {
				t.Fatal(err)
			}
			t1 := time.Now()
			deadline := time.After(3 * time.Second)
			for i := 0; ; i++ {
				ctx2, cancel := context.WithTimeout(ctx, time.Second)
				_ = pub(ctx2, "ch", []byte(fmt.Sprint("after-", i)))
				cancel()
				select {
				case m := <-got:
					t.Logf("%s: first message after restart (%s) received %v after the restart", l.name, m, time.Since(t1).Round(time.Millisecond))
					return
				case <-time.After(20 * time.Millisecond):
				case <-deadline:
					t.Logf("%s: the subscription did not come back within 3 s without help (the adapter resubscribes itself)", l.name)
					return
				}
			}
		})
	}
}
