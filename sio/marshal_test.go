package sio

import (
	"bytes"
	"encoding/json"
	"fmt"
	"math"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/fanio/fanio/internal/codec"
)

// encodeArg encodes one Emit argument as buildPacket does and returns its
// JSON and attachments.
func encodeArg(t *testing.T, a any) (string, [][]byte) {
	t.Helper()
	p, err := buildPacket(codec.SIOEvent, "/", "ev", []any{a})
	if err != nil {
		t.Fatalf("%T: %v", a, err)
	}
	s := string(p.Data)
	if !strings.HasPrefix(s, `["ev",`) || !strings.HasSuffix(s, "]") {
		t.Fatalf("data %s", s)
	}
	return s[len(`["ev",`) : len(s)-1], p.Attachments
}

func stdJSON(t *testing.T, a any) string {
	t.Helper()
	var b bytes.Buffer
	enc := json.NewEncoder(&b)
	enc.SetEscapeHTML(false)
	if err := enc.Encode(a); err != nil {
		t.Fatalf("encoding/json: %v", err)
	}
	return strings.TrimSuffix(b.String(), "\n")
}

type ptrMarshaler struct{ N int }

func (p *ptrMarshaler) MarshalJSON() ([]byte, error) { return []byte(fmt.Sprintf(`"ptr%d"`, p.N)), nil }

type valMarshaler struct{ N int }

func (v valMarshaler) MarshalJSON() ([]byte, error) {
	return []byte(fmt.Sprintf(`{"val": %d}`, v.N)), nil
}

type textKey struct{ a, b string }

func (k textKey) MarshalText() ([]byte, error) { return []byte(k.a + "-" + k.b), nil }

type zeroer struct{ N int }

func (z zeroer) IsZero() bool { return z.N < 0 }

type base struct {
	ID      int       `json:"id"`
	Created time.Time `json:"created"`
	Shadow  string
	Any     any `json:"anyBase,omitempty"`
}

type Exported struct {
	E      string
	Shadow string `json:"Shadow"`
}

type Other struct{ Dup int }
type Other2 struct{ Dup int }

// A wide type whose values have no []byte but an interface field, so that
// sio walks it: the walk must write what encoding/json writes.
type wide struct {
	base
	*Exported
	Other
	Other2
	Name      string            `json:"name"`
	Renamed   int               `json:"x-renamed"`
	Skip      string            `json:"-"`
	Dash      string            `json:"-,"`
	Empty     string            `json:",omitempty"`
	Zero      zeroer            `json:"zero,omitzero"`
	ZeroPtr   *zeroer           `json:"zeroPtr,omitzero"`
	Quoted    int64             `json:"quoted,string"`
	QuotedB   bool              `json:",string"`
	QuotedS   string            `json:"qs,string"`
	Float     float64           `json:"float"`
	F32       float32           `json:"f32"`
	Ptr       *int              `json:"ptr"`
	Iface     any               `json:"iface"`
	List      []any             `json:"list"`
	NilList   []int             `json:"nilList"`
	Arr       [2]any            `json:"arr"`
	Map       map[string]any    `json:"map"`
	IntMap    map[int]string    `json:"intMap"`
	TextMap   map[textKey]int   `json:"textMap"`
	PtrM      ptrMarshaler      `json:"ptrM"`
	PtrMs     []ptrMarshaler    `json:"ptrMs"`
	ValM      valMarshaler      `json:"valM"`
	Time      time.Time         `json:"time"`
	Raw       json.RawMessage   `json:"raw"`
	Nested    *wide             `json:"nested,omitempty"`
	MapStruct map[string]Other  `json:"mapStruct"`
	Strs      map[string]string `json:"strs"`
	unexp     int
}

func TestWalkMatchesEncodingJSON(t *testing.T) {
	n := 7
	w := wide{
		base:     base{ID: 1, Created: time.Date(2024, 1, 2, 3, 4, 5, 6, time.UTC), Shadow: "deep", Any: 3},
		Exported: &Exported{E: "e", Shadow: "shallow"},
		Other:    Other{Dup: 1}, Other2: Other2{Dup: 2},
		Name: "<n> \u2028 é", Renamed: -3, Skip: "no", Dash: "dash",
		Zero: zeroer{N: -1}, ZeroPtr: &zeroer{N: -1},
		Quoted: 42, QuotedB: true, QuotedS: `a"b`,
		Float: 1e21, F32: 0.1, Ptr: &n, Iface: map[string]any{"k": []any{1, "2", nil}},
		List: []any{1.5, "x", true}, Arr: [2]any{1, "a"},
		Map:     map[string]any{"b": 1, "a": map[string]int{"z": 1}},
		IntMap:  map[int]string{10: "ten", -1: "minus", 2: "two"},
		TextMap: map[textKey]int{{"b", "1"}: 1, {"a", "2"}: 2},
		PtrM:    ptrMarshaler{1}, PtrMs: []ptrMarshaler{{2}, {3}}, ValM: valMarshaler{4},
		Time:      time.Date(2020, 5, 6, 7, 8, 9, 0, time.FixedZone("x", 3600)),
		Raw:       json.RawMessage(`{"r" : [1, 2]}`),
		Nested:    &wide{Name: "inner", Iface: []string{"s"}},
		MapStruct: map[string]Other{"o": {Dup: 9}},
		Strs:      map[string]string{"k": "v"},
		unexp:     5,
	}
	for _, v := range []any{w, &w, []wide{w}, map[string]wide{"w": w}, []any{w}, struct{ W *wide }{&w}} {
		got, atts := encodeArg(t, v)
		// sio leaves U+2028 unescaped, as JSON.stringify does
		want := strings.ReplaceAll(stdJSON(t, v), `\u2028`, "\u2028")
		if got != want || len(atts) != 0 {
			t.Errorf("%T:\n got %s (%d attachments)\nwant %s", v, got, len(atts), want)
		}
	}
	if !needsWalk(typeOf(w)) {
		t.Fatal("wide is not walked: the test tests nothing")
	}
}

// []byte anywhere becomes an attachment; otherwise the JSON is
// encoding/json's.
func TestBytesAnywhereAreAttachments(t *testing.T) {
	type inner struct {
		Blob  []byte `json:"blob"`
		Other string `json:"other,omitempty"`
	}
	type embedded struct{ Data []byte }
	type msg struct {
		embedded
		Name    string            `json:"name"`
		File    []byte            `json:"file"`
		Nil     []byte            `json:"nil"`
		Omitted []byte            `json:"omitted,omitempty"`
		Ptr     *inner            `json:"ptr"`
		List    []inner           `json:"list"`
		Map     map[string][]byte `json:"map"`
		Any     any               `json:"any"`
		Val     Value             `json:"val"`
		ValPtr  *Value            `json:"valPtr"`
		Zero    Value             `json:"zero"`
		ZeroOm  Value             `json:"zeroOm,omitzero"`
		Arr     [1][]byte         `json:"arr"`
		Named   blob              `json:"named"`
	}
	bv := Value{bin: []byte("V")}
	m := msg{
		embedded: embedded{Data: []byte("D")},
		Name:     "n",
		File:     []byte("F"),
		Ptr:      &inner{Blob: []byte("P")},
		List:     []inner{{Blob: []byte("L0")}, {Blob: []byte{}, Other: "o"}},
		Map:      map[string][]byte{"b": []byte("MB"), "a": []byte("MA")},
		Any:      map[string]any{"deep": []any{[]byte("A")}},
		Val:      Value{raw: []byte(`{"x":{"_placeholder":true,"num":0}}`), attachments: [][]byte{[]byte("VA")}},
		ValPtr:   &bv,
		Arr:      [1][]byte{[]byte("R")},
		Named:    blob("N"),
	}
	ph := func(i int) string { return fmt.Sprintf(`{"_placeholder":true,"num":%d}`, i) }
	want := `{"Data":` + ph(0) + `,"name":"n","file":` + ph(1) + `,"nil":` + ph(2) + `,"ptr":{"blob":` + ph(3) +
		`},"list":[{"blob":` + ph(4) + `},{"blob":` + ph(5) + `,"other":"o"}],"map":{"a":` + ph(6) + `,"b":` + ph(7) +
		`},"any":{"deep":[` + ph(8) + `]},"val":{"x":` + ph(9) + `},"valPtr":` + ph(10) + `,"zero":null,"arr":[` + ph(11) +
		`],"named":` + ph(12) + `}`
	wantAtts := []string{"D", "F", "", "P", "L0", "", "MA", "MB", "A", "VA", "V", "R", "N"}
	for _, v := range []any{m, &m} {
		got, atts := encodeArg(t, v)
		if got != want {
			t.Errorf("%T:\n got %s\nwant %s", v, got, want)
		}
		var gotAtts []string
		for _, a := range atts {
			gotAtts = append(gotAtts, string(a))
		}
		if strings.Join(gotAtts, "|") != strings.Join(wantAtts, "|") {
			t.Errorf("%T: attachments %q, want %q", v, gotAtts, wantAtts)
		}
	}
	// a []byte in a map[string]any and []any (the direct paths), and a
	// zero Value left out of a map as an undefined property
	got, atts := encodeArg(t, map[string]any{"b": []byte("x"), "u": Value{}, "l": []any{Value{}, 1}})
	if got != `{"b":`+ph(0)+`,"l":[null,1]}` || len(atts) != 1 {
		t.Errorf("map: %s, %d attachments", got, len(atts))
	}
}

type blob []byte

// A zero Value (a missing argument) is sent as null, not as an empty
// attachment; a Value marshals as the JSON it holds.
func TestZeroValueAndValueJSON(t *testing.T) {
	var missing Value
	if !missing.IsZero() || missing.IsBinary() || missing.IsNull() {
		t.Fatalf("zero Value: IsZero %v IsBinary %v IsNull %v", missing.IsZero(), missing.IsBinary(), missing.IsNull())
	}
	v, err := Arg[Value](Args{}, 3)
	if err == nil || !v.IsZero() {
		t.Fatalf("Arg out of range: %v, %v", v, err)
	}
	p, err := buildPacket(codec.SIOEvent, "/", "ev", []any{missing, 1})
	if err != nil || string(p.Data) != `["ev",null,1]` || len(p.Attachments) != 0 {
		t.Fatalf("zero Value emitted as %s with %d attachments (%v)", p.Data, len(p.Attachments), err)
	}
	// an empty attachment stays one
	empty := Value{bin: []byte{}}
	if !empty.IsBinary() || empty.IsZero() {
		t.Fatal("an empty binary Value is not binary")
	}
	if p, _ := buildPacket(codec.SIOEvent, "/", "ev", []any{empty}); len(p.Attachments) != 1 {
		t.Fatalf("empty binary: %d attachments", len(p.Attachments))
	}

	type holder struct {
		A Value  `json:"a"`
		B Value  `json:"b"`
		C Value  `json:"c"`
		D Value  `json:"d,omitzero"`
		E *Value `json:"e"`
	}
	h := holder{
		A: Value{raw: []byte(`{"k":[1,"x"]}`)},
		B: Value{bin: []byte{1, 2, 3}},
		C: Value{raw: []byte(`[{"_placeholder":true,"num":0}]`), attachments: [][]byte{{0xff}}},
	}
	b, err := json.Marshal(h)
	if err != nil {
		t.Fatal(err)
	}
	if want := `{"a":{"k":[1,"x"]},"b":"AQID","c":["/w=="],"e":null}`; string(b) != want {
		t.Fatalf("json.Marshal = %s, want %s", b, want)
	}
	if b, _ := json.Marshal(missing); string(b) != "null" {
		t.Fatalf("zero Value marshals as %s", b)
	}
	// and back: UnmarshalJSON keeps the JSON (null included)
	var back struct {
		A, N Value
		M    Value
	}
	if err := json.Unmarshal([]byte(`{"A":{"k":[1, "x"]},"N":null}`), &back); err != nil {
		t.Fatal(err)
	}
	if back.A.String() != `{"k":[1, "x"]}` || !back.N.IsNull() || !back.M.IsZero() {
		t.Fatalf("Unmarshal: A=%s N=%s M=%s", back.A, back.N, back.M)
	}
	// a struct decoded from arguments may hold Values
	var dst struct{ Payload Value }
	if err := (Value{raw: []byte(`{"Payload":[1,2]}`)}).Decode(&dst); err != nil || dst.Payload.String() != "[1,2]" {
		t.Fatalf("Decode into a Value field: %v %v", dst.Payload, err)
	}
	var s string
	if err := missing.Decode(&s); err != nil || s != "" {
		t.Fatalf("zero Value Decode: %q %v", s, err)
	}
}

// Types that need no walk still go to encoding/json whole; NaN in a walked
// value is null (as in the direct paths), too deep is an error.
func TestWalkEdges(t *testing.T) {
	type plain struct {
		A int
		B []string
	}
	if needsWalk(typeOf(plain{})) || needsWalk(typeOf(time.Time{})) || needsWalk(typeOf(&ptrMarshaler{})) {
		t.Fatal("needsWalk true for types without []byte or interfaces")
	}
	type rec struct {
		Next *rec
		Data []byte
	}
	type recNo struct {
		Next *recNo
		N    int
	}
	type a1 struct{ B *b1 }
	if !needsWalk(typeOf(rec{})) || needsWalk(typeOf(recNo{})) || !needsWalk(typeOf(a1{})) || !needsWalk(typeOf(b1{})) {
		t.Fatal("needsWalk wrong on recursive types")
	}
	got, _ := encodeArg(t, struct{ F any }{math.NaN()})
	if got != `{"F":null}` {
		t.Errorf("NaN: %s", got)
	}
	type deep struct{ D any }
	var d any = 1
	for range 70 {
		d = deep{D: d}
	}
	if _, err := buildPacket(codec.SIOEvent, "/", "ev", []any{d}); err == nil {
		t.Error("70 levels accepted")
	}
	if _, err := buildPacket(codec.SIOEvent, "/", "ev", []any{struct{ F any }{func() {}}}); err == nil {
		t.Error("a func field accepted")
	}
	if _, err := buildPacket(codec.SIOEvent, "/", "ev", []any{map[[2]int]any{{1, 2}: 1}}); err == nil {
		t.Error("an array map key accepted")
	}
}

type b1 struct{ A *a2 }
type a2 struct {
	B    *b1
	Data []byte
}

func typeOf(v any) reflect.Type { return reflect.TypeOf(v) }
