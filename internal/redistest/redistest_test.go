package redistest

import (
	"net"
	"testing"
)

func TestStartKillRestart(t *testing.T) {
	s := Start(t)
	if r, err := s.Do("SET", "k", "v"); err != nil || r != "OK" {
		t.Fatalf("SET: %v %v", r, err)
	}
	if r, err := s.Do("GET", "k"); err != nil || r != "v" {
		t.Fatalf("GET: %v %v", r, err)
	}
	if _, err := s.Do("NOSUCHCOMMAND"); err == nil {
		t.Fatal("an error reply was not returned as an error")
	}
	if n, err := s.NumSub("nobody", false); err != nil || n != 0 {
		t.Fatalf("NUMSUB: %d %v", n, err)
	}
	if _, _, err := s.CPU(); err != nil {
		t.Fatal(err)
	}
	port := s.Port()
	s.Kill()
	if c, err := net.Dial("tcp", s.Addr()); err == nil {
		c.Close()
		t.Fatal("still accepting after Kill")
	}
	if err := s.Restart(); err != nil {
		t.Fatal(err)
	}
	if s.Port() != port {
		t.Fatalf("port changed: %d -> %d", port, s.Port())
	}
	// No persistence: the key is gone.
	if r, err := s.Do("GET", "k"); err != nil || r != nil {
		t.Fatalf("GET after restart: %v %v", r, err)
	}
}
