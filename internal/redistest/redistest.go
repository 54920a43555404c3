// Package redistest runs a private redis-server for tests and benchmarks: a
// fresh process on a free loopback port, no persistence, killed at the end
// (testing.TB.Cleanup). It can be stopped and started again on the same
// port, to test what a client does when Redis goes away and comes back.
//
// It owns only that process and a tiny RESP client (Do) that tests use to
// look at the server (PUBSUB NUMSUB, INFO) without depending on the Redis
// client under test. It imports nothing of fanio.
//
// The binary is redis-server from PATH, or $FANIO_REDIS_SERVER. A missing
// binary fails the test (it is never skipped): .ci/run installs Debian's
// redis-server. Sharded pub/sub needs Redis 7.0 or later.
package redistest

import (
	"bufio"
	"bytes"
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"
)

// Server is a redis-server process owned by a test.
type Server struct {
	bin  string
	dir  string
	port int

	mu   sync.Mutex
	cmd  *exec.Cmd
	done chan struct{}
	log  lockedBuffer
}

// lockedBuffer is the server's output, written by exec's copying goroutine
// and read by Log.
type lockedBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (l *lockedBuffer) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.b.Len() > 1<<20 {
		return len(p), nil
	}
	return l.b.Write(p)
}

func (l *lockedBuffer) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.String()
}

func (l *lockedBuffer) Reset() {
	l.mu.Lock()
	l.b.Reset()
	l.mu.Unlock()
}

// Binary returns the redis-server path ($FANIO_REDIS_SERVER, else PATH).
func Binary() (string, error) {
	if p := os.Getenv("FANIO_REDIS_SERVER"); p != "" {
		return p, nil
	}
	p, err := exec.LookPath("redis-server")
	if err != nil {
		return "", errors.New("redistest: redis-server not found on PATH (install Debian's redis-server, or set FANIO_REDIS_SERVER)")
	}
	return p, nil
}

// Start starts a redis-server on a free 127.0.0.1 port for tb and stops it
// at cleanup. It fails tb if the server cannot start.
func Start(tb testing.TB) *Server {
	tb.Helper()
	s, err := New()
	if err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(s.Close)
	return s
}

// New starts a redis-server on a free port; Close stops it and removes its
// directory. For tests, Start is simpler.
func New() (*Server, error) {
	bin, err := Binary()
	if err != nil {
		return nil, err
	}
	dir, err := os.MkdirTemp("", "redistest-")
	if err != nil {
		return nil, err
	}
	s := &Server{bin: bin, dir: dir}
	// A port probed free may be taken before redis binds it: try a few.
	for attempt := 0; attempt < 5; attempt++ {
		if s.port, err = freePort(); err != nil {
			break
		}
		if err = s.start(); err == nil {
			return s, nil
		}
	}
	os.RemoveAll(dir)
	return nil, err
}

func freePort() (int, error) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return 0, err
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port, nil
}

// Addr is "127.0.0.1:port".
func (s *Server) Addr() string { return "127.0.0.1:" + strconv.Itoa(s.port) }

// URL is "redis://127.0.0.1:port".
func (s *Server) URL() string { return "redis://" + s.Addr() }

// Port is the server's TCP port (kept across Stop and Restart).
func (s *Server) Port() int { return s.port }

// PID is the running process id, 0 when stopped.
func (s *Server) PID() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.cmd == nil {
		return 0
	}
	return s.cmd.Process.Pid
}

func (s *Server) start() error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.cmd != nil {
		return errors.New("redistest: already running")
	}
	cmd := exec.Command(s.bin,
		"--port", strconv.Itoa(s.port),
		"--bind", "127.0.0.1",
		"--save", "",
		"--appendonly", "no",
		"--protected-mode", "no",
		"--daemonize", "no",
		"--dir", s.dir,
		"--logfile", "",
		"--loglevel", "warning",
		// Clients of a killed test process must not linger as
		// subscribers (they would count in PUBSUB NUMSUB).
		"--tcp-keepalive", "1",
	)
	s.log.Reset()
	cmd.Stdout = &s.log
	cmd.Stderr = &s.log
	if err := cmd.Start(); err != nil {
		return fmt.Errorf("redistest: start %s: %w", s.bin, err)
	}
	done := make(chan struct{})
	go func() { cmd.Wait(); close(done) }()
	s.cmd, s.done = cmd, done
	deadline := time.Now().Add(10 * time.Second)
	for {
		if r, err := s.Do("PING"); err == nil && r == "PONG" {
			return nil
		}
		select {
		case <-done:
			s.cmd = nil
			return fmt.Errorf("redistest: redis-server exited on port %d: %s", s.port, strings.TrimSpace(s.log.String()))
		case <-time.After(10 * time.Millisecond):
		}
		if time.Now().After(deadline) {
			cmd.Process.Kill()
			<-done
			s.cmd = nil
			return fmt.Errorf("redistest: redis-server did not answer PING on port %d within 10s", s.port)
		}
	}
}

// Kill stops the server at once (SIGKILL: clients see their connections
// reset, as when a Redis host dies). The port stays reserved for Restart.
func (s *Server) Kill() {
	s.mu.Lock()
	cmd, done := s.cmd, s.done
	s.cmd = nil
	s.mu.Unlock()
	if cmd == nil {
		return
	}
	cmd.Process.Kill()
	<-done
}

// Restart starts the server again on the same port (after Kill). Another
// process may have taken the port meanwhile; then it fails.
func (s *Server) Restart() error {
	var err error
	for attempt := 0; attempt < 50; attempt++ {
		if err = s.start(); err == nil {
			return nil
		}
		time.Sleep(100 * time.Millisecond) // the old socket may linger briefly
	}
	return err
}

// Close kills the server and removes its directory.
func (s *Server) Close() {
	s.Kill()
	os.RemoveAll(s.dir)
}

// Do sends one command on a new connection and returns the reply: a
// string for simple and bulk strings, int64, nil, []any, or an error
// for an error reply.
func (s *Server) Do(args ...string) (any, error) {
	c, err := net.DialTimeout("tcp", s.Addr(), 5*time.Second)
	if err != nil {
		return nil, err
	}
	defer c.Close()
	c.SetDeadline(time.Now().Add(10 * time.Second))
	if _, err := c.Write(AppendCommand(nil, args...)); err != nil {
		return nil, err
	}
	return ReadReply(bufio.NewReader(c))
}

// Int runs a command whose reply is an integer.
func (s *Server) Int(args ...string) (int64, error) {
	r, err := s.Do(args...)
	if err != nil {
		return 0, err
	}
	n, ok := r.(int64)
	if !ok {
		return 0, fmt.Errorf("redistest: %s: reply %v is not an integer", args[0], r)
	}
	return n, nil
}

// NumSub returns PUBSUB NUMSUB (or SHARDNUMSUB when sharded) of channel.
func (s *Server) NumSub(channel string, sharded bool) (int64, error) {
	sub := "NUMSUB"
	if sharded {
		sub = "SHARDNUMSUB"
	}
	r, err := s.Do("PUBSUB", sub, channel)
	if err != nil {
		return 0, err
	}
	a, ok := r.([]any)
	if !ok || len(a) != 2 {
		return 0, fmt.Errorf("redistest: PUBSUB %s: unexpected reply %v", sub, r)
	}
	n, _ := a[1].(int64)
	return n, nil
}

// Info returns the fields of INFO section as a map.
func (s *Server) Info(section string) (map[string]string, error) {
	r, err := s.Do("INFO", section)
	if err != nil {
		return nil, err
	}
	text, _ := r.(string)
	out := map[string]string{}
	for _, l := range strings.Split(text, "\r\n") {
		if k, v, ok := strings.Cut(l, ":"); ok && !strings.HasPrefix(l, "#") {
			out[k] = v
		}
	}
	return out, nil
}

// CPU returns the server's used_cpu_sys and used_cpu_user (seconds).
func (s *Server) CPU() (sys, user float64, err error) {
	info, err := s.Info("cpu")
	if err != nil {
		return 0, 0, err
	}
	sys, _ = strconv.ParseFloat(info["used_cpu_sys"], 64)
	user, _ = strconv.ParseFloat(info["used_cpu_user"], 64)
	return sys, user, nil
}

// Log is what the server printed (warnings and errors).
func (s *Server) Log() string { return s.log.String() }

// Dir is the server's working directory.
func (s *Server) Dir() string { return filepath.Clean(s.dir) }

// AppendCommand appends args as a RESP array of bulk strings.
func AppendCommand(dst []byte, args ...string) []byte {
	dst = append(dst, '*')
	dst = strconv.AppendInt(dst, int64(len(args)), 10)
	dst = append(dst, '\r', '\n')
	for _, a := range args {
		dst = append(dst, '$')
		dst = strconv.AppendInt(dst, int64(len(a)), 10)
		dst = append(dst, '\r', '\n')
		dst = append(dst, a...)
		dst = append(dst, '\r', '\n')
	}
	return dst
}

// ReadReply reads one RESP2 reply (see Do for the Go types).
func ReadReply(r *bufio.Reader) (any, error) {
	line, err := r.ReadString('\n')
	if err != nil {
		return nil, err
	}
	if len(line) < 3 || line[len(line)-2] != '\r' {
		return nil, fmt.Errorf("redistest: bad reply line %q", line)
	}
	body := line[1 : len(line)-2]
	switch line[0] {
	case '+':
		return body, nil
	case '-':
		return nil, errors.New(body)
	case ':':
		return strconv.ParseInt(body, 10, 64)
	case '$':
		n, err := strconv.Atoi(body)
		if err != nil || n < 0 {
			return nil, err
		}
		buf := make([]byte, n+2)
		if _, err := io.ReadFull(r, buf); err != nil {
			return nil, err
		}
		return string(buf[:n]), nil
	case '*':
		n, err := strconv.Atoi(body)
		if err != nil || n < 0 {
			return nil, err
		}
		out := make([]any, n)
		for i := range out {
			if out[i], err = ReadReply(r); err != nil {
				return nil, err
			}
		}
		return out, nil
	}
	return nil, fmt.Errorf("redistest: unknown reply type %q", line)
}
