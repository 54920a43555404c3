package msgpack

import (
	"bytes"
	"encoding/hex"
	"encoding/json"
	"math"
	"os"
	"reflect"
	"strconv"
	"testing"
	"time"
)

type vector struct {
	Name       string  `json:"name"`
	Hex        string  `json:"hex"`
	JSON       *string `json:"json"`
	Source     *string `json:"source"`
	DecodeOnly bool    `json:"decodeOnly"`
}

func loadVectors(t testing.TB) []vector {
	t.Helper()
	raw, err := os.ReadFile("testdata/notepack.json")
	if err != nil {
		t.Fatal(err)
	}
	var f struct {
		Notepack string   `json:"notepack"`
		Cases    []vector `json:"cases"`
	}
	if err := json.Unmarshal(raw, &f); err != nil {
		t.Fatal(err)
	}
	if len(f.Cases) < 40 {
		t.Fatalf("only %d vectors", len(f.Cases))
	}
	return f.Cases
}

// What notepack decodes, written by JSON.stringify, is what AppendJSON
// writes (binary as Node's Buffer JSON).
func TestDecodeNotepackVectors(t *testing.T) {
	for _, v := range loadVectors(t) {
		b, err := hex.DecodeString(v.Hex)
		if err != nil {
			t.Fatal(err)
		}
		r := NewReader(b)
		got, err := r.AppendJSON(nil, nil)
		if err != nil {
			t.Errorf("%s: %v", v.Name, err)
			continue
		}
		if r.Len() != 0 {
			t.Errorf("%s: %d bytes left", v.Name, r.Len())
		}
		want := "null" // JSON.stringify(undefined) is undefined
		if v.JSON != nil {
			want = *v.JSON
		}
		if string(got) != want {
			t.Errorf("%s: AppendJSON = %s, notepack+JSON.stringify = %s", v.Name, got, want)
		}
		// Skip and Raw agree on where the value ends.
		r.Reset(b)
		if err := r.Skip(); err != nil || r.Len() != 0 {
			t.Errorf("%s: Skip: %v, %d left", v.Name, err, r.Len())
		}
	}
}

// JSON text encodes to the very bytes notepack writes for JSON.parse of it.
func TestEncodeNotepackVectors(t *testing.T) {
	n := 0
	for _, v := range loadVectors(t) {
		if v.Source == nil {
			continue
		}
		n++
		got, err := AppendFromJSON(nil, []byte(*v.Source), nil)
		if err != nil {
			t.Errorf("%s: %v", v.Name, err)
			continue
		}
		if hex.EncodeToString(got) != v.Hex {
			t.Errorf("%s: AppendFromJSON(%s)\n = %x\nwant %s", v.Name, *v.Source, got, v.Hex)
		}
	}
	if n < 25 {
		t.Fatalf("only %d encoding vectors", n)
	}
}

func TestEncoders(t *testing.T) {
	cases := []struct {
		got  []byte
		want string
	}{
		{AppendInt(nil, 0), "00"},
		{AppendInt(nil, -1), "ff"},
		{AppendInt(nil, -33), "d0df"},
		{AppendInt(nil, 128), "cc80"},
		{AppendInt(nil, 1<<16), "ce00010000"},
		{AppendInt(nil, math.MinInt64), "d38000000000000000"},
		{AppendUint(nil, math.MaxUint64), "cfffffffffffffffff"},
		{AppendFloat(nil, 3), "03"},
		{AppendFloat(nil, -0.0), "00"},
		{AppendFloat(nil, 0.5), "cb3fe0000000000000"},
		{AppendFloat(nil, math.Inf(1)), "cb7ff0000000000000"},
		{AppendFloat(nil, 1e300), "cb7e37e43c8800759c"},
		{AppendString(nil, "ab"), "a26162"},
		{AppendBinary(nil, []byte{1}), "c40101"},
		{AppendBinary(nil, make([]byte, 256))[:3], "c50100"},
		{AppendArrayHeader(nil, 16), "dc0010"},
		{AppendMapHeader(nil, 70000), "df00011170"},
		{AppendNil(nil), "c0"},
		{AppendBool(nil, true), "c3"},
		{AppendTime(nil, time.UnixMilli(1700000000000)), "d6ff6553f100"},
	}
	for i, c := range cases {
		if hex.EncodeToString(c.got) != c.want {
			t.Errorf("case %d: %x, want %s", i, c.got, c.want)
		}
	}
}

func TestTimeRoundTrip(t *testing.T) {
	for _, ms := range []int64{0, 1700000000000, 1700000000123, -1000, 1 << 42, 253402300800000} {
		tm := time.UnixMilli(ms)
		r := NewReader(AppendTime(nil, tm))
		got, err := r.Time()
		if err != nil || !got.Equal(tm) {
			t.Errorf("%d: %v %v", ms, got, err)
		}
	}
}

func TestReaderErrors(t *testing.T) {
	bad := []string{
		"",           // nothing
		"c1",         // never used
		"a5616263",   // str cut short
		"c40501",     // bin cut short
		"92c0",       // array cut short
		"dd7fffffff", // array claiming 2^31 elements
		"df7fffffff", // map claiming 2^31 pairs
		"db7fffffff", // string claiming 2 GiB
		"c7",         // ext header cut short
		"d7ff0000",   // timestamp 64 cut short
		"cf00",       // uint64 cut short
	}
	for _, h := range bad {
		b, _ := hex.DecodeString(h)
		r := NewReader(b)
		if err := r.Skip(); err == nil {
			t.Errorf("%s: Skip accepted it", h)
		}
		r.Reset(b)
		if out, err := r.AppendJSON([]byte("x"), nil); err == nil || string(out) != "x" {
			t.Errorf("%s: AppendJSON = %q, %v", h, out, err)
		}
	}
	// Too deep.
	deep := bytes.Repeat([]byte{0x91}, MaxDepth+1)
	deep = append(deep, 0xc0)
	r := NewReader(deep)
	if err := r.Skip(); err != ErrTooDeep {
		t.Errorf("deep: %v", err)
	}
	r.Reset([]byte{0x81, 0x91, 0xc0, 0xc0}) // a map key that is an array
	if _, err := r.AppendJSON(nil, nil); err != ErrJSON {
		t.Errorf("array key: %v", err)
	}
	r.Reset([]byte{0xcf, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff})
	if _, err := r.Int(); err != ErrRange {
		t.Errorf("uint64 max as int64: %v", err)
	}
}

func TestTypedReads(t *testing.T) {
	var b []byte
	b = AppendArrayHeader(b, 6)
	b = AppendString(b, "uid")
	b = AppendInt(b, -5)
	b = AppendBool(b, true)
	b = AppendBinary(b, []byte{7, 8})
	b = AppendFloat(b, 2.5)
	b = AppendMapHeader(b, 1)
	b = AppendString(b, "k")
	b = AppendNil(b)
	r := NewReader(b)
	if n, err := r.ArrayHeader(); n != 6 || err != nil {
		t.Fatal(n, err)
	}
	if s, err := r.StringBytes(); string(s) != "uid" || err != nil {
		t.Fatal(s, err)
	}
	if _, err := r.StringBytes(); err != ErrType {
		t.Fatal("an int read as a string:", err)
	}
	if v, err := r.Int(); v != -5 || err != nil {
		t.Fatal(v, err)
	}
	if v, err := r.Bool(); !v || err != nil {
		t.Fatal(v, err)
	}
	if v, err := r.Binary(); !bytes.Equal(v, []byte{7, 8}) || err != nil {
		t.Fatal(v, err)
	}
	if v, err := r.Float(); v != 2.5 || err != nil {
		t.Fatal(v, err)
	}
	raw, err := r.Raw()
	if err != nil || hex.EncodeToString(raw) != "81a16bc0" {
		t.Fatalf("%x %v", raw, err)
	}
	if r.Len() != 0 {
		t.Fatal(r.Len())
	}
}

// The placeholder hooks used for Socket.IO packets: JSON with
// placeholders → msgpack with bin → JSON with placeholders again.
func TestPlaceholders(t *testing.T) {
	atts := [][]byte{{1, 2, 3}, {}}
	src := `["file",{"_placeholder":true,"num":0},{"nested":[{"num":1,"_placeholder":true}]},{"_placeholder":true,"num":5}]`
	mp, err := AppendFromJSON(nil, []byte(src), func(n int) ([]byte, bool) {
		if n < len(atts) {
			return atts[n], true
		}
		return nil, false
	})
	if err != nil {
		t.Fatal(err)
	}
	var got [][]byte
	r := NewReader(mp)
	out, err := r.AppendJSON(nil, func(dst, b []byte) []byte {
		dst = append(dst, `{"_placeholder":true,"num":`...)
		dst = strconv.AppendInt(dst, int64(len(got)), 10)
		got = append(got, b)
		return append(dst, '}')
	})
	if err != nil {
		t.Fatal(err)
	}
	want := `["file",{"_placeholder":true,"num":0},{"nested":[{"_placeholder":true,"num":1}]},{"_placeholder":true,"num":5}]`
	if string(out) != want {
		t.Fatalf("got  %s\nwant %s", out, want)
	}
	if !reflect.DeepEqual(got, atts) {
		t.Fatalf("attachments %v", got)
	}
}

func TestFromJSONErrors(t *testing.T) {
	for _, s := range []string{"", "[", "[1,]", `{"a"}`, `{"a":1,}`, "01", "1.", "1e", "-", "tru", "nul", `"\x"`, "[1] x", "{1:2}", `"` + "\x01" + `"`, "+1", "NaN"} {
		if out, err := AppendFromJSON([]byte("k"), []byte(s), nil); err == nil || string(out) != "k" {
			t.Errorf("%q: %x %v", s, out, err)
		}
	}
	deep := bytes.Repeat([]byte("["), MaxDepth+1)
	if _, err := AppendFromJSON(nil, deep, nil); err == nil {
		t.Error("too deep accepted")
	}
}

func TestJSNumber(t *testing.T) {
	for f, want := range map[float64]string{
		0: "0", math.Copysign(0, -1): "0", 1: "1", -1.5: "-1.5", 1e21: "1e+21", 1e20: "100000000000000000000",
		1e-7: "1e-7", 0.000001: "0.000001", 123.456: "123.456", math.NaN(): "null", math.Inf(-1): "null",
		5e-324: "5e-324", 1.7976931348623157e308: "1.7976931348623157e+308",
	} {
		if got := string(AppendJSNumber(nil, f)); got != want {
			t.Errorf("%v: %s, want %s", f, got, want)
		}
	}
}

// The read path used on every broadcast does not allocate.
func TestReaderAllocs(t *testing.T) {
	b, _ := hex.DecodeString("93a6614233785939" + "83a47479706502a46461746192a568656c6c6fa5776f726c64a36e7370a12f" + "83a5726f6f6d7391a5726f6f6d31a6657863657074" + "90a5666c61677380")
	dst := make([]byte, 0, 256)
	allocs := testing.AllocsPerRun(100, func() {
		r := NewReader(b)
		n, _ := r.ArrayHeader()
		for i := 0; i < n; i++ {
			if r.Peek() == KindMap {
				m, _ := r.MapHeader()
				for j := 0; j < m; j++ {
					k, _ := r.StringBytes()
					if string(k) == "data" {
						dst, _ = r.AppendJSON(dst[:0], nil)
					} else {
						_ = r.Skip()
					}
				}
				continue
			}
			_, _ = r.StringBytes()
		}
	})
	if allocs != 0 {
		t.Fatalf("%v allocations", allocs)
	}
	if string(dst) != `["hello","world"]` {
		t.Fatalf("%s", dst)
	}
}
