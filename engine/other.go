package engine

import (
	"bytes"
	"net/http"
	"strconv"

	"github.com/fanio/fanio/internal/codec"
	"github.com/fanio/fanio/internal/eventloop"
	"github.com/fanio/fanio/internal/pool"
)

// serveOther answers requests outside the Engine.IO path: with
// Options.NotFound (a plain net/http handler, run on its own goroutine so it
// may block) or a 404.
func (s *Server) serveOther(c *eventloop.Conn, req *codec.Request, body []byte) {
	h := s.opts.NotFound
	if h == nil {
		s.respondStatus404(c, req)
		return
	}
	hr, err := http.NewRequest(string(req.Method), string(req.URI), bytes.NewReader(bytes.Clone(body)))
	if err != nil {
		s.respondStatus(c, req, 400)
		return
	}
	hr.RequestURI = string(req.URI)
	hr.Proto, hr.ProtoMajor, hr.ProtoMinor = "HTTP/1."+strconv.Itoa(req.ProtoMinor), 1, req.ProtoMinor
	for _, f := range req.Headers {
		hr.Header.Add(string(f.Name), string(f.Value))
	}
	hr.Host = hr.Header.Get("Host")
	hr.ContentLength = int64(len(body))
	if a := c.RemoteAddr(); a != nil {
		hr.RemoteAddr = a.String()
	}
	keepAlive := req.KeepAlive
	go func() {
		rec := &recorder{header: http.Header{}}
		func() {
			defer func() {
				if r := recover(); r != nil {
					rec.status, rec.body = 500, []byte("internal server error\n")
					rec.header = http.Header{}
				}
			}()
			h.ServeHTTP(rec, hr)
		}()
		_ = c.Respond(rec.response(keepAlive), !keepAlive)
	}()
}

func (s *Server) respondStatus404(c *eventloop.Conn, req *codec.Request) {
	bb := eventloop.ErrorResponse(404, "", !req.KeepAlive)
	_ = c.Respond(bb, !req.KeepAlive)
}

// recorder is a buffered http.ResponseWriter.
type recorder struct {
	header http.Header
	status int
	body   []byte
}

func (r *recorder) Header() http.Header { return r.header }
func (r *recorder) WriteHeader(code int) {
	if r.status == 0 {
		r.status = code
	}
}
func (r *recorder) Write(p []byte) (int, error) {
	if r.status == 0 {
		r.status = 200
	}
	r.body = append(r.body, p...)
	return len(p), nil
}

func (r *recorder) response(keepAlive bool) *pool.Buffer {
	if r.status == 0 {
		r.status = 200
	}
	if r.header.Get("Content-Type") == "" && len(r.body) > 0 {
		r.header.Set("Content-Type", http.DetectContentType(r.body))
	}
	r.header.Del("Content-Length")
	r.header.Del("Transfer-Encoding")
	if !keepAlive {
		r.header.Set("Connection", "close")
	}
	bb := pool.Get()
	bb.B = codec.AppendStatusLine(bb.B, r.status)
	w := bytesWriter{bb}
	_ = r.header.Write(w)
	bb.B = codec.AppendContentLength(bb.B, len(r.body))
	bb.B = append(bb.B, "\r\n"...)
	bb.B = append(bb.B, r.body...)
	return bb
}

type bytesWriter struct{ bb *pool.Buffer }

func (w bytesWriter) Write(p []byte) (int, error) {
	w.bb.B = append(w.bb.B, p...)
	return len(p), nil
}
