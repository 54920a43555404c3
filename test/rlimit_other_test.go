//go:build !unix

package integration

func execWithNofileLimit() {}
