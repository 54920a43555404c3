package main

import (
	"errors"
	"net"
	"strings"
	"testing"
	"time"
)

// brokenListener fails for good on Accept (an error no retry cures, as a
// closed descriptor's EBADF).
type brokenListener struct{ net.Listener }

var errBroken = errors.New("listener broken for good")

func (l brokenListener) Accept() (net.Conn, error) { return nil, errBroken }

// A server that stops by itself makes run return an error (main exits 1),
// instead of leaving a live process that serves nothing.
func TestServerFailureEndsRun(t *testing.T) {
	orig := listen
	defer func() { listen = orig }()
	listen = func(addr string) (net.Listener, error) {
		inner, err := net.Listen("tcp", addr)
		return brokenListener{inner}, err
	}
	done := make(chan error, 1)
	go func() { done <- run([]string{"-addr", "127.0.0.1:0", "-log-level", "error"}) }()
	select {
	case err := <-done:
		if !errors.Is(err, errBroken) || !strings.Contains(err.Error(), "server stopped") {
			t.Fatalf("run = %v, want the listener's error", err)
		}
	case <-time.After(20 * time.Second):
		t.Fatal("run still running after its listener failed for good")
	}
}

// An unknown -parser is refused before anything listens.
func TestUnknownParser(t *testing.T) {
	err := run([]string{"-addr", "127.0.0.1:0", "-parser", "xml"})
	if err == nil || !strings.Contains(err.Error(), "-parser") || !strings.Contains(err.Error(), "xml") {
		t.Fatalf("run = %v, want a -parser error", err)
	}
}
