package codec

import (
	"bytes"
	"encoding/json"
	"errors"
	"regexp"
	"strings"
	"testing"
	"unicode/utf16"
	"unicode/utf8"
)

func TestUTF16Len(t *testing.T) {
	for _, c := range []struct {
		s    string
		want int
	}{
		{"", 0},
		{"abc", 3},
		{"€", 1},
		{"é", 1},
		{"😀", 2},
		// the note's example: 20 units, 23 bytes, 19 code points
		{`42["chat","café 😀"]`, 20},
		{"\xff", 1},
		{"a\xe2\x82", 3}, // a truncated sequence: one U+FFFD per byte, as Go decodes it
	} {
		if got := UTF16Len([]byte(c.s)); got != c.want {
			t.Errorf("UTF16Len(%q) = %d, want %d", c.s, got, c.want)
		}
		if utf8.ValidString(c.s) {
			if js := len(utf16.Encode([]rune(c.s))); js != c.want {
				t.Errorf("test case %q: JavaScript length %d, want %d", c.s, js, c.want)
			}
		}
	}
}

func TestV3RecordEncoding(t *testing.T) {
	for _, c := range []struct {
		typ    EIOType
		data   string
		binary bool
		want   string
	}{
		{EIOMessage, "hello", false, "6:4hello"},
		{EIOPong, "", false, "1:3"},
		{EIONoop, "", false, "1:6"},
		{EIOMessage, "€", false, "2:4€"}, // the v4 README's example
		{EIOMessage, `2["chat","café 😀"]`, false, `20:42["chat","café 😀"]`},
		{EIOMessage, "\x01\x02\x03\x04", true, "10:b4AQIDBA=="}, // from the v3 test suite
		{EIOMessage, "\x01\x02\x03", true, "6:b4AQID"},
		{EIOMessage, "", true, "2:b4"},
	} {
		var got []byte
		if c.binary {
			got = AppendV3BinaryRecord(nil, c.typ, []byte(c.data))
		} else {
			got = AppendV3Record(nil, c.typ, []byte(c.data))
		}
		if string(got) != c.want {
			t.Errorf("record of %q = %q, want %q", c.data, got, c.want)
		}
		if n := V3RecordLen([]byte(c.data), c.binary); n < len(got) {
			t.Errorf("V3RecordLen(%q) = %d < %d", c.data, n, len(got))
		}
	}
}

type v3pkt struct {
	typ    EIOType
	data   string
	binary bool
}

func decodeV3Payload(payload []byte) ([]v3pkt, error) {
	if len(payload) == 0 {
		return nil, errV3Length
	}
	var out []v3pkt
	for rest := payload; len(rest) > 0; {
		var rec []byte
		var err error
		rec, rest, err = NextV3Record(rest)
		if err != nil {
			return out, err
		}
		if len(rec) == 0 {
			continue
		}
		typ, data, bin, _, err := DecodeV3Record(rec, nil)
		if err != nil {
			return out, err
		}
		out = append(out, v3pkt{typ, string(data), bin})
	}
	return out, nil
}

func TestV3PayloadDecoding(t *testing.T) {
	for _, c := range []struct {
		in   string
		want []v3pkt
		err  bool
	}{
		{in: "6:4hello", want: []v3pkt{{EIOMessage, "hello", false}}},
		{in: "6:4test16:4test26:4test3", want: []v3pkt{{EIOMessage, "test1", false}, {EIOMessage, "test2", false}, {EIOMessage, "test3", false}}},
		{in: "6:4hello10:b4AQIDBA==", want: []v3pkt{{EIOMessage, "hello", false}, {EIOMessage, "\x01\x02\x03\x04", true}}},
		{in: "1:2", want: []v3pkt{{EIOPing, "", false}}},
		{in: "1:1", want: []v3pkt{{EIOClose, "", false}}},
		{in: "0:", want: nil},
		{in: "0:1:2", want: []v3pkt{{EIOPing, "", false}}},
		{in: "2:4€", want: []v3pkt{{EIOMessage, "€", false}}},
		{in: `20:42["chat","café 😀"]1:2`, want: []v3pkt{{EIOMessage, `2["chat","café 😀"]`, false}, {EIOPing, "", false}}},
		{in: "8:b4AQIDBA", want: []v3pkt{{EIOMessage, "\x01\x02\x03\x04", true}}}, // unpadded
		{in: "", err: true},
		{in: "abc", err: true},
		{in: ":4", err: true},
		{in: "6", err: true},
		{in: "6:4hell", err: true},
		{in: "2:4😀", err: true},      // ends inside the surrogate pair
		{in: "6:4hello:", err: true}, // trailing garbage
		{in: "1:9", err: true},
		{in: "3:b4!", err: true},
		{in: "2:b9", err: true},
		{in: "99999999999:4", err: true},
	} {
		got, err := decodeV3Payload([]byte(c.in))
		if c.err {
			if err == nil {
				t.Errorf("%q: decoded %v, want an error", c.in, got)
			} else if !errors.Is(err, ErrBadPacket) {
				t.Errorf("%q: error %v does not wrap ErrBadPacket", c.in, err)
			}
			continue
		}
		if err != nil {
			t.Errorf("%q: %v", c.in, err)
			continue
		}
		if len(got) != len(c.want) {
			t.Errorf("%q: got %v, want %v", c.in, got, c.want)
			continue
		}
		for i := range got {
			if got[i] != c.want[i] {
				t.Errorf("%q: packet %d = %v, want %v", c.in, i, got[i], c.want[i])
			}
		}
	}
}

func TestXHR2Payload(t *testing.T) {
	// The v3 test suite's expected answer: "hello" then binary 01 02 03 04.
	var b []byte
	b = AppendXHR2Text(b, EIOMessage, []byte("hello"))
	b = AppendXHR2Binary(b, EIOMessage, []byte{1, 2, 3, 4})
	want := []byte{0, 6, 255, 52, 104, 101, 108, 108, 111, 1, 5, 255, 4, 1, 2, 3, 4}
	if !bytes.Equal(b, want) {
		t.Fatalf("payload % x, want % x", b, want)
	}
	// The note's example: a 44-byte text packet (two length digits).
	text := `451-["img",{"_placeholder":true,"num":0}]`
	b = AppendXHR2Text(nil, EIOMessage, []byte(text[1:]))
	if !bytes.Equal(b[:4], []byte{0, 4, 1, 0xff}) || string(b[4:]) != text {
		t.Fatalf("text packet % x", b)
	}
	big := bytes.Repeat([]byte{7}, 12345)
	b = AppendXHR2Binary(nil, EIOMessage, big)
	if !bytes.Equal(b[:8], []byte{1, 1, 2, 3, 4, 6, 0xff, 4}) || len(b) != 8+len(big) {
		t.Fatalf("binary packet header % x", b[:8])
	}
	if n := XHR2RecordLen(big); n < len(b) {
		t.Fatalf("XHR2RecordLen = %d < %d", n, len(b))
	}

	pkt, text2, rest, err := NextXHR2Packet(want)
	if err != nil || !text2 || string(pkt) != "4hello" {
		t.Fatalf("first packet %q %v %v", pkt, text2, err)
	}
	pkt, text2, rest, err = NextXHR2Packet(rest)
	if err != nil || text2 || !bytes.Equal(pkt, []byte{4, 1, 2, 3, 4}) || len(rest) != 0 {
		t.Fatalf("second packet % x %v %q %v", pkt, text2, rest, err)
	}
	typ, data, err := DecodeV3Binary(pkt)
	if err != nil || typ != EIOMessage || !bytes.Equal(data, []byte{1, 2, 3, 4}) {
		t.Fatalf("DecodeV3Binary = %v % x %v", typ, data, err)
	}
	for _, bad := range [][]byte{
		{},
		{2, 1, 0xff, 4},
		{0, 0xff, 4},
		{0, 1},
		{0, 10, 0xff, 4},
		{0, 5, 0xff, '4', 'a'},
		{1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 0xff},
	} {
		if _, _, _, err := NextXHR2Packet(bad); !errors.Is(err, ErrBadPacket) {
			t.Errorf("NextXHR2Packet(% x): err %v", bad, err)
		}
	}
	for _, bad := range [][]byte{{}, {7, 1}, {0xff}} {
		if _, _, err := DecodeV3Binary(bad); !errors.Is(err, ErrBadPacket) {
			t.Errorf("DecodeV3Binary(% x): err %v", bad, err)
		}
	}
}

func TestAppendJSONP(t *testing.T) {
	got := AppendJSONP(nil, []byte("1a2"), []byte("6:4hello"))
	if string(got) != `___eio[12]("6:4hello");` {
		t.Fatalf("got %s", got)
	}
	payload := "4\"quoted\" back\\slash\nnl\ttab\x01 \u2028\u2029 é 😀 </script>"
	got = AppendJSONP(nil, []byte("0"), []byte(payload))
	want := `___eio[0]("4\"quoted\" back\\slash\nnl\ttab\u0001 \u2028\u2029 é 😀 </script>");`
	if string(got) != want {
		t.Fatalf("got  %s\nwant %s", got, want)
	}
}

func TestDecodeJSONPBody(t *testing.T) {
	for _, c := range []struct {
		body, want string
		ok         bool
	}{
		{"d=6%3A4hello", "6:4hello", true},
		{"d=6:4hello", "6:4hello", true},
		{"x=1&d=a+b%20c&y", "a b c", true},
		{"%64=1", "1", true},
		{"d=%zz%4", "%zz%4", true},
		{`d=a\nb`, "a\nb", true},
		{`d=a\\nb`, `a\nb`, true},
		{"", "", false},
		{"e=1", "", false},
		{"d=1&d=2", "", false},
	} {
		got, ok := DecodeJSONPBody(nil, []byte(c.body))
		if ok != c.ok || (ok && string(got) != c.want) {
			t.Errorf("DecodeJSONPBody(%q) = %q, %v; want %q, %v", c.body, got, ok, c.want, c.ok)
		}
	}
}

// ---- fuzz ----

// jsV3Split is the reference's decodePayload, over UTF-16 code units.
func jsV3Split(payload string) (records []string, ok bool) {
	units := utf16.Encode([]rune(payload))
	for i := 0; i < len(units); {
		j := i
		n := 0
		for j < len(units) && units[j] != ':' {
			if units[j] < '0' || units[j] > '9' || j-i >= maxV3LengthDigits {
				return nil, false
			}
			n = n*10 + int(units[j]-'0')
			j++
		}
		if j == i || j == len(units) || j+1+n > len(units) {
			return nil, false
		}
		records = append(records, string(utf16.Decode(units[j+1:j+1+n])))
		i = j + 1 + n
	}
	return records, len(units) > 0
}

func FuzzV3Payload(f *testing.F) {
	for _, s := range []string{
		"6:4hello", "6:4test16:4test26:4test3", "6:4hello10:b4AQIDBA==", "1:2", "0:", "0:1:2",
		`20:42["chat","café 😀"]1:2`, "2:4😀", "3:4😀", "8:b4AQIDBA", "abc", "6:4hell", "1:b", "4:b4AQ",
	} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, payload []byte) {
		pkts, err := decodeV3Payload(payload)
		if err != nil {
			if !errors.Is(err, ErrBadPacket) {
				t.Fatalf("error %v does not wrap ErrBadPacket", err)
			}
		} else {
			// Encoding what was decoded and decoding that gives it back.
			var enc []byte
			for _, p := range pkts {
				if p.binary {
					enc = AppendV3BinaryRecord(enc, p.typ, []byte(p.data))
				} else {
					enc = AppendV3Record(enc, p.typ, []byte(p.data))
				}
			}
			if len(enc) == 0 {
				enc = []byte("0:")
			}
			again, err := decodeV3Payload(enc)
			if err != nil || len(again) != len(pkts) {
				t.Fatalf("re-encoded %q: %v %v, want %v", enc, again, err, pkts)
			}
			for i := range again {
				if again[i] != pkts[i] {
					t.Fatalf("re-encoded packet %d = %v, want %v", i, again[i], pkts[i])
				}
			}
		}
		// The splitting agrees with the reference's, over UTF-16 units, on
		// valid UTF-8 (where both read the same text).
		if !utf8.Valid(payload) {
			return
		}
		want, jsOK := jsV3Split(string(payload))
		var got []string
		ok := len(payload) > 0
		for rest := payload; ok && len(rest) > 0; {
			var rec []byte
			var err error
			rec, rest, err = NextV3Record(rest)
			if err != nil {
				ok = false
				break
			}
			got = append(got, string(rec))
		}
		if jsOK && !ok {
			// Only a length ending inside a surrogate pair is refused where
			// JavaScript would cut the pair (and hand on a lone surrogate).
			for _, r := range want {
				if strings.ContainsRune(r, utf8.RuneError) {
					return
				}
			}
			t.Fatalf("%q: the reference splits it into %q, NextV3Record fails", payload, want)
		}
		if ok && (!jsOK || strings.Join(got, "\x00") != strings.Join(want, "\x00")) {
			t.Fatalf("%q: NextV3Record gives %q, the reference %q (%v)", payload, got, want, jsOK)
		}
	})
}

func FuzzXHR2Payload(f *testing.F) {
	for _, b := range [][]byte{
		{0, 6, 255, 52, 104, 101, 108, 108, 111, 1, 5, 255, 4, 1, 2, 3, 4},
		{0, 1, 255, '2'},
		{1, 0, 255},
		{0, 0, 6, 255, 52, 104, 101, 108, 108, 111},
		{2, 1, 255, 0},
		{0, 9, 9, 9, 9, 9, 9, 9, 9, 9, 9, 9, 255},
	} {
		f.Add(b)
	}
	f.Fuzz(func(t *testing.T, payload []byte) {
		type pkt struct {
			text bool
			b    string
		}
		var pkts []pkt
		for rest := payload; len(rest) > 0; {
			p, text, r, err := NextXHR2Packet(rest)
			if err != nil {
				if !errors.Is(err, ErrBadPacket) {
					t.Fatalf("error %v does not wrap ErrBadPacket", err)
				}
				return
			}
			if len(r) >= len(rest) || !within(p, payload) {
				t.Fatalf("no progress or packet outside the payload")
			}
			rest = r
			pkts = append(pkts, pkt{text, string(p)})
			if text {
				_, _, _ = DecodePacket(p)
			} else {
				_, _, _ = DecodeV3Binary(p)
			}
		}
		// Re-encoding what was split gives the payload back, but for
		// leading zeros in a length.
		var enc []byte
		for _, p := range pkts {
			flag := byte(1)
			if p.text {
				flag = 0
			}
			enc = append(enc, flag)
			enc = appendXHR2Length(enc, len(p.b))
			enc = append(enc, p.b...)
		}
		if len(enc) > len(payload) {
			t.Fatalf("re-encoded %d bytes from %d", len(enc), len(payload))
		}
		for i, rest := 0, enc; len(rest) > 0; i++ {
			p, text, r, err := NextXHR2Packet(rest)
			if err != nil || text != pkts[i].text || string(p) != pkts[i].b {
				t.Fatalf("re-encoded packet %d: %q %v %v, want %v", i, p, text, err, pkts[i])
			}
			rest = r
		}
	})
}

var (
	jsonpSlashes       = regexp.MustCompile(`(\\)?\\n`)
	jsonpDoubleSlashes = regexp.MustCompile(`\\\\n`)
)

// FuzzJSONPBody checks the newline unescaping against the reference's two
// regular expressions, and the JSONP answer against a JSON decoder.
func FuzzJSONPBody(f *testing.F) {
	for _, s := range []string{`d=a\nb`, `d=a\\nb`, `d=\\\n`, `d=%5C%5Cn`, "d=1&d=2", "d=%zz", "x&d=+", `d=1:2`} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, body []byte) {
		got, ok := DecodeJSONPBody(nil, body)
		if !ok {
			return
		}
		// the oracle, on the URL-decoded field
		var field []byte
		for _, pair := range bytes.Split(body, []byte("&")) {
			k, v, _ := bytes.Cut(pair, []byte("="))
			if formKeyIs(k, 'd') {
				field = appendFormUnescape(nil, v)
			}
		}
		want := jsonpSlashes.ReplaceAllFunc(field, func(m []byte) []byte {
			if len(m) == 3 {
				return m
			}
			return []byte("\n")
		})
		want = jsonpDoubleSlashes.ReplaceAll(want, []byte(`\n`))
		if !bytes.Equal(got, want) {
			t.Fatalf("%q: got %q, the reference %q", body, got, want)
		}
		// The JSONP answer of any payload is a call with one JavaScript
		// string literal that decodes (as JSON) to the payload.
		if !utf8.Valid(got) {
			return
		}
		js := AppendJSONP(nil, []byte("3"), got)
		lit, found := bytes.CutPrefix(js, []byte("___eio[3]("))
		lit, found2 := bytes.CutSuffix(lit, []byte(");"))
		var s string
		if !found || !found2 || json.Unmarshal(lit, &s) != nil || s != string(got) {
			t.Fatalf("JSONP of %q = %s", got, js)
		}
		if bytes.ContainsRune(lit, '\u2028') || bytes.ContainsRune(lit, '\u2029') || bytes.ContainsAny(lit, "\n\r") {
			t.Fatalf("line terminator left in %s", js)
		}
	})
}
