//go:build !linux

package integration

func execWithNofileLimit() {}
