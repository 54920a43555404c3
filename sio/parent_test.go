package sio

import (
	"encoding/json"
	"strings"
	"sync"
	"testing"
)

func TestDynamicNamespaces(t *testing.T) {
	srv := newTestServer(t, Options{})
	var mu sync.Mutex
	var names []string
	srv.OfFunc(func(name string, auth json.RawMessage) bool { return strings.HasPrefix(name, "/dyn-") }).
		OnConnection(func(s *Socket) {
			mu.Lock()
			names = append(names, s.Namespace().Name())
			mu.Unlock()
			_ = s.Emit("in", s.Namespace().Name())
		})
	c := fakeDial(t, srv)
	c.Connect("/dyn-1", "")
	c.Expect(`2/dyn-1,["in","/dyn-1"]`)
	c.Send(`0/other,`)
	c.Expect(`4/other,{"message":"Invalid namespace"}`)
}
