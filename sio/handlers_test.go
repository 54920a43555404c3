package sio

import (
	"bytes"
	"errors"
	"strings"
	"testing"
)

// events and acks: the client's JSON comes back byte for byte, binary
// attachments are reassembled and sent back as attachments.
func TestEventEchoAndAck(t *testing.T) {
	srv := newTestServer(t, Options{})
	srv.OnConnection(func(s *Socket) {
		s.On("echo", func(s *Socket, args Args, ack Ack) {
			_ = s.Emit("echo-back", args.Any()...)
			if ack != nil {
				_ = ack(args.Any()...)
			}
		})
	})
	c := fakeDial(t, srv)
	c.Connect("/", "")

	// odd but valid JSON formatting is kept as sent
	c.Send(`2["echo",{"b":1, "a":"<&>"},[1,2.50,  3],"é\u00e9",null,true]`)
	c.Expect(`2["echo-back",{"b":1, "a":"<&>"},[1,2.50,  3],"é\u00e9",null,true]`)

	// with an ack id
	c.Send(`217["echo","x"]`)
	c.Expect(`2["echo-back","x"]`)
	c.Expect(`317["x"]`)

	// binary: two attachments, one nested in an object
	c.Send(`52-21["echo",{"_placeholder":true,"num":1},{"k":{"_placeholder":true,"num":0}}]`)
	c.SendBinary([]byte{1, 2, 3})
	c.SendBinary([]byte{4, 5})
	c.Expect(`52-["echo-back",{"_placeholder":true,"num":0},{"k":{"_placeholder":true,"num":1}}]`)
	if m := c.Next(); !bytes.Equal(m.Binary, []byte{4, 5}) {
		t.Fatalf("attachment 0 = %v, want [4 5]", m.Binary)
	}
	if m := c.Next(); !bytes.Equal(m.Binary, []byte{1, 2, 3}) {
		t.Fatalf("attachment 1 = %v, want [1 2 3]", m.Binary)
	}
	c.Expect(`62-21[{"_placeholder":true,"num":0},{"k":{"_placeholder":true,"num":1}}]`)
	c.Next()
	c.Next()
}

func TestTypedArgs(t *testing.T) {
	type payload struct {
		Name string `json:"name"`
		Blob []byte `json:"blob"`
	}
	got := make(chan string, 4)
	srv := newTestServer(t, Options{})
	srv.OnConnection(func(s *Socket) {
		s.On("typed", func(s *Socket, args Args, ack Ack) {
			str, err1 := Arg[string](args, 0)
			n, err2 := Arg[int](args, 1)
			bin, err3 := Arg[[]byte](args, 2)
			p, err4 := Arg[payload](args, 3)
			_, err5 := Arg[int](args, 0)
			_, err6 := Arg[string](args, 9)
			got <- strings.Join([]string{str, string(rune('0' + n)), string(bin), p.Name, string(p.Blob)}, "|")
			if err := errors.Join(err1, err2, err3, err4); err != nil {
				got <- "error: " + err.Error()
			}
			if err5 == nil || !errors.Is(err6, ErrArgIndex) {
				got <- "error: expected type and index errors"
			}
			close(got)
		})
	})
	c := fakeDial(t, srv)
	c.Connect("/", "")
	c.Send(`52-["typed","a\nb",7,{"_placeholder":true,"num":0},{"name":"<n>","blob":{"_placeholder":true,"num":1}}]`)
	c.SendBinary([]byte("BIN"))
	c.SendBinary([]byte("blob"))
	var all []string
	for s := range got {
		all = append(all, s)
	}
	if want := "a\nb|7|BIN|<n>|blob"; len(all) != 1 || all[0] != want {
		t.Fatalf("handler saw %q, want [%q]", all, want)
	}
}
