package codec

import (
	"bytes"
	"testing"

	"github.com/gobwas/ws"
)

// Allocation tests: the hot paths must not allocate.

func assertNoAllocs(t *testing.T, name string, f func()) {
	t.Helper()
	if n := testing.AllocsPerRun(200, f); n != 0 {
		t.Errorf("%s: %v allocs/op, want 0", name, n)
	}
}

var (
	benchUpgrade = []byte(upgradeGET)
	benchSIO     = []byte(`61-/admin,456[{"_placeholder":true,"num":0}]`)
	benchEvent   = []byte(`["chat message",{"user":"alice","text":"hello there, \"world\" \u00e9","ts":1700000000123,"tags":["a","b"],"n":null}]`)
)

func TestNoAllocs(t *testing.T) {
	var req Request
	assertNoAllocs(t, "ParseRequest", func() {
		if _, err := ParseRequest(benchUpgrade, &req, 8192, DefaultMaxHeaders); err != nil {
			t.Fatal(err)
		}
	})
	assertNoAllocs(t, "Request.Header", func() {
		_ = req.Header("Sec-WebSocket-Key")
	})
	assertNoAllocs(t, "QueryValue", func() {
		_, _ = QueryValue(req.RawQuery, "transport")
	})
	chunkedBody := []byte("5\r\nhello\r\n6\r\n world\r\n0\r\n\r\n")
	body := make([]byte, 0, 64)
	assertNoAllocs(t, "DecodeChunked", func() {
		if _, _, err := DecodeChunked(body[:0], chunkedBody, 1024); err != nil {
			t.Fatal(err)
		}
	})
	assertNoAllocs(t, "DecodeChunked incomplete", func() {
		if _, _, err := DecodeChunked(body[:0], chunkedBody[:10], 1024); err != ErrIncomplete {
			t.Fatal(err)
		}
	})
	out := make([]byte, 0, 256)
	assertNoAllocs(t, "response helpers", func() {
		b := AppendStatusLine(out[:0], 101)
		b = AppendHeader(b, "Upgrade", "websocket")
		b = AppendContentLength(b, 12345)
		_ = AppendAcceptKey(b, req.Header("Sec-WebSocket-Key"))
	})
	assertNoAllocs(t, "NegotiateDeflate", func() {
		if !NegotiateDeflate(req.Header("Sec-WebSocket-Extensions")) {
			t.Fatal("not negotiated")
		}
	})
	assertNoAllocs(t, "AcceptsEncoding", func() {
		_ = AcceptsEncoding([]byte("gzip;q=0.5, br"), "gzip")
	})

	frame := append([]byte{0x81, 0xfe, 0x01, 0x00, 1, 2, 3, 4}, make([]byte, 256)...)
	assertNoAllocs(t, "ParseFrameHeader+CheckClientFrame", func() {
		h, _, err := ParseFrameHeader(frame)
		if err != nil || CheckClientFrame(h, false, false) != nil {
			t.Fatal(err)
		}
	})
	payload := bytes.Repeat([]byte("x"), 300)
	fbuf := make([]byte, 0, 400)
	assertNoAllocs(t, "AppendFrame", func() {
		_ = AppendFrame(fbuf[:0], ws.OpText, payload)
	})
	assertNoAllocs(t, "AppendCloseFrame", func() {
		_ = AppendCloseFrame(fbuf[:0], ws.StatusGoingAway, "server shutting down")
	})
	assertNoAllocs(t, "ParseClosePayload", func() {
		_, _, _ = ParseClosePayload([]byte{0x03, 0xe8, 'o', 'k'})
	})
	assertNoAllocs(t, "Unmask", func() {
		Unmask(payload, [4]byte{1, 2, 3, 4}, 1)
	})
	key := []byte("dGhlIHNhbXBsZSBub25jZQ==")
	assertNoAllocs(t, "AppendAcceptKey", func() {
		_ = AppendAcceptKey(fbuf[:0], key)
	})
	assertNoAllocs(t, "ValidWebSocketKey", func() {
		_ = ValidWebSocketKey(key)
	})

	pkt := []byte(`42["hello",1]`)
	assertNoAllocs(t, "DecodePacket", func() {
		if _, _, err := DecodePacket(pkt); err != nil {
			t.Fatal(err)
		}
	})
	records := []byte("4hello\x1ebAQIDBA==\x1e2")
	scratch := make([]byte, 0, 64)
	assertNoAllocs(t, "NextRecord+DecodeRecord", func() {
		sc := scratch[:0]
		for rest := records; rest != nil; {
			var r []byte
			r, rest = NextRecord(rest)
			var err error
			if _, _, _, sc, err = DecodeRecord(r, sc); err != nil {
				t.Fatal(err)
			}
		}
	})
	assertNoAllocs(t, "AppendPacket/AppendPollingBinary/AppendOpenPacket", func() {
		b := AppendPacket(out[:0], EIOMessage, pkt)
		b = AppendPollingBinary(b, pkt)
		_ = AppendOpenPacket(b, "sid", nil, 25000, 20000, 1e6)
	})

	assertNoAllocs(t, "DecodeSIOPacket", func() {
		if _, err := DecodeSIOPacket(benchSIO, 10); err != nil {
			t.Fatal(err)
		}
	})
	assertNoAllocs(t, "DecodeSIOPacket default namespace", func() {
		if _, err := DecodeSIOPacket(pkt[1:], 10); err != nil {
			t.Fatal(err)
		}
	})
	assertNoAllocs(t, "AppendSIOHeader", func() {
		_ = AppendSIOHeader(out[:0], SIOBinaryAck, 2, "/admin", 456)
	})

	elems := make([][]byte, 0, 8)
	assertNoAllocs(t, "ArrayElements", func() {
		if _, err := ArrayElements(elems[:0], benchEvent); err != nil {
			t.Fatal(err)
		}
	})
	assertNoAllocs(t, "ScanJSONValue", func() {
		if _, err := ScanJSONValue(benchEvent); err != nil {
			t.Fatal(err)
		}
	})
	ph := []byte(`{"_placeholder":true,"num":3}`)
	phEsc := []byte(`{"\u005fplaceholder":true,"num":3}`)
	assertNoAllocs(t, "ParsePlaceholder", func() {
		if _, ok := ParsePlaceholder(ph); !ok {
			t.Fatal("not a placeholder")
		}
		if _, ok := ParsePlaceholder(phEsc); !ok {
			t.Fatal("not a placeholder")
		}
	})
	assertNoAllocs(t, "AppendJSONString", func() {
		_ = AppendJSONString(out[:0], "hello \"world\"\n\xff")
	})
	raw := []byte(`"hello \"world\" \u00e9 \ud83d\ude00"`)
	assertNoAllocs(t, "AppendUnquote", func() {
		if _, err := AppendUnquote(out[:0], raw); err != nil {
			t.Fatal(err)
		}
	})
}

func BenchmarkParseRequest(b *testing.B) {
	var req Request
	b.ReportAllocs()
	b.SetBytes(int64(len(benchUpgrade)))
	for b.Loop() {
		if _, err := ParseRequest(benchUpgrade, &req, 8192, DefaultMaxHeaders); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkParseFrameHeader(b *testing.B) {
	frame := []byte{0x81, 0xfe, 0x01, 0x00, 1, 2, 3, 4}
	b.ReportAllocs()
	for b.Loop() {
		h, _, err := ParseFrameHeader(frame)
		if err != nil || CheckClientFrame(h, false, false) != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkDecodeSIOPacket(b *testing.B) {
	b.ReportAllocs()
	for b.Loop() {
		if _, err := DecodeSIOPacket(benchSIO, 10); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkArrayElements(b *testing.B) {
	elems := make([][]byte, 0, 8)
	b.ReportAllocs()
	b.SetBytes(int64(len(benchEvent)))
	for b.Loop() {
		if _, err := ArrayElements(elems[:0], benchEvent); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkAppendFrame(b *testing.B) {
	payload := bytes.Repeat([]byte("x"), 1024)
	buf := make([]byte, 0, 2048)
	b.ReportAllocs()
	b.SetBytes(int64(len(payload)))
	for b.Loop() {
		buf = AppendFrame(buf[:0], ws.OpText, payload)
	}
}

func BenchmarkScanJSONValue(b *testing.B) {
	b.ReportAllocs()
	b.SetBytes(int64(len(benchEvent)))
	for b.Loop() {
		if _, err := ScanJSONValue(benchEvent); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkAppendJSONString(b *testing.B) {
	s := "a fairly ordinary chat message with \"quotes\" and unicode é€ in it"
	buf := make([]byte, 0, 256)
	b.ReportAllocs()
	for b.Loop() {
		buf = AppendJSONString(buf[:0], s)
	}
}

func BenchmarkAppendAcceptKey(b *testing.B) {
	key := []byte("dGhlIHNhbXBsZSBub25jZQ==")
	buf := make([]byte, 0, 64)
	b.ReportAllocs()
	for b.Loop() {
		buf = AppendAcceptKey(buf[:0], key)
	}
}

func BenchmarkDecodeRecord(b *testing.B) {
	records := []byte("4hello\x1ebAQIDBAUGBwgJCgsMDQ4PEA==\x1e2")
	scratch := make([]byte, 0, 64)
	b.ReportAllocs()
	for b.Loop() {
		sc := scratch[:0]
		for rest := records; rest != nil; {
			var r []byte
			r, rest = NextRecord(rest)
			var err error
			if _, _, _, sc, err = DecodeRecord(r, sc); err != nil {
				b.Fatal(err)
			}
		}
	}
}
