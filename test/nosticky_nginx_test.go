package integration

import (
	"bufio"
	"context"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"
)

// nginxPath finds Debian's nginx: FANIO_NGINX, then PATH, then /usr/sbin.
// Missing, it is an error, not a skip (.ci/run installs nginx).
func nginxPath(t *testing.T) string {
	t.Helper()
	if p := os.Getenv("FANIO_NGINX"); p != "" {
		return p
	}
	if p, err := exec.LookPath("nginx"); err == nil {
		return p
	}
	if _, err := os.Stat("/usr/sbin/nginx"); err == nil {
		return "/usr/sbin/nginx"
	}
	t.Fatal("nginx not found (install Debian's nginx package, or set FANIO_NGINX)")
	return ""
}

// readmeNginxConfig returns the nginx configuration that README.md's
// deployment section gives (its ```nginx block), so that what users copy is
// what is tested.
func readmeNginxConfig(t *testing.T) string {
	t.Helper()
	b, err := os.ReadFile(filepath.Join(repoRoot(), "README.md"))
	if err != nil {
		t.Fatal(err)
	}
	s := string(b)
	i := strings.Index(s, "### Deployment: a load balancer without sticky sessions")
	if i < 0 {
		t.Fatal("README.md has no deployment section")
	}
	s = s[i:]
	start := strings.Index(s, "```nginx\n")
	if start < 0 {
		t.Fatal("README.md's deployment section has no nginx block")
	}
	s = s[start+len("```nginx\n"):]
	end := strings.Index(s, "```")
	if end < 0 {
		t.Fatal("README.md's nginx block does not end")
	}
	return s[:end]
}

// The nginx configuration README.md documents for a cluster with no
// sticky sessions (plain round robin, keep-alive to the nodes), in front of
// two cmd/fanio nodes: the official client, polling only and with the
// default transports, exchanges events, acks both ways and room broadcasts
// without an error, loss or reordering, while nginx spreads each session's
// requests over both nodes. Only the nodes' and nginx's own addresses are
// replaced; the process settings around it (pid, logs, temp paths) are the
// test's. TestNoStickySessions runs the long soak behind a Go balancer.
func TestNoStickyNginx(t *testing.T) {
	const soak = 10 * time.Second
	ngx := nginxPath(t)
	conf := readmeNginxConfig(t)
	bin := goBuild(t, repoRoot(), "./cmd/fanio")

	rs := startRedis(t)
	var nodes []*proc
	for range 2 {
		nodes = append(nodes, startProc(t, regexp.MustCompile(`msg=listening addr=(127\.0\.0\.1:\d+)`), nil, bin,
			"-addr", "127.0.0.1:0", "-redis", rs.URL(), "-ping-interval", "3s", "-ping-timeout", "10s"))
	}

	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	lbAddr := ln.Addr().String()
	ln.Close()
	for old, repl := range map[string]string{
		"server 10.0.0.1:3000;": "server " + nodes[0].addr + ";",
		"server 10.0.0.2:3000;": "server " + nodes[1].addr + ";",
		"listen 80;":            "listen " + lbAddr + ";",
	} {
		if !strings.Contains(conf, old) {
			t.Fatalf("README's nginx block no longer has %q:\n%s", old, conf)
		}
		conf = strings.Replace(conf, old, repl, 1)
	}
	dir := t.TempDir()
	if err := os.Chmod(dir, 0o755); err != nil { // nginx's workers may run as another user
		t.Fatal(err)
	}
	upLog := filepath.Join(dir, "upstream.log")
	// The access log of the README's server block goes to nginx's default
	// path; one at the http level records each request's upstream here.
	full := fmt.Sprintf(`worker_processes 1;
daemon off;
pid %[1]s/nginx.pid;
error_log %[1]s/error.log warn;
events { worker_connections 1024; }
http {
    log_format upstream '$request_method $request_uri $upstream_addr $status';
    access_log %[2]s upstream;
    client_body_temp_path %[1]s/body;
    proxy_temp_path %[1]s/proxy;
    fastcgi_temp_path %[1]s/fastcgi;
    uwsgi_temp_path %[1]s/uwsgi;
    scgi_temp_path %[1]s/scgi;
%[3]s
}
`, dir, upLog, conf)
	confPath := filepath.Join(dir, "nginx.conf")
	if err := os.WriteFile(confPath, []byte(full), 0o644); err != nil {
		t.Fatal(err)
	}
	if out, err := exec.Command(ngx, "-t", "-p", dir, "-e", filepath.Join(dir, "error.log"), "-c", confPath).CombinedOutput(); err != nil {
		t.Fatalf("nginx -t refused README's configuration: %v\n%s", err, out)
	}
	cmd := exec.Command(ngx, "-p", dir, "-e", filepath.Join(dir, "error.log"), "-c", confPath)
	out, err := os.Create(filepath.Join(dir, "nginx.out"))
	if err != nil {
		t.Fatal(err)
	}
	defer out.Close()
	// A file, not a pipe: the workers inherit it, and Wait would wait for
	// them. Its own process group, so that no worker outlives the test.
	cmd.Stdout, cmd.Stderr = out, out
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	exited := make(chan struct{})
	go func() { _ = cmd.Wait(); close(exited) }()
	t.Cleanup(func() {
		_ = syscall.Kill(-cmd.Process.Pid, syscall.SIGQUIT) // graceful: the master stops its workers
		select {
		case <-exited:
		case <-time.After(5 * time.Second):
		}
		_ = syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL)
		<-exited
	})
	waitUntil(t, "nginx listening", func() bool {
		c, err := net.DialTimeout("tcp", lbAddr, 200*time.Millisecond)
		if err == nil {
			c.Close()
		}
		return err == nil
	})

	// The README's block proxies /socket.io/ only: the publish API is
	// called on a node directly (it reaches every node through Redis).
	url, api := "http://"+lbAddr, "http://"+nodes[0].addr
	runs := []struct {
		name string
		args []string
		res  *ScriptResult
	}{
		{name: "polling", args: []string{"--transports", "polling", "--tag", "p"}},
		{name: "default", args: []string{"--transports", "default", "--tag", "d"}},
	}
	var wg sync.WaitGroup
	for i := range runs {
		wg.Add(1)
		go func() {
			defer wg.Done()
			args := append([]string{"--url", url, "--api-url", api, "--duration", fmt.Sprint(soak.Milliseconds())}, runs[i].args...)
			runs[i].res = node.RunScript(context.Background(), soak+2*time.Minute, "cluster/nosticky.mjs", args...)
		}()
	}
	wg.Wait()
	for _, r := range runs {
		res := r.res
		t.Logf("%s through nginx: %v published, %v acked, %v of %v delivered, %v server acks in %v rounds, %v upgraded, errors %v",
			r.name, res.Result["published"], res.Result["acked"], res.Result["delivered"], res.Result["expected"],
			res.Result["askAcks"], res.Result["askRounds"], res.Result["upgraded"], res.Result["errors"])
		if !res.OK() {
			t.Errorf("%s through nginx failed:\n%s\nnginx: %s", r.name, res, readFileOr(filepath.Join(dir, "error.log")))
		}
	}
	if up := runs[1].res.Num("upgraded"); up < 1 {
		t.Errorf("no client of the default transports upgraded to WebSocket through nginx")
	}

	// nginx spread each session's requests over both nodes.
	f, err := os.Open(upLog)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	sidRE := regexp.MustCompile(`[?&]sid=([A-Za-z0-9_-]+)`)
	perSession := map[string]map[string]bool{}
	perNode := map[string]int{}
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		fields := strings.Fields(sc.Text())
		if len(fields) != 4 {
			continue
		}
		perNode[fields[2]]++
		if m := sidRE.FindStringSubmatch(fields[1]); m != nil {
			if perSession[m[1]] == nil {
				perSession[m[1]] = map[string]bool{}
			}
			perSession[m[1]][fields[2]] = true
		}
	}
	split := 0
	for _, up := range perSession {
		if len(up) > 1 {
			split++
		}
	}
	t.Logf("nginx: requests per node %v; %d of %d sessions had their requests served by both nodes", perNode, split, len(perSession))
	if perNode[nodes[0].addr] == 0 || perNode[nodes[1].addr] == 0 || split == 0 {
		t.Errorf("nginx did not spread the sessions' requests over both nodes: %v, %d of %d split", perNode, split, len(perSession))
	}
	for i, n := range nodes {
		if err := n.stop(t); err != nil {
			t.Errorf("fanio node %d: %v", i, err)
		}
		if out := n.out.String(); strings.Contains(out, "level=WARN") || strings.Contains(out, "level=ERROR") {
			t.Errorf("fanio node %d logged warnings:\n%s", i, out)
		}
	}
}

func readFileOr(path string) string {
	b, err := os.ReadFile(path)
	if err != nil {
		return err.Error()
	}
	return string(b)
}
