package siotest

import "testing"

func TestAckID(t *testing.T) {
	for in, want := range map[string]string{
		`2["ev"]`: "", `217["ev"]`: "17", `2/chat,3["ev"]`: "3", `51-9["ev",{}]`: "9",
		`51-/a,12[{}]`: "12", `2/chat,["ev"]`: "", ``: "",
	} {
		if got := AckID(in); got != want {
			t.Errorf("AckID(%q) = %q, want %q", in, got, want)
		}
	}
}

// A client over an in-process transport: what it sends reaches the
// transport; what is delivered comes out in order.
func TestClientInProcess(t *testing.T) {
	var sent []string
	c := NewClient(t, func(data []byte, binary bool) error {
		sent = append(sent, string(data))
		return nil
	}, func() error { return nil })
	c.Deliver([]byte(`0{"sid":"abc"}`), false)
	if sid := c.Connect("/", `{"a":1}`); sid != "abc" {
		t.Fatalf("sid %q", sid)
	}
	c.Deliver([]byte{1, 2}, true)
	c.ExpectBinary([]byte{1, 2})
	c.ExpectNothing(0)
	c.Hangup()
	c.WaitClosed()
	if len(sent) != 1 || sent[0] != `0{"a":1}` {
		t.Fatalf("sent %q", sent)
	}
}
