package siotest

import (
	"bytes"
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"
)

// Message is one Engine.IO MESSAGE the client received: a Socket.IO
// packet's text, or a binary attachment.
type Message struct {
	Text   string
	Binary []byte // non-nil for a binary attachment
}

// IsBinary reports whether m is a binary attachment.
func (m Message) IsBinary() bool { return m.Binary != nil }

func (m Message) String() string {
	if m.IsBinary() {
		return fmt.Sprintf("<binary %v>", m.Binary)
	}
	return fmt.Sprintf("%q", m.Text)
}

// Client is a Socket.IO test client. Its assertions fail the test given to
// NewClient or Dial (or panic when that is nil, as in an Example).
type Client struct {
	// Wait bounds how long Next waits for a message (default 5 s).
	Wait time.Duration

	tb    testing.TB
	write func(data []byte, binary bool) error
	close func() error

	in        chan Message
	closed    chan struct{}
	closeOnce sync.Once
}

// NewClient returns a client over an in-process transport: write sends one
// Engine.IO MESSAGE payload (a Socket.IO packet's text, or an attachment)
// to the server, close ends the transport from the client's side. The
// transport hands what the server sends to Deliver, and calls Hangup when
// the server ends it.
func NewClient(tb testing.TB, write func(data []byte, binary bool) error, close func() error) *Client {
	return &Client{tb: tb, write: write, close: close, in: make(chan Message, 4096), closed: make(chan struct{}), Wait: 5 * time.Second}
}

// Deliver queues a message from the server (data is copied).
func (c *Client) Deliver(data []byte, binary bool) {
	if binary {
		c.in <- Message{Binary: append([]byte{}, data...)}
		return
	}
	c.in <- Message{Text: string(data)}
}

// Hangup records that the server ended the transport.
func (c *Client) Hangup() { c.closeOnce.Do(func() { close(c.closed) }) }

// Closed is closed once the transport ended.
func (c *Client) Closed() <-chan struct{} { return c.closed }

func (c *Client) fatalf(format string, args ...any) {
	if c.tb == nil {
		panic(fmt.Sprintf(format, args...))
	}
	c.tb.Helper()
	c.tb.Fatalf(format, args...)
}

// Send sends a Socket.IO packet, as text ("0", "2[\"ev\"]", "0/chat,{}").
func (c *Client) Send(packet string) {
	if err := c.write([]byte(packet), false); err != nil {
		c.fatalf("siotest: send %q: %v", packet, err)
	}
}

// SendBinary sends a binary attachment.
func (c *Client) SendBinary(b []byte) {
	if err := c.write(b, true); err != nil {
		c.fatalf("siotest: send binary: %v", err)
	}
}

// Close ends the transport from the client's side.
func (c *Client) Close() { _ = c.close() }

// Next returns the next message, failing after Wait or if the transport
// ended with nothing left to read.
func (c *Client) Next() Message {
	if c.tb != nil {
		c.tb.Helper()
	}
	select {
	case m := <-c.in:
		return m
	case <-c.closed:
		select {
		case m := <-c.in:
			return m
		default:
		}
		c.fatalf("siotest: the connection closed while waiting for a message")
	case <-time.After(c.Wait):
		c.fatalf("siotest: no message within %v", c.Wait)
	}
	return Message{}
}

// Expect asserts that the next message is the packet want.
func (c *Client) Expect(want string) {
	if c.tb != nil {
		c.tb.Helper()
	}
	if m := c.Next(); m.IsBinary() || m.Text != want {
		c.fatalf("siotest: got %v, want %q", m, want)
	}
}

// ExpectPrefix asserts that the next message is a packet starting with
// prefix, and returns it.
func (c *Client) ExpectPrefix(prefix string) string {
	if c.tb != nil {
		c.tb.Helper()
	}
	m := c.Next()
	if m.IsBinary() || !strings.HasPrefix(m.Text, prefix) {
		c.fatalf("siotest: got %v, want a packet starting with %q", m, prefix)
	}
	return m.Text
}

// ExpectBinary asserts that the next message is the attachment want.
func (c *Client) ExpectBinary(want []byte) {
	if c.tb != nil {
		c.tb.Helper()
	}
	if m := c.Next(); !m.IsBinary() || !bytes.Equal(m.Binary, want) {
		c.fatalf("siotest: got %v, want the attachment %v", m, want)
	}
}

// ExpectNothing asserts that nothing arrives within d.
func (c *Client) ExpectNothing(d time.Duration) {
	if c.tb != nil {
		c.tb.Helper()
	}
	select {
	case m := <-c.in:
		c.fatalf("siotest: unexpected message %v", m)
	case <-time.After(d):
	}
}

// WaitClosed waits for the server to end the transport.
func (c *Client) WaitClosed() {
	if c.tb != nil {
		c.tb.Helper()
	}
	select {
	case <-c.closed:
	case <-time.After(c.Wait):
		c.fatalf("siotest: the server did not close the connection")
	}
}

// Connect joins namespace nsp ("/" or "/chat") with the auth payload (JSON,
// or "" for none) and returns the socket id the server answered with.
func (c *Client) Connect(nsp, auth string) string {
	if c.tb != nil {
		c.tb.Helper()
	}
	prefix := ""
	if nsp != "/" {
		prefix = nsp + ","
	}
	c.Send("0" + prefix + auth)
	m := c.ExpectPrefix("0" + prefix + `{"sid":"`)
	sid, _, _ := strings.Cut(m[len("0"+prefix+`{"sid":"`):], `"`)
	return sid
}

// AckID returns the acknowledgement id of an EVENT packet as the client
// receives it ("2<id>[...]", "2/chat,<id>[...]", "51-<id>[...]"), or ""
// if it has none.
func AckID(packet string) string {
	if packet == "" {
		return ""
	}
	p := packet[1:]
	if packet[0] == '5' || packet[0] == '6' {
		_, p, _ = strings.Cut(p, "-")
	}
	if strings.HasPrefix(p, "/") {
		_, p, _ = strings.Cut(p, ",")
	}
	i := 0
	for i < len(p) && p[i] >= '0' && p[i] <= '9' {
		i++
	}
	return p[:i]
}
