package main

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestClientBundleDir(t *testing.T) {
	dir := t.TempDir()
	if _, err := clientBundle(dir); err == nil || !strings.Contains(err.Error(), "neither socket.io.js") {
		t.Fatalf("empty directory: %v", err)
	}
	if _, err := clientBundle(filepath.Join(dir, "missing")); err == nil {
		t.Fatal("missing directory accepted")
	}
	if err := os.WriteFile(filepath.Join(dir, "socket.io.min.js"), []byte("x"), 0o644); err != nil {
		t.Fatal(err)
	}
	fsys, err := clientBundle(dir)
	if err != nil {
		t.Fatal(err)
	}
	if b, err := os.ReadFile(filepath.Join(dir, "socket.io.min.js")); err != nil || string(b) != "x" || fsys == nil {
		t.Fatalf("%v %q", err, b)
	}
	if err := run([]string{"-client-dir", filepath.Join(dir, "missing")}); err == nil || !strings.Contains(err.Error(), "-client-dir") {
		t.Fatalf("run with a bad -client-dir: %v", err)
	}
}
