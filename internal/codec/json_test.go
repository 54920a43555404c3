package codec

import (
	"encoding/json"
	"errors"
	"strings"
	"testing"
	"unicode/utf8"
)

func TestScanJSONValue(t *testing.T) {
	deep := strings.Repeat("[", MaxJSONDepth) + strings.Repeat("]", MaxJSONDepth)
	tooDeep := strings.Repeat("[", MaxJSONDepth+1) + strings.Repeat("]", MaxJSONDepth+1)
	deepObj := strings.Repeat(`{"a":`, MaxJSONDepth) + "1" + strings.Repeat("}", MaxJSONDepth)
	tooDeepObj := strings.Repeat(`{"a":`, MaxJSONDepth+1) + "1" + strings.Repeat("}", MaxJSONDepth+1)
	tests := []struct {
		in  string
		n   int // -1: len(in)
		err bool
	}{
		{in: `0`, n: -1},
		{in: `-0`, n: -1},
		{in: `-12.5e+3`, n: -1},
		{in: `1E9`, n: -1},
		{in: `0.000`, n: -1},
		{in: `123 `, n: 3},
		{in: `  true`, n: -1},
		{in: "\t\r\n false,", n: 9},
		{in: `null]`, n: 4},
		{in: `""`, n: -1},
		{in: `"a\"b\\c\/\b\f\n\r\t\u00e9\uD83D\uDE00"`, n: -1},
		{in: `"\ud800"`, n: -1}, // lone surrogate: valid JSON syntax
		{in: `"héllo €😀"`, n: -1},
		{in: `[]`, n: -1},
		{in: `[ 1 , "a" , [ ] , { } ]`, n: -1},
		{in: `{}`, n: -1},
		{in: `{"a":1,"b":[true,false,null],"c":{"d":"e"}}x`, n: 43},
		{in: `{ "a" : 1 }`, n: -1},
		{in: deep, n: -1},
		{in: deepObj, n: -1},
		{in: `[1][2]`, n: 3},
		{in: ``, err: true},
		{in: `   `, err: true},
		{in: `01`, n: 1}, // "0" then trailing "1"
		{in: `-`, err: true},
		{in: `-a`, err: true},
		{in: `1.`, err: true},
		{in: `1.e5`, err: true},
		{in: `1e`, err: true},
		{in: `1e+`, err: true},
		{in: `.5`, err: true},
		{in: `+1`, err: true},
		{in: `tru`, err: true},
		{in: `nul`, err: true},
		{in: `True`, err: true},
		{in: `"abc`, err: true},
		{in: `"a\"`, err: true},
		{in: `"\x"`, err: true},
		{in: `"\u12"`, err: true},
		{in: `"\u12g4"`, err: true},
		{in: "\"a\x01\"", err: true},
		{in: "\"a\nb\"", err: true},
		{in: "\"\xff\"", err: true},
		{in: "\"\xed\xa0\x80\"", err: true}, // UTF-8 encoded surrogate
		{in: "\"\xc0\x80\"", err: true},     // overlong
		{in: `[`, err: true},
		{in: `[1,]`, err: true},
		{in: `[,1]`, err: true},
		{in: `[1 2]`, err: true},
		{in: `{"a"}`, err: true},
		{in: `{"a":}`, err: true},
		{in: `{"a":1,}`, err: true},
		{in: `{a:1}`, err: true},
		{in: `{1:1}`, err: true},
		{in: `{"a":1`, err: true},
		{in: `'a'`, err: true},
		{in: `NaN`, err: true},
		{in: tooDeep, err: true},
		{in: tooDeepObj, err: true},
	}
	for _, tt := range tests {
		n, err := ScanJSONValue([]byte(tt.in))
		if tt.err {
			var se *SyntaxError
			if !errors.Is(err, ErrInvalidJSON) || !errors.As(err, &se) || se.Offset < 0 || se.Offset > len(tt.in) {
				t.Errorf("ScanJSONValue(%.40q) = %d, %v; want error", tt.in, n, err)
			}
			continue
		}
		want := tt.n
		if want < 0 {
			want = len(tt.in)
		}
		if err != nil || n != want {
			t.Errorf("ScanJSONValue(%.40q) = %d, %v; want %d", tt.in, n, err, want)
		}
	}
	if _, err := ScanJSONValue([]byte(tooDeep)); !errors.Is(err, ErrJSONTooDeep) {
		t.Errorf("too deep: %v", err)
	}
	if !ValidJSON([]byte(" [1] ")) || ValidJSON([]byte("[1] x")) || ValidJSON(nil) {
		t.Error("ValidJSON")
	}
}

func TestArrayElements(t *testing.T) {
	tests := []struct {
		in   string
		want []string
		err  bool
	}{
		{in: `[]`, want: []string{}},
		{in: ` [ ] `, want: []string{}},
		{in: `["hello",1]`, want: []string{`"hello"`, `1`}},
		{in: "[ \"a\" ,\n{\"b\": [1, 2]} , null,true ,-1.5e3 ]\n", want: []string{`"a"`, `{"b": [1, 2]}`, `null`, `true`, `-1.5e3`}},
		{in: `["project:delete",123]`, want: []string{`"project:delete"`, `123`}},
		{in: `["hello",{"_placeholder":true,"num":0}]`, want: []string{`"hello"`, `{"_placeholder":true,"num":0}`}},
		{in: `[[]]`, want: []string{`[]`}},
		{in: ``, err: true},
		{in: `{}`, err: true},
		{in: `"a"`, err: true},
		{in: `[`, err: true},
		{in: `[1,]`, err: true},
		{in: `[1 2]`, err: true},
		{in: `[1]x`, err: true},
		{in: `[1][2]`, err: true},
		{in: `abc[]`, err: true},
		{in: `["\x"]`, err: true},
		{in: strings.Repeat("[", MaxJSONDepth+1) + strings.Repeat("]", MaxJSONDepth+1), err: true},
	}
	for _, tt := range tests {
		pre := [][]byte{[]byte("keep")}
		got, err := ArrayElements(pre, []byte(tt.in))
		if tt.err {
			if !errors.Is(err, ErrInvalidJSON) || len(got) != 1 {
				t.Errorf("ArrayElements(%.40q) = %q, %v; want error", tt.in, got, err)
			}
			continue
		}
		if err != nil || len(got) != 1+len(tt.want) {
			t.Errorf("ArrayElements(%q) = %q, %v", tt.in, got, err)
			continue
		}
		for i, w := range tt.want {
			if string(got[1+i]) != w || cap(got[1+i]) != len(got[1+i]) {
				t.Errorf("ArrayElements(%q)[%d] = %q (cap %d), want %q", tt.in, i, got[1+i], cap(got[1+i]), w)
			}
		}
	}
}

func TestParsePlaceholder(t *testing.T) {
	tests := []struct {
		in  string
		num int
		ok  bool
	}{
		{in: `{"_placeholder":true,"num":0}`, num: 0, ok: true},
		{in: `{"num":3,"_placeholder":true}`, num: 3, ok: true},
		{in: ` { "_placeholder" : true , "num" : 12 } `, num: 12, ok: true},
		{in: `{"_placeholder":true,"num":1,"extra":[1,{"x":2}]}`, num: 1, ok: true},
		{in: `{"\u005fplaceholder":true,"n\u0075m":7}`, num: 7, ok: true},
		{in: `{"_placeholder":true,"num":1,"num":2}`, num: 2, ok: true},
		{in: `{"_placeholder":false,"num":0}`},
		{in: `{"_placeholder":"true","num":0}`},
		{in: `{"_placeholder":true}`},
		{in: `{"num":0}`},
		{in: `{"_placeholder":true,"num":-1}`},
		{in: `{"_placeholder":true,"num":1.5}`},
		{in: `{"_placeholder":true,"num":1e2}`},
		{in: `{"_placeholder":true,"num":01}`},
		{in: `{"_placeholder":true,"num":"1"}`},
		{in: `{"_placeholder":true,"num":1234567890}`},
		{in: `{"_placeholder":true,"num":0}x`},
		{in: `{"_placeholder":true,"num":0`},
		{in: `{"_placeholder":true "num":0}`},
		{in: `{}`},
		{in: `[]`},
		{in: ``},
		{in: `"_placeholder"`},
		{in: `{"_placeholder":true,"num":0,}`},
	}
	for _, tt := range tests {
		num, ok := ParsePlaceholder([]byte(tt.in))
		if ok != tt.ok || (ok && num != tt.num) {
			t.Errorf("ParsePlaceholder(%q) = %d, %v", tt.in, num, ok)
		}
	}
}

func TestAppendJSONString(t *testing.T) {
	tests := []struct {
		in   string
		want string
	}{
		{in: "", want: `""`},
		{in: "hello", want: `"hello"`},
		{in: `a"b\c`, want: `"a\"b\\c"`},
		{in: "<script>&</script>", want: `"<script>&</script>"`},
		{in: "\b\f\n\r\t", want: `"\b\f\n\r\t"`},
		{in: "\x00\x01\x1f\x7f", want: "\"\\u0000\\u0001\\u001f\x7f\""},
		{in: "héllo €😀", want: `"héllo €😀"`},
		{in: "\u2028\u2029", want: "\"\u2028\u2029\""},
		{in: "a\xffb", want: "\"a\uFFFDb\""},
		{in: "\xe2\x82", want: "\"\uFFFD\uFFFD\""},
		{in: "/", want: `"/"`},
	}
	for _, tt := range tests {
		got := AppendJSONString([]byte("x"), tt.in)
		if string(got) != "x"+tt.want {
			t.Errorf("AppendJSONString(%q) = %s, want %s", tt.in, got[1:], tt.want)
		}
		var s string
		if err := json.Unmarshal(got[1:], &s); err != nil {
			t.Errorf("AppendJSONString(%q) not JSON: %v", tt.in, err)
		}
		if utf8.ValidString(tt.in) && s != tt.in {
			t.Errorf("AppendJSONString(%q) decodes to %q", tt.in, s)
		}
	}
}

func TestAppendUnquote(t *testing.T) {
	tests := []struct {
		in   string
		want string
		err  bool
	}{
		{in: `""`, want: ""},
		{in: `"hello"`, want: "hello"},
		{in: `"a\"b\\c\/d"`, want: `a"b\c/d`},
		{in: `"\b\f\n\r\t"`, want: "\b\f\n\r\t"},
		{in: `"\u00e9\u20AC"`, want: "é€"},
		{in: `"\uD83D\uDE00"`, want: "😀"},
		{in: `"\u0000"`, want: "\x00"},
		{in: `"\ud800"`, want: "\uFFFD"},
		{in: `"\udc00"`, want: "\uFFFD"},
		{in: `"\ud800x"`, want: "\uFFFDx"},
		{in: `"\ud800\u0041"`, want: "\uFFFDA"},
		{in: `"\ud800\ud800\udc00"`, want: "\uFFFD\U00010000"},
		{in: "\"a\xffb\"", want: "a\uFFFDb"},
		{in: `"héllo €😀"`, want: "héllo €😀"},
		{in: ``, err: true},
		{in: `"`, err: true},
		{in: `abc`, err: true},
		{in: ` "a"`, err: true},
		{in: `"a" `, err: true},
		{in: `"a"b"`, err: true},
		{in: `"\"`, err: true},
		{in: `"\x"`, err: true},
		{in: `"\u12"`, err: true},
		{in: `"\u12x4"`, err: true},
		{in: `"\ud800\u12"`, err: true},
		{in: "\"a\nb\"", err: true},
	}
	for _, tt := range tests {
		got, err := AppendUnquote([]byte("x"), []byte(tt.in))
		if tt.err {
			if !errors.Is(err, ErrInvalidJSON) || string(got) != "x" {
				t.Errorf("AppendUnquote(%q) = %q, %v; want error", tt.in, got, err)
			}
			continue
		}
		if err != nil || string(got) != "x"+tt.want {
			t.Errorf("AppendUnquote(%q) = %q, %v; want %q", tt.in, got, err, tt.want)
		}
		var s string
		if err := json.Unmarshal([]byte(tt.in), &s); err != nil || s != tt.want {
			t.Errorf("encoding/json disagrees on %q: %q %v", tt.in, s, err)
		}
	}
}

// ArrayElementsMax stops at the limit, having scanned only that far.
func TestArrayElementsMax(t *testing.T) {
	for _, tt := range []struct {
		in   string
		max  int
		want int // elements; -1: ErrTooManyElements
	}{
		{`[1,2,3]`, 3, 3},
		{`[1,2,3]`, 2, -1},
		{`[1,2,3]`, 0, 3},
		{`[]`, 1, 0},
		{`[[1,2,3,4],{"a":[5,6]}]`, 2, 2},
	} {
		got, err := ArrayElementsMax(nil, []byte(tt.in), tt.max)
		switch {
		case tt.want < 0 && (!errors.Is(err, ErrTooManyElements) || !errors.Is(err, ErrInvalidJSON)):
			t.Errorf("ArrayElementsMax(%s, %d) = %v, want ErrTooManyElements", tt.in, tt.max, err)
		case tt.want >= 0 && (err != nil || len(got) != tt.want):
			t.Errorf("ArrayElementsMax(%s, %d) = %d elements, %v; want %d", tt.in, tt.max, len(got), err, tt.want)
		}
	}
	// A huge array past the limit is refused without scanning it all: the
	// rest need not even be valid.
	huge := "[" + strings.Repeat("1,", 1000) + "this is not JSON"
	if _, err := ArrayElementsMax(nil, []byte(huge), 10); !errors.Is(err, ErrTooManyElements) {
		t.Errorf("huge array: %v, want ErrTooManyElements", err)
	}
}
