package main

import (
	"bytes"
	"errors"
	"flag"
	"io"
	"strings"
	"testing"
	"time"
)

func env(m map[string]string) func(string) string { return func(k string) string { return m[k] } }

// Every flag is also an environment variable; the command line wins; PORT
// stands for the port when the address is not given.
func TestConfigFromEnvironment(t *testing.T) {
	c, err := parseConfig([]string{"-token", "from-flag"}, env(map[string]string{
		"FANIO_TOKEN":               "from-env",
		"FANIO_PING_INTERVAL":       "5s",
		"FANIO_MAX_PAYLOAD":         "2048",
		"FANIO_ADMIN_NO_AUTH":       "true",
		"FANIO_LOG_FORMAT":          "json",
		"FANIO_CORS":                "https://a.example,https://b.example",
		"FANIO_CORS_CREDENTIALS":    "1",
		"FANIO_ADMIN_PASSWORD_HASH": "",
		"PORT":                      "8080",
	}), io.Discard)
	if err != nil {
		t.Fatal(err)
	}
	if c.token != "from-flag" || c.pingInterval != 5*time.Second || c.maxPayload != 2048 || !c.adminNoAuth ||
		c.logFormat != "json" || !c.corsCredentials || c.addr != ":8080" {
		t.Fatalf("config %+v", c)
	}
	c, err = parseConfig(nil, env(map[string]string{"FANIO_ADDR": "127.0.0.1:9", "PORT": "8080"}), io.Discard)
	if err != nil || c.addr != "127.0.0.1:9" {
		t.Fatalf("FANIO_ADDR over PORT: %v %v", c, err)
	}
	c, err = parseConfig([]string{"-addr", ":1"}, env(map[string]string{"PORT": "8080"}), io.Discard)
	if err != nil || c.addr != ":1" {
		t.Fatalf("-addr over PORT: %v %v", c, err)
	}
	if _, err := parseConfig(nil, env(map[string]string{"FANIO_PING_TIMEOUT": "soon"}), io.Discard); err == nil ||
		!strings.Contains(err.Error(), "$FANIO_PING_TIMEOUT") {
		t.Fatalf("a bad variable's error does not name it: %v", err)
	}
}

// -h prints every flag with its variable and is not an error for main
// (flag.ErrHelp: exit status 0).
func TestHelp(t *testing.T) {
	var out bytes.Buffer
	_, err := parseConfig([]string{"-h"}, env(nil), &out)
	if !errors.Is(err, flag.ErrHelp) {
		t.Fatalf("-h: %v", err)
	}
	for _, name := range []string{"addr", "token", "log-format", "metrics-addr", "pprof", "admin-user", "admin-password-hash", "admin-no-auth", "admin-readonly", "admin-mode", "cors-credentials", "api-cors", "shutdown-delay"} {
		if !strings.Contains(out.String(), "-"+name+"  $"+envName(name)) {
			t.Errorf("usage lacks -%s and $%s:\n%s", name, envName(name), out.String())
		}
	}
}

// Unsafe or contradictory settings are refused with a clear message.
func TestConfigRefusesUnsafe(t *testing.T) {
	for _, tc := range []struct {
		args []string
		want string
	}{
		{[]string{"-cors-credentials"}, "explicit -cors origins"},
		{[]string{"-cors", "", "-cors-credentials"}, "needs -cors origins"},
		{[]string{"-admin-user", "a"}, "go together"},
		{[]string{"-admin-no-auth", "-admin-user", "a", "-admin-password-hash", "h"}, "excludes"},
		{[]string{"-admin-mode", "staging"}, "development or production"},
		{[]string{"-admin-ui-dir", "/tmp"}, "needs the admin namespace"},
		{[]string{"-log-format", "xml"}, "text or json"},
		{[]string{"-tls-cert", "c.pem"}, "go together"},
		{[]string{"stray"}, "unexpected arguments"},
	} {
		if _, err := parseConfig(tc.args, env(nil), io.Discard); err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%q: %v, want an error about %q", tc.args, err, tc.want)
		}
	}
	if err := loopbackAddr("0.0.0.0:6060"); err == nil {
		t.Error("-pprof on every interface accepted")
	}
	for _, ok := range []string{"127.0.0.1:6060", "[::1]:6060", "localhost:6060"} {
		if err := loopbackAddr(ok); err != nil {
			t.Errorf("%s: %v", ok, err)
		}
	}
}
