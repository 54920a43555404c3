// Command eiodensity measures what idle Engine.IO WebSocket sessions cost a
// server process: it opens N WebSocket sessions to a running server (the
// eio-echo fixture, or the Node reference), waits for them to settle, and
// reports the server's RSS delta per session, read from /proc/<pid>/status.
//
//	go build -o /tmp/eio-echo ./examples/eio-echo && /tmp/eio-echo -addr 127.0.0.1:3000 &
//	go run ./bench/eiodensity -pid $! -n 10000
//
// Sessions are spread over 127.0.0.x source addresses; keep N under the
// per-process open-file limit of the machine (20,000 here).
package main

import (
	"bufio"
	"flag"
	"fmt"
	"net"
	"net/http"
	"os"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"
)

func main() {
	addr := flag.String("addr", "127.0.0.1:3000", "server address")
	path := flag.String("path", "/engine.io/", "Engine.IO path")
	pid := flag.Int("pid", 0, "server process id (for RSS)")
	n := flag.Int("n", 10000, "sessions to open")
	conc := flag.Int("c", 200, "concurrent handshakes")
	settle := flag.Duration("settle", 3*time.Second, "wait before measuring")
	flag.Parse()
	if *pid == 0 {
		fmt.Fprintln(os.Stderr, "need -pid")
		os.Exit(2)
	}
	before := rssKB(*pid)
	conns := make([]net.Conn, *n)
	var failed atomic.Int64
	var wg sync.WaitGroup
	sem := make(chan struct{}, *conc)
	start := time.Now()
	for i := 0; i < *n; i++ {
		wg.Add(1)
		sem <- struct{}{}
		go func(i int) {
			defer wg.Done()
			defer func() { <-sem }()
			c, err := open(*addr, *path, i)
			if err != nil {
				failed.Add(1)
				return
			}
			conns[i] = c
		}(i)
	}
	wg.Wait()
	elapsed := time.Since(start)
	time.Sleep(*settle)
	after := rssKB(*pid)
	ok := int64(*n) - failed.Load()
	fmt.Printf("sessions=%d failed=%d handshake_time=%v rss_before_kb=%d rss_after_kb=%d bytes_per_session=%.0f\n",
		ok, failed.Load(), elapsed.Round(time.Millisecond), before, after, float64(after-before)*1024/float64(max(ok, 1)))
	for _, c := range conns {
		if c != nil {
			c.Close()
		}
	}
}

// open does a WebSocket handshake and reads the open packet; the session then
// idles (the server pings every pingInterval; nobody answers in this short
// measurement window if pingInterval+pingTimeout is long).
func open(addr, path string, i int) (net.Conn, error) {
	local := &net.TCPAddr{IP: net.IPv4(127, 0, 0, byte(1+i%200))}
	d := net.Dialer{LocalAddr: local, Timeout: 10 * time.Second}
	c, err := d.Dial("tcp", addr)
	if err != nil {
		return nil, err
	}
	_ = c.SetDeadline(time.Now().Add(20 * time.Second))
	req := "GET " + path + "?EIO=4&transport=websocket HTTP/1.1\r\nHost: " + addr +
		"\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Version: 13\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n\r\n"
	if _, err := c.Write([]byte(req)); err != nil {
		c.Close()
		return nil, err
	}
	br := bufio.NewReader(c)
	resp, err := http.ReadResponse(br, nil)
	if err != nil || resp.StatusCode != 101 {
		c.Close()
		return nil, fmt.Errorf("upgrade: %v", err)
	}
	// First frame: the open packet.
	h := make([]byte, 2)
	if _, err := br.Read(h); err != nil {
		c.Close()
		return nil, err
	}
	_ = c.SetDeadline(time.Time{})
	return c, nil
}

func rssKB(pid int) int64 {
	b, err := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/status")
	if err != nil {
		return 0
	}
	for _, line := range strings.Split(string(b), "\n") {
		if strings.HasPrefix(line, "VmRSS:") {
			f := strings.Fields(line)
			v, _ := strconv.ParseInt(f[1], 10, 64)
			return v
		}
	}
	return 0
}
