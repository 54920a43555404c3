package integration

import (
	"bufio"
	"context"
	"crypto/tls"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/gobwas/ws"
)

// Adopting fanio as a Go team would: a fresh module requires
// github.com/fanio/fanio (replaced by this checkout, as `go get` of a
// published commit would fetch it), an application mounts the server on
// its http.ServeMux beside its own routes (testdata/embedapp), and the
// official socket.io-client works over polling, WebSocket and upgrade,
// over HTTP and over TLS (net/http's ServeTLS). 5,000 WebSocket clients of
// the mounted server add fewer than 100 goroutines to the application.
func TestEmbedInFreshModule(t *testing.T) {
	if backend() == backendReference {
		t.Skip("embedding fanio has no reference counterpart")
	}
	dir := t.TempDir()
	src, err := os.ReadFile(filepath.Join(repoRoot(), "test", "testdata", "embedapp", "main.go"))
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, "main.go"), src, 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, "go.mod"), []byte("module example.com/embedapp\n\ngo 1.26\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	// GOPROXY is the environment's; the module itself comes from the checkout.
	env := []string{"GOWORK=off", "GOFLAGS=-mod=mod"}
	gocmd := func(args ...string) string {
		t.Helper()
		cmd := exec.Command("go", args...)
		cmd.Dir = dir
		cmd.Env = append(os.Environ(), env...)
		out, err := cmd.CombinedOutput()
		if err != nil {
			t.Fatalf("go %s: %v\n%s", strings.Join(args, " "), err, out)
		}
		return string(out)
	}
	gocmd("mod", "edit", "-replace", "github.com/fanio/fanio="+repoRoot())
	gocmd("get", "github.com/fanio/fanio@v0.0.0-00010101000000-000000000000")
	gocmd("mod", "tidy")
	// The library's dependencies only: the benchmark tools' (plotting) stay
	// out of a user's module graph.
	if mods := gocmd("list", "-m", "all"); strings.Contains(mods, "gonum.org") {
		t.Errorf("the module graph pulls the benchmark tools' dependencies:\n%s", mods)
	}
	bin := goBuild(t, dir, ".", env...)
	certFile, keyFile, roots := selfSigned(t, dir)
	listening := regexp.MustCompile(`^listening (127\.0\.0\.1:\d+)$`)

	for _, useTLS := range []bool{false, true} {
		scheme := map[bool]string{false: "http", true: "https"}[useTLS]
		t.Run(scheme, func(t *testing.T) {
			var args, nodeEnv []string
			tlsCfg := (*tls.Config)(nil)
			if useTLS {
				args = []string{"-tls-cert", certFile, "-tls-key", keyFile}
				nodeEnv = []string{"NODE_EXTRA_CA_CERTS=" + certFile}
				tlsCfg = &tls.Config{RootCAs: roots}
			}
			p := startProc(t, listening, nil, bin, args...)
			base := scheme + "://" + p.addr
			hc := &http.Client{Timeout: 10 * time.Second, Transport: &http.Transport{TLSClientConfig: tlsCfg}}
			if body := httpGet(t, hc, base+"/hello"); body != "hello from the app" {
				t.Fatalf("GET /hello = %q", body)
			}
			for _, mode := range []string{"polling", "websocket", "upgrade"} {
				res := runNode(t, nodeEnv, "sio/mounted.mjs", "--url", base, "--path", "/socket.io/", "--transport", mode, "--timeout", "20000")
				want := map[string]string{"polling": "polling", "websocket": "websocket", "upgrade": "websocket"}[mode]
				if got := res.Str("transport"); got != want {
					t.Errorf("%s: transport %q, want %q", mode, got, want)
				}
			}
			if !useTLS {
				goroutinesPerSocket(t, hc, base, 5000)
			}
			if err := p.stop(t); err != nil {
				t.Errorf("the application did not stop cleanly: %v", err)
			}
		})
	}
}

func httpGet(t *testing.T, hc *http.Client, url string) string {
	t.Helper()
	resp, err := hc.Get(url)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil || resp.StatusCode != 200 {
		t.Fatalf("GET %s: %d %v", url, resp.StatusCode, err)
	}
	return string(b)
}

// goroutinesPerSocket opens n Socket.IO connections over WebSocket to the
// mounted server and checks, through the application's debug endpoint,
// that they add fewer than 100 goroutines.
func goroutinesPerSocket(t *testing.T, hc *http.Client, base string, n int) {
	t.Helper()
	count := func() int {
		v, err := strconv.Atoi(httpGet(t, hc, base+"/debug/goroutines"))
		if err != nil {
			t.Fatal(err)
		}
		return v
	}
	url := "ws" + strings.TrimPrefix(base, "http") + "/socket.io/?EIO=4&transport=websocket"
	warm := sioConnectWS(t, url) // the event loops start with the first
	defer warm.Close()
	time.Sleep(200 * time.Millisecond)
	before := count()

	conns := make([]net.Conn, n)
	var wg sync.WaitGroup
	errs := make(chan error, 16)
	for w := 0; w < 16; w++ {
		wg.Add(1)
		go func(w int) {
			defer wg.Done()
			for i := w; i < n; i += 16 {
				c, err := sioConnect(url)
				if err != nil {
					errs <- fmt.Errorf("connection %d: %w", i, err)
					return
				}
				conns[i] = c
			}
		}(w)
	}
	wg.Wait()
	defer func() {
		for _, c := range conns {
			if c != nil {
				c.Close()
			}
		}
	}()
	select {
	case err := <-errs:
		t.Fatal(err)
	default:
	}
	// Each connection answered its CONNECT: the server holds n sockets.
	// Let net/http's connection goroutines finish after their hijack.
	time.Sleep(500 * time.Millisecond)
	after := count()
	t.Logf("goroutines of the application: %d with 1 socket, %d with %d more", before, after, n)
	if after-before >= 100 {
		t.Errorf("%d mounted WebSocket sockets added %d goroutines, want fewer than 100", n, after-before)
	}
}

func sioConnectWS(t *testing.T, url string) net.Conn {
	t.Helper()
	c, err := sioConnect(url)
	if err != nil {
		t.Fatal(err)
	}
	return c
}

// sioConnect opens a WebSocket, reads the Engine.IO open packet and joins
// the main namespace (40 → 40{"sid":…}). It holds no goroutine.
func sioConnect(url string) (net.Conn, error) {
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	conn, br, _, err := ws.Dial(ctx, url)
	if err != nil {
		return nil, err
	}
	if br == nil {
		br = bufio.NewReaderSize(conn, 512)
	}
	_ = conn.SetDeadline(time.Now().Add(20 * time.Second))
	f, err := ws.ReadFrame(br)
	if err != nil || len(f.Payload) == 0 || f.Payload[0] != '0' {
		conn.Close()
		return nil, fmt.Errorf("open packet: %q %v", f.Payload, err)
	}
	if err := ws.WriteFrame(conn, ws.MaskFrameInPlace(ws.NewTextFrame([]byte("40")))); err != nil {
		conn.Close()
		return nil, err
	}
	f, err = ws.ReadFrame(br)
	if err != nil || !strings.HasPrefix(string(f.Payload), `40{"sid":`) {
		conn.Close()
		return nil, fmt.Errorf("CONNECT answer: %q %v", f.Payload, err)
	}
	_ = conn.SetDeadline(time.Time{})
	return conn, nil
}
