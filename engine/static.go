package engine

import (
	"bytes"
	"crypto/sha256"
	"encoding/base64"
	"log/slog"
	"mime"
	"path"
	"strings"

	"github.com/klauspost/compress/gzip"
	"github.com/klauspost/compress/zlib"

	"github.com/fanio/fanio/internal/codec"
	"github.com/fanio/fanio/internal/eventloop"
	"github.com/fanio/fanio/internal/pool"
)

// StaticFile is a file the server answers itself at Options.Path + Name, the
// way socket.io answers its client bundle (sio.Options.ServeClient builds
// these from the socket.io-client dist directory).
//
// GET and HEAD get the file with its ETag and "Cache-Control: public,
// max-age=0"; a request whose If-None-Match matches the ETag (weak
// comparison, "*" included) gets 304 Not Modified; the body is compressed
// with the coding the client prefers among br, gzip and deflate (socket.io's
// choice, see codec.PreferredEncoding), from variants computed once when the
// server is created, never per request. OPTIONS falls through to the CORS
// preflight; other methods get 405. The CORS headers of Options.CORS are
// added as to polling responses. The query string is ignored.
type StaticFile struct {
	// Name is the file's name under Path ("socket.io.js"), without a
	// leading "/".
	Name string
	// ContentType is the Content-Type header; "" picks one from Name's
	// extension (application/octet-stream when unknown).
	ContentType string
	// ETag is the quoted entity tag ("\"4.8.4\""); "" derives one from
	// Data's SHA-256.
	ETag string
	// Data is the content. The server keeps it: do not modify it afterwards.
	Data []byte
	// Precompressed holds ready encodings of Data by content coding ("br",
	// "gzip", "deflate"), kept as they are. The server computes gzip and
	// deflate itself when they are absent; br is served only from here (no
	// brotli encoder in the library's dependencies). A variant that is not
	// smaller than Data is dropped.
	Precompressed map[string][]byte
}

// staticCodings are the content codings offered, in socket.io's order of
// preference for equal weights.
var staticCodings = [...]string{"br", "gzip", "deflate"}

// staticFile is a StaticFile ready to answer: one variant per coding, each
// with its response head up to the per-request headers.
type staticFile struct {
	etag        string
	contentType string
	notModified []byte // 304 status line and headers, without the final CRLF
	variants    []staticVariant
	codings     []string // codings of variants[1:], for PreferredEncoding
}

type staticVariant struct {
	coding string // "" for identity
	head   []byte // status line and headers, Content-Length included, without the final CRLF
	body   []byte
}

// newStaticFiles prepares files (compressing once) and returns them by
// name; nil when there are none.
func newStaticFiles(files []StaticFile, log *slog.Logger) map[string]*staticFile {
	if len(files) == 0 {
		return nil
	}
	if log == nil {
		log = slog.Default()
	}
	m := make(map[string]*staticFile, len(files))
	for _, f := range files {
		if f.Name == "" || strings.HasPrefix(f.Name, "/") {
			log.Warn("engine: static file ignored: its name must be non-empty and relative", "name", f.Name)
			continue
		}
		if _, dup := m[f.Name]; dup {
			log.Warn("engine: static file ignored: duplicate name", "name", f.Name)
			continue
		}
		m[f.Name] = prepareStatic(f, log)
	}
	return m
}

func prepareStatic(f StaticFile, log *slog.Logger) *staticFile {
	sf := &staticFile{etag: f.ETag, contentType: f.ContentType}
	if sf.etag == "" {
		sum := sha256.Sum256(f.Data)
		sf.etag = `"` + base64.RawURLEncoding.EncodeToString(sum[:12]) + `"`
	}
	if sf.contentType == "" {
		if sf.contentType = mime.TypeByExtension(path.Ext(f.Name)); sf.contentType == "" {
			sf.contentType = "application/octet-stream"
		}
	}
	variants := []staticVariant{{body: f.Data}}
	for _, coding := range staticCodings {
		body, ok := f.Precompressed[coding]
		if !ok {
			if coding == "br" {
				continue
			}
			var err error
			if body, err = compressStatic(f.Data, coding); err != nil {
				log.Warn("engine: static file not compressed", "name", f.Name, "coding", coding, "err", err)
				continue
			}
		}
		if len(body) >= len(f.Data) {
			continue
		}
		variants = append(variants, staticVariant{coding: coding, body: body})
		sf.codings = append(sf.codings, coding)
	}
	vary := len(variants) > 1
	common := func(b []byte) []byte {
		b = codec.AppendHeader(b, "Cache-Control", "public, max-age=0")
		b = codec.AppendHeader(b, "ETag", sf.etag)
		if vary {
			b = codec.AppendHeader(b, "Vary", "Accept-Encoding")
		}
		return b
	}
	for i := range variants {
		v := &variants[i]
		b := codec.AppendStatusLine(nil, 200)
		b = codec.AppendHeader(b, "Content-Type", sf.contentType)
		b = common(b)
		if v.coding != "" {
			b = codec.AppendHeader(b, "Content-Encoding", v.coding)
		}
		v.head = codec.AppendContentLength(b, len(v.body))
	}
	sf.notModified = common(codec.AppendStatusLine(nil, 304))
	sf.variants = variants
	return sf
}

// compressStatic encodes data once, at the default level (6), the
// reference's zlib level: for the 1.19 MB of socket.io-client's dist
// directory, gzip and deflate take ~50 ms at startup against ~430 ms at
// level 9, for 4% more bytes (324 vs 311 KB gzipped).
func compressStatic(data []byte, coding string) ([]byte, error) {
	var buf bytes.Buffer
	var w interface {
		Write([]byte) (int, error)
		Close() error
	}
	var err error
	if coding == "gzip" {
		w, err = gzip.NewWriterLevel(&buf, gzip.DefaultCompression)
	} else {
		w, err = zlib.NewWriterLevel(&buf, zlib.DefaultCompression)
	}
	if err != nil {
		return nil, err
	}
	if _, err := w.Write(data); err != nil {
		return nil, err
	}
	if err := w.Close(); err != nil {
		return nil, err
	}
	return buf.Bytes(), nil
}

// variant picks the variant for an Accept-Encoding value.
func (f *staticFile) variant(acceptEncoding []byte) *staticVariant {
	if len(f.codings) > 0 && len(acceptEncoding) > 0 {
		if i := codec.PreferredEncoding(acceptEncoding, f.codings); i >= 0 {
			return &f.variants[i+1]
		}
	}
	return &f.variants[0]
}

// lookupStatic returns the static file a request path names, if any.
func (s *Server) lookupStatic(p []byte) *staticFile {
	if len(s.static) == 0 || len(p) <= len(s.opts.Path) {
		return nil
	}
	return s.static[string(p[len(s.opts.Path):])]
}

var methodHead = []byte("HEAD")

// staticBodyCopyMax: bodies up to this size are copied into the response
// buffer (one write); larger ones are queued as shared bytes, uncopied.
const staticBodyCopyMax = 16 << 10

// serveStatic answers req if it names a static file, and reports whether
// it did. On a reactor connection (c) a large body is queued as the shared,
// prepared bytes; on net/http it is copied into the answer.
func (s *Server) serveStatic(x exchange, c *eventloop.Conn, req *codec.Request) bool {
	head, body, ok := s.staticAnswer(req)
	if !ok {
		return false
	}
	closeAfter := !req.KeepAlive
	if c == nil || len(body) <= staticBodyCopyMax {
		head.B = append(head.B, body...)
		x.respond(head, closeAfter)
		return true
	}
	_ = c.WriteOwned(head)
	_ = c.WriteShared(body) // immutable: prepared once, shared by every download
	_ = c.Respond(pool.Get(), closeAfter)
	return true
}

// staticAnswer is the answer to req when it names a static file: the
// response head, blank line included (ownership passes to the caller), and
// the body to write after it, shared and immutable (nil when there is
// none). ok is false when req is not for a static file, or is its CORS
// preflight. Whatever carries the request writes head, then body, and ends
// the response, closing the connection unless req.KeepAlive.
func (s *Server) staticAnswer(req *codec.Request) (head *pool.Buffer, body []byte, ok bool) {
	f := s.lookupStatic(req.Path)
	if f == nil {
		return nil, nil, false
	}
	isHead := bytes.Equal(req.Method, methodHead)
	switch {
	case isHead, bytes.Equal(req.Method, methodGet):
	case bytes.Equal(req.Method, methodOptions):
		return nil, nil, false
	default:
		return s.staticError(req, 405), []byte(codec.StatusText(405)), true
	}
	head = pool.Get()
	if inm := req.Header("If-None-Match"); len(inm) > 0 && codec.IfNoneMatch(inm, f.etag) {
		head.B = s.endStaticHead(append(head.B, f.notModified...), req)
		return head, nil, true
	}
	v := f.variant(req.Header("Accept-Encoding"))
	if len(v.head)+len(v.body)+512 > s.opts.MaxOutboundBytes {
		// It could never be queued whole: the connection would be closed as
		// a slow reader mid-response. Say so instead.
		pool.Put(head)
		s.opts.Logger.Warn("engine: static file larger than MaxOutboundBytes", "path", string(req.Path),
			"bytes", len(v.body), "max", s.opts.MaxOutboundBytes)
		return s.staticError(req, 503), []byte(codec.StatusText(503)), true
	}
	head.B = s.endStaticHead(append(head.B, v.head...), req)
	if isHead {
		return head, nil, true
	}
	return head, v.body, true
}

// staticError is the head of a plain-text error answer whose body is the
// status text.
func (s *Server) staticError(req *codec.Request, status int) *pool.Buffer {
	bb := pool.Get()
	b := codec.AppendStatusLine(bb.B, status)
	if status == 405 {
		b = codec.AppendHeader(b, "Allow", "GET, HEAD, OPTIONS")
	}
	b = codec.AppendHeader(b, "Content-Type", "text/plain; charset=utf-8")
	b = codec.AppendContentLength(b, len(codec.StatusText(status)))
	bb.B = s.endStaticHead(b, req)
	return bb
}

// endStaticHead appends the per-request headers and the blank line.
func (s *Server) endStaticHead(b []byte, req *codec.Request) []byte {
	b = append(b, s.corsHeaders(req)...)
	if !req.KeepAlive {
		b = codec.AppendHeader(b, "Connection", "close")
	}
	return append(b, "\r\n"...)
}
