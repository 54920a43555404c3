package codec

// detailError wraps a sentinel error with a static description of what went
// wrong and where. Every detailError is a package-level value, so returning
// one never allocates; errors.Is(err, sentinel) sees through it.
type detailError struct {
	err    error
	detail string
}

func (e *detailError) Error() string { return e.err.Error() + ": " + e.detail }
func (e *detailError) Unwrap() error { return e.err }

// detail returns a wrapper of err that adds d to its message. It is only
// called to initialise package-level variables.
func detail(err error, d string) error { return &detailError{err: err, detail: d} }
