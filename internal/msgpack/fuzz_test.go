package msgpack

import (
	"encoding/hex"
	"encoding/json"
	"errors"
	"reflect"
	"strconv"
	"testing"

	"github.com/fanio/fanio/internal/codec"
)

func addVectorSeeds(f *testing.F, fromJSON bool) {
	for _, v := range loadVectors(f) {
		if fromJSON {
			if v.Source != nil {
				f.Add([]byte(*v.Source))
			}
			continue
		}
		b, _ := hex.DecodeString(v.Hex)
		f.Add(b)
	}
}

// FuzzReader: any bytes. Nothing panics; what AppendJSON writes is valid
// JSON; Skip and AppendJSON agree on where the value ends.
func FuzzReader(f *testing.F) {
	addVectorSeeds(f, false)
	f.Add([]byte{0xdd, 0xff, 0xff, 0xff, 0xff})
	f.Add([]byte{0xc7, 0x00, 0xff})
	f.Fuzz(func(t *testing.T, b []byte) {
		r := NewReader(b)
		n := 0
		out, err := r.AppendJSON(nil, func(dst, bin []byte) []byte {
			n++
			return append(strconv.AppendInt(append(dst, `{"_placeholder":true,"num":`...), int64(n-1), 10), '}')
		})
		end := r.Offset()
		r2 := NewReader(b)
		serr := r2.Skip()
		if err != nil {
			if end != 0 || len(out) != 0 {
				t.Fatalf("error %v but the cursor moved to %d / wrote %q", err, end, out)
			}
			if serr == nil && !errors.Is(err, ErrJSON) {
				t.Fatalf("AppendJSON: %v, Skip: ok", err)
			}
			return
		}
		if serr != nil || r2.Offset() != end {
			t.Fatalf("AppendJSON ended at %d, Skip at %d (%v)", end, r2.Offset(), serr)
		}
		if !codec.ValidJSON(out) {
			t.Fatalf("invalid JSON %q from %x", out, b)
		}
		for _, k := range []func(){
			func() { r := NewReader(b); _, _ = r.Int() },
			func() { r := NewReader(b); _, _ = r.Float() },
			func() { r := NewReader(b); _, _ = r.Binary() },
			func() { r := NewReader(b); _, _ = r.Time() },
			func() { r := NewReader(b); _, _, _ = r.Ext() },
			func() { r := NewReader(b); _, _ = r.StringBytes() },
			func() { r := NewReader(b); _, _ = r.MapHeader() },
		} {
			k()
		}
	})
}

// FuzzFromJSON: any text. Valid JSON (as codec judges it) converts, and
// converts back to the same JSON value; anything else is refused.
func FuzzFromJSON(f *testing.F) {
	addVectorSeeds(f, true)
	f.Add([]byte(`{"a":[1,2.5,-0,1e400,"\u00e9\ud83d\ude00"],"b":{"_placeholder":true,"num":0}}`))
	f.Add([]byte(` [ 12345678901234567890 , -9007199254740993 ] `))
	f.Fuzz(func(t *testing.T, src []byte) {
		mp, err := AppendFromJSON(nil, src, func(n int) ([]byte, bool) { return []byte{byte(n)}, n < 3 })
		valid := codec.ValidJSON(src)
		if err != nil {
			if valid && !errors.Is(err, ErrTooDeep) {
				t.Fatalf("valid JSON %q refused: %v", src, err)
			}
			return
		}
		if !valid {
			t.Fatalf("invalid JSON %q accepted", src)
		}
		r := NewReader(mp)
		back, err := r.AppendJSON(nil, func(dst, b []byte) []byte {
			// the placeholder comes back as it was
			return append(strconv.AppendInt(append(dst, `{"_placeholder":true,"num":`...), int64(b[0]), 10), '}')
		})
		if err != nil || r.Len() != 0 {
			t.Fatalf("%q -> %x -> %v (%d left)", src, mp, err, r.Len())
		}
		var a, b any
		if json.Unmarshal(src, &a) != nil {
			return // codec and encoding/json disagree on an edge (say, a huge exponent)
		}
		if err := json.Unmarshal(back, &b); err != nil {
			t.Fatalf("%q came back as invalid %q", src, back)
		}
		if !reflect.DeepEqual(normalize(a), normalize(b)) {
			t.Fatalf("%q came back as %q", src, back)
		}
	})
}

// normalize maps placeholder objects' extra keys away so that a
// placeholder with extra keys compares equal to the canonical one.
func normalize(v any) any {
	switch x := v.(type) {
	case map[string]any:
		if x["_placeholder"] == true {
			if n, ok := x["num"].(float64); ok && n < 3 && n == float64(int(n)) && n >= 0 {
				return map[string]any{"_placeholder": true, "num": n}
			}
		}
		for k, e := range x {
			x[k] = normalize(e)
		}
	case []any:
		for i, e := range x {
			x[i] = normalize(e)
		}
	}
	return v
}
