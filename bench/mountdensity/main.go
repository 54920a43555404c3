// Command mountdensity measures what a Socket.IO WebSocket socket costs a
// fanio server depending on how it is served: on the server's own listener
// ("standalone", event loops), mounted on a net/http server ("mounted": the
// WebSocket is hijacked and moved to the event loops), and the same two over
// TLS ("standalone-tls", "mounted-tls": TLS connections are served on a
// goroutine each, gnet has no TLS).
//
// For each mode it starts a fresh server process (this binary with
// -serve MODE, optionally pinned with taskset), opens -sockets idle sockets
// (WebSocket, then Socket.IO CONNECT to "/"), and reports per socket the
// server's RSS (/proc/<pid>/status VmRSS, measured on the way up) and
// goroutines (runtime.NumGoroutine, from the server's debug endpoint), and
// its live Go heap after a forced GC (what the sockets retain, without the
// garbage RSS also holds until the heap grows enough for a GC). Then
// -echo-clients more sockets emit "echo" with an acknowledgement in a closed
// loop for -echo-duration while the idle ones stay connected: it reports
// round trips per second and the server's CPU (user+system, /proc/<pid>/stat)
// per round trip.
//
//	go run ./mountdensity -sockets 5000 -server-cpus 0 -client-cpus 1
//
// The server answers "echo" by acknowledging its arguments; pingInterval is
// 5 minutes so that the idle clients (which never answer pings) stay within
// the measurement. Linux only (/proc); loopback only.
package main

import (
	"bufio"
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"encoding/binary"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"math/big"
	"net"
	"net/http"
	"os"
	"os/exec"
	"os/signal"
	"runtime"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"time"

	"github.com/fanio/fanio/sio"
)

func main() {
	serve := flag.String("serve", "", "internal: run the server in this mode")
	modes := flag.String("modes", "standalone,mounted,standalone-tls,mounted-tls", "modes to measure")
	sockets := flag.Int("sockets", 5000, "idle sockets per mode (keep under the open-file limit, 20,000 here)")
	echoClients := flag.Int("echo-clients", 50, "sockets doing echo round trips")
	echoDuration := flag.Duration("echo-duration", 5*time.Second, "echo measurement window")
	size := flag.Int("size", 64, "echo payload bytes")
	settle := flag.Duration("settle", 3*time.Second, "wait before sampling RSS")
	serverCPUs := flag.String("server-cpus", "", "taskset CPU list for the server (empty: not pinned)")
	clientCPUs := flag.String("client-cpus", "", "taskset CPU list for this process (empty: not pinned)")
	flag.Parse()
	if *serve != "" {
		runServer(*serve)
		return
	}
	if *clientCPUs != "" && os.Getenv("MOUNTDENSITY_PINNED") == "" {
		// re-exec under taskset
		args := append([]string{"-c", *clientCPUs, os.Args[0]}, os.Args[1:]...)
		cmd := exec.Command("taskset", args...)
		cmd.Env = append(os.Environ(), "MOUNTDENSITY_PINNED=1")
		cmd.Stdout, cmd.Stderr = os.Stdout, os.Stderr
		if err := cmd.Run(); err != nil {
			os.Exit(1)
		}
		return
	}
	fmt.Printf("# mountdensity: %d idle sockets, %d echo clients × %v, %d-byte payload, GOMAXPROCS server = its CPUs\n",
		*sockets, *echoClients, *echoDuration, *size)
	fmt.Println("| mode | RSS per socket | live heap per socket | goroutines per socket | connect time | echo round trips/s | server CPU µs per round trip (user+sys) |")
	fmt.Println("|---|---:|---:|---:|---:|---:|---:|")
	for _, mode := range strings.Split(*modes, ",") {
		r, err := measure(mode, *sockets, *echoClients, *echoDuration, *size, *settle, *serverCPUs)
		if err != nil {
			fmt.Fprintf(os.Stderr, "%s: %v\n", mode, err)
			os.Exit(1)
		}
		fmt.Printf("| %s | %.0f B | %.0f B | %.3f | %v | %.0f | %.1f (%.1f + %.1f) |\n", mode, r.rssPerSocket, r.heapPerSocket, r.goroutinesPerSocket,
			r.connectTime.Round(time.Millisecond), r.roundTripsPerSec, r.cpuPerRoundTrip, r.userPerRoundTrip, r.sysPerRoundTrip)
	}
}

type result struct {
	rssPerSocket, heapPerSocket, goroutinesPerSocket   float64
	connectTime                                        time.Duration
	roundTripsPerSec                                   float64
	cpuPerRoundTrip, userPerRoundTrip, sysPerRoundTrip float64
}

func measure(mode string, n, echoClients int, echoDur time.Duration, size int, settle time.Duration, cpus string) (*result, error) {
	args := []string{"-serve", mode}
	var cmd *exec.Cmd
	if cpus != "" {
		cmd = exec.Command("taskset", append([]string{"-c", cpus, os.Args[0]}, args...)...)
	} else {
		cmd = exec.Command(os.Args[0], args...)
	}
	cmd.Stderr = os.Stderr
	out, err := cmd.StdoutPipe()
	if err != nil {
		return nil, err
	}
	if err := cmd.Start(); err != nil {
		return nil, err
	}
	defer func() {
		_ = cmd.Process.Signal(syscall.SIGTERM)
		_ = cmd.Wait()
	}()
	var addr string
	var pid int
	line, err := bufio.NewReader(out).ReadString('\n')
	if _, e := fmt.Sscanf(line, "listening %s %d", &addr, &pid); err != nil || e != nil {
		return nil, fmt.Errorf("server did not start: %q %v", line, err)
	}
	go io.Copy(io.Discard, out)
	secure := strings.HasSuffix(mode, "-tls")
	c := &client{addr: addr, secure: secure}

	rss0 := rssBytes(pid)
	g0, h0, err := c.stats()
	if err != nil {
		return nil, err
	}
	t0 := time.Now()
	idle, err := c.openMany(n, 100)
	defer func() {
		for _, s := range idle {
			s.Close()
		}
	}()
	if err != nil {
		return nil, err
	}
	connectTime := time.Since(t0)
	time.Sleep(settle)
	rss1 := rssBytes(pid)
	g1, h1, err := c.stats()
	if err != nil {
		return nil, err
	}
	r := &result{
		rssPerSocket:        float64(rss1-rss0) / float64(n),
		heapPerSocket:       float64(h1-h0) / float64(n),
		goroutinesPerSocket: float64(g1-g0) / float64(n),
		connectTime:         connectTime,
	}
	if echoClients > 0 {
		r.roundTripsPerSec, r.userPerRoundTrip, r.sysPerRoundTrip, err = c.echo(pid, echoClients, echoDur, size)
		if err != nil {
			return nil, err
		}
		r.cpuPerRoundTrip = r.userPerRoundTrip + r.sysPerRoundTrip
	}
	return r, nil
}

// ---- client ----

type client struct {
	addr   string
	secure bool
	next   atomic.Uint32
}

func (c *client) scheme(ws bool) string {
	switch {
	case ws && c.secure:
		return "wss"
	case ws:
		return "ws"
	case c.secure:
		return "https"
	}
	return "http"
}

var insecure = &tls.Config{InsecureSkipVerify: true} // loopback, a throwaway certificate

// stats asks the server for its goroutines and live heap (after a GC).
// The request's own connection is closed first, so it is not counted.
func (c *client) stats() (goroutines int, heap int64, err error) {
	hc := &http.Client{Timeout: 10 * time.Second, Transport: &http.Transport{TLSClientConfig: insecure, DisableKeepAlives: true}}
	resp, err := hc.Get(c.scheme(false) + "://" + c.addr + "/debug/stats")
	if err != nil {
		return 0, 0, err
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	_, err = fmt.Sscanf(string(b), "%d %d", &goroutines, &heap)
	return goroutines, heap, err
}

// sock is one client socket: a WebSocket carrying Socket.IO on "/".
type sock struct {
	net.Conn
	br *bufio.Reader
}

func (c *client) openMany(n, conc int) ([]*sock, error) {
	out := make([]*sock, n)
	var wg sync.WaitGroup
	var firstErr atomic.Value
	sem := make(chan struct{}, conc)
	for i := 0; i < n; i++ {
		wg.Add(1)
		sem <- struct{}{}
		go func(i int) {
			defer wg.Done()
			defer func() { <-sem }()
			s, err := c.open()
			if err != nil {
				firstErr.CompareAndSwap(nil, err)
				return
			}
			out[i] = s
		}(i)
	}
	wg.Wait()
	if err, _ := firstErr.Load().(error); err != nil {
		for _, s := range out {
			if s != nil {
				s.Close()
			}
		}
		return nil, err
	}
	return out, nil
}

// open connects from one of 127.0.0.1..16 (so ephemeral ports last), does
// the WebSocket upgrade, reads the open packet and joins "/".
func (c *client) open() (*sock, error) {
	i := c.next.Add(1)
	d := net.Dialer{LocalAddr: &net.TCPAddr{IP: net.IPv4(127, 0, 0, byte(1+i%16))}, Timeout: 10 * time.Second}
	raw, err := d.Dial("tcp", c.addr)
	if err != nil {
		return nil, err
	}
	var conn net.Conn = raw
	if c.secure {
		tc := tls.Client(raw, &tls.Config{InsecureSkipVerify: true, NextProtos: []string{"http/1.1"}})
		if err := tc.HandshakeContext(context.Background()); err != nil {
			raw.Close()
			return nil, err
		}
		conn = tc
	}
	_ = conn.SetDeadline(time.Now().Add(20 * time.Second))
	req := "GET /socket.io/?EIO=4&transport=websocket HTTP/1.1\r\nHost: " + c.addr +
		"\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Version: 13\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n\r\n"
	s := &sock{Conn: conn, br: bufio.NewReaderSize(conn, 1024)}
	if _, err := io.WriteString(conn, req); err != nil {
		conn.Close()
		return nil, err
	}
	resp, err := http.ReadResponse(s.br, nil)
	if err != nil || resp.StatusCode != 101 {
		conn.Close()
		return nil, fmt.Errorf("upgrade: %v %v", resp, err)
	}
	if p, err := s.read(); err != nil || len(p) == 0 || p[0] != '0' {
		conn.Close()
		return nil, fmt.Errorf("open packet %q: %v", p, err)
	}
	if err := s.write([]byte("40")); err != nil {
		conn.Close()
		return nil, err
	}
	if p, err := s.read(); err != nil || !strings.HasPrefix(string(p), "40{") {
		conn.Close()
		return nil, fmt.Errorf("CONNECT answer %q: %v", p, err)
	}
	_ = conn.SetDeadline(time.Time{})
	return s, nil
}

// write sends one masked text frame.
func (s *sock) write(p []byte) error {
	f := make([]byte, 0, 14+len(p))
	f = append(f, 0x81)
	switch {
	case len(p) < 126:
		f = append(f, 0x80|byte(len(p)))
	case len(p) < 1<<16:
		f = append(f, 0x80|126, byte(len(p)>>8), byte(len(p)))
	default:
		f = append(f, 0x80|127)
		f = binary.BigEndian.AppendUint64(f, uint64(len(p)))
	}
	mask := [4]byte{1, 2, 3, 4}
	f = append(f, mask[:]...)
	for i, b := range p {
		f = append(f, b^mask[i&3])
	}
	_, err := s.Write(f)
	return err
}

// read returns the payload of the next text or binary frame, answering
// pings (Engine.IO "2") on the way.
func (s *sock) read() ([]byte, error) {
	for {
		var h [2]byte
		if _, err := io.ReadFull(s.br, h[:]); err != nil {
			return nil, err
		}
		n := uint64(h[1] & 0x7f)
		switch n {
		case 126:
			var b [2]byte
			if _, err := io.ReadFull(s.br, b[:]); err != nil {
				return nil, err
			}
			n = uint64(binary.BigEndian.Uint16(b[:]))
		case 127:
			var b [8]byte
			if _, err := io.ReadFull(s.br, b[:]); err != nil {
				return nil, err
			}
			n = binary.BigEndian.Uint64(b[:])
		}
		if n > 1<<20 {
			return nil, errors.New("frame too big")
		}
		p := make([]byte, n)
		if _, err := io.ReadFull(s.br, p); err != nil {
			return nil, err
		}
		switch op := h[0] & 0x0f; {
		case op == 0x8:
			return nil, io.EOF
		case op >= 0x8:
			continue
		case len(p) == 1 && p[0] == '2':
			if err := s.write([]byte("3")); err != nil {
				return nil, err
			}
			continue
		}
		return p, nil
	}
}

// echo runs k sockets emitting "echo" with an ack in a closed loop for d.
func (c *client) echo(pid, k int, d time.Duration, size int) (perSec, userUS, sysUS float64, err error) {
	socks, err := c.openMany(k, k)
	if err != nil {
		return 0, 0, 0, err
	}
	defer func() {
		for _, s := range socks {
			s.Close()
		}
	}()
	payload := strings.Repeat("x", size)
	var count atomic.Int64
	stop := make(chan struct{})
	errs := make(chan error, k)
	var wg sync.WaitGroup
	u0, s0 := cpuTicks(pid)
	start := time.Now()
	for _, s := range socks {
		wg.Add(1)
		go func(s *sock) {
			defer wg.Done()
			for id := 0; ; id++ {
				select {
				case <-stop:
					return
				default:
				}
				msg := "42" + strconv.Itoa(id) + `["echo","` + payload + `"]`
				if err := s.write([]byte(msg)); err != nil {
					errs <- err
					return
				}
				want := "43" + strconv.Itoa(id) + "["
				for {
					p, err := s.read()
					if err != nil {
						errs <- err
						return
					}
					if strings.HasPrefix(string(p), want) {
						break
					}
				}
				count.Add(1)
			}
		}(s)
	}
	time.Sleep(d)
	close(stop)
	elapsed := time.Since(start)
	u1, s1 := cpuTicks(pid)
	n := count.Load()
	for _, s := range socks {
		_ = s.SetDeadline(time.Now().Add(2 * time.Second))
	}
	wg.Wait()
	select {
	case err := <-errs:
		if !errors.Is(err, os.ErrDeadlineExceeded) {
			return 0, 0, 0, err
		}
	default:
	}
	if n == 0 {
		return 0, 0, 0, errors.New("no round trip")
	}
	const tickUS = 1e6 / 100 // USER_HZ
	return float64(n) / elapsed.Seconds(), float64(u1-u0) * tickUS / float64(n), float64(s1-s0) * tickUS / float64(n), nil
}

// ---- /proc ----

func rssBytes(pid int) int64 {
	b, _ := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/status")
	for _, line := range strings.Split(string(b), "\n") {
		if strings.HasPrefix(line, "VmRSS:") {
			f := strings.Fields(line)
			v, _ := strconv.ParseInt(f[1], 10, 64)
			return v * 1024
		}
	}
	return 0
}

// cpuTicks returns utime and stime (clock ticks) of pid.
func cpuTicks(pid int) (user, sys int64) {
	b, _ := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/stat")
	s := string(b)
	if i := strings.LastIndexByte(s, ')'); i >= 0 {
		f := strings.Fields(s[i+2:])
		if len(f) > 12 {
			user, _ = strconv.ParseInt(f[11], 10, 64)
			sys, _ = strconv.ParseInt(f[12], 10, 64)
		}
	}
	return user, sys
}

// ---- server ----

func runServer(mode string) {
	log := slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelWarn}))
	debug := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path != "/debug/stats" {
			http.NotFound(w, r)
			return
		}
		runtime.GC()
		var ms runtime.MemStats
		runtime.ReadMemStats(&ms)
		// this request's own goroutine is not counted
		fmt.Fprint(w, runtime.NumGoroutine()-1, ms.HeapAlloc)
	})
	secure := strings.HasSuffix(mode, "-tls")
	srv := sio.NewServer(sio.Options{
		PingInterval: 5 * time.Minute,
		NotFound:     debug,
		Logger:       log,
	})
	srv.OnConnection(func(s *sio.Socket) {
		s.On("echo", func(s *sio.Socket, args sio.Args, ack sio.Ack) {
			if ack != nil {
				_ = ack(args.Any()...)
			}
		})
	})
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		panic(err)
	}
	cfg := &tls.Config{Certificates: []tls.Certificate{throwawayCert()}, NextProtos: []string{"http/1.1"}}
	errc := make(chan error, 1)
	switch mode {
	case "standalone", "standalone-tls":
		if secure {
			ln = tls.NewListener(ln, cfg)
		}
		go func() { errc <- srv.Serve(ln) }()
	case "mounted", "mounted-tls":
		mux := http.NewServeMux()
		mux.Handle("/socket.io/", srv)
		mux.Handle("/debug/", debug)
		hs := &http.Server{Handler: mux, TLSConfig: cfg}
		go func() {
			if secure {
				errc <- hs.ServeTLS(ln, "", "")
			} else {
				errc <- hs.Serve(ln)
			}
		}()
	default:
		fmt.Fprintln(os.Stderr, "unknown mode", mode)
		os.Exit(2)
	}
	fmt.Printf("listening %s %d\n", ln.Addr(), os.Getpid())
	sig := make(chan os.Signal, 1)
	signal.Notify(sig, syscall.SIGTERM, os.Interrupt)
	select {
	case err := <-errc:
		fmt.Fprintln(os.Stderr, "server:", err)
		os.Exit(1)
	case <-sig:
	}
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	_ = srv.Shutdown(ctx)
}

func throwawayCert() tls.Certificate {
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		panic(err)
	}
	tmpl := &x509.Certificate{
		SerialNumber: big.NewInt(1),
		NotBefore:    time.Now().Add(-time.Hour),
		NotAfter:     time.Now().Add(24 * time.Hour),
		IPAddresses:  []net.IP{net.IPv4(127, 0, 0, 1)},
		KeyUsage:     x509.KeyUsageDigitalSignature,
		ExtKeyUsage:  []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		panic(err)
	}
	return tls.Certificate{Certificate: [][]byte{der}, PrivateKey: key}
}
