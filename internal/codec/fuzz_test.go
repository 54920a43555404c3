package codec

import (
	"bufio"
	"bytes"
	"encoding/base64"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"net/http/httputil"
	"net/url"
	"strings"
	"testing"
	"unicode/utf8"
	"unsafe"

	"github.com/gobwas/ws"
)

// Fuzz targets. Each checks properties of its decoder, not only that it
// does not panic: bounds of n, prefixes giving ErrIncomplete, round trips
// through the matching encoder, and agreement with a reference
// implementation from the standard library where one exists.

var httpSentinels = []error{
	ErrMalformedRequestLine, ErrMalformedHeader, ErrTooManyHeaders, ErrHeaderTooLarge,
	ErrBadContentLength, ErrUnsupportedVersion, ErrUnsupportedTransferEncoding,
}

func isOneOf(err error, sentinels []error) bool {
	for _, s := range sentinels {
		if errors.Is(err, s) {
			return true
		}
	}
	return false
}

// within reports whether sub lies in the memory of buf[:len(buf)].
func within(sub, buf []byte) bool {
	if len(sub) == 0 {
		return true
	}
	start := uintptr(unsafe.Pointer(unsafe.SliceData(sub))) - uintptr(unsafe.Pointer(unsafe.SliceData(buf)))
	return start <= uintptr(len(buf)) && start+uintptr(len(sub)) <= uintptr(len(buf))
}

func FuzzParseRequest(f *testing.F) {
	for _, s := range []string{
		simpleGET, upgradeGET,
		"POST /x HTTP/1.1\nContent-Length: 5\n\nhello",
		"POST /p HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nhello\r\n0\r\n\r\n",
		"GET / HTTP/1.0\r\nConnection: keep-alive\r\n\r\n",
		"\r\nGET /a?b=c&d HTTP/1.1\r\nHost: x\r\nX: a\r\n b\r\n\r\n",
		"GET / HTTP/2.0\r\n\r\n",
		"POST / HTTP/1.1\r\nContent-Length: 3\r\nContent-Length: 4\r\n\r\n",
		simpleGET + simpleGET,
	} {
		f.Add([]byte(s), int16(8192), int16(DefaultMaxHeaders))
	}
	f.Add([]byte(simpleGET), int16(40), int16(DefaultMaxHeaders))
	f.Add([]byte(simpleGET), int16(-1), int16(-1))
	f.Add([]byte(upgradeGET), int16(8192), int16(2))
	f.Add([]byte("GET / HTTP/1.1\r\nHost: a\r\nHost: b\r\n\r\n"), int16(8192), int16(8))
	f.Fuzz(func(t *testing.T, data []byte, limit, fieldLimit int16) {
		max, maxFields := int(limit), int(fieldLimit)
		var req Request
		n, err := ParseRequest(data, &req, max, maxFields)
		if err != nil {
			if n != 0 {
				t.Fatalf("error %v with n=%d", err, n)
			}
			if err != ErrIncomplete && !isOneOf(err, httpSentinels) {
				t.Fatalf("unexpected error %v", err)
			}
			if err == ErrIncomplete && max >= 0 && len(data) > max {
				t.Fatalf("ErrIncomplete with len %d > max %d", len(data), max)
			}
			// Appending bytes never turns a definite error into success or
			// into another error, except for the size limit.
			if err != ErrIncomplete && !errors.Is(err, ErrHeaderTooLarge) {
				more := append(append([]byte{}, data...), "\r\n\r\nX"...)
				if _, err2 := ParseRequest(more, &req, -1, maxFields); err2 != err {
					t.Fatalf("error changed with more data: %v -> %v", err, err2)
				}
			}
			return
		}
		if n <= 0 || n > len(data) || (max >= 0 && n > max) {
			t.Fatalf("n = %d, len = %d, max = %d", n, len(data), max)
		}
		if data[n-1] != '\n' {
			t.Fatalf("block does not end in LF")
		}
		if len(req.Method) == 0 || req.ProtoMinor < 0 || req.ProtoMinor > 1 || (maxFields >= 0 && len(req.Headers) > maxFields) ||
			req.ContentLength < -1 || (req.Chunked && req.ContentLength != -1) {
			t.Fatalf("bad fields %+v", req)
		}
		for _, c := range req.Method {
			if !isToken(c) {
				t.Fatalf("method %q", req.Method)
			}
		}
		for _, c := range req.URI {
			if c <= ' ' || c == 0x7f {
				t.Fatalf("uri %q", req.URI)
			}
		}
		if !within(req.Method, data[:n]) || !within(req.URI, data[:n]) || !within(req.Path, req.URI) || !within(req.RawQuery, req.URI) {
			t.Fatalf("slices outside the header block")
		}
		if uri := string(req.Path) + map[bool]string{true: "?" + string(req.RawQuery), false: ""}[req.RawQuery != nil]; uri != string(req.URI) {
			t.Fatalf("path %q + query %q != uri %q", req.Path, req.RawQuery, req.URI)
		}
		for _, h := range req.Headers {
			if !within(h.Name, data[:n]) || !within(h.Value, data[:n]) || len(h.Name) == 0 {
				t.Fatalf("header %q outside the block", h.Name)
			}
			if bytes.ContainsAny(h.Value, "\r\n\x00") || len(trimOWS(h.Value)) != len(h.Value) {
				t.Fatalf("header value %q", h.Value)
			}
			if req.Header(string(h.Name)) == nil {
				t.Fatalf("Header(%q) = nil", h.Name)
			}
		}
		// The block alone parses the same; every prefix of it is incomplete.
		var req2 Request
		if n2, err := ParseRequest(data[:n], &req2, max, maxFields); n2 != n || err != nil {
			t.Fatalf("block alone: %d %v", n2, err)
		}
		if req2.ContentLength != req.ContentLength || req2.Chunked != req.Chunked ||
			req2.KeepAlive != req.KeepAlive || req2.Upgrade != req.Upgrade || len(req2.Headers) != len(req.Headers) {
			t.Fatalf("block alone parses differently")
		}
		for _, k := range []int{0, 1, n / 2, n - 2, n - 1} {
			if k < 0 || k >= n {
				continue
			}
			if _, err := ParseRequest(data[:k], &req2, -1, DefaultMaxHeaders); err != ErrIncomplete {
				t.Fatalf("prefix %d: %v", k, err)
			}
		}
		// Where net/http also accepts the request, it must agree.
		hr, err := http.ReadRequest(bufio.NewReader(bytes.NewReader(data[:n])))
		if err == nil {
			if hr.Method != string(req.Method) || hr.RequestURI != string(req.URI) || hr.ProtoMinor != req.ProtoMinor {
				t.Fatalf("net/http: %q %q %d", hr.Method, hr.RequestURI, hr.ProtoMinor)
			}
			if req.ContentLength > 0 && hr.ContentLength != req.ContentLength {
				t.Fatalf("net/http Content-Length %d, ours %d", hr.ContentLength, req.ContentLength)
			}
			if req.Chunked != (len(hr.TransferEncoding) > 0) {
				t.Fatalf("net/http chunked %v, ours %v", hr.TransferEncoding, req.Chunked)
			}
			if req.Host != nil && hr.Host != string(req.Host) {
				t.Fatalf("net/http Host %q, ours %q", hr.Host, req.Host)
			}
		}
	})
}

func FuzzDecodeChunked(f *testing.F) {
	for _, s := range []string{
		"5\r\nhello\r\n0\r\n\r\n",
		"5\r\nhello\r\n6\r\n world\r\n0\r\n\r\n",
		"5;foo=bar\r\nhello\r\n0;x\r\n\r\n",
		"5\r\nhello\r\n0\r\nX-T: 1\r\nY: 2\r\n\r\n",
		"0\r\n\r\nGET / HTTP/1.1\r\n\r\n",
		"ffffff\r\nab",
		"5\nhello\n0\n\n",
	} {
		f.Add([]byte(s), 100)
	}
	f.Add([]byte("5\r\nhello\r\n0\r\n\r\n"), -1)
	f.Add([]byte("5\r\nhello\r\n0\r\n\r\n"), 4)
	f.Fuzz(func(t *testing.T, data []byte, max int) {
		out, n, err := DecodeChunked([]byte("pre"), data, max)
		if err != nil {
			if n != 0 || string(out) != "pre" {
				t.Fatalf("error %v with n=%d out=%q", err, n, out)
			}
			if err != ErrIncomplete && !errors.Is(err, ErrBadChunk) && !errors.Is(err, ErrBodyTooLarge) {
				t.Fatalf("unexpected error %v", err)
			}
			return
		}
		body := out[3:]
		if n <= 0 || n > len(data) || (max >= 0 && len(body) > max) || len(body) > n {
			t.Fatalf("n = %d, len = %d, body %d, max %d", n, len(data), len(body), max)
		}
		if !bytes.HasSuffix(data[:n], []byte("\r\n\r\n")) && !bytes.HasSuffix(data[:n], []byte("0\r\n\r\n")) {
			t.Fatalf("body does not end in CRLF CRLF: %q", data[:n])
		}
		for _, k := range []int{0, 1, n / 2, n - 2, n - 1} {
			if k < 0 || k >= n {
				continue
			}
			if _, _, err := DecodeChunked(nil, data[:k], max); err != ErrIncomplete {
				t.Fatalf("prefix %d: %v", k, err)
			}
		}
		// Where net/http's chunked reader accepts the body, the data agree.
		ref, err := io.ReadAll(httputil.NewChunkedReader(bytes.NewReader(data[:n])))
		if err == nil && !bytes.Equal(ref, body) {
			t.Fatalf("net/http decodes %q, ours %q", ref, body)
		}
		// Re-encoding the data as one chunk decodes to the same.
		re := appendHex(nil, len(body))
		re = append(re, "\r\n"...)
		re = append(re, body...)
		re = append(re, "\r\n0\r\n\r\n"...)
		if len(body) == 0 {
			re = []byte("0\r\n\r\n")
		}
		out2, n2, err := DecodeChunked(nil, re, max)
		if err != nil || n2 != len(re) || !bytes.Equal(out2, body) {
			t.Fatalf("re-encoded: %q %d %v", out2, n2, err)
		}
	})
}

// appendHex appends n in lower-case hex (a test helper for chunk sizes).
func appendHex(dst []byte, n int) []byte {
	if n == 0 {
		return append(dst, '0')
	}
	var buf [16]byte
	i := len(buf)
	for n > 0 {
		i--
		buf[i] = hexDigits[n&0xf]
		n >>= 4
	}
	return append(dst, buf[i:]...)
}

func FuzzQueryValue(f *testing.F) {
	f.Add("EIO=4&transport=polling&t=abc", "transport")
	f.Add("b64&EIO=4", "b64")
	f.Add("a=x%20y+z&a=2", "a")
	f.Add("=1&&", "")
	f.Add("a=%zz", "a")
	f.Fuzz(func(t *testing.T, q, key string) {
		v, ok := QueryValue([]byte(q), key)
		// Reference: split by hand.
		var want string
		found := false
		for _, pair := range strings.Split(q, "&") {
			if pair == "" {
				continue
			}
			k, val, _ := strings.Cut(pair, "=")
			if k == key {
				want, found = val, true
				break
			}
		}
		if ok != found || string(v) != want || (ok && v == nil) {
			t.Fatalf("QueryValue(%q, %q) = %q %v, want %q %v", q, key, v, ok, want, found)
		}
		// AppendUnescape agrees with net/url.QueryUnescape.
		got, err := AppendUnescape([]byte("pre"), []byte(q))
		ref, refErr := url.QueryUnescape(q)
		if (err == nil) != (refErr == nil) {
			t.Fatalf("AppendUnescape(%q) err %v, net/url %v", q, err, refErr)
		}
		if err == nil && string(got) != "pre"+ref {
			t.Fatalf("AppendUnescape(%q) = %q, net/url %q", q, got[3:], ref)
		}
		if err != nil && (string(got) != "pre" || !errors.Is(err, ErrBadEscape)) {
			t.Fatalf("AppendUnescape(%q) on error: %q %v", q, got, err)
		}
	})
}

func FuzzHeaderLists(f *testing.F) {
	f.Add([]byte("permessage-deflate; client_max_window_bits"), "gzip")
	f.Add([]byte(`x, permessage-deflate; client_max_window_bits="10"; server_no_context_takeover`), "upgrade")
	f.Add([]byte("gzip;q=0, *;q=0.5, br"), "br")
	f.Add([]byte(`"a,b", c;q=0.000`), "c")
	f.Fuzz(func(t *testing.T, v []byte, token string) {
		lv := strings.ToLower(string(v))
		if NegotiateDeflate(v) && !strings.Contains(lv, "permessage-deflate") {
			t.Fatalf("NegotiateDeflate(%q) without an offer", v)
		}
		if strings.Contains(lv, "server_max_window_bits") && !strings.Contains(lv, ",") && NegotiateDeflate(v) {
			t.Fatalf("NegotiateDeflate(%q) accepted server_max_window_bits", v)
		}
		if HeaderContainsToken(v, token) && !strings.Contains(lv, strings.ToLower(token)) {
			t.Fatalf("HeaderContainsToken(%q, %q)", v, token)
		}
		if token != "" && token != "identity" && AcceptsEncoding(v, token) &&
			!strings.Contains(lv, strings.ToLower(token)) && !strings.Contains(lv, "*") {
			t.Fatalf("AcceptsEncoding(%q, %q)", v, token)
		}
		// Adding an element never removes one (unless v ends inside a
		// quoted string, which then swallows the addition).
		if bytes.IndexByte(v, '"') < 0 && HeaderContainsToken(v, token) && !HeaderContainsToken(append(append([]byte{}, v...), ", x"...), token) {
			t.Fatalf("appending an element lost %q", token)
		}
	})
}

func FuzzParseFrameHeader(f *testing.F) {
	f.Add([]byte{0x81, 0x85, 1, 2, 3, 4, 'h', 'e', 'l', 'l', 'o'}, false, false)
	f.Add([]byte{0x01, 0xfe, 0x01, 0x00, 1, 2, 3, 4}, false, true)
	f.Add([]byte{0x80, 0xff, 0, 0, 0, 1, 0, 0, 0, 0, 1, 2, 3, 4}, true, false)
	f.Add([]byte{0x82, 0xff, 0x80, 0, 0, 0, 0, 0, 0, 1, 1, 2, 3, 4}, false, false)
	f.Add([]byte{0xc1, 0x80, 1, 2, 3, 4}, false, true)
	f.Add([]byte{0x89, 0xfe, 0x00, 0x7e, 1, 2, 3, 4}, true, false)
	f.Add([]byte{0x08, 0x80, 1, 2, 3, 4}, false, false)
	f.Fuzz(func(t *testing.T, data []byte, inFrag, rsv1OK bool) {
		h, n, err := ParseFrameHeader(data)
		if err == ErrIncomplete {
			if n != 0 {
				t.Fatalf("incomplete with n=%d", n)
			}
			if len(data) >= 14 {
				t.Fatalf("incomplete with %d bytes", len(data))
			}
			return
		}
		if err != nil && err != ErrBadLength {
			t.Fatalf("unexpected error %v", err)
		}
		if n < 2 || n > 14 || n > len(data) || (err == ErrBadLength) != (h.Length < 0) {
			t.Fatalf("n=%d len=%d h=%+v err=%v", n, len(data), h, err)
		}
		for k := 0; k < n; k++ {
			if _, _, err := ParseFrameHeader(data[:k]); err != ErrIncomplete {
				t.Fatalf("prefix %d: %v", k, err)
			}
		}
		// gobwas/ws reads the same header.
		if rh, rerr := ws.ReadHeader(bytes.NewReader(data)); rerr == nil && err == nil && rh != h {
			t.Fatalf("ws.ReadHeader %+v, ours %+v", rh, h)
		}
		cerr := CheckClientFrame(h, inFrag, rsv1OK)
		if cerr != nil {
			var pe *ProtocolError
			if !errors.As(cerr, &pe) || CloseCodeFor(cerr) != ws.StatusProtocolError {
				t.Fatalf("CheckClientFrame error %v is not a 1002 ProtocolError", cerr)
			}
		} else {
			ok := h.Masked && h.Length >= 0 && !h.OpCode.IsReserved() &&
				(h.Rsv == 0 || (h.Rsv == 4 && rsv1OK && (h.OpCode == ws.OpText || h.OpCode == ws.OpBinary)))
			if h.OpCode.IsControl() {
				ok = ok && h.Fin && h.Length <= 125
			} else {
				ok = ok && (h.OpCode == ws.OpContinuation) == inFrag
			}
			if !ok {
				t.Fatalf("CheckClientFrame accepted %+v (inFrag=%v rsv1OK=%v)", h, inFrag, rsv1OK)
			}
		}
		if err != nil {
			return
		}
		// Round trip through AppendFrameHeader (which writes unmasked
		// headers and only RSV1).
		enc := AppendFrameHeader(nil, h.Fin, h.OpCode, h.Rsv1(), int(h.Length))
		h2, n2, err := ParseFrameHeader(enc)
		if err != nil || n2 != len(enc) || h2.Fin != h.Fin || h2.OpCode != h.OpCode || h2.Rsv1() != h.Rsv1() ||
			h2.Rsv2() || h2.Rsv3() || h2.Masked || h2.Length != h.Length {
			t.Fatalf("round trip %+v -> %x -> %+v %v", h, enc, h2, err)
		}
		if !h.Masked && h.Rsv&3 == 0 && n == len(enc) && !bytes.Equal(enc, data[:n]) {
			t.Fatalf("minimal encoding differs: %x vs %x", enc, data[:n])
		}
	})
}

func FuzzParseClosePayload(f *testing.F) {
	f.Add([]byte{})
	f.Add([]byte{0x03})
	f.Add([]byte{0x03, 0xe8, 'o', 'k'})
	f.Add([]byte{0x03, 0xed})
	f.Add([]byte{0x0f, 0xa0, 0xce, 0xba, 0xe1, 0xbd})
	f.Add(append([]byte{0x13, 0x87}, strings.Repeat("€", 50)...))
	f.Fuzz(func(t *testing.T, p []byte) {
		code, reason, err := ParseClosePayload(p)
		switch {
		case len(p) == 0:
			if err != nil || code != ws.StatusNoStatusRcvd || reason != nil {
				t.Fatalf("empty: %d %q %v", code, reason, err)
			}
			return
		case len(p) == 1:
			if err != ErrBadClosePayload {
				t.Fatalf("1 byte: %v", err)
			}
			return
		}
		if err != nil {
			var pe *ProtocolError
			if !errors.As(err, &pe) {
				t.Fatalf("error %v is not a ProtocolError", err)
			}
			if ValidCloseCode(code) && utf8.Valid(p[2:]) {
				t.Fatalf("rejected a valid payload: %v", err)
			}
			return
		}
		if !ValidCloseCode(code) || !utf8.Valid(reason) || !within(reason, p) || len(reason) != len(p)-2 {
			t.Fatalf("accepted %d %q", code, reason)
		}
		// Round trip through AppendCloseFrame.
		fr := AppendCloseFrame(nil, code, string(reason))
		h, n, err := ParseFrameHeader(fr)
		if err != nil || h.OpCode != ws.OpClose || !h.Fin || h.Length > 125 || int(h.Length) != len(fr)-n {
			t.Fatalf("AppendCloseFrame header %+v %v", h, err)
		}
		code2, reason2, err := ParseClosePayload(fr[n:])
		if err != nil || code2 != code || !bytes.HasPrefix(reason, reason2) || (len(reason) <= 123 && len(reason2) != len(reason)) {
			t.Fatalf("close round trip: %d %q -> %d %q %v", code, reason, code2, reason2, err)
		}
	})
}

func FuzzDecodeRecord(f *testing.F) {
	f.Add([]byte("4hello\x1ebAQIDBA==\x1e2\x1eb"))
	f.Add([]byte("4a\x1e\x1e4b"))
	f.Add([]byte(""))
	f.Add([]byte("\x1e"))
	f.Add([]byte("bAQID!A==\x1e6"))
	f.Add([]byte("b\r\nAQ==\x1e0{}"))
	f.Add([]byte("42[\"hello\",1]\x1e451-[\"a\",{\"_placeholder\":true,\"num\":0}]\x1ebAA=="))
	f.Fuzz(func(t *testing.T, payload []byte) {
		var recs [][]byte
		scratch := make([]byte, 0, 8)
		for rest := payload; rest != nil; {
			var r []byte
			r, rest = NextRecord(rest)
			if bytes.IndexByte(r, RecordSeparator) >= 0 || !within(r, payload) {
				t.Fatalf("record %q", r)
			}
			recs = append(recs, r)
			before := string(scratch)
			typ, data, binary, ns, err := DecodeRecord(r, scratch)
			if err != nil {
				if !errors.Is(err, ErrBadPacket) || string(ns) != before {
					t.Fatalf("record %q: %v, scratch %q", r, err, ns)
				}
				continue
			}
			if typ > EIONoop {
				t.Fatalf("type %d", typ)
			}
			if binary {
				if typ != EIOMessage || r[0] != 'b' || string(ns[:len(before)]) != before || !within(data, ns) ||
					len(data) != len(ns)-len(before) {
					t.Fatalf("binary record %q: %v %q %q", r, typ, data, ns)
				}
				ref, rerr := base64.StdEncoding.DecodeString(string(r[1:]))
				if rerr != nil || !bytes.Equal(ref, data) {
					t.Fatalf("binary record %q: ours %q, encoding/base64 %q %v", r, data, ref, rerr)
				}
				enc := AppendPollingBinary(nil, data)
				_, data2, bin2, _, err := DecodeRecord(enc, nil)
				if err != nil || !bin2 || !bytes.Equal(data2, data) {
					t.Fatalf("binary round trip %q", data)
				}
				scratch = ns
			} else {
				if string(ns) != before || !within(data, r) || len(data) != len(r)-1 {
					t.Fatalf("text record %q: %q", r, data)
				}
				if got := AppendPacket(nil, typ, data); !bytes.Equal(got, r) {
					t.Fatalf("text round trip %q -> %q", r, got)
				}
			}
		}
		if joined := bytes.Join(recs, []byte{RecordSeparator}); !bytes.Equal(joined, payload) {
			t.Fatalf("records %q do not rebuild %q", recs, payload)
		}
	})
}

func FuzzDecodeSIOPacket(f *testing.F) {
	for _, s := range []string{
		"0", `0/admin,{"token":"123"}`, `2["hello",1]`, `2/admin,456["project:delete",123]`, `3/admin,456[]`,
		`51-["hello",{"_placeholder":true,"num":0}]`, `61-/admin,456[{"_placeholder":true,"num":0}]`,
		"1/custom", "4abc", "2abc[]", `2/,1[]`, "21234567890123456[]", "5-[]", "50-/a",
	} {
		f.Add([]byte(s), uint8(10))
	}
	f.Fuzz(func(t *testing.T, data []byte, maxAtt uint8) {
		p, err := DecodeSIOPacket(data, int(maxAtt))
		if err != nil {
			if !errors.Is(err, ErrBadSIOPacket) {
				t.Fatalf("unexpected error %v", err)
			}
			return
		}
		if p.Type > SIOBinaryAck || p.Attachments < 0 || p.Attachments > int(maxAtt) ||
			(!p.Type.IsBinary() && p.Attachments != 0) || p.AckID < -1 || p.AckID >= 1e15 ||
			len(p.Namespace) == 0 || p.Namespace[0] != '/' || bytes.IndexByte(p.Namespace, ',') >= 0 {
			t.Fatalf("bad packet %+v", p)
		}
		if !within(p.Data, data) || (string(p.Namespace) != "/" && !within(p.Namespace, data)) {
			t.Fatalf("slices outside the input")
		}
		if p.AckID < 0 && len(p.Data) > 0 && p.Data[0] >= '0' && p.Data[0] <= '9' {
			t.Fatalf("data starts with a digit but no ack id: %q", data)
		}
		// Round trip through AppendSIOHeader. The one ambiguity of the
		// format: an explicit "/" namespace before data starting with '/'.
		if string(p.Namespace) == "/" && len(p.Data) > 0 && p.Data[0] == '/' {
			return
		}
		enc := AppendSIOHeader(nil, p.Type, p.Attachments, string(p.Namespace), p.AckID)
		enc = append(enc, p.Data...)
		q, err := DecodeSIOPacket(enc, int(maxAtt))
		if err != nil || q.Type != p.Type || q.Attachments != p.Attachments || !bytes.Equal(q.Namespace, p.Namespace) ||
			q.AckID != p.AckID || !bytes.Equal(q.Data, p.Data) {
			t.Fatalf("round trip %q -> %q: %+v vs %+v %v", data, enc, p, q, err)
		}
	})
}

func FuzzScanJSONValue(f *testing.F) {
	for _, s := range []string{
		`["hello",1]`, ` {"a":[1,2,{"b":null}],"c":"\u00e9\ud83d\ude00"} `, `-12.5e+3`, `"\ud800"`,
		`[1,]`, `{"a"}`, "\"\xff\"", `[{"_placeholder":true,"num":0}]`, `{"num":3,"_placeholder":true}`,
		strings.Repeat("[", 70) + strings.Repeat("]", 70), `tru`, `01`, `[1][2]`,
	} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		n, err := ScanJSONValue(data)
		whole := err == nil && skipWS(data, n) == len(data)
		valid := json.Valid(data)
		if err != nil {
			var se *SyntaxError
			if !errors.As(err, &se) || !errors.Is(err, ErrInvalidJSON) || se.Offset < 0 || se.Offset > len(data) {
				t.Fatalf("error %v", err)
			}
			if valid && !errors.Is(err, ErrJSONTooDeep) && se.Msg != "invalid UTF-8 in string" {
				t.Fatalf("encoding/json accepts %q, ours: %v", data, err)
			}
		} else {
			if n <= 0 || n > len(data) {
				t.Fatalf("n = %d", n)
			}
			if n2, err := ScanJSONValue(data[:n]); n2 != n || err != nil {
				t.Fatalf("value alone: %d %v", n2, err)
			}
			if !json.Valid(data[:n]) {
				t.Fatalf("encoding/json rejects %q", data[:n])
			}
		}
		if whole != ValidJSON(data) || (whole && !valid) {
			t.Fatalf("whole=%v ValidJSON=%v json.Valid=%v", whole, ValidJSON(data), valid)
		}

		elems, aerr := ArrayElements(nil, data)
		if aerr == nil {
			if !whole || data[skipWS(data, 0)] != '[' {
				t.Fatalf("ArrayElements accepted %q", data)
			}
			var rebuilt []byte
			rebuilt = append(rebuilt, '[')
			for i, e := range elems {
				if m, err := ScanJSONValue(e); err != nil || m != len(e) || len(e) == 0 || !within(e, data) {
					t.Fatalf("element %q", e)
				}
				if i > 0 {
					rebuilt = append(rebuilt, ',')
				}
				rebuilt = append(rebuilt, e...)
			}
			rebuilt = append(rebuilt, ']')
			var a, b []json.RawMessage
			if json.Unmarshal(data, &a) != nil || json.Unmarshal(rebuilt, &b) != nil || len(a) != len(elems) || len(b) != len(a) {
				t.Fatalf("rebuilt array %q differs", rebuilt)
			}
		} else if whole && data[skipWS(data, 0)] == '[' {
			t.Fatalf("ArrayElements rejected a valid array %q: %v", data, aerr)
		} else if len(elems) != 0 {
			t.Fatalf("elements on error")
		}

		if num, ok := ParsePlaceholder(data); ok {
			var m map[string]any
			if !whole || json.Unmarshal(data, &m) != nil || m["_placeholder"] != true || m["num"] != float64(num) {
				t.Fatalf("ParsePlaceholder(%q) = %d, encoding/json sees %v", data, num, m)
			}
		}
	})
}

func FuzzAppendUnquote(f *testing.F) {
	for _, s := range []string{
		`""`, `"hello"`, `"a\"b\\c\/d"`, `"\uD83D\uDE00"`, `"\ud800\u0041"`, "\"a\xffb\"", `"\"`, `"a"b"`,
		`"\ud800\ud800\udc00"`, `"\u12"`, "\"\x01\"",
	} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, raw []byte) {
		out, err := AppendUnquote([]byte("pre"), raw)
		var ref string
		refErr := json.Unmarshal(raw, &ref)
		simple := len(raw) >= 2 && raw[0] == '"' && raw[len(raw)-1] == '"'
		if err != nil {
			if string(out) != "pre" || !errors.Is(err, ErrInvalidJSON) {
				t.Fatalf("on error: %q %v", out, err)
			}
			if refErr == nil && simple {
				t.Fatalf("encoding/json accepts %q as %q, ours: %v", raw, ref, err)
			}
			return
		}
		s := out[3:]
		if refErr != nil || ref != string(s) {
			t.Fatalf("AppendUnquote(%q) = %q, encoding/json %q %v", raw, s, ref, refErr)
		}
		if !utf8.Valid(s) {
			t.Fatalf("AppendUnquote(%q) not UTF-8", raw)
		}
		// Round trip through AppendJSONString.
		q := AppendJSONString(nil, string(s))
		back, err := AppendUnquote(nil, q)
		if err != nil || !bytes.Equal(back, s) {
			t.Fatalf("round trip %q -> %s -> %q %v", s, q, back, err)
		}
		if n, err := ScanJSONValue(q); err != nil || n != len(q) {
			t.Fatalf("AppendJSONString(%q) = %s not scannable: %v", s, q, err)
		}
	})
}

func FuzzAppendJSONString(f *testing.F) {
	for _, s := range []string{"", "hello", `a"b\c`, "<&>", "\x00\x1f\x7f", "héllo €😀", "a\xffb", "\u2028", "\xed\xa0\x80"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		q := AppendJSONString([]byte("pre"), s)[3:]
		if !utf8.Valid(q) {
			t.Fatalf("AppendJSONString(%q) = %q not UTF-8", s, q)
		}
		if n, err := ScanJSONValue(q); err != nil || n != len(q) {
			t.Fatalf("AppendJSONString(%q) = %s: %v", s, q, err)
		}
		var ref string
		if err := json.Unmarshal(q, &ref); err != nil {
			t.Fatalf("encoding/json rejects %s: %v", q, err)
		}
		want := []rune{}
		for i := 0; i < len(s); {
			r, size := utf8.DecodeRuneInString(s[i:])
			want = append(want, r)
			i += size
		}
		if ref != string(want) {
			t.Fatalf("AppendJSONString(%q) decodes to %q", s, ref)
		}
		back, err := AppendUnquote(nil, q)
		if err != nil || string(back) != ref {
			t.Fatalf("AppendUnquote(%s) = %q %v", q, back, err)
		}
		if bytes.ContainsAny(q, "\x00\n\r") || (strings.ContainsAny(s, "<>&") && !bytes.ContainsAny(q, "<>&")) {
			t.Fatalf("escaping of %q: %s", s, q)
		}
	})
}
