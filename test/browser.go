package integration

// The browser harness: headless Debian Chromium driven by playwright-core
// (node/browser/driver.mjs) through a small scenario API — open pages,
// fill and type, press keys, click, wait for text, evaluate, screenshot —
// usable from any Go test package (the chat example's test uses it).

import (
	"bufio"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"runtime"
	"strings"
	"sync"
	"testing"
	"time"
)

// DefaultChromium is where Debian's chromium package puts the browser.
const DefaultChromium = "/usr/bin/chromium"

// BrowserOptions configure StartBrowser. The zero value is the default.
type BrowserOptions struct {
	// Chromium is the browser binary; default $FANIO_CHROMIUM, else
	// /usr/bin/chromium. Missing, it is an error: browser tests fail, they
	// are never skipped (.ci/run installs chromium).
	Chromium string
	// StepTimeout bounds each step (a navigation, a wait for text, a
	// click); default 20 s, generous for a loaded machine.
	StepTimeout time.Duration
	// UserDataDir is the browser profile; default a fresh temporary
	// directory removed by Close.
	UserDataDir string
	// Log, when set, receives the pages' console messages, uncaught errors
	// and failed requests as they happen (Browser.Logs keeps them too).
	Log io.Writer
}

// Browser is a running headless Chromium. Its methods are safe for
// concurrent use.
type Browser struct {
	opts    BrowserOptions
	version string
	cmd     *exec.Cmd
	stdin   io.WriteCloser
	wmu     sync.Mutex // serializes command lines on stdin
	tmpDir  string     // removed by Close, when the profile is ours
	done    chan struct{}

	mu      sync.Mutex
	nextID  int
	waiting map[int]chan driverReply
	logs    []string
	pages   []*Page
	exitErr error
	stderr  strings.Builder
	closed  bool
}

// Page is one browser tab.
type Page struct {
	b       *Browser
	id      int
	timeout time.Duration // 0: the browser's StepTimeout
}

type driverReply struct {
	OK    bool            `json:"ok"`
	Error string          `json:"error"`
	Value json.RawMessage `json:"value"`
}

// maxBrowserLogs bounds what Logs keeps (a page logging in a loop must not
// grow the test's memory without bound).
const maxBrowserLogs = 2000

// StartBrowser launches Chromium through node/browser/driver.mjs and
// returns once it is ready. Close it when done.
func (n *Node) StartBrowser(opts BrowserOptions) (*Browser, error) {
	if opts.Chromium == "" {
		opts.Chromium = os.Getenv("FANIO_CHROMIUM")
	}
	if opts.Chromium == "" {
		opts.Chromium = DefaultChromium
	}
	if _, err := exec.LookPath(opts.Chromium); err != nil {
		return nil, fmt.Errorf("chromium not found at %s (install Debian's chromium package, or set FANIO_CHROMIUM): %w",
			opts.Chromium, err)
	}
	if opts.StepTimeout <= 0 {
		opts.StepTimeout = 20 * time.Second
	}
	b := &Browser{opts: opts, waiting: map[int]chan driverReply{}, done: make(chan struct{})}
	if opts.UserDataDir == "" {
		dir, err := os.MkdirTemp("", "fanio-chromium-")
		if err != nil {
			return nil, err
		}
		b.tmpDir, b.opts.UserDataDir = dir, dir
	}
	b.cmd = exec.Command(n.Node, "browser/driver.mjs",
		"--chromium", opts.Chromium,
		"--user-data-dir", b.opts.UserDataDir,
		"--timeout", fmt.Sprint(opts.StepTimeout.Milliseconds()))
	b.cmd.Dir = n.Dir
	b.cmd.Env = append(os.Environ(), "NODE_NO_WARNINGS=1")
	b.cmd.Stderr = &lockedWriter{mu: &b.mu, w: &b.stderr}
	b.cmd.WaitDelay = 5 * time.Second
	out, err := b.cmd.StdoutPipe()
	if err == nil {
		b.stdin, err = b.cmd.StdinPipe()
	}
	if err == nil {
		err = b.cmd.Start()
	}
	if err != nil {
		b.removeProfile()
		return nil, fmt.Errorf("start the browser driver: %w", err)
	}
	ready := make(chan string, 1)
	go b.read(out, ready)
	select {
	case b.version = <-ready:
		return b, nil
	case <-b.done:
		b.removeProfile()
		return nil, fmt.Errorf("the browser driver exited before it was ready (%v):\n%s", b.exitErr, b.Stderr())
	case <-time.After(90 * time.Second):
		_ = b.cmd.Process.Kill()
		<-b.done
		b.removeProfile()
		return nil, fmt.Errorf("the browser was not ready within 90s:\n%s", b.Stderr())
	}
}

type lockedWriter struct {
	mu *sync.Mutex
	w  *strings.Builder
}

func (w *lockedWriter) Write(p []byte) (int, error) {
	w.mu.Lock()
	defer w.mu.Unlock()
	if w.w.Len() < 1<<20 {
		w.w.Write(p)
	}
	return len(p), nil
}

// read dispatches the driver's stdout: replies to their callers, events
// to the log.
func (b *Browser) read(out io.Reader, ready chan<- string) {
	sc := bufio.NewScanner(out)
	sc.Buffer(make([]byte, 64<<10), 16<<20)
	for sc.Scan() {
		var m struct {
			driverReply
			ID    *int   `json:"id"`
			Event string `json:"event"`
			Page  int    `json:"page"`
			Type  string `json:"type"`
			Text  string `json:"text"`
			URL   string `json:"url"`
		}
		if json.Unmarshal(sc.Bytes(), &m) != nil {
			b.log(fmt.Sprintf("driver: %s", sc.Text()))
			continue
		}
		switch {
		case m.ID != nil:
			b.mu.Lock()
			ch := b.waiting[*m.ID]
			delete(b.waiting, *m.ID)
			b.mu.Unlock()
			if ch != nil {
				ch <- m.driverReply
			}
		case m.Event == "ready":
			var v struct{ Version string }
			_ = json.Unmarshal(sc.Bytes(), &v)
			ready <- v.Version
		case m.Event == "console":
			b.log(fmt.Sprintf("page %d console.%s: %s", m.Page, m.Type, m.Text))
		case m.Event == "requestfailed":
			b.log(fmt.Sprintf("page %d request failed: %s: %s", m.Page, m.URL, m.Text))
		default:
			b.log(fmt.Sprintf("page %d %s: %s", m.Page, m.Event, m.Text))
		}
	}
	err := b.cmd.Wait()
	b.mu.Lock()
	b.exitErr = err
	for id, ch := range b.waiting {
		ch <- driverReply{Error: fmt.Sprintf("the browser driver exited (%v)", err)}
		delete(b.waiting, id)
	}
	b.mu.Unlock()
	close(b.done)
}

func (b *Browser) log(line string) {
	b.mu.Lock()
	if len(b.logs) < maxBrowserLogs {
		b.logs = append(b.logs, line)
	}
	w := b.opts.Log
	b.mu.Unlock()
	if w != nil {
		fmt.Fprintln(w, line)
	}
}

// call sends one command and waits for its reply (bounded by the step
// timeout plus a grace for the driver itself).
func (b *Browser) call(op string, args map[string]any, timeout time.Duration) (json.RawMessage, error) {
	b.mu.Lock()
	if b.closed {
		b.mu.Unlock()
		return nil, errors.New("browser: closed")
	}
	b.nextID++
	id := b.nextID
	ch := make(chan driverReply, 1)
	b.waiting[id] = ch
	b.mu.Unlock()

	if timeout <= 0 {
		timeout = b.opts.StepTimeout
	}
	cmd := map[string]any{"id": id, "op": op, "timeout": timeout.Milliseconds()}
	for k, v := range args {
		cmd[k] = v
	}
	line, err := json.Marshal(cmd)
	if err != nil {
		return nil, err
	}
	b.wmu.Lock()
	_, err = b.stdin.Write(append(line, '\n'))
	b.wmu.Unlock()
	if err != nil {
		return nil, fmt.Errorf("browser %s: %w", op, err)
	}
	select {
	case r := <-ch:
		if !r.OK {
			return nil, fmt.Errorf("browser %s", r.Error)
		}
		return r.Value, nil
	case <-time.After(timeout + 15*time.Second):
		b.mu.Lock()
		delete(b.waiting, id)
		b.mu.Unlock()
		return nil, fmt.Errorf("browser %s: no answer from the driver within %v", op, timeout+15*time.Second)
	}
}

// Version is the browser's version.
func (b *Browser) Version() string { return b.version }

// NewPage opens a tab on url (loopback addresses only; "" for a blank tab)
// and waits for its load event.
func (b *Browser) NewPage(url string) (*Page, error) {
	args := map[string]any{}
	if url != "" {
		args["url"] = url
	}
	v, err := b.call("newPage", args, 0)
	if err != nil {
		return nil, err
	}
	var r struct{ Page int }
	if err := json.Unmarshal(v, &r); err != nil || r.Page == 0 {
		return nil, fmt.Errorf("browser newPage: bad reply %s", v)
	}
	p := &Page{b: b, id: r.Page}
	b.mu.Lock()
	b.pages = append(b.pages, p)
	b.mu.Unlock()
	return p, nil
}

// Pages returns the pages opened so far (closed ones included).
func (b *Browser) Pages() []*Page {
	b.mu.Lock()
	defer b.mu.Unlock()
	return append([]*Page(nil), b.pages...)
}

// Logs returns what the pages logged (console, uncaught errors, failed
// requests), one line each.
func (b *Browser) Logs() []string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return append([]string(nil), b.logs...)
}

// Stderr is what the driver and Chromium wrote to standard error.
func (b *Browser) Stderr() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.stderr.String()
}

// Close closes the browser (ending the driver's input) and removes a
// profile StartBrowser created.
func (b *Browser) Close() error {
	b.mu.Lock()
	already := b.closed
	b.closed = true
	b.mu.Unlock()
	if !already {
		b.stdin.Close()
	}
	var err error
	select {
	case <-b.done:
	case <-time.After(20 * time.Second):
		_ = b.cmd.Process.Kill()
		<-b.done
		err = errors.New("browser: the driver did not exit within 20s; killed")
	}
	b.removeProfile()
	return err
}

func (b *Browser) removeProfile() {
	if b.tmpDir != "" {
		_ = os.RemoveAll(b.tmpDir)
	}
}

// ---- pages ----

func (p *Page) do(op string, args map[string]any) (json.RawMessage, error) {
	if args == nil {
		args = map[string]any{}
	}
	args["page"] = p.id
	v, err := p.b.call(op, args, p.timeout)
	if err != nil {
		return nil, fmt.Errorf("page %d: %w", p.id, err)
	}
	return v, nil
}

// Timeout returns the page with another step timeout, for one step that
// is expected to time out (a negative check) or to take long.
func (p *Page) Timeout(d time.Duration) *Page {
	q := *p
	q.timeout = d
	return &q
}

// ID is the page's number in the browser's logs (1, 2, ...).
func (p *Page) ID() int { return p.id }

// Goto navigates to url (loopback only) and waits for the load event.
func (p *Page) Goto(url string) error {
	_, err := p.do("goto", map[string]any{"url": url})
	return err
}

// Fill sets the value of the first element matching selector (an input),
// as pasting would: one input event.
func (p *Page) Fill(selector, text string) error {
	_, err := p.do("fill", map[string]any{"selector": selector, "text": text})
	return err
}

// Type types text into the first element matching selector key by key,
// with the keyboard events a user's typing makes.
func (p *Page) Type(selector, text string) error {
	_, err := p.do("type", map[string]any{"selector": selector, "text": text})
	return err
}

// Press presses one key ("Enter", "Tab", "a") on the first element
// matching selector.
func (p *Page) Press(selector, key string) error {
	_, err := p.do("press", map[string]any{"selector": selector, "key": key})
	return err
}

// Click clicks the first element matching selector, once it is visible,
// stable and enabled.
func (p *Page) Click(selector string) error {
	_, err := p.do("click", map[string]any{"selector": selector})
	return err
}

// WaitText waits until a visible element matching the CSS selector has
// text in its textContent. The error lists what the matches show instead.
func (p *Page) WaitText(selector, text string) error {
	_, err := p.do("waitText", map[string]any{"selector": selector, "text": text})
	return err
}

// WaitNoText waits until no visible element matching selector has text.
func (p *Page) WaitNoText(selector, text string) error {
	_, err := p.do("waitNoText", map[string]any{"selector": selector, "text": text})
	return err
}

// WaitFor waits until a JavaScript expression evaluated in the page is
// truthy (checked every 100 ms).
func (p *Page) WaitFor(expression string) error {
	_, err := p.do("waitFor", map[string]any{"expression": expression})
	return err
}

// Text returns the textContent of the first element matching selector
// ("" when there is none).
func (p *Page) Text(selector string) (string, error) {
	v, err := p.do("text", map[string]any{"selector": selector})
	if err != nil {
		return "", err
	}
	var s string
	err = json.Unmarshal(v, &s)
	return s, err
}

// Eval evaluates a JavaScript expression in the page (a Promise is
// awaited) and decodes its JSON value into out (nil: discarded).
func (p *Page) Eval(expression string, out any) error {
	v, err := p.do("eval", map[string]any{"expression": expression})
	if err != nil || out == nil {
		return err
	}
	return json.Unmarshal(v, out)
}

// Screenshot saves a full-page PNG to path.
func (p *Page) Screenshot(path string) error {
	abs, err := filepath.Abs(path)
	if err != nil {
		return err
	}
	_, err = p.do("screenshot", map[string]any{"path": abs})
	return err
}

// Close closes the tab.
func (p *Page) Close() error {
	_, err := p.do("closePage", nil)
	return err
}

// ---- for tests ----

// BrowserT starts a browser for t and fails t (never skips it) when it
// cannot. At cleanup, if t failed, it saves a screenshot of every page
// still open to ArtifactsDir(t) and logs the pages' console; then it
// closes the browser.
func (n *Node) BrowserT(t testing.TB, opts BrowserOptions) *Browser {
	t.Helper()
	b, err := n.StartBrowser(opts)
	if err != nil {
		t.Fatalf("browser: %v", err)
	}
	t.Logf("browser: Chromium %s", b.Version())
	t.Cleanup(func() {
		if t.Failed() {
			dir := ArtifactsDir(t)
			for _, p := range b.Pages() {
				path := filepath.Join(dir, fmt.Sprintf("failure-page%d.png", p.id))
				if err := p.Screenshot(path); err == nil {
					t.Logf("browser: screenshot of page %d at failure: %s", p.id, path)
				}
			}
			t.Logf("browser logs:\n%s\n--- driver stderr ---\n%s", strings.Join(b.Logs(), "\n"), b.Stderr())
		}
		if err := b.Close(); err != nil {
			t.Errorf("browser: %v", err)
		}
	})
	return b
}

var unsafePathChars = regexp.MustCompile(`[^A-Za-z0-9._-]+`)

// ArtifactsDir returns the directory for t's output files (screenshots),
// created if needed: $FANIO_TEST_ARTIFACTS/<test name>, or by default
// test/artifacts/<test name> in the source tree (ignored by git). It is
// not removed after the test: that is the point.
func ArtifactsDir(t testing.TB) string {
	t.Helper()
	root := os.Getenv("FANIO_TEST_ARTIFACTS")
	if root == "" {
		_, file, _, ok := runtime.Caller(0)
		if !ok {
			t.Fatal("artifacts: runtime.Caller failed (set FANIO_TEST_ARTIFACTS)")
		}
		root = filepath.Join(filepath.Dir(file), "artifacts")
	}
	dir := filepath.Join(root, unsafePathChars.ReplaceAllString(t.Name(), "_"))
	if err := os.MkdirAll(dir, 0o755); err != nil {
		t.Fatalf("artifacts: %v", err)
	}
	return dir
}

// StartFixture starts a long-running node script in test/node (args[0],
// relative to it) that prints {"event":"listening","port":N} once it
// listens, and returns once it does: a reference server for a browser
// test. Lines {"event":"open"|"close","sid","reason","transport"} go to its
// Log. Stop ends it (closing its stdin).
func (n *Node) StartFixture(args ...string) (*RefServer, error) {
	return n.startRefServer("open", "close", args...)
}
