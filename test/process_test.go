package integration

import (
	"bufio"
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"io"
	"math/big"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"runtime"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"
)

// repoRoot is the checkout's root directory.
func repoRoot() string {
	_, file, _, _ := runtime.Caller(0)
	return filepath.Dir(filepath.Dir(file))
}

// goBuild builds the package at dir (run in dir, with extra environment) into
// a binary in a temporary directory.
func goBuild(t *testing.T, dir, pkg string, env ...string) string {
	t.Helper()
	name := filepath.Base(pkg)
	if name == "." {
		name = filepath.Base(dir)
	}
	bin := filepath.Join(t.TempDir(), name)
	if runtime.GOOS == "windows" {
		bin += ".exe"
	}
	cmd := exec.Command("go", "build", "-o", bin, pkg)
	cmd.Dir = dir
	cmd.Env = append(os.Environ(), env...)
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("go build %s: %v\n%s", pkg, err, out)
	}
	return bin
}

// proc is a server process under test.
type proc struct {
	cmd      *exec.Cmd
	addr     string // host:port it printed
	out      *tailBuffer
	done     chan error
	readDone chan struct{} // all of its output is in out
}

// startProc starts a server process and waits (20 s at most) for a line of
// its output (stdout or stderr) that matches addrRE, whose first group is
// the address it listens on. The process is killed at cleanup if it still
// runs.
func startProc(t *testing.T, addrRE *regexp.Regexp, env []string, bin string, args ...string) *proc {
	t.Helper()
	p := &proc{out: &tailBuffer{max: 256 << 10}, done: make(chan error, 1), readDone: make(chan struct{})}
	p.cmd = exec.Command(bin, args...)
	p.cmd.Env = append(os.Environ(), env...)
	pr, pw := io.Pipe()
	p.cmd.Stdout, p.cmd.Stderr = pw, pw
	if err := p.cmd.Start(); err != nil {
		t.Fatal(err)
	}
	go func() {
		p.done <- p.cmd.Wait()
		pw.Close()
	}()
	found := make(chan string, 1)
	go func() {
		defer close(p.readDone)
		sc := bufio.NewScanner(pr)
		sc.Buffer(make([]byte, 64<<10), 1<<20)
		for sc.Scan() {
			line := sc.Text()
			p.out.Write([]byte(line + "\n"))
			if m := addrRE.FindStringSubmatch(line); m != nil {
				select {
				case found <- m[1]:
				default:
				}
			}
		}
		io.Copy(io.Discard, pr)
	}()
	t.Cleanup(func() {
		if p.cmd.ProcessState == nil {
			p.cmd.Process.Kill()
			<-p.done
		}
		if t.Failed() {
			t.Logf("%s output:\n%s", filepath.Base(bin), p.out.String())
		}
	})
	select {
	case p.addr = <-found:
	case err := <-p.done:
		t.Fatalf("%s exited before listening (%v):\n%s", filepath.Base(bin), err, p.out.String())
	case <-time.After(20 * time.Second):
		t.Fatalf("%s did not listen within 20s:\n%s", filepath.Base(bin), p.out.String())
	}
	return p
}

// stop sends SIGTERM and waits for the process to exit (15 s at most) and
// for all of its output.
func (p *proc) stop(t *testing.T) error {
	t.Helper()
	if err := p.cmd.Process.Signal(syscall.SIGTERM); err != nil {
		return err
	}
	select {
	case err := <-p.done:
		p.done <- err
		<-p.readDone
		return err
	case <-time.After(15 * time.Second):
		p.cmd.Process.Kill()
		<-p.done
		t.Fatal("the process did not stop within 15s of SIGTERM")
		return nil
	}
}

// alive reports whether the process still runs.
func (p *proc) alive() bool {
	select {
	case err := <-p.done:
		p.done <- err
		return false
	default:
		return true
	}
}

// selfSigned writes a self-signed certificate for 127.0.0.1 (a CA, so that
// Node takes it in NODE_EXTRA_CA_CERTS) and its key to dir.
func selfSigned(t *testing.T, dir string) (certFile, keyFile string, pool *x509.CertPool) {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{
		SerialNumber:          big.NewInt(time.Now().UnixNano()),
		Subject:               pkix.Name{CommonName: "fanio test"},
		NotBefore:             time.Now().Add(-time.Hour),
		NotAfter:              time.Now().Add(24 * time.Hour),
		IPAddresses:           []net.IP{net.IPv4(127, 0, 0, 1)},
		DNSNames:              []string{"localhost"},
		KeyUsage:              x509.KeyUsageDigitalSignature | x509.KeyUsageCertSign,
		ExtKeyUsage:           []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
		BasicConstraintsValid: true,
		IsCA:                  true,
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		t.Fatal(err)
	}
	kb, err := x509.MarshalECPrivateKey(key)
	if err != nil {
		t.Fatal(err)
	}
	certFile, keyFile = filepath.Join(dir, "cert.pem"), filepath.Join(dir, "key.pem")
	if err := os.WriteFile(certFile, pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der}), 0o600); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(keyFile, pem.EncodeToMemory(&pem.Block{Type: "EC PRIVATE KEY", Bytes: kb}), 0o600); err != nil {
		t.Fatal(err)
	}
	cert, _ := x509.ParseCertificate(der)
	pool = x509.NewCertPool()
	pool.AddCert(cert)
	return certFile, keyFile, pool
}

// runNode runs a scenario script with extra environment (NODE_EXTRA_CA_CERTS
// for TLS) and fails the test unless it succeeds.
func runNode(t *testing.T, env []string, script string, args ...string) *ScriptResult {
	t.Helper()
	var res *ScriptResult
	withEnv(env, func() { res = node.RunScript(context.Background(), 60*time.Second, script, args...) })
	if !res.OK() {
		t.Fatalf("%s %s failed:\n%s", script, strings.Join(args, " "), res)
	}
	t.Logf("%s: %s", script, strings.TrimSpace(lastLine(res.Stdout)))
	return res
}

var envMu sync.Mutex

// withEnv runs f with the variables of env (NAME=value) set in the process
// environment, which node scripts inherit.
func withEnv(env []string, f func()) {
	envMu.Lock()
	defer envMu.Unlock()
	var restore []func()
	for _, kv := range env {
		k, v, _ := strings.Cut(kv, "=")
		old, had := os.LookupEnv(k)
		os.Setenv(k, v)
		restore = append(restore, func() {
			if had {
				os.Setenv(k, old)
			} else {
				os.Unsetenv(k)
			}
		})
	}
	defer func() {
		for _, r := range restore {
			r()
		}
	}()
	f()
}
