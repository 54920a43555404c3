package integration

import (
	"bufio"
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"runtime"
	"strings"
	"syscall"
	"testing"
	"time"
)

// cmd/fanio, built and run as a user would: a socket.io-client in a room
// receives what POST /api/publish sends there; SIGTERM shuts it down.
func TestSIOFanioCommand(t *testing.T) {
	if backend() == backendReference {
		t.Skip("cmd/fanio has no reference counterpart")
	}
	_, file, _, _ := runtime.Caller(0)
	root := filepath.Dir(filepath.Dir(file))
	bin := filepath.Join(t.TempDir(), "fanio")
	build := exec.Command("go", "build", "-o", bin, "./cmd/fanio")
	build.Dir = root
	if out, err := build.CombinedOutput(); err != nil {
		t.Fatalf("go build ./cmd/fanio: %v\n%s", err, out)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	cmd := exec.CommandContext(ctx, bin, "-addr", "127.0.0.1:0", "-token", "s3cret", "-log-level", "debug")
	stderr, err := cmd.StderrPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	lines := make(chan string, 1024)
	go func() {
		sc := bufio.NewScanner(stderr)
		for sc.Scan() {
			select {
			case lines <- sc.Text():
			default:
			}
		}
		close(lines)
	}()
	var log []string
	addrRE := regexp.MustCompile(`msg=listening addr=(127\.0\.0\.1:\d+)`)
	var addr string
	for addr == "" {
		select {
		case l, ok := <-lines:
			if !ok {
				t.Fatalf("fanio exited before listening:\n%s", strings.Join(log, "\n"))
			}
			log = append(log, l)
			if m := addrRE.FindStringSubmatch(l); m != nil {
				addr = m[1]
			}
		case <-time.After(20 * time.Second):
			t.Fatalf("fanio did not listen within 20s:\n%s", strings.Join(log, "\n"))
		}
	}
	res := node.RunScript(context.Background(), 60*time.Second, "sio/hub.mjs",
		"--url", "http://"+addr, "--path", "/socket.io/", "--timeout", "20000", "--token", "s3cret")
	if !res.OK() {
		t.Errorf("scenario failed:\n%s", res)
	}
	if err := cmd.Process.Signal(syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	done := make(chan error, 1)
	go func() { done <- cmd.Wait() }()
	select {
	case err := <-done:
		if err != nil {
			t.Errorf("fanio exited with %v", err)
		}
	case <-time.After(15 * time.Second):
		cmd.Process.Kill()
		t.Error("fanio did not stop within 15s of SIGTERM")
	}
	for l := range lines {
		log = append(log, l)
	}
	out := strings.Join(log, "\n")
	if !strings.Contains(out, "msg=stopped") {
		t.Errorf("no clean stop in the log:\n%s", out)
	}
	if t.Failed() {
		t.Logf("fanio log:\n%s", out)
	}
	_ = os.Remove(bin)
}
