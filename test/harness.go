// Package integration holds fanio's integration tests: the official
// Engine.IO / Socket.IO clients from npm (test/node) drive our server, and
// every scenario can also be run against the npm reference server
// (test/node/reference-eio-server.mjs) to prove the scenario itself right.
//
// This file is the Node tooling, usable by other test packages too: finding
// node and npm, installing test/node's pinned packages (npm ci, serialized
// across processes), running a scenario script with a deadline, running the
// reference fixture, and a log of the sessions a server opened and closed.
package integration

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strconv"
	"strings"
	"sync"
	"time"
)

// Node is a located Node.js toolchain and the test/node package directory.
type Node struct {
	Node string // absolute path of the node binary
	NPM  string // absolute path of the npm binary
	Dir  string // absolute path of test/node
}

// FindNode locates node and npm on PATH (or FANIO_NODE / FANIO_NPM) and the
// test/node directory (next to this file, or FANIO_NODE_DIR).
func FindNode() (*Node, error) {
	n := &Node{}
	var err error
	if n.Node, err = lookTool("FANIO_NODE", "node"); err != nil {
		return nil, err
	}
	if n.NPM, err = lookTool("FANIO_NPM", "npm"); err != nil {
		return nil, err
	}
	n.Dir = os.Getenv("FANIO_NODE_DIR")
	if n.Dir == "" {
		_, file, _, ok := runtime.Caller(0)
		if !ok {
			return nil, errors.New("cannot locate test/node: runtime.Caller failed (set FANIO_NODE_DIR)")
		}
		n.Dir = filepath.Join(filepath.Dir(file), "node")
	}
	if _, err := os.Stat(filepath.Join(n.Dir, "package-lock.json")); err != nil {
		return nil, fmt.Errorf("test/node not found at %s: %w (set FANIO_NODE_DIR)", n.Dir, err)
	}
	return n, nil
}

func lookTool(env, name string) (string, error) {
	if p := os.Getenv(env); p != "" {
		return p, nil
	}
	p, err := exec.LookPath(name)
	if err != nil {
		return "", fmt.Errorf("%s not found on PATH (install Node.js 20+ with npm, or set %s): %w", name, env, err)
	}
	return filepath.Abs(p)
}

// Version returns `node --version`.
func (n *Node) Version() (string, error) {
	out, err := exec.Command(n.Node, "--version").Output()
	return strings.TrimSpace(string(out)), err
}

// EnsureDeps runs `npm ci` in test/node when node_modules is missing, older
// than package-lock.json, or does not hold the versions package.json pins.
// An exclusive lock on test/node/.npm-ci.lock serializes this across the
// test binaries `go test ./...` runs in parallel. npm's output goes to logw.
func (n *Node) EnsureDeps(logw io.Writer) error {
	lockPath := filepath.Join(n.Dir, ".npm-ci.lock")
	f, err := os.OpenFile(lockPath, os.O_CREATE|os.O_RDWR, 0o644)
	if err != nil {
		return fmt.Errorf("open %s: %w", lockPath, err)
	}
	defer f.Close()
	unlock, err := lockFile(f, 10*time.Minute)
	if err != nil {
		return err
	}
	defer unlock()

	why, err := n.depsStale()
	if err != nil {
		return err
	}
	if why == "" {
		return nil
	}
	fmt.Fprintf(logw, "integration: running npm ci in %s (%s)\n", n.Dir, why)
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, n.NPM, "ci", "--no-audit", "--no-fund", "--loglevel=error")
	cmd.Dir = n.Dir
	var out bytes.Buffer
	cmd.Stdout = &out
	cmd.Stderr = &out
	if err := cmd.Run(); err != nil {
		return fmt.Errorf("npm ci in %s failed: %w\n%s", n.Dir, err, out.String())
	}
	if why, err := n.depsStale(); err != nil || why != "" {
		return fmt.Errorf("after npm ci, test/node/node_modules is still not usable: %s %v", why, err)
	}
	return nil
}

// depsStale says why node_modules needs `npm ci`, or "" if it does not.
func (n *Node) depsStale() (string, error) {
	lock, err := os.Stat(filepath.Join(n.Dir, "package-lock.json"))
	if err != nil {
		return "", err
	}
	hidden, err := os.Stat(filepath.Join(n.Dir, "node_modules", ".package-lock.json"))
	if err != nil {
		return "node_modules is missing", nil
	}
	if hidden.ModTime().Before(lock.ModTime()) {
		return "node_modules is older than package-lock.json", nil
	}
	var pkg struct {
		Dependencies    map[string]string `json:"dependencies"`
		DevDependencies map[string]string `json:"devDependencies"`
	}
	raw, err := os.ReadFile(filepath.Join(n.Dir, "package.json"))
	if err != nil {
		return "", err
	}
	if err := json.Unmarshal(raw, &pkg); err != nil {
		return "", fmt.Errorf("test/node/package.json: %w", err)
	}
	for _, deps := range []map[string]string{pkg.Dependencies, pkg.DevDependencies} {
		for name, want := range deps {
			raw, err := os.ReadFile(filepath.Join(n.Dir, "node_modules", name, "package.json"))
			if err != nil {
				return fmt.Sprintf("%s is not installed", name), nil
			}
			var got struct{ Version string }
			// An alias ("npm:socket.io-client@2.5.0") pins the version after its last "@".
			if strings.HasPrefix(want, "npm:") {
				want = want[strings.LastIndexByte(want, '@')+1:]
			}
			if json.Unmarshal(raw, &got) != nil || got.Version != want {
				return fmt.Sprintf("%s is %q, package.json pins %q", name, got.Version, want), nil
			}
		}
	}
	return "", nil
}

// ScriptResult is what one run of a scenario script produced.
type ScriptResult struct {
	Args     []string
	ExitCode int
	Stdout   string
	Stderr   string
	Duration time.Duration
	// Result is the last JSON object line of stdout ({"ok":...,...}), nil if none.
	Result map[string]any
	Err    error // non-nil when the script could not run or exited non-zero
}

// OK reports whether the script exited 0 and printed {"ok":true,...}.
func (r *ScriptResult) OK() bool {
	return r.Err == nil && r.Result != nil && r.Result["ok"] == true
}

// String describes the run for a failure message.
func (r *ScriptResult) String() string {
	return fmt.Sprintf("node %s\nexit code %d after %v (err: %v)\n--- stdout ---\n%s--- stderr ---\n%s",
		strings.Join(r.Args, " "), r.ExitCode, r.Duration.Round(time.Millisecond), r.Err, r.Stdout, r.Stderr)
}

// Str returns a string field of the result line ("" if absent).
func (r *ScriptResult) Str(key string) string {
	if r.Result == nil {
		return ""
	}
	s, _ := r.Result[key].(string)
	return s
}

// Num returns a numeric field of the result line (-1 if absent).
func (r *ScriptResult) Num(key string) float64 {
	if r.Result == nil {
		return -1
	}
	f, ok := r.Result[key].(float64)
	if !ok {
		return -1
	}
	return f
}

// Script is a running scenario script.
type Script struct {
	cmd    *exec.Cmd
	stdin  io.WriteCloser
	stdout bytes.Buffer
	stderr bytes.Buffer
	start  time.Time
	args   []string
	done   chan struct{}
	res    *ScriptResult
	cancel context.CancelFunc
}

// StartScript starts `node <script> <args...>` in test/node (script is
// relative to it, e.g. "eio/basic.mjs"). The process is killed when ctx ends
// or after timeout, whichever is first. Its stdin is a pipe: CloseStdin ends it.
func (n *Node) StartScript(ctx context.Context, timeout time.Duration, script string, args ...string) (*Script, error) {
	ctx, cancel := context.WithTimeout(ctx, timeout)
	s := &Script{args: append([]string{script}, args...), done: make(chan struct{}), cancel: cancel}
	s.cmd = exec.CommandContext(ctx, n.Node, s.args...)
	s.cmd.Dir = n.Dir
	s.cmd.Env = append(os.Environ(), "NODE_NO_WARNINGS=1")
	s.cmd.Stdout = &s.stdout
	s.cmd.Stderr = &s.stderr
	s.cmd.WaitDelay = 5 * time.Second
	var err error
	if s.stdin, err = s.cmd.StdinPipe(); err != nil {
		cancel()
		return nil, err
	}
	s.start = time.Now()
	if err := s.cmd.Start(); err != nil {
		cancel()
		return nil, fmt.Errorf("start node %s: %w", script, err)
	}
	go s.wait()
	return s, nil
}

func (s *Script) wait() {
	err := s.cmd.Wait()
	s.cancel()
	r := &ScriptResult{
		Args:     s.args,
		ExitCode: s.cmd.ProcessState.ExitCode(),
		Stdout:   s.stdout.String(),
		Stderr:   s.stderr.String(),
		Duration: time.Since(s.start),
		Err:      err,
	}
	lines := strings.Split(strings.TrimSpace(r.Stdout), "\n")
	for i := len(lines) - 1; i >= 0; i-- {
		l := strings.TrimSpace(lines[i])
		if !strings.HasPrefix(l, "{") {
			continue
		}
		var m map[string]any
		if json.Unmarshal([]byte(l), &m) == nil {
			r.Result = m
			break
		}
	}
	if r.Err == nil && r.Result == nil {
		r.Err = errors.New("the script printed no JSON result line")
	}
	s.res = r
	close(s.done)
}

// CloseStdin closes the script's standard input (scripts that run "until
// stdin ends" then finish).
func (s *Script) CloseStdin() { s.stdin.Close() }

// Wait waits for the script to exit and returns what it did.
func (s *Script) Wait() *ScriptResult {
	<-s.done
	return s.res
}

// RunScript runs a script to completion (see StartScript).
func (n *Node) RunScript(ctx context.Context, timeout time.Duration, script string, args ...string) *ScriptResult {
	s, err := n.StartScript(ctx, timeout, script, args...)
	if err != nil {
		return &ScriptResult{Args: append([]string{script}, args...), ExitCode: -1, Err: err}
	}
	s.CloseStdin()
	return s.Wait()
}

// CloseRecord is how a server reported one session's end.
type CloseRecord struct {
	SID       string
	Reason    string
	Transport string // the session's transport when it closed
}

// SessionLog records the sessions a server opened and closed. Safe for
// concurrent use.
type SessionLog struct {
	mu      sync.Mutex
	changed chan struct{} // closed and replaced on every change
	opened  map[string]string
	closed  map[string]CloseRecord
	order   []string
	errs    []string
}

// NewSessionLog returns an empty log.
func NewSessionLog() *SessionLog {
	return &SessionLog{changed: make(chan struct{}), opened: map[string]string{}, closed: map[string]CloseRecord{}}
}

func (l *SessionLog) notifyLocked() {
	close(l.changed)
	l.changed = make(chan struct{})
}

// Opened records a new session.
func (l *SessionLog) Opened(sid, transport string) {
	l.mu.Lock()
	defer l.mu.Unlock()
	if _, dup := l.opened[sid]; dup {
		l.errs = append(l.errs, fmt.Sprintf("session %s opened twice", sid))
	}
	l.opened[sid] = transport
	l.order = append(l.order, sid)
	l.notifyLocked()
}

// Closed records a session's close.
func (l *SessionLog) Closed(sid, reason, transport string) {
	l.mu.Lock()
	defer l.mu.Unlock()
	if prev, dup := l.closed[sid]; dup {
		l.errs = append(l.errs, fmt.Sprintf("session %s closed twice (%q, then %q)", sid, prev.Reason, reason))
		return
	}
	if _, ok := l.opened[sid]; !ok {
		l.errs = append(l.errs, fmt.Sprintf("session %s closed (%q) but never opened", sid, reason))
	}
	l.closed[sid] = CloseRecord{SID: sid, Reason: reason, Transport: transport}
	l.notifyLocked()
}

// Errorf records a problem seen by the server side of a test (a failed Send,
// a double close); Errors returns them.
func (l *SessionLog) Errorf(format string, args ...any) {
	l.mu.Lock()
	defer l.mu.Unlock()
	if len(l.errs) < 100 {
		l.errs = append(l.errs, fmt.Sprintf(format, args...))
	}
	l.notifyLocked()
}

// Errors returns the problems recorded with Errorf and the log's own checks.
func (l *SessionLog) Errors() []string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return append([]string(nil), l.errs...)
}

// Live is the number of sessions opened and not yet closed.
func (l *SessionLog) Live() int {
	l.mu.Lock()
	defer l.mu.Unlock()
	n := 0
	for sid := range l.opened {
		if _, ok := l.closed[sid]; !ok {
			n++
		}
	}
	return n
}

// Opens returns the ids of the sessions opened so far, in order.
func (l *SessionLog) Opens() []string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return append([]string(nil), l.order...)
}

// Lookup returns the close record of sid, if it closed.
func (l *SessionLog) Lookup(sid string) (CloseRecord, bool) {
	l.mu.Lock()
	defer l.mu.Unlock()
	r, ok := l.closed[sid]
	return r, ok
}

// WaitClosed waits until sid has closed, or ctx ends.
func (l *SessionLog) WaitClosed(ctx context.Context, sid string) (CloseRecord, error) {
	return waitLog(ctx, l, func() (CloseRecord, bool) { return l.Lookup(sid) },
		func() error { return fmt.Errorf("session %q did not close (opened: %v)", sid, l.isOpened(sid)) })
}

// WaitOpened waits until sid has opened, or ctx ends.
func (l *SessionLog) WaitOpened(ctx context.Context, sid string) error {
	_, err := waitLog(ctx, l, func() (struct{}, bool) { return struct{}{}, l.isOpened(sid) },
		func() error { return fmt.Errorf("session %q never opened", sid) })
	return err
}

func (l *SessionLog) isOpened(sid string) bool {
	l.mu.Lock()
	defer l.mu.Unlock()
	_, ok := l.opened[sid]
	return ok
}

// WaitIdle waits until no session is live, or ctx ends.
func (l *SessionLog) WaitIdle(ctx context.Context) error {
	_, err := waitLog(ctx, l, func() (struct{}, bool) { return struct{}{}, l.Live() == 0 },
		func() error { return fmt.Errorf("%d session(s) still open", l.Live()) })
	return err
}

func waitLog[T any](ctx context.Context, l *SessionLog, check func() (T, bool), fail func() error) (T, error) {
	for {
		l.mu.Lock()
		ch := l.changed
		l.mu.Unlock()
		if v, ok := check(); ok {
			return v, nil
		}
		select {
		case <-ch:
		case <-ctx.Done():
			var zero T
			return zero, fmt.Errorf("%w: %v", fail(), ctx.Err())
		}
	}
}

// RefServer is a running reference fixture (reference-eio-server.mjs).
type RefServer struct {
	Port   int
	Log    *SessionLog
	cmd    *exec.Cmd
	stdin  io.WriteCloser
	stderr bytes.Buffer
	done   chan struct{}
	output struct {
		sync.Mutex
		lines []string
	}
}

// startFixture starts a long-running node fixture in test/node with stdout
// piped (for its JSON event lines), stdin open (closing it ends the
// fixture) and stderr captured.
func (n *Node) startFixture(stderr io.Writer, args ...string) (*exec.Cmd, io.ReadCloser, io.WriteCloser, error) {
	cmd := exec.Command(n.Node, args...)
	cmd.Dir = n.Dir
	cmd.Env = append(os.Environ(), "NODE_NO_WARNINGS=1")
	cmd.Stderr = stderr
	cmd.WaitDelay = 5 * time.Second
	out, err := cmd.StdoutPipe()
	if err != nil {
		return nil, nil, nil, err
	}
	stdin, err := cmd.StdinPipe()
	if err != nil {
		return nil, nil, nil, err
	}
	if err := cmd.Start(); err != nil {
		return nil, nil, nil, err
	}
	return cmd, out, stdin, nil
}

// StartReference starts the npm engine.io reference fixture on 127.0.0.1,
// port 0, and returns once it listens.
func (n *Node) StartReference() (*RefServer, error) {
	r, err := n.startRefServer("open", "close", "reference-eio-server.mjs", "--host", "127.0.0.1", "--port", "0", "--exit-on-stdin-end", "yes")
	if err != nil {
		return nil, fmt.Errorf("start engine.io reference server: %w", err)
	}
	return r, nil
}

// startRefServer starts a reference fixture that prints JSON event lines:
// {"event":"listening","port"} once, and openEvent / closeEvent lines with
// sid, reason and transport, which go to Log. It returns once the fixture
// listens; closing its stdin (Stop) ends it.
func (n *Node) startRefServer(openEvent, closeEvent string, args ...string) (*RefServer, error) {
	r := &RefServer{Log: NewSessionLog(), done: make(chan struct{})}
	var out io.ReadCloser
	var err error
	r.cmd, out, r.stdin, err = n.startFixture(&r.stderr, args...)
	if err != nil {
		return nil, err
	}
	listening := make(chan int, 1)
	go func() {
		defer close(r.done)
		sc := bufio.NewScanner(out)
		sc.Buffer(make([]byte, 64*1024), 1024*1024)
		for sc.Scan() {
			line := sc.Text()
			r.output.Lock()
			if len(r.output.lines) < 10000 {
				r.output.lines = append(r.output.lines, line)
			}
			r.output.Unlock()
			var ev struct {
				Event     string `json:"event"`
				Port      int    `json:"port"`
				SID       string `json:"sid"`
				Reason    string `json:"reason"`
				Transport string `json:"transport"`
			}
			if json.Unmarshal([]byte(line), &ev) != nil {
				continue
			}
			switch ev.Event {
			case "listening":
				select {
				case listening <- ev.Port:
				default:
				}
			case openEvent:
				r.Log.Opened(ev.SID, ev.Transport)
			case closeEvent:
				r.Log.Closed(ev.SID, ev.Reason, ev.Transport)
			}
		}
	}()
	select {
	case p := <-listening:
		r.Port = p
		return r, nil
	case <-r.done:
		r.Stop()
		return nil, fmt.Errorf("reference server exited before listening:\n%s", r.stderr.String())
	case <-time.After(20 * time.Second):
		r.Stop()
		return nil, errors.New("reference server did not start listening within 20s")
	}
}

// Output returns the fixture's stdout lines so far and its stderr.
func (r *RefServer) Output() string {
	r.output.Lock()
	defer r.output.Unlock()
	return strings.Join(r.output.lines, "\n") + "\n--- stderr ---\n" + r.stderr.String()
}

// Lines returns the fixture's stdout lines so far.
func (r *RefServer) Lines() []string {
	r.output.Lock()
	defer r.output.Unlock()
	return append([]string(nil), r.output.lines...)
}

// HostPort is "127.0.0.1:port".
func (r *RefServer) HostPort() string { return "127.0.0.1:" + strconv.Itoa(r.Port) }

// Stop ends the fixture (closing its stdin; killing it if it lingers).
func (r *RefServer) Stop() {
	r.stdin.Close()
	select {
	case <-r.done:
	case <-time.After(5 * time.Second):
		r.cmd.Process.Kill()
		<-r.done
	}
	r.cmd.Wait()
}
