package main

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/gobwas/ws"
)

// The battery's raw clients: Engine.IO v4 / Socket.IO v5 over WebSocket
// and long-polling, written down to the frames so that each can misbehave
// on purpose (never read, never poll, send hostile packets).

// wsClient is a WebSocket Socket.IO client of namespace "/".
type wsClient struct {
	c  net.Conn
	br *bufio.Reader
}

// dialWS connects and joins namespace "/". rcvbuf > 0 shrinks the socket's
// receive buffer before it connects (a slow reader's small window).
func dialWS(addr string, rcvbuf int) (*wsClient, error) {
	d := ws.Dialer{Timeout: 10 * time.Second}
	if rcvbuf > 0 {
		d.NetDial = func(ctx context.Context, network, a string) (net.Conn, error) {
			nd := net.Dialer{Control: func(_, _ string, rc syscall.RawConn) error {
				var serr error
				_ = rc.Control(func(fd uintptr) {
					serr = syscall.SetsockoptInt(int(fd), syscall.SOL_SOCKET, syscall.SO_RCVBUF, rcvbuf)
				})
				return serr
			}}
			return nd.DialContext(ctx, network, a)
		}
	}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	c, br, _, err := d.Dial(ctx, "ws://"+addr+"/socket.io/?EIO=4&transport=websocket")
	if err != nil {
		return nil, err
	}
	if br == nil {
		br = bufio.NewReader(c)
	}
	w := &wsClient{c: c, br: br}
	_ = c.SetDeadline(time.Now().Add(20 * time.Second))
	if _, err := w.expect(func(p []byte) bool { return len(p) > 0 && p[0] == '0' }); err != nil {
		c.Close()
		return nil, fmt.Errorf("open packet: %w", err)
	}
	if err := w.send("40"); err != nil {
		c.Close()
		return nil, err
	}
	if _, err := w.expect(func(p []byte) bool { return bytes.HasPrefix(p, []byte(`40{"sid"`)) }); err != nil {
		c.Close()
		return nil, fmt.Errorf("connect: %w", err)
	}
	_ = c.SetDeadline(time.Time{})
	return w, nil
}

func (w *wsClient) send(text string) error {
	return ws.WriteFrame(w.c, ws.MaskFrameInPlace(ws.NewTextFrame([]byte(text))))
}

// sendBytes sends one text frame (masked in a copy).
func (w *wsClient) sendBytes(text []byte) error {
	return ws.WriteFrame(w.c, ws.MaskFrameInPlace(ws.NewTextFrame(append([]byte(nil), text...))))
}

// next reads the next Engine.IO packet, answering pings.
func (w *wsClient) next() ([]byte, error) {
	for {
		f, err := ws.ReadFrame(w.br)
		if err != nil {
			return nil, err
		}
		switch f.Header.OpCode {
		case ws.OpClose:
			return nil, io.EOF
		case ws.OpText:
			if len(f.Payload) == 1 && f.Payload[0] == '2' {
				if err := w.send("3"); err != nil {
					return nil, err
				}
				continue
			}
			return f.Payload, nil
		}
	}
}

// expect reads until a packet matches.
func (w *wsClient) expect(match func([]byte) bool) ([]byte, error) {
	for {
		p, err := w.next()
		if err != nil {
			return nil, err
		}
		if match(p) {
			return p, nil
		}
	}
}

// join joins room r (the fixtures' join(room, ack)).
func (w *wsClient) join(room string) error {
	if err := w.send(`4299["join","` + room + `"]`); err != nil {
		return err
	}
	_ = w.c.SetReadDeadline(time.Now().Add(20 * time.Second))
	defer w.c.SetReadDeadline(time.Time{})
	_, err := w.expect(func(p []byte) bool { return bytes.HasPrefix(p, []byte("4399")) })
	return err
}

func (w *wsClient) close() { w.c.Close() }

// pollClient is a long-polling Socket.IO client of namespace "/", over one
// keep-alive connection for its requests.
type pollClient struct {
	addr string
	sid  string
	hc   *http.Client
}

func newPollClient(addr string) (*pollClient, error) {
	p := &pollClient{addr: addr, hc: &http.Client{Timeout: 60 * time.Second, Transport: &http.Transport{
		MaxIdleConnsPerHost: 2, DisableCompression: true,
	}}}
	body, err := p.get("/socket.io/?EIO=4&transport=polling")
	if err != nil {
		return nil, err
	}
	if len(body) < 2 || body[0] != '0' {
		return nil, fmt.Errorf("handshake: %q", body)
	}
	i := bytes.Index(body, []byte(`"sid":"`))
	if i < 0 {
		return nil, fmt.Errorf("handshake: %q", body)
	}
	rest := body[i+7:]
	p.sid = string(rest[:bytes.IndexByte(rest, '"')])
	if err := p.post("40"); err != nil {
		return nil, err
	}
	if _, err := p.pollUntil("40{"); err != nil {
		return nil, err
	}
	return p, nil
}

func (p *pollClient) url() string {
	return "/socket.io/?EIO=4&transport=polling&sid=" + p.sid
}

func (p *pollClient) get(path string) ([]byte, error) {
	resp, err := p.hc.Get("http://" + p.addr + path)
	if err != nil {
		return nil, err
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if resp.StatusCode != 200 {
		return b, fmt.Errorf("GET: %d %q", resp.StatusCode, b)
	}
	return b, err
}

// post sends packets joined by 0x1e; an answer other than 200 "ok" is an
// error (the session is gone).
func (p *pollClient) post(packets ...string) error {
	resp, err := p.hc.Post("http://"+p.addr+p.url(), "text/plain;charset=UTF-8", strings.NewReader(strings.Join(packets, "\x1e")))
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	if resp.StatusCode != 200 || string(b) != "ok" {
		return fmt.Errorf("POST: %d %q", resp.StatusCode, b)
	}
	return nil
}

// pollUntil polls until a packet starts with prefix, answering pings.
func (p *pollClient) pollUntil(prefix string) ([]byte, error) {
	for i := 0; i < 50; i++ {
		body, err := p.get(p.url())
		if err != nil {
			return nil, err
		}
		for _, pkt := range bytes.Split(body, []byte{0x1e}) {
			if string(pkt) == "2" {
				if err := p.post("3"); err != nil {
					return nil, err
				}
				continue
			}
			if bytes.HasPrefix(pkt, []byte(prefix)) {
				return pkt, nil
			}
		}
	}
	return nil, errors.New("poll: " + prefix + " never came")
}

func (p *pollClient) join(room string) error {
	if err := p.post(`4299["join","` + room + `"]`); err != nil {
		return err
	}
	_, err := p.pollUntil("4399")
	return err
}

// echoPacket is an echo with acknowledgement id.
func echoPacket(id int) string {
	s := strconv.Itoa(id)
	return "42" + s + `["echo",` + s + `]`
}
