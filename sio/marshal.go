package sio

import (
	"bytes"
	"encoding"
	"encoding/json"
	"errors"
	"fmt"
	"reflect"
	"slices"
	"strconv"
	"strings"
	"sync"
	"unicode"
	"unsafe"

	"github.com/fanio/fanio/internal/codec"
)

// Emit arguments whose type can hold a []byte (or a Value) somewhere —
// a struct field, a map value, a slice element, behind a pointer or an
// interface — are encoded here, so that every []byte becomes a binary
// attachment, as the reference sends every Buffer in an argument. The
// rules are encoding/json's (field names and tags, omitempty, omitzero,
// the string option, embedded structs, Marshaler and TextMarshaler,
// sorted map keys), with two differences: a []byte (nil or not) is an
// attachment instead of a base64 string, and a zero Value in a map is left
// out (JavaScript leaves out undefined properties). Types that cannot hold
// one still go to encoding/json whole: whether a type needs the walk is
// decided once per type, so the usual arguments cost what they did.

var (
	valueType       = reflect.TypeFor[Value]()
	argsType        = reflect.TypeFor[Args]()
	marshalerType   = reflect.TypeFor[json.Marshaler]()
	textMarshalType = reflect.TypeFor[encoding.TextMarshaler]()
	isZeroerType    = reflect.TypeFor[interface{ IsZero() bool }]()
)

// walkTypes caches needsWalk's answers (reflect.Type → bool).
var walkTypes sync.Map

// needsWalk reports whether a value of type t may hold a []byte or a Value
// that encoding/json would write (so sio encodes it itself).
func needsWalk(t reflect.Type) bool {
	if v, ok := walkTypes.Load(t); ok {
		return v.(bool)
	}
	w := typeWalker{seen: make(map[reflect.Type]bool)}
	need := w.needs(t)
	walkTypes.Store(t, need)
	return need
}

type typeWalker struct{ seen map[reflect.Type]bool }

// needs answers needsWalk for t. A type met again while it is being
// answered (a recursive type) counts as not needing the walk there: it
// needs it only through its other parts, which are looked at anyway. Only
// the answers that cannot depend on that assumption (true) are cached.
func (w *typeWalker) needs(t reflect.Type) bool {
	if t == valueType || t == argsType {
		return true
	}
	if t.Kind() == reflect.Pointer {
		// a *T encodes as its T (whose methods, of either receiver, are
		// looked at there): *Value is a Value
		return w.needs(t.Elem())
	}
	if hasMarshaler(t) {
		return false
	}
	if v, ok := walkTypes.Load(t); ok {
		return v.(bool)
	}
	if w.seen[t] {
		return false
	}
	w.seen[t] = true
	need := false
	switch t.Kind() {
	case reflect.Interface:
		need = true
	case reflect.Slice:
		need = isBytes(t) || w.needs(t.Elem())
	case reflect.Array, reflect.Map:
		need = w.needs(t.Elem())
	case reflect.Struct:
		for _, f := range typeFields(t) {
			if w.needs(f.typ) {
				need = true
				break
			}
		}
	}
	if need {
		walkTypes.Store(t, true)
	}
	return need
}

// hasMarshaler reports whether t or *t encodes itself (json.Marshaler or
// encoding.TextMarshaler): encoding/json then writes it.
func hasMarshaler(t reflect.Type) bool {
	if t.Implements(marshalerType) || t.Implements(textMarshalType) {
		return true
	}
	pt := reflect.PointerTo(t)
	return pt.Implements(marshalerType) || pt.Implements(textMarshalType)
}

// isBytes reports whether t is a slice of bytes that encoding/json writes
// as base64 (its elements do not encode themselves).
func isBytes(t reflect.Type) bool {
	return t.Kind() == reflect.Slice && t.Elem().Kind() == reflect.Uint8 && !hasMarshaler(t.Elem())
}

// walkValue writes a, whose type needs the walk. It works on an
// addressable copy of a, so that every value below can be read (also the
// fields promoted from an unexported embedded struct, which reflect
// otherwise refuses to hand out), while addr keeps encoding/json's notion
// of what is addressable (which decides whether methods on *T apply).
func (e *encoder) walkValue(a any, depth int) error {
	rv := reflect.ValueOf(a)
	c := reflect.New(rv.Type()).Elem()
	c.Set(rv)
	return e.walk(c, false, depth)
}

// walk writes v as JSON, []byte values as attachments. addr: v is
// addressable for encoding/json.
func (e *encoder) walk(v reflect.Value, addr bool, depth int) error {
	if depth > codec.MaxJSONDepth {
		return errors.New("sio: argument nested too deep")
	}
	if !v.IsValid() {
		e.buf = append(e.buf, "null"...)
		return nil
	}
	v = readable(v)
	t := v.Type()
	switch {
	case t == valueType, t == argsType:
		return e.value(v.Interface(), depth)
	case !needsWalk(t):
		if e.scalar(v) {
			return nil
		}
		if k := t.Kind(); (k == reflect.Slice || k == reflect.Array) && isScalar(t.Elem()) && !hasMarshaler(t) {
			if k == reflect.Slice && v.IsNil() {
				e.buf = append(e.buf, "null"...)
				return nil
			}
			return e.walkList(v, addr, depth)
		}
		return e.stdJSON(v, addr)
	}
	switch t.Kind() {
	case reflect.Interface:
		if v.IsNil() {
			e.buf = append(e.buf, "null"...)
			return nil
		}
		return e.value(v.Elem().Interface(), depth)
	case reflect.Pointer:
		if v.IsNil() {
			e.buf = append(e.buf, "null"...)
			return nil
		}
		return e.walk(v.Elem(), true, depth)
	case reflect.Slice:
		if isBytes(t) {
			e.placeholder(v.Bytes())
			return nil
		}
		if v.IsNil() {
			e.buf = append(e.buf, "null"...)
			return nil
		}
		return e.walkList(v, true, depth)
	case reflect.Array:
		return e.walkList(v, addr, depth)
	case reflect.Map:
		return e.walkMap(v, depth)
	case reflect.Struct:
		return e.walkStruct(v, addr, depth)
	}
	return e.stdJSON(v, addr)
}

// scalar writes v if it is a boolean, a number or a string that does not
// encode itself, as encoding/json would (floats as in the direct paths:
// NaN and infinities as null), and reports whether it did.
func (e *encoder) scalar(v reflect.Value) bool {
	if !isScalar(v.Type()) {
		return false
	}
	switch v.Kind() {
	case reflect.Bool:
		e.buf = strconv.AppendBool(e.buf, v.Bool())
	case reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64:
		e.buf = strconv.AppendInt(e.buf, v.Int(), 10)
	case reflect.Uint, reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64, reflect.Uintptr:
		e.buf = strconv.AppendUint(e.buf, v.Uint(), 10)
	case reflect.Float32:
		e.float(v.Float(), 32)
	case reflect.Float64:
		e.float(v.Float(), 64)
	case reflect.String:
		e.buf = codec.AppendJSONString(e.buf, v.String())
	}
	return true
}

// isScalar reports whether scalar writes the values of type t.
func isScalar(t reflect.Type) bool {
	switch t.Kind() {
	case reflect.Bool, reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64,
		reflect.Uint, reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64, reflect.Uintptr,
		reflect.Float32, reflect.Float64, reflect.String:
		return t.PkgPath() == "" || !hasMarshaler(t)
	}
	return false
}

// readable returns v, or when v was reached through an unexported embedded
// struct (reflect then refuses Interface), the same variable without that
// mark. Such a v is always addressable here (walk works on a copy).
func readable(v reflect.Value) reflect.Value {
	if v.CanInterface() || !v.CanAddr() {
		return v
	}
	return reflect.NewAt(v.Type(), unsafe.Pointer(v.UnsafeAddr())).Elem()
}

func (e *encoder) walkList(v reflect.Value, addr bool, depth int) error {
	e.buf = append(e.buf, '[')
	for i := range v.Len() {
		if i > 0 {
			e.buf = append(e.buf, ',')
		}
		if err := e.walk(v.Index(i), addr, depth+1); err != nil {
			return err
		}
	}
	e.buf = append(e.buf, ']')
	return nil
}

func (e *encoder) walkMap(v reflect.Value, depth int) error {
	if v.IsNil() {
		e.buf = append(e.buf, "null"...)
		return nil
	}
	type kv struct {
		k string
		v reflect.Value
	}
	pairs := make([]kv, 0, v.Len())
	for it := v.MapRange(); it.Next(); {
		k, err := mapKey(it.Key())
		if err != nil {
			return err
		}
		val := it.Value()
		switch val.Kind() {
		case reflect.Struct, reflect.Array:
			// a map value is not addressable: copy it, so that walk can
			// read all of it (see walkValue)
			c := reflect.New(val.Type()).Elem()
			c.Set(val)
			val = c
		}
		if val.Type() == valueType && val.Interface().(Value).IsZero() {
			continue // an undefined property
		}
		pairs = append(pairs, kv{k, val})
	}
	slices.SortFunc(pairs, func(a, b kv) int { return strings.Compare(a.k, b.k) })
	e.buf = append(e.buf, '{')
	for i, p := range pairs {
		if i > 0 {
			e.buf = append(e.buf, ',')
		}
		e.buf = codec.AppendJSONString(e.buf, p.k)
		e.buf = append(e.buf, ':')
		if err := e.walk(p.v, false, depth+1); err != nil {
			return err
		}
	}
	e.buf = append(e.buf, '}')
	return nil
}

// mapKey is encoding/json's name for a map key.
func mapKey(k reflect.Value) (string, error) {
	if k.Kind() == reflect.String {
		return k.String(), nil
	}
	if tm, ok := k.Interface().(encoding.TextMarshaler); ok {
		if k.Kind() == reflect.Pointer && k.IsNil() {
			return "", nil
		}
		b, err := tm.MarshalText()
		return string(b), err
	}
	switch k.Kind() {
	case reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64:
		return strconv.FormatInt(k.Int(), 10), nil
	case reflect.Uint, reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64, reflect.Uintptr:
		return strconv.FormatUint(k.Uint(), 10), nil
	}
	return "", fmt.Errorf("sio: unsupported map key type %s", k.Type())
}

func (e *encoder) walkStruct(v reflect.Value, addr bool, depth int) error {
	e.buf = append(e.buf, '{')
	first := true
fields:
	for _, f := range typeFields(v.Type()) {
		fv, faddr := v, addr
		for k, i := range f.index {
			if k > 0 && fv.Kind() == reflect.Pointer {
				if fv.IsNil() {
					continue fields // promoted through a nil embedded pointer
				}
				fv, faddr = fv.Elem(), true
			}
			fv = fv.Field(i)
		}
		if f.omitEmpty && isEmptyValue(fv) || f.omitZero && isZeroValue(readable(fv)) {
			continue
		}
		if !first {
			e.buf = append(e.buf, ',')
		}
		first = false
		e.buf = append(e.buf, f.key...)
		if f.quoted {
			if err := e.quotedScalar(readable(fv)); err != nil {
				return err
			}
			continue
		}
		if err := e.walk(fv, faddr, depth+1); err != nil {
			return err
		}
	}
	e.buf = append(e.buf, '}')
	return nil
}

// quotedScalar writes a field with the ",string" option: its JSON inside a
// JSON string.
func (e *encoder) quotedScalar(v reflect.Value) error {
	start := len(e.buf)
	if err := e.stdJSON(v, false); err != nil {
		return err
	}
	inner := string(e.buf[start:])
	e.buf = codec.AppendJSONString(e.buf[:start], inner)
	return nil
}

// stdJSON writes v with encoding/json (without HTML escaping); with addr,
// as a pointer, so that methods on *T apply as encoding/json applies them
// to what it reaches through pointers and slices.
func (e *encoder) stdJSON(v reflect.Value, addr bool) error {
	var x any
	if addr && v.CanAddr() {
		x = v.Addr().Interface()
	} else {
		x = v.Interface()
	}
	if e.je == nil {
		e.je = json.NewEncoder(&e.tmp)
		e.je.SetEscapeHTML(false)
	}
	e.tmp.Reset()
	if err := e.je.Encode(x); err != nil {
		return fmt.Errorf("sio: encoding a %s: %w", v.Type(), err)
	}
	e.buf = append(e.buf, bytes.TrimRight(e.tmp.Bytes(), "\n")...)
	return nil
}

func isEmptyValue(v reflect.Value) bool {
	switch v.Kind() {
	case reflect.Array, reflect.Map, reflect.Slice, reflect.String:
		return v.Len() == 0
	case reflect.Bool:
		return !v.Bool()
	case reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64:
		return v.Int() == 0
	case reflect.Uint, reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64, reflect.Uintptr:
		return v.Uint() == 0
	case reflect.Float32, reflect.Float64:
		return v.Float() == 0
	case reflect.Interface, reflect.Pointer:
		return v.IsNil()
	}
	return false
}

// isZeroValue is omitzero's test: the type's IsZero method when it has one,
// reflect's zero otherwise.
func isZeroValue(v reflect.Value) bool {
	t := v.Type()
	switch {
	case t.Implements(isZeroerType):
		if (t.Kind() == reflect.Pointer || t.Kind() == reflect.Interface) && v.IsNil() {
			return true
		}
		return v.Interface().(interface{ IsZero() bool }).IsZero()
	case reflect.PointerTo(t).Implements(isZeroerType):
		if !v.CanAddr() {
			c := reflect.New(t).Elem()
			c.Set(v)
			v = c
		}
		return v.Addr().Interface().(interface{ IsZero() bool }).IsZero()
	}
	return v.IsZero()
}

// field is one field encoding/json writes for a struct type.
type field struct {
	name      string
	key       []byte // "name": quoted, with the colon
	index     []int  // the path through embedded structs
	typ       reflect.Type
	tagged    bool
	omitEmpty bool
	omitZero  bool
	quoted    bool
}

var fieldCache sync.Map // reflect.Type → []field

// typeFields returns the fields encoding/json writes for struct type t, in
// its order: exported fields and those promoted from embedded structs,
// named by their tag or their name, the shallowest winning a name (a
// tagged one among equals; none when that is ambiguous).
func typeFields(t reflect.Type) []field {
	if f, ok := fieldCache.Load(t); ok {
		return f.([]field)
	}
	fs := computeFields(t)
	fieldCache.Store(t, fs)
	return fs
}

func computeFields(t reflect.Type) []field {
	type level struct {
		typ   reflect.Type
		index []int
	}
	var all []field
	visited := map[reflect.Type]bool{}
	next := []level{{typ: t}}
	for len(next) > 0 {
		current := next
		next = nil
		// how many times each type is embedded at this depth
		count := map[reflect.Type]int{}
		for _, l := range current {
			count[l.typ]++
		}
		nextCount := map[reflect.Type]int{}
		for _, l := range current {
			if visited[l.typ] {
				continue
			}
			visited[l.typ] = true
			for i := range l.typ.NumField() {
				sf := l.typ.Field(i)
				if sf.Anonymous {
					ft := sf.Type
					if ft.Kind() == reflect.Pointer {
						ft = ft.Elem()
					}
					if !sf.IsExported() && ft.Kind() != reflect.Struct {
						continue
					}
				} else if !sf.IsExported() {
					continue
				}
				tag := sf.Tag.Get("json")
				if tag == "-" {
					continue
				}
				name, opts, _ := strings.Cut(tag, ",")
				if !validTagName(name) {
					name = ""
				}
				index := append(slices.Clip(l.index), i)
				ft := sf.Type
				if ft.Name() == "" && ft.Kind() == reflect.Pointer {
					ft = ft.Elem()
				}
				if name != "" || !sf.Anonymous || ft.Kind() != reflect.Struct {
					f := field{
						name:      name,
						index:     index,
						typ:       sf.Type,
						tagged:    name != "",
						omitEmpty: hasOpt(opts, "omitempty"),
						omitZero:  hasOpt(opts, "omitzero"),
					}
					if f.name == "" {
						f.name = sf.Name
					}
					if hasOpt(opts, "string") {
						switch ft.Kind() {
						case reflect.Bool, reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64,
							reflect.Uint, reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64, reflect.Uintptr,
							reflect.Float32, reflect.Float64, reflect.String:
							f.quoted = true
						}
					}
					all = append(all, f)
					if count[l.typ] > 1 {
						// the same type embedded twice at this depth: a
						// duplicate, so that the name is dropped below
						all = append(all, f)
					}
					continue
				}
				nextCount[ft]++
				if nextCount[ft] == 1 {
					next = append(next, level{typ: ft, index: index})
				}
			}
		}
	}
	slices.SortStableFunc(all, func(a, b field) int {
		if c := strings.Compare(a.name, b.name); c != 0 {
			return c
		}
		if c := len(a.index) - len(b.index); c != 0 {
			return c
		}
		if a.tagged != b.tagged {
			if a.tagged {
				return -1
			}
			return 1
		}
		return slices.Compare(a.index, b.index)
	})
	out := all[:0:0]
	for i := 0; i < len(all); {
		j := i + 1
		for j < len(all) && all[j].name == all[i].name {
			j++
		}
		group := all[i:j]
		if len(group) == 1 || len(group[1].index) > len(group[0].index) || group[0].tagged && !group[1].tagged {
			out = append(out, group[0])
		}
		i = j
	}
	slices.SortFunc(out, func(a, b field) int { return slices.Compare(a.index, b.index) })
	for i := range out {
		k := codec.AppendJSONString(nil, out[i].name)
		out[i].key = append(k, ':')
	}
	return out
}

func hasOpt(opts, name string) bool {
	for opts != "" {
		var o string
		o, opts, _ = strings.Cut(opts, ",")
		if o == name {
			return true
		}
	}
	return false
}

// validTagName is encoding/json's test of a tag's name.
func validTagName(s string) bool {
	if s == "" {
		return false
	}
	for _, c := range s {
		switch {
		case strings.ContainsRune("!#$%&()*+-./:;<=>?@[]^_{|}~ ", c):
		case !unicode.IsLetter(c) && !unicode.IsDigit(c):
			return false
		}
	}
	return true
}
