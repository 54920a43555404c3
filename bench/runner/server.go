package runner

import (
	"bytes"
	"errors"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"syscall"
	"time"

	"github.com/fanio/fanio/bench/loadgen"
)

// NotImplementedExit is the exit status by which a fixture says it is only
// a stub (bench/server until fanio/sio exists).
const NotImplementedExit = 3

// ServerSpec says how to start one fixture.
type ServerSpec struct {
	Name   string   // node | go-1core | go-2core
	Label  string   // for tables
	Argv   []string // full command, taskset included
	Dir    string
	Port   int
	GenPin string // taskset CPU list for the generator's workers
	Cores  string // CPU list the server is pinned to
	Env    []string
}

// Server is a running fixture.
type Server struct {
	Spec ServerSpec
	Cmd  *exec.Cmd
	PID  int
	log  *tailBuffer
	done chan struct{}
}

// tailBuffer keeps the last 8 KiB of a process's output.
type tailBuffer struct {
	mu sync.Mutex
	b  []byte
}

func (t *tailBuffer) Write(p []byte) (int, error) {
	t.mu.Lock()
	t.b = append(t.b, p...)
	if len(t.b) > 8192 {
		t.b = append([]byte(nil), t.b[len(t.b)-8192:]...)
	}
	t.mu.Unlock()
	return len(p), nil
}

func (t *tailBuffer) String() string {
	t.mu.Lock()
	defer t.mu.Unlock()
	return strings.TrimSpace(string(t.b))
}

// ErrNotImplemented is returned by StartServer for a stub fixture.
var ErrNotImplemented = errors.New("fixture not implemented")

func portBusy(port int) bool {
	c, err := net.DialTimeout("tcp", fmt.Sprintf("127.0.0.1:%d", port), 300*time.Millisecond)
	if err != nil {
		return false
	}
	c.Close()
	return true
}

// StartServer starts the fixture and waits until it accepts connections.
func StartServer(spec ServerSpec) (*Server, error) {
	if portBusy(spec.Port) {
		return nil, fmt.Errorf("port %d is already in use", spec.Port)
	}
	cmd := exec.Command(spec.Argv[0], spec.Argv[1:]...)
	cmd.Dir = spec.Dir
	cmd.Env = append(os.Environ(), spec.Env...)
	log := &tailBuffer{}
	cmd.Stdout, cmd.Stderr = log, log
	cmd.SysProcAttr = &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL}
	if err := cmd.Start(); err != nil {
		return nil, fmt.Errorf("starting %s: %w", spec.Name, err)
	}
	s := &Server{Spec: spec, Cmd: cmd, PID: cmd.Process.Pid, log: log, done: make(chan struct{})}
	go func() { _ = cmd.Wait(); close(s.done) }()
	deadline := time.Now().Add(20 * time.Second)
	for {
		select {
		case <-s.done:
			code := cmd.ProcessState.ExitCode()
			if code == NotImplementedExit {
				return nil, fmt.Errorf("%w: %s", ErrNotImplemented, log.String())
			}
			return nil, fmt.Errorf("%s exited with status %d: %s", spec.Name, code, log.String())
		default:
		}
		if portBusy(spec.Port) {
			// taskset execs the server, so the pid is the server's; check.
			if pid, err := loadgen.FindListenerPID(spec.Port); err == nil {
				s.PID = pid
			}
			time.Sleep(200 * time.Millisecond)
			return s, nil
		}
		if time.Now().After(deadline) {
			s.Stop()
			return nil, fmt.Errorf("%s did not listen on port %d within 20s: %s", spec.Name, spec.Port, log.String())
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// Stop sends SIGTERM, then SIGKILL after 5 s.
func (s *Server) Stop() {
	if s == nil {
		return
	}
	_ = s.Cmd.Process.Signal(syscall.SIGTERM)
	select {
	case <-s.done:
	case <-time.After(5 * time.Second):
		_ = s.Cmd.Process.Kill()
		<-s.done
	}
	// wait for the port to be free for the next fixture
	for i := 0; i < 50 && portBusy(s.Spec.Port); i++ {
		time.Sleep(100 * time.Millisecond)
	}
}

// Alive reports whether the fixture is still running.
func (s *Server) Alive() bool {
	select {
	case <-s.done:
		return false
	default:
		return true
	}
}

// Log is the tail of the fixture's output.
func (s *Server) Log() string { return s.log.String() }

// EnsureNodeModules runs `npm ci` in bench/node if socket.io is missing.
func EnsureNodeModules(root string, log func(string, ...any)) error {
	dir := filepath.Join(root, "bench", "node")
	if _, err := os.Stat(filepath.Join(dir, "node_modules", "socket.io", "package.json")); err == nil {
		return nil
	}
	log("installing the Node fixture: npm ci in %s", dir)
	cmd := exec.Command("npm", "ci", "--no-audit", "--no-fund")
	cmd.Dir = dir
	var out bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &out
	if err := cmd.Run(); err != nil {
		return fmt.Errorf("npm ci in %s: %v\n%s", dir, err, out.String())
	}
	return nil
}

// BuildGoServer builds ./bench/server into dir and returns the binary path.
func BuildGoServer(root, dir string) (string, error) {
	bin := filepath.Join(dir, "fanio-bench-server")
	cmd := exec.Command("go", "build", "-o", bin, "./bench/server")
	cmd.Dir = root
	var out bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &out
	if err := cmd.Run(); err != nil {
		return "", fmt.Errorf("go build ./bench/server: %v\n%s", err, out.String())
	}
	return bin, nil
}

// PrepareFixtures readies the fixtures a multi-server benchmark runs: when
// servers has "fanio" and goServer is empty, it builds bench/server into a
// temporary directory and returns that binary (else goServer); when it has
// "node", it installs the Node fixture's modules. cleanup removes what was
// built; call it once the servers have stopped.
func PrepareFixtures(root string, servers []string, goServer string, log func(string, ...any)) (bin string, cleanup func(), err error) {
	cleanup = func() {}
	if goServer == "" && slices.Contains(servers, "fanio") {
		dir, err := os.MkdirTemp("", "fanio-bench-fixture-")
		if err != nil {
			return "", cleanup, err
		}
		cleanup = func() { os.RemoveAll(dir) }
		if goServer, err = BuildGoServer(root, dir); err != nil {
			cleanup()
			return "", func() {}, err
		}
	}
	if slices.Contains(servers, "node") {
		if err := EnsureNodeModules(root, log); err != nil {
			cleanup()
			return "", func() {}, err
		}
	}
	return goServer, cleanup, nil
}
