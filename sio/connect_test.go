package sio

import (
	"errors"
	"strings"
	"testing"
)

// auth payload, middleware refusing with data, namespaces.
func TestConnectMiddlewareAndNamespaces(t *testing.T) {
	srv := newTestServer(t, Options{})
	srv.Use(func(s *Socket) error {
		if !strings.Contains(string(s.Handshake().Auth()), `"token":"ok"`) {
			return &ConnectError{Message: "unauthorized", Data: map[string]any{"code": 401}}
		}
		return nil
	})
	srv.OnConnection(func(s *Socket) { _ = s.Emit("auth", s.Handshake().Auth()) })
	srv.Of("custom").OnConnection(func(s *Socket) { _ = s.Emit("hello", s.Namespace().Name()) })
	srv.Of("/plain").Use(func(s *Socket) error { return errors.New("nope") })

	c := fakeDial(t, srv)
	c.Send(`0{"token":"bad"}`)
	c.Expect(`4{"message":"unauthorized","data":{"code":401}}`)
	c.Send(`0/plain,`)
	c.Expect(`4/plain,{"message":"nope"}`)
	c.Send(`0/unknown,`)
	c.Expect(`4/unknown,{"message":"Invalid namespace"}`)
	c.Connect("/", `{"token":"ok", "x":[1]}`)
	c.Expect(`2["auth",{"token":"ok", "x":[1]}]`)
	c.Connect("/custom", "")
	c.Expect(`2/custom,["hello","/custom"]`)
}
