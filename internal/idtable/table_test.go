package idtable

import (
	"fmt"
	"math/rand/v2"
	"testing"
)

type item struct{ id string }

func keyOf(x *item) string { return x.id }

// check compares t with the reference map.
func check(t *testing.T, tab *Table[item], ref map[string]*item) {
	t.Helper()
	if tab.Len() != len(ref) {
		t.Fatalf("Len = %d, want %d", tab.Len(), len(ref))
	}
	for k, x := range ref {
		if got := tab.Get(k); got != x {
			t.Fatalf("Get(%q) = %v, want %v", k, got, x)
		}
		if got := tab.GetBytes([]byte(k)); got != x {
			t.Fatalf("GetBytes(%q) = %v, want %v", k, got, x)
		}
	}
	seen := 0
	tab.All(func(x *item) bool {
		if ref[x.id] != x {
			t.Fatalf("All yields %q, not in the reference", x.id)
		}
		seen++
		return true
	})
	if seen != len(ref) {
		t.Fatalf("All yields %d, want %d", seen, len(ref))
	}
}

func TestTable(t *testing.T) {
	tab := New(keyOf)
	ref := map[string]*item{}
	if tab.Get("x") != nil || tab.Delete(&item{"x"}) {
		t.Fatal("empty table finds something")
	}
	for i := range 1000 {
		x := &item{fmt.Sprintf("id-%d", i)}
		if tab.Put(x) != nil {
			t.Fatalf("Put(%s) replaced something", x.id)
		}
		ref[x.id] = x
	}
	check(t, tab, ref)
	if n := len(tab.slots); n != 2048 {
		t.Errorf("1000 elements in %d slots, want 2048 (grown at 3/4)", n)
	}
	// Replacing keeps one element per key.
	y := &item{"id-7"}
	if old := tab.Put(y); old != ref["id-7"] {
		t.Fatalf("Put of an existing key returned %v", old)
	}
	ref["id-7"] = y
	check(t, tab, ref)
	// Deleting needs the element itself.
	if tab.Delete(&item{"id-8"}) {
		t.Fatal("Delete removed another element with the same key")
	}
	for i := 0; i < 1000; i += 3 {
		k := fmt.Sprintf("id-%d", i)
		if !tab.Delete(ref[k]) {
			t.Fatalf("Delete(%s) = false", k)
		}
		delete(ref, k)
	}
	check(t, tab, ref)
	// Emptied, it shrinks.
	for k, x := range ref {
		tab.Delete(x)
		delete(ref, k)
	}
	check(t, tab, ref)
	if n := len(tab.slots); n > 16 {
		t.Errorf("empty table keeps %d slots", n)
	}
}

// Random operations against a Go map, with colliding homes (few slots,
// many keys) exercising the backward-shift deletion.
func TestTableRandom(t *testing.T) {
	r := rand.New(rand.NewPCG(1, 2))
	for round := range 20 {
		tab := New(keyOf)
		ref := map[string]*item{}
		keys := 10 + round*20
		for range 5000 {
			k := fmt.Sprintf("k%d", r.IntN(keys))
			switch r.IntN(3) {
			case 0, 1:
				x := &item{k}
				tab.Put(x)
				ref[k] = x
			default:
				if x := ref[k]; x != nil {
					if !tab.Delete(x) {
						t.Fatalf("Delete(%s) = false", k)
					}
					delete(ref, k)
				}
			}
		}
		check(t, tab, ref)
	}
}

func FuzzTable(f *testing.F) {
	f.Add([]byte{0, 1, 2, 1, 0, 3, 250, 4})
	f.Fuzz(func(t *testing.T, ops []byte) {
		tab := New(keyOf)
		ref := map[string]*item{}
		for _, op := range ops {
			k := fmt.Sprint(op & 31)
			if op&0x80 == 0 {
				x := &item{k}
				tab.Put(x)
				ref[k] = x
			} else if x := ref[k]; x != nil {
				tab.Delete(x)
				delete(ref, k)
			}
		}
		check(t, tab, ref)
	})
}

func BenchmarkTableGet(b *testing.B) {
	tab := New(keyOf)
	keys := make([]string, 10000)
	for i := range keys {
		keys[i] = fmt.Sprintf("%020d", i)
		tab.Put(&item{keys[i]})
	}
	b.ResetTimer()
	for i := range b.N {
		if tab.Get(keys[i%len(keys)]) == nil {
			b.Fatal("missing")
		}
	}
}

func BenchmarkMapGet(b *testing.B) {
	m := map[string]*item{}
	keys := make([]string, 10000)
	for i := range keys {
		keys[i] = fmt.Sprintf("%020d", i)
		m[keys[i]] = &item{keys[i]}
	}
	b.ResetTimer()
	for i := range b.N {
		if m[keys[i%len(keys)]] == nil {
			b.Fatal("missing")
		}
	}
}
