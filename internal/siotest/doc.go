// Package siotest is the test client of fanio's Socket.IO tests, on the
// model of net/http/httptest: a minimal client that speaks Socket.IO
// packets as text ("2[\"ev\",1]") and asserts what the server sends.
//
// One Client serves over two transports: Dial connects over a loopback
// WebSocket (Engine.IO v4, answering pings) where the wire matters, and
// NewClient wraps any in-process transport, such as the fake session sio's
// own tests use to test Socket.IO semantics without a network.
//
// It owns nothing of the server and imports nothing of this project (so
// that sio's in-package tests may use it).
package siotest
