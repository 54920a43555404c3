package sio

import (
	"fmt"
	"sort"
	"testing"
)

// roomSet keeps a slice for a few rooms and switches to a map past
// smallRoomSet; both forms must behave as a set.
func TestRoomSetSmallAndLarge(t *testing.T) {
	var rs roomSet
	n := 3 * smallRoomSet
	for i := 0; i < n; i++ {
		r := fmt.Sprintf("r%d", i)
		if !rs.add(r) {
			t.Fatalf("add(%s) on a new room = false", r)
		}
		if rs.add(r) {
			t.Fatalf("add(%s) twice = true", r)
		}
		if !rs.has(r) || rs.len() != i+1 {
			t.Fatalf("after add(%s): has=%v len=%d", r, rs.has(r), rs.len())
		}
	}
	if rs.m == nil {
		t.Fatal("large set did not switch to a map")
	}
	for i := 0; i < n; i += 2 {
		if !rs.remove(fmt.Sprintf("r%d", i)) {
			t.Fatalf("remove(r%d) = false", i)
		}
	}
	got := rs.appendTo(nil)
	sort.Strings(got)
	if len(got) != n/2 || rs.has("r0") || !rs.has("r1") {
		t.Fatalf("after removals: %v", got)
	}
	var small roomSet
	small.add("a")
	small.add("b")
	if !small.remove("a") || small.remove("a") || small.has("a") || !small.has("b") || small.m != nil {
		t.Fatalf("small set misbehaves: %+v", small)
	}
}

func TestMemberSetOneAndMany(t *testing.T) {
	a, b := &Socket{}, &Socket{}
	var ms memberSet
	ms.add(a)
	ms.add(a)
	if ms.one != a || ms.many != nil {
		t.Fatalf("one member: %+v", ms)
	}
	ms.add(b)
	if ms.many == nil || len(ms.many) != 2 {
		t.Fatalf("two members: %+v", ms)
	}
	if ms.remove(a) {
		t.Fatal("set reported empty with b still in")
	}
	if !ms.remove(b) {
		t.Fatal("set not empty after removing both")
	}
}
