package clusterlink

import (
	"bufio"
	"context"
	"encoding/binary"
	"fmt"
	"io"
	"net"
	"sort"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/redis/rueidis"

	"github.com/fanio/fanio/internal/redistest"
)

// link is one of the two transports: roundTrip sends msg from node A to
// node B, which sends it back; done runs on A when it is back.
type link interface {
	roundTrip(msg []byte, done func())
}

func cpu() time.Duration {
	var ru syscall.Rusage
	syscall.Getrusage(syscall.RUSAGE_SELF, &ru)
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

type pending struct {
	mu sync.Mutex
	m  map[uint64]func()
	n  uint64
}

func (p *pending) add(fn func()) uint64 {
	p.mu.Lock()
	p.n++
	id := p.n
	p.m[id] = fn
	p.mu.Unlock()
	return id
}
func (p *pending) done(id uint64) {
	p.mu.Lock()
	fn := p.m[id]
	delete(p.m, id)
	p.mu.Unlock()
	if fn != nil {
		fn()
	}
}

// redisLink: each node publishes to the other's channel and reads its own
// on a dedicated subscribed connection.
type redisLink struct {
	a, b rueidis.Client
	p    pending
}

func newRedisLink(tb testing.TB, addr string) *redisLink {
	l := &redisLink{p: pending{m: map[uint64]func(){}}}
	mk := func() rueidis.Client {
		c, err := rueidis.NewClient(rueidis.ClientOption{InitAddress: []string{addr}, DisableCache: true})
		if err != nil {
			tb.Fatal(err)
		}
		tb.Cleanup(c.Close)
		return c
	}
	l.a, l.b = mk(), mk()
	sub := func(c rueidis.Client, ch string, fn func(string)) {
		dc, release := c.Dedicate()
		tb.Cleanup(release)
		dc.SetPubSubHooks(rueidis.PubSubHooks{OnMessage: func(m rueidis.PubSubMessage) { fn(m.Message) }})
		if err := dc.Do(context.Background(), dc.B().Subscribe().Channel(ch).Build()).Error(); err != nil {
			tb.Fatal(err)
		}
	}
	sub(l.b, "node-b", func(m string) {
		// B answers; not on the subscription's reading goroutine, which
		// must not wait for a reply of the same client.
		go l.b.Do(context.Background(), l.b.B().Publish().Channel("node-a").Message(m).Build())
	})
	sub(l.a, "node-a", func(m string) {
		l.p.done(binary.LittleEndian.Uint64([]byte(m)))
	})
	return l
}

func (l *redisLink) roundTrip(msg []byte, done func()) {
	id := l.p.add(done)
	binary.LittleEndian.PutUint64(msg, id)
	l.a.Do(context.Background(), l.a.B().Publish().Channel("node-b").Message(rueidis.BinaryString(msg)).Build())
}

// tcpLink: A's connection to B carries the requests, B's answers go back
// on it (as framed messages).
type tcpLink struct {
	wa *framer // A's connection to B
	p  pending
}

// framer writes length-prefixed frames from a queue, on one goroutine, in
// batches.
type framer struct {
	mu   sync.Mutex
	q    [][]byte
	wake chan struct{}
	w    *bufio.Writer
}

func newFramer(c net.Conn) *framer {
	f := &framer{w: bufio.NewWriterSize(c, 64<<10), wake: make(chan struct{}, 1)}
	go func() {
		var batch [][]byte
		for range f.wake {
			f.mu.Lock()
			batch, f.q = f.q, batch[:0]
			f.mu.Unlock()
			for _, m := range batch {
				var h [4]byte
				binary.LittleEndian.PutUint32(h[:], uint32(len(m)))
				f.w.Write(h[:])
				f.w.Write(m)
			}
			f.w.Flush()
		}
	}()
	return f
}

func (f *framer) send(m []byte) {
	c := append([]byte(nil), m...)
	f.mu.Lock()
	f.q = append(f.q, c)
	f.mu.Unlock()
	select {
	case f.wake <- struct{}{}:
	default:
	}
}

func readFrames(c net.Conn, fn func([]byte)) {
	r := bufio.NewReaderSize(c, 64<<10)
	var h [4]byte
	for {
		if _, err := io.ReadFull(r, h[:]); err != nil {
			return
		}
		m := make([]byte, binary.LittleEndian.Uint32(h[:]))
		if _, err := io.ReadFull(r, m); err != nil {
			return
		}
		fn(m)
	}
}

func newTCPLink(tb testing.TB) *tcpLink {
	l := &tcpLink{p: pending{m: map[uint64]func(){}}}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(func() { ln.Close() })
	go func() {
		c, err := ln.Accept()
		if err != nil {
			return
		}
		tb.Cleanup(func() { c.Close() })
		wb := newFramer(c)
		readFrames(c, func(m []byte) { wb.send(m) })
	}()
	c, err := net.Dial("tcp", ln.Addr().String())
	if err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(func() { c.Close() })
	l.wa = newFramer(c)
	go readFrames(c, func(m []byte) { l.p.done(binary.LittleEndian.Uint64(m)) })
	return l
}

func (l *tcpLink) roundTrip(msg []byte, done func()) {
	id := l.p.add(done)
	binary.LittleEndian.PutUint64(msg, id)
	l.wa.send(msg)
}

// run does b.N round trips, at most inflight at a time.
func run(b *testing.B, l link, inflight int, rs *redistest.Server) {
	msg := make([]byte, 300)
	n := b.N
	lat := make([]time.Duration, 0, n)
	var mu sync.Mutex
	sem := make(chan struct{}, inflight)
	var wg sync.WaitGroup
	var rsys0, rusr0 float64
	if rs != nil {
		rsys0, rusr0, _ = rs.CPU()
	}
	c0 := cpu()
	t0 := time.Now()
	for i := 0; i < n; i++ {
		sem <- struct{}{}
		wg.Add(1)
		start := time.Now()
		l.roundTrip(msg, func() {
			d := time.Since(start)
			mu.Lock()
			lat = append(lat, d)
			mu.Unlock()
			<-sem
			wg.Done()
		})
	}
	wg.Wait()
	el := time.Since(t0)
	c := cpu() - c0
	sort.Slice(lat, func(i, j int) bool { return lat[i] < lat[j] })
	b.ReportMetric(float64(lat[len(lat)/2].Microseconds()), "p50-us")
	b.ReportMetric(float64(lat[len(lat)*99/100].Microseconds()), "p99-us")
	b.ReportMetric(float64(c.Microseconds())/float64(n), "proc-cpu-us/rt")
	b.ReportMetric(float64(n)/el.Seconds(), "rt/s")
	if rs != nil {
		s, u, _ := rs.CPU()
		b.ReportMetric((s+u-rsys0-rusr0)*1e6/float64(n), "redis-cpu-us/rt")
	}
}

func BenchmarkLink(b *testing.B) {
	rs := redistest.Start(b)
	rl := newRedisLink(b, rs.Addr())
	tl := newTCPLink(b)
	for _, inflight := range []int{1, 32} {
		b.Run(fmt.Sprintf("redis/inflight=%d", inflight), func(b *testing.B) { run(b, rl, inflight, rs) })
		b.Run(fmt.Sprintf("tcp/inflight=%d", inflight), func(b *testing.B) { run(b, tl, inflight, nil) })
	}
}
