package engine

import (
	"testing"
	"unsafe"
)

// Every open session costs its size: keep Session in its size class.
func TestSessionSize(t *testing.T) {
	if got := unsafe.Sizeof(Session{}); got > 128 {
		t.Errorf("Session is %d bytes, want at most 128 (a Go size class; each byte costs 10 KB per 10,000 sessions)", got)
	}
}
