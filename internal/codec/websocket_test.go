package codec

import (
	"bytes"
	"errors"
	"strings"
	"testing"
	"unicode/utf8"

	"github.com/gobwas/ws"
)

func TestParseFrameHeader(t *testing.T) {
	mask := []byte{1, 2, 3, 4}
	cat := func(parts ...[]byte) []byte { return bytes.Join(parts, nil) }
	tests := []struct {
		name string
		in   []byte
		want ws.Header
		n    int
		err  error
	}{
		{
			name: "masked text 5",
			in:   cat([]byte{0x81, 0x85}, mask),
			want: ws.Header{Fin: true, OpCode: ws.OpText, Masked: true, Mask: [4]byte{1, 2, 3, 4}, Length: 5},
			n:    6,
		},
		{
			name: "unmasked binary 0",
			in:   []byte{0x82, 0x00},
			want: ws.Header{Fin: true, OpCode: ws.OpBinary},
			n:    2,
		},
		{
			name: "first fragment with rsv1",
			in:   cat([]byte{0x41, 0x80 | 125}, mask),
			want: ws.Header{Rsv: 0x4, OpCode: ws.OpText, Masked: true, Mask: [4]byte{1, 2, 3, 4}, Length: 125},
			n:    6,
		},
		{
			name: "16-bit length",
			in:   cat([]byte{0x82, 0xfe, 0x01, 0x00}, mask),
			want: ws.Header{Fin: true, OpCode: ws.OpBinary, Masked: true, Mask: [4]byte{1, 2, 3, 4}, Length: 256},
			n:    8,
		},
		{
			name: "16-bit length max",
			in:   []byte{0x82, 0x7e, 0xff, 0xff},
			want: ws.Header{Fin: true, OpCode: ws.OpBinary, Length: 0xffff},
			n:    4,
		},
		{
			name: "64-bit length",
			in:   cat([]byte{0x02, 0xff, 0, 0, 0, 1, 0, 0, 0, 0}, mask),
			want: ws.Header{OpCode: ws.OpBinary, Masked: true, Mask: [4]byte{1, 2, 3, 4}, Length: 1 << 32},
			n:    14,
		},
		{
			name: "64-bit length max",
			in:   []byte{0x80, 0x7f, 0x7f, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff},
			want: ws.Header{Fin: true, OpCode: ws.OpContinuation, Length: 1<<63 - 1},
			n:    10,
		},
		{
			name: "64-bit length top bit",
			in:   cat([]byte{0x82, 0xff, 0x80, 0, 0, 0, 0, 0, 0, 1}, mask),
			want: ws.Header{Fin: true, OpCode: ws.OpBinary, Masked: true, Mask: [4]byte{1, 2, 3, 4}, Length: -1<<63 + 1},
			n:    14,
			err:  ErrBadLength,
		},
		{
			name: "non-minimal 16-bit",
			in:   []byte{0x82, 0x7e, 0x00, 0x05},
			want: ws.Header{Fin: true, OpCode: ws.OpBinary, Length: 5},
			n:    4,
		},
		{
			name: "all rsv and reserved opcode parsed",
			in:   []byte{0xff, 0x00},
			want: ws.Header{Fin: true, Rsv: 7, OpCode: 0xf},
			n:    2,
		},
		{name: "empty", in: nil, err: ErrIncomplete},
		{name: "one byte", in: []byte{0x81}, err: ErrIncomplete},
		{name: "short mask", in: []byte{0x81, 0x85, 1, 2, 3}, err: ErrIncomplete},
		{name: "short 16", in: []byte{0x81, 0x7e, 1}, err: ErrIncomplete},
		{name: "short 64", in: []byte{0x81, 0x7f, 0, 0, 0, 0, 0, 0, 1}, err: ErrIncomplete},
		{name: "short 64 mask", in: []byte{0x81, 0xff, 0, 0, 0, 0, 0, 0, 1, 0, 1, 2, 3}, err: ErrIncomplete},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			h, n, err := ParseFrameHeader(tt.in)
			if err != tt.err {
				t.Fatalf("err = %v, want %v", err, tt.err)
			}
			if err == ErrIncomplete {
				return
			}
			if h != tt.want || n != tt.n {
				t.Fatalf("got %+v n=%d, want %+v n=%d", h, n, tt.want, tt.n)
			}
			// Trailing payload bytes do not change the result.
			h2, n2, err2 := ParseFrameHeader(append(append([]byte{}, tt.in...), "payload"...))
			if h2 != h || n2 != n || err2 != err {
				t.Fatalf("with payload: %+v %d %v", h2, n2, err2)
			}
			for k := 0; k < n; k++ {
				if _, _, err := ParseFrameHeader(tt.in[:k]); err != ErrIncomplete {
					t.Fatalf("prefix %d: %v", k, err)
				}
			}
		})
	}
}

func TestCheckClientFrame(t *testing.T) {
	m := func(h ws.Header) ws.Header { h.Masked = true; return h }
	tests := []struct {
		name   string
		h      ws.Header
		inFrag bool
		rsv1OK bool
		want   error
	}{
		{name: "text", h: m(ws.Header{Fin: true, OpCode: ws.OpText, Length: 10})},
		{name: "unmasked", h: ws.Header{Fin: true, OpCode: ws.OpText}, want: ErrUnmaskedFrame},
		{name: "bad length", h: m(ws.Header{Fin: true, OpCode: ws.OpBinary, Length: -5}), want: ErrBadLength},
		{name: "reserved opcode 3", h: m(ws.Header{Fin: true, OpCode: 3}), want: ErrReservedOpcode},
		{name: "reserved opcode 0xb", h: m(ws.Header{Fin: true, OpCode: 0xb}), want: ErrReservedOpcode},
		{name: "rsv1 not negotiated", h: m(ws.Header{Fin: true, Rsv: 4, OpCode: ws.OpText}), want: ErrReservedBits},
		{name: "rsv1 negotiated", h: m(ws.Header{Fin: true, Rsv: 4, OpCode: ws.OpText}), rsv1OK: true},
		{name: "rsv1 negotiated binary first fragment", h: m(ws.Header{Rsv: 4, OpCode: ws.OpBinary}), rsv1OK: true},
		{name: "rsv1 on continuation", h: m(ws.Header{Fin: true, Rsv: 4, OpCode: ws.OpContinuation}), inFrag: true, rsv1OK: true, want: ErrReservedBits},
		{name: "rsv1 on ping", h: m(ws.Header{Fin: true, Rsv: 4, OpCode: ws.OpPing}), rsv1OK: true, want: ErrReservedBits},
		{name: "rsv2", h: m(ws.Header{Fin: true, Rsv: 2, OpCode: ws.OpText}), rsv1OK: true, want: ErrReservedBits},
		{name: "rsv3", h: m(ws.Header{Fin: true, Rsv: 1, OpCode: ws.OpText}), rsv1OK: true, want: ErrReservedBits},
		{name: "ping 125", h: m(ws.Header{Fin: true, OpCode: ws.OpPing, Length: 125})},
		{name: "ping 126", h: m(ws.Header{Fin: true, OpCode: ws.OpPing, Length: 126}), want: ErrControlFrameTooLong},
		{name: "close fragmented", h: m(ws.Header{OpCode: ws.OpClose}), want: ErrFragmentedControl},
		{name: "ping inside fragmented message", h: m(ws.Header{Fin: true, OpCode: ws.OpPing}), inFrag: true},
		{name: "first fragment", h: m(ws.Header{OpCode: ws.OpText, Length: 3})},
		{name: "continuation", h: m(ws.Header{OpCode: ws.OpContinuation}), inFrag: true},
		{name: "last continuation", h: m(ws.Header{Fin: true, OpCode: ws.OpContinuation}), inFrag: true},
		{name: "continuation alone", h: m(ws.Header{Fin: true, OpCode: ws.OpContinuation}), want: ErrBadContinuation},
		{name: "text during fragmented", h: m(ws.Header{Fin: true, OpCode: ws.OpText}), inFrag: true, want: ErrBadContinuation},
		{name: "binary during fragmented", h: m(ws.Header{OpCode: ws.OpBinary}), inFrag: true, want: ErrBadContinuation},
	}
	for _, tt := range tests {
		err := CheckClientFrame(tt.h, tt.inFrag, tt.rsv1OK)
		if err != tt.want {
			t.Errorf("%s: err = %v, want %v", tt.name, err, tt.want)
		}
		if err != nil && CloseCodeFor(err) != ws.StatusProtocolError {
			t.Errorf("%s: close code %d", tt.name, CloseCodeFor(err))
		}
	}
}

// TestFragmentedSequence walks a fragmented message with an interleaved
// ping through ParseFrameHeader and CheckClientFrame.
func TestFragmentedSequence(t *testing.T) {
	mask := [4]byte{9, 8, 7, 6}
	frame := func(fin bool, op ws.OpCode, payload string) []byte {
		b := AppendFrameHeader(nil, fin, op, false, len(payload))
		b[1] |= 0x80
		b = append(b, mask[:]...)
		p := []byte(payload)
		Unmask(p, mask, 0)
		return append(b, p...)
	}
	var stream []byte
	stream = append(stream, frame(false, ws.OpText, "Hel")...)
	stream = append(stream, frame(true, ws.OpPing, "ping")...)
	stream = append(stream, frame(false, ws.OpContinuation, "lo, ")...)
	stream = append(stream, frame(true, ws.OpContinuation, "wörld")...)
	stream = append(stream, frame(true, ws.OpText, "next")...)
	var msg, pings []byte
	var msgs []string
	inFrag := false
	for len(stream) > 0 {
		h, n, err := ParseFrameHeader(stream)
		if err != nil {
			t.Fatal(err)
		}
		if err := CheckClientFrame(h, inFrag, false); err != nil {
			t.Fatal(err)
		}
		p := stream[n : n+int(h.Length)]
		Unmask(p, h.Mask, 0)
		stream = stream[n+int(h.Length):]
		if h.OpCode.IsControl() {
			pings = append(pings, p...)
			continue
		}
		msg = append(msg, p...)
		inFrag = !h.Fin
		if h.Fin {
			msgs = append(msgs, string(msg))
			msg = msg[:0]
		}
	}
	if len(msgs) != 2 || msgs[0] != "Hello, wörld" || msgs[1] != "next" || string(pings) != "ping" {
		t.Fatalf("msgs = %q, pings = %q", msgs, pings)
	}
}

func TestAppendFrameHeaderRoundTrip(t *testing.T) {
	for _, length := range []int{0, 1, 125, 126, 127, 0xffff, 0x10000, 1 << 40} {
		for _, op := range []ws.OpCode{ws.OpContinuation, ws.OpText, ws.OpBinary, ws.OpClose, ws.OpPing, ws.OpPong} {
			for _, fin := range []bool{false, true} {
				for _, rsv1 := range []bool{false, true} {
					b := AppendFrameHeader([]byte("x"), fin, op, rsv1, length)
					h, n, err := ParseFrameHeader(b[1:])
					if err != nil || n != len(b)-1 {
						t.Fatalf("len %d: n=%d err=%v", length, n, err)
					}
					wantN := 2
					if length > 0xffff {
						wantN = 10
					} else if length > 125 {
						wantN = 4
					}
					if n != wantN {
						t.Errorf("len %d: header %d bytes, want %d", length, n, wantN)
					}
					if h.Fin != fin || h.OpCode != op || h.Rsv1() != rsv1 || h.Rsv2() || h.Rsv3() || h.Masked || h.Length != int64(length) {
						t.Errorf("len %d: %+v", length, h)
					}
				}
			}
		}
	}
	f := AppendFrame(nil, ws.OpText, []byte("hi"))
	if !bytes.Equal(f, []byte{0x81, 2, 'h', 'i'}) {
		t.Errorf("AppendFrame = %x", f)
	}
	// Compare with gobwas/ws's own encoder.
	for _, l := range []int{0, 125, 126, 70000} {
		p := bytes.Repeat([]byte{'a'}, l)
		want, err := ws.CompileFrame(ws.NewBinaryFrame(p))
		if err != nil {
			t.Fatal(err)
		}
		if got := AppendFrame(nil, ws.OpBinary, p); !bytes.Equal(got, want) {
			t.Errorf("len %d: differs from ws.CompileFrame", l)
		}
	}
}

func TestCloseFrames(t *testing.T) {
	// Normal.
	f := AppendCloseFrame(nil, ws.StatusNormalClosure, "bye")
	if !bytes.Equal(f, []byte{0x88, 5, 0x03, 0xe8, 'b', 'y', 'e'}) {
		t.Fatalf("AppendCloseFrame = %x", f)
	}
	// No status.
	if f := AppendCloseFrame(nil, ws.StatusNoStatusRcvd, "ignored"); !bytes.Equal(f, []byte{0x88, 0}) {
		t.Fatalf("1005: %x", f)
	}
	if f := AppendCloseFrame(nil, 0, ""); !bytes.Equal(f, []byte{0x88, 0}) {
		t.Fatalf("0: %x", f)
	}
	// Truncation keeps UTF-8 whole and the frame within 125 bytes.
	for _, reason := range []string{
		strings.Repeat("a", 200),
		strings.Repeat("é", 100),        // 2-byte runes: 123 is odd
		strings.Repeat("€", 100),        // 3-byte runes
		"x" + strings.Repeat("😀", 40),   // 4-byte runes
		"bad\xff\xfe utf8" + "\xe2\x82", // invalid bytes
		strings.Repeat("\xff", 100),
	} {
		f := AppendCloseFrame(nil, ws.StatusGoingAway, reason)
		h, n, err := ParseFrameHeader(f)
		if err != nil || h.OpCode != ws.OpClose || !h.Fin || h.Length > 125 || int(h.Length) != len(f)-n {
			t.Fatalf("reason %q: header %+v n=%d err=%v", reason, h, n, err)
		}
		code, r, err := ParseClosePayload(f[n:])
		if err != nil || code != ws.StatusGoingAway || !utf8.Valid(r) {
			t.Fatalf("reason %q: code=%d r=%q err=%v", reason, code, r, err)
		}
		if utf8.ValidString(reason) && !strings.HasPrefix(reason, string(r)) {
			t.Fatalf("reason %q: not a prefix: %q", reason, r)
		}
		if len(r) < 120 && len(reason) > 123 {
			t.Fatalf("reason %q: cut too short: %d", reason, len(r))
		}
	}
}

func TestParseClosePayload(t *testing.T) {
	tests := []struct {
		name   string
		in     []byte
		code   ws.StatusCode
		reason string
		err    error
	}{
		{name: "empty", in: nil, code: 1005},
		{name: "one byte", in: []byte{0x03}, err: ErrBadClosePayload},
		{name: "1000", in: []byte{0x03, 0xe8}, code: 1000},
		{name: "1000 reason", in: []byte{0x03, 0xe8, 'o', 'k'}, code: 1000, reason: "ok"},
		{name: "1003", in: []byte{0x03, 0xeb}, code: 1003},
		{name: "1004", in: []byte{0x03, 0xec}, err: ErrBadCloseCode},
		{name: "1005", in: []byte{0x03, 0xed}, err: ErrBadCloseCode},
		{name: "1006", in: []byte{0x03, 0xee}, err: ErrBadCloseCode},
		{name: "1007", in: []byte{0x03, 0xef}, code: 1007},
		{name: "1014", in: []byte{0x03, 0xf6}, code: 1014},
		{name: "1015", in: []byte{0x03, 0xf7}, err: ErrBadCloseCode},
		{name: "999", in: []byte{0x03, 0xe7}, err: ErrBadCloseCode},
		{name: "0", in: []byte{0, 0}, err: ErrBadCloseCode},
		{name: "2999", in: []byte{0x0b, 0xb7}, err: ErrBadCloseCode},
		{name: "3000", in: []byte{0x0b, 0xb8}, code: 3000},
		{name: "4999", in: []byte{0x13, 0x87}, code: 4999},
		{name: "5000", in: []byte{0x13, 0x88}, err: ErrBadCloseCode},
		{name: "65535", in: []byte{0xff, 0xff}, err: ErrBadCloseCode},
		{name: "utf8 reason", in: append([]byte{0x03, 0xe8}, "çà €"...), code: 1000, reason: "çà €"},
		{name: "bad utf8 reason", in: []byte{0x03, 0xe8, 0xce, 0xba, 0xe1, 0xbd}, err: ErrInvalidCloseReason},
		{name: "surrogate in reason", in: []byte{0x03, 0xe8, 0xed, 0xa0, 0x80}, err: ErrInvalidCloseReason},
	}
	for _, tt := range tests {
		code, reason, err := ParseClosePayload(tt.in)
		if err != tt.err {
			t.Errorf("%s: err = %v, want %v", tt.name, err, tt.err)
			continue
		}
		if err == nil && (code != tt.code || string(reason) != tt.reason) {
			t.Errorf("%s: %d %q", tt.name, code, reason)
		}
	}
	if CloseCodeFor(ErrInvalidCloseReason) != ws.StatusInvalidFramePayloadData {
		t.Errorf("ErrInvalidCloseReason close code %d", CloseCodeFor(ErrInvalidCloseReason))
	}
	if CloseCodeFor(errors.New("x")) != ws.StatusProtocolError || CloseCodeFor(nil) != ws.StatusNormalClosure {
		t.Errorf("CloseCodeFor fallbacks")
	}
}

func TestUnmask(t *testing.T) {
	mask := [4]byte{0x37, 0xfa, 0x21, 0x3d}
	// RFC 6455 section 5.7: masked "Hello".
	p := []byte{0x7f, 0x9f, 0x4d, 0x51, 0x58}
	Unmask(p, mask, 0)
	if string(p) != "Hello" {
		t.Fatalf("Unmask = %q", p)
	}
	// Unmasking in pieces with offsets equals unmasking at once.
	data := bytes.Repeat([]byte("0123456789abcdef"), 10)
	whole := append([]byte{}, data...)
	Unmask(whole, mask, 0)
	pieces := append([]byte{}, data...)
	for off, step := 0, 1; off < len(pieces); off, step = off+step, step+2 {
		end := min(off+step, len(pieces))
		Unmask(pieces[off:end], mask, off)
	}
	if !bytes.Equal(whole, pieces) {
		t.Fatal("piecewise unmask differs")
	}
}

func TestAcceptKey(t *testing.T) {
	// RFC 6455 section 1.3.
	got := AppendAcceptKey([]byte("x"), []byte("dGhlIHNhbXBsZSBub25jZQ=="))
	if string(got) != "xs3pPLMBiTxaQ9kYGzzhZRbK+xOo=" {
		t.Fatalf("AppendAcceptKey = %q", got)
	}
	long := bytes.Repeat([]byte("k"), 300)
	if len(AppendAcceptKey(nil, long)) != 28 {
		t.Fatal("long key")
	}
	for key, want := range map[string]bool{
		"dGhlIHNhbXBsZSBub25jZQ==":  true,
		"AAAAAAAAAAAAAAAAAAAAAA==":  true,
		"dGhlIHNhbXBsZSBub25jZQ=":   false,
		"dGhlIHNhbXBsZSBub25jZQ===": false,
		"dGhlIHNhbXBsZSBub25jZ===":  false,
		"dGhlIHNhbXBsZSBub25j!Q==":  false,
		"":                          false,
	} {
		if ValidWebSocketKey([]byte(key)) != want {
			t.Errorf("ValidWebSocketKey(%q) != %v", key, want)
		}
	}
}

func TestValidUTF8(t *testing.T) {
	if !ValidUTF8([]byte("héllo €😀")) || ValidUTF8([]byte{0xc0, 0x80}) || ValidUTF8([]byte{0xed, 0xa0, 0x80}) || !ValidUTF8(nil) {
		t.Fatal("ValidUTF8")
	}
}

func TestNegotiateDeflate(t *testing.T) {
	tests := []struct {
		h    string
		want bool
	}{
		{h: "permessage-deflate", want: true},
		{h: "permessage-deflate; client_max_window_bits", want: true},
		{h: "permessage-deflate; client_max_window_bits=10", want: true},
		{h: `permessage-deflate; client_max_window_bits="15"`, want: true},
		{h: "permessage-deflate; server_no_context_takeover; client_no_context_takeover", want: true},
		{h: "Permessage-Deflate; Client_No_Context_Takeover", want: true},
		{h: "x-webkit-deflate-frame, permessage-deflate", want: true},
		{h: "permessage-deflate; server_max_window_bits=10, permessage-deflate", want: true},
		{h: "", want: false},
		{h: "x-webkit-deflate-frame", want: false},
		{h: "permessage-deflate; server_max_window_bits=10", want: false},
		{h: "permessage-deflate; server_max_window_bits=15", want: false},
		{h: "permessage-deflate; client_max_window_bits=7", want: false},
		{h: "permessage-deflate; client_max_window_bits=16", want: false},
		{h: "permessage-deflate; client_max_window_bits=08", want: false},
		{h: "permessage-deflate; client_max_window_bits=", want: false},
		{h: "permessage-deflate; server_no_context_takeover=1", want: false},
		{h: "permessage-deflate; client_no_context_takeover; client_no_context_takeover", want: false},
		{h: "permessage-deflate; unknown", want: false},
		{h: "permessage-deflate;", want: false},
		{h: "permessage-deflatex", want: false},
	}
	for _, tt := range tests {
		if got := NegotiateDeflate([]byte(tt.h)); got != tt.want {
			t.Errorf("NegotiateDeflate(%q) = %v", tt.h, got)
		}
	}
}
