package integration

import (
	"bufio"
	"encoding/json"
	"io"
	"net/http"
	"os/exec"
	"regexp"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/fanio/fanio/internal/siotest"
)

func opsGet(t *testing.T, url string) (int, string) {
	t.Helper()
	c := &http.Client{Timeout: 10 * time.Second}
	resp, err := c.Get(url)
	if err != nil {
		return 0, err.Error()
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(b)
}

// cmd/fanio as operations see it, configured from the environment only:
// JSON logs, /metrics, /healthz and /readyz on a listener of their own,
// pprof on loopback; /readyz turns 503 on SIGTERM (for -shutdown-delay)
// while the process still serves, and the process exits cleanly.
func TestFanioOperations(t *testing.T) {
	if backend() == backendReference {
		t.Skip("cmd/fanio has no reference counterpart")
	}
	bin := goBuild(t, repoRoot(), "./cmd/fanio")

	// -h exits 0 and lists the variables.
	out, err := exec.Command(bin, "-h").CombinedOutput()
	if err != nil || !strings.Contains(string(out), "$FANIO_ADDR") || !strings.Contains(string(out), "$FANIO_ADMIN_PASSWORD_HASH") {
		t.Fatalf("fanio -h: %v\n%s", err, out)
	}

	listening := regexp.MustCompile(`"msg":"listening","addr":"(127\.0\.0\.1:\d+)"`)
	env := []string{
		"FANIO_ADDR=127.0.0.1:0", "FANIO_LOG_FORMAT=json", "FANIO_LOG_LEVEL=info",
		"FANIO_METRICS_ADDR=127.0.0.1:0", "FANIO_PPROF=127.0.0.1:0", "FANIO_SHUTDOWN_DELAY=3s",
	}
	p := startProc(t, listening, env, bin)
	opsAddr := regexp.MustCompile(`"msg":"metrics and health listening","addr":"(127\.0\.0\.1:\d+)"`).FindStringSubmatch(p.out.String())
	pprofAddr := regexp.MustCompile(`"msg":"pprof listening","addr":"(127\.0\.0\.1:\d+)"`).FindStringSubmatch(p.out.String())
	if opsAddr == nil || pprofAddr == nil {
		t.Fatalf("no ops or pprof listener in the log:\n%s", p.out.String())
	}
	ops := "http://" + opsAddr[1]
	sc := bufio.NewScanner(strings.NewReader(p.out.String()))
	for sc.Scan() {
		var rec map[string]any
		if err := json.Unmarshal(sc.Bytes(), &rec); err != nil || rec["msg"] == nil || rec["level"] == nil {
			t.Fatalf("not a JSON log record: %q", sc.Text())
		}
	}

	if code, body := opsGet(t, ops+"/healthz"); code != 200 || body != "ok\n" {
		t.Fatalf("healthz: %d %q", code, body)
	}
	if code, body := opsGet(t, ops+"/readyz"); code != 200 || !strings.Contains(body, `"ready":true`) {
		t.Fatalf("readyz: %d %q", code, body)
	}
	// The main port does not serve them when they have a listener of
	// their own; pprof is not on it either.
	for _, path := range []string{"/metrics", "/readyz", "/debug/pprof/"} {
		if code, _ := opsGet(t, "http://"+p.addr+path); code != 404 {
			t.Errorf("main port %s: %d, want 404", path, code)
		}
	}
	if code, _ := opsGet(t, "http://"+pprofAddr[1]+"/debug/pprof/"); code != 200 {
		t.Errorf("pprof: %d", code)
	}

	c := siotest.Dial(t, p.addr)
	c.Connect("/", "")
	code, body := opsGet(t, ops+"/metrics")
	if code != 200 || !strings.Contains(body, `fanio_sockets{namespace="/"} 1`) || !strings.Contains(body, "process_open_fds") {
		t.Fatalf("metrics: %d\n%s", code, body)
	}

	// SIGTERM: not ready at once, still serving during the delay, then out.
	if err := p.cmd.Process.Signal(syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	deadline := time.Now().Add(2 * time.Second)
	for {
		code, body = opsGet(t, ops+"/readyz")
		if code == 503 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("readyz after SIGTERM: %d %s", code, body)
		}
		time.Sleep(20 * time.Millisecond)
	}
	if !strings.Contains(body, `"draining":true`) {
		t.Fatalf("readyz while draining: %s", body)
	}
	if code, _ := opsGet(t, ops+"/healthz"); code != 200 {
		t.Fatalf("healthz while draining: %d", code)
	}
	c.Send(`21["join","still-here"]`)
	c.ExpectPrefix(`31[[`)
	select {
	case err := <-p.done:
		p.done <- err
		if err != nil {
			t.Fatalf("fanio exited with %v", err)
		}
	case <-time.After(20 * time.Second):
		t.Fatal("fanio did not exit after the shutdown delay")
	}
	c.WaitClosed()
}
