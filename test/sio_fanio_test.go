package integration

import (
	"regexp"
	"strings"
	"testing"
)

// cmd/fanio, built and run as a user would: a socket.io-client in a room
// receives what POST /api/publish sends there; SIGTERM shuts it down. Over
// plain HTTP and with -tls-cert/-tls-key (wss:// and https polling, and the
// publish API over https), and with -parser msgpack (clients with
// socket.io-msgpack-parser).
func TestSIOFanioCommand(t *testing.T) {
	if backend() == backendReference {
		t.Skip("cmd/fanio has no reference counterpart")
	}
	bin := goBuild(t, repoRoot(), "./cmd/fanio")
	listening := regexp.MustCompile(`msg=listening addr=(127\.0\.0\.1:\d+)`)
	for _, c := range []struct {
		useTLS bool
		parser string
	}{{false, "json"}, {true, "json"}, {false, "msgpack"}} {
		useTLS := c.useTLS
		scheme := map[bool]string{false: "http", true: "https"}[useTLS]
		name := scheme
		if c.parser != "json" {
			name += "/" + c.parser
		}
		t.Run(name, func(t *testing.T) {
			// Over TLS with -allow-eio3: a socket.io-client 2.x joins too;
			// over plain HTTP without it: a 2.x client is refused.
			args := []string{"-addr", "127.0.0.1:0", "-token", "s3cret", "-log-level", "debug", "-parser", c.parser}
			v2 := "refused"
			if useTLS {
				args = append(args, "-allow-eio3")
				v2 = "yes"
			}
			var nodeEnv []string
			if useTLS {
				certFile, keyFile, _ := selfSigned(t, t.TempDir())
				args = append(args, "-tls-cert", certFile, "-tls-key", keyFile)
				nodeEnv = []string{"NODE_EXTRA_CA_CERTS=" + certFile}
			}
			p := startProc(t, listening, nil, bin, args...)
			runNode(t, nodeEnv, "sio/hub.mjs", "--url", scheme+"://"+p.addr, "--path", "/socket.io/", "--timeout", "20000", "--token", "s3cret", "--v2", v2, "--parser", c.parser)
			if err := p.stop(t); err != nil {
				t.Errorf("fanio exited with %v", err)
			}
			if out := p.out.String(); !strings.Contains(out, "msg=stopped") {
				t.Errorf("no clean stop in the log:\n%s", out)
			}
		})
	}
}
