// Command floor measures what this machine's kernel and scheduler allow
// before any server does any work: raw TCP round trips and raw TCP fan-out
// over loopback, with no protocol at all. It puts a floor under the
// latency columns of BENCHMARKS.md: no Socket.IO server can answer faster
// or deliver a broadcast sooner than this.
//
//	taskset -c 0 go run ./bench/floor server -addr 127.0.0.1:3190 &
//	taskset -c 1 go run ./bench/floor echo   -addr 127.0.0.1:3190 -conns 100 -rate 1000
//	taskset -c 1 go run ./bench/floor fanout -addr 127.0.0.1:3190 -subs 1000 -rate 10
//
// The server echoes every read back on the same connection ("echo"), or,
// for a connection that announced itself as the publisher, writes each
// message it reads to every subscriber, one write(2) each, in one
// goroutine ("fanout": what an event loop does for a broadcast). Messages
// are 64 bytes carrying the sender's monotonic send time; latency is
// reception time minus send time. Loads are bounded by -duration.
package main

import (
	"encoding/binary"
	"errors"
	"flag"
	"fmt"
	"io"
	"net"
	"os"
	"slices"
	"sync"
	"time"
)

const msgSize = 64

// Connection roles, announced by the first byte a client sends.
const (
	roleEcho = 'e'
	roleSub  = 's'
	rolePub  = 'p'
)

func main() {
	if len(os.Args) < 2 {
		fmt.Fprintln(os.Stderr, "usage: floor server|echo|fanout [flags]")
		os.Exit(2)
	}
	fs := flag.NewFlagSet(os.Args[1], flag.ExitOnError)
	addr := fs.String("addr", "127.0.0.1:3190", "server address (loopback)")
	conns := fs.Int("conns", 100, "echo: client connections")
	subs := fs.Int("subs", 1000, "fanout: subscriber connections")
	rate := fs.Int("rate", 1000, "echo: round trips/s; fanout: publishes/s")
	dur := fs.Duration("duration", 8*time.Second, "measured window")
	_ = fs.Parse(os.Args[2:])
	var err error
	switch os.Args[1] {
	case "server":
		err = serve(*addr)
	case "echo":
		err = runEcho(*addr, *conns, *rate, *dur)
	case "fanout":
		err = runFanout(*addr, *subs, *rate, *dur)
	default:
		err = fmt.Errorf("unknown mode %q", os.Args[1])
	}
	if err != nil {
		fmt.Fprintln(os.Stderr, "floor:", err)
		os.Exit(1)
	}
}

// ---- server ----

type hub struct {
	mu   sync.Mutex
	subs []net.Conn
}

func serve(addr string) error {
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return err
	}
	h := &hub{}
	for {
		c, err := ln.Accept()
		if err != nil {
			return err
		}
		go h.handle(c)
	}
}

func (h *hub) handle(c net.Conn) {
	defer c.Close()
	var role [1]byte
	if _, err := io.ReadFull(c, role[:]); err != nil {
		return
	}
	switch role[0] {
	case roleSub:
		h.mu.Lock()
		h.subs = append(h.subs, c)
		h.mu.Unlock()
		_, _ = io.Copy(io.Discard, c) // until the client goes
		h.mu.Lock()
		h.subs = slices.DeleteFunc(h.subs, func(x net.Conn) bool { return x == c })
		h.mu.Unlock()
	case rolePub:
		var m [msgSize]byte
		var loops []time.Duration // how long each broadcast's writes took
		defer func() {
			h.mu.Lock()
			n := len(h.subs)
			h.mu.Unlock()
			if len(loops) > 0 {
				slices.Sort(loops)
				fmt.Printf("server: %d broadcasts to %d subscribers; all writes of one broadcast took p50 %v p99 %v (%v per write at p50)\n",
					len(loops), n, loops[len(loops)/2].Round(time.Microsecond), loops[len(loops)*99/100].Round(time.Microsecond),
					(loops[len(loops)/2] / time.Duration(max(n, 1))).Round(10*time.Nanosecond))
			}
		}()
		for {
			if _, err := io.ReadFull(c, m[:]); err != nil {
				return
			}
			t0 := time.Now()
			h.mu.Lock()
			for _, s := range h.subs {
				_, _ = s.Write(m[:])
			}
			h.mu.Unlock()
			loops = append(loops, time.Since(t0))
		}
	case roleEcho:
		var m [msgSize]byte
		for {
			if _, err := io.ReadFull(c, m[:]); err != nil {
				return
			}
			if _, err := c.Write(m[:]); err != nil {
				return
			}
		}
	}
}

// ---- clients ----

// recorder collects latencies from many goroutines.
type recorder struct {
	mu   sync.Mutex
	lats []time.Duration
}

func (r *recorder) add(d time.Duration) {
	r.mu.Lock()
	r.lats = append(r.lats, d)
	r.mu.Unlock()
}

func (r *recorder) report(what string, sent int, window time.Duration) {
	r.mu.Lock()
	lats := slices.Clone(r.lats)
	r.mu.Unlock()
	slices.Sort(lats)
	if len(lats) == 0 {
		fmt.Printf("%s: %d sent, none received\n", what, sent)
		return
	}
	q := func(p float64) time.Duration { return lats[min(len(lats)-1, int(p*float64(len(lats))))] }
	fmt.Printf("%s: %d sent, %d received in %v; p50 %v p99 %v p99.9 %v\n",
		what, sent, len(lats), window, q(0.50).Round(time.Microsecond), q(0.99).Round(time.Microsecond), q(0.999).Round(time.Microsecond))
}

func dial(addr string, role byte) (net.Conn, error) {
	c, err := net.DialTimeout("tcp", addr, 5*time.Second)
	if err != nil {
		return nil, err
	}
	if _, err := c.Write([]byte{role}); err != nil {
		c.Close()
		return nil, err
	}
	return c, nil
}

// readStamps records now − stamp for each message read from c.
func readStamps(c net.Conn, start time.Time, rec *recorder) {
	var m [msgSize]byte
	for {
		if _, err := io.ReadFull(c, m[:]); err != nil {
			return
		}
		sent := time.Duration(binary.LittleEndian.Uint64(m[:]))
		rec.add(time.Since(start) - sent)
	}
}

// paced calls send(i) rate times a second for dur, on schedule (late sends
// go out at once rather than being skipped), and returns how many it sent.
func paced(rate int, dur time.Duration, send func(i int) error) (int, error) {
	if rate <= 0 {
		return 0, errors.New("rate must be > 0")
	}
	start := time.Now()
	n := int(dur.Seconds() * float64(rate))
	for i := 0; i < n; i++ {
		time.Sleep(time.Until(start.Add(time.Duration(i) * time.Second / time.Duration(rate))))
		if err := send(i); err != nil {
			return i, err
		}
	}
	return n, nil
}

func stamp(start time.Time) []byte {
	var m [msgSize]byte
	binary.LittleEndian.PutUint64(m[:], uint64(time.Since(start)))
	return m[:]
}

func runEcho(addr string, conns, rate int, dur time.Duration) error {
	start := time.Now()
	rec := &recorder{}
	cs := make([]net.Conn, conns)
	for i := range cs {
		c, err := dial(addr, roleEcho)
		if err != nil {
			return err
		}
		defer c.Close()
		cs[i] = c
		go readStamps(c, start, rec)
	}
	sent, err := paced(rate, dur, func(i int) error {
		_, err := cs[i%len(cs)].Write(stamp(start))
		return err
	})
	time.Sleep(300 * time.Millisecond) // the last answers
	rec.report(fmt.Sprintf("echo %d conns %d/s", conns, rate), sent, dur)
	return err
}

func runFanout(addr string, subs, rate int, dur time.Duration) error {
	start := time.Now()
	rec := &recorder{}
	for i := 0; i < subs; i++ {
		c, err := dial(addr, roleSub)
		if err != nil {
			return err
		}
		defer c.Close()
		go readStamps(c, start, rec)
	}
	time.Sleep(200 * time.Millisecond) // let the server register them
	pub, err := dial(addr, rolePub)
	if err != nil {
		return err
	}
	defer pub.Close()
	sent, err := paced(rate, dur, func(int) error {
		_, err := pub.Write(stamp(start))
		return err
	})
	time.Sleep(300 * time.Millisecond)
	rec.report(fmt.Sprintf("fanout %d subs %d pubs/s", subs, rate), sent*subs, dur)
	return err
}
