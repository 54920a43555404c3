//go:build !unix

package eventloop

// DefaultMaxConns is the default Options.MaxConns: unbounded (-1) where the
// process has no open-file limit to protect.
func DefaultMaxConns() int { return -1 }
