package codec

import (
	"bytes"
	"errors"
	"strconv"
)

// ErrIncomplete means the input ends before the thing being decoded does:
// the caller should read more bytes and call again with all of them. It is
// not an error of the peer, and it is always returned unwrapped.
var ErrIncomplete = errors.New("codec: incomplete input")

// Request parse errors. All of them mean "400 Bad Request" except where
// noted. ParseRequest returns them wrapped in a description of the fault;
// test with errors.Is.
var (
	// ErrMalformedRequestLine: the request line is not
	// method SP request-target SP HTTP-version.
	ErrMalformedRequestLine = errors.New("codec: http: malformed request line")
	// ErrMalformedHeader: a header line is not name ":" value, holds a
	// forbidden character, or is an obs-fold continuation line; also an
	// unacceptable combination of header fields (such as two Host fields).
	ErrMalformedHeader = errors.New("codec: http: malformed header field")
	// ErrTooManyHeaders: more header fields than the limit given to
	// ParseRequest. A server may answer 431.
	ErrTooManyHeaders = errors.New("codec: http: too many header fields")
	// ErrHeaderTooLarge: the header block is longer than the limit
	// given to ParseRequest. "431 Request Header Fields Too Large".
	ErrHeaderTooLarge = errors.New("codec: http: header block too large")
	// ErrBadContentLength: Content-Length is not a non-negative decimal
	// number, is given twice with different values, or comes with
	// Transfer-Encoding.
	ErrBadContentLength = errors.New("codec: http: bad Content-Length")
	// ErrUnsupportedVersion: the request is HTTP/x.y other than 1.0 or
	// 1.1. "505 HTTP Version Not Supported".
	ErrUnsupportedVersion = errors.New("codec: http: unsupported HTTP version")
	// ErrUnsupportedTransferEncoding: a Transfer-Encoding other than
	// plain "chunked". "501 Not Implemented".
	ErrUnsupportedTransferEncoding = errors.New("codec: http: unsupported Transfer-Encoding")
)

// Chunked body and query errors.
var (
	// ErrBadChunk: the chunked body is malformed. 400.
	ErrBadChunk = errors.New("codec: http: malformed chunked body")
	// ErrBodyTooLarge: the decoded body would exceed the limit. "413
	// Content Too Large".
	ErrBodyTooLarge = errors.New("codec: http: body too large")
	// ErrBadEscape: a '%' not followed by two hex digits.
	ErrBadEscape = errors.New("codec: http: invalid percent-encoding")
)

var (
	errBareCR            = detail(ErrMalformedRequestLine, "CR not followed by LF before the request line")
	errMethod            = detail(ErrMalformedRequestLine, "method is empty or has a non-token character")
	errMethodSP          = detail(ErrMalformedRequestLine, "method not followed by a single space")
	errTarget            = detail(ErrMalformedRequestLine, "request-target is empty or has a control character or space")
	errTargetSP          = detail(ErrMalformedRequestLine, "request-target not followed by a single space")
	errVersion           = detail(ErrMalformedRequestLine, "HTTP-version is not HTTP/<digit>.<digit>")
	errVersionNum        = detail(ErrUnsupportedVersion, "only HTTP/1.0 and HTTP/1.1 are supported")
	errObsFold           = detail(ErrMalformedHeader, "line folding (obs-fold) is not allowed")
	errHeaderName        = detail(ErrMalformedHeader, "field name is empty or has a non-token character")
	errHeaderColon       = detail(ErrMalformedHeader, "field name not followed by ':' (missing colon or whitespace before it)")
	errHeaderValue       = detail(ErrMalformedHeader, "field value has a control character")
	errTooManyHeaders    = detail(ErrTooManyHeaders, "more header fields than the limit")
	errHostTwice         = detail(ErrMalformedHeader, "more than one Host field")
	errHeaderTooLarge    = detail(ErrHeaderTooLarge, "no end of header block within the limit")
	errCLSyntax          = detail(ErrBadContentLength, "value is not a decimal number")
	errCLConflict        = detail(ErrBadContentLength, "several different values")
	errCLWithTE          = detail(ErrBadContentLength, "Content-Length together with Transfer-Encoding")
	errTEHTTP10          = detail(ErrMalformedHeader, "Transfer-Encoding in an HTTP/1.0 request")
	errTEEmpty           = detail(ErrMalformedHeader, "empty Transfer-Encoding")
	errTEChunkedTwice    = detail(ErrMalformedHeader, "Transfer-Encoding: chunked applied more than once")
	errTEOther           = detail(ErrUnsupportedTransferEncoding, "only chunked is supported")
	errChunkSize         = detail(ErrBadChunk, "chunk size is not a hex number")
	errChunkSizeOverflow = detail(ErrBadChunk, "chunk size overflows")
	errChunkExt          = detail(ErrBadChunk, "bad character or excessive length in chunk extension")
	errChunkCRLF         = detail(ErrBadChunk, "chunk line or chunk data not followed by CRLF")
	errChunkTrailer      = detail(ErrBadChunk, "malformed or excessive trailer section")
	errBodyTooLarge      = detail(ErrBodyTooLarge, "decoded chunked body exceeds the limit")
	errBadEscape         = detail(ErrBadEscape, "'%' not followed by two hex digits")
)

// DefaultMaxHeaders is a limit on the number of header fields for
// ParseRequest: Node's http server default (maxHeadersCount), far more than
// any browser sends behind proxies and CDNs (tens of fields).
const DefaultMaxHeaders = 2000

// inlineHeaders is how many header fields a Request holds without allocating.
const inlineHeaders = 32

// Header is one header field. Name is as sent (case preserved); Value has
// leading and trailing whitespace removed. Both alias the parsed buffer.
type Header struct{ Name, Value []byte }

// Request is a parsed HTTP/1.x request head. Every byte slice in it aliases
// the buffer given to ParseRequest and is valid only as long as that buffer
// is. A Request is reusable: ParseRequest resets it first. Keep it at a
// stable address (a field of a long-lived struct): Headers points into it.
type Request struct {
	Method   []byte
	URI      []byte // raw request-target
	Path     []byte // URI up to '?', not unescaped
	RawQuery []byte // after '?', nil if none

	// ProtoMinor is 0 for HTTP/1.0 and 1 for HTTP/1.1.
	ProtoMinor int

	// Headers are the header fields in the order received. The slice is
	// backed by an array inside the Request up to 32 fields, then grows.
	Headers []Header

	// Host is the value of the Host field, nil when there is none (more
	// than one is an error). RFC 9112 makes it mandatory in HTTP/1.1: that
	// check is the server's.
	Host []byte

	// ContentLength is the Content-Length value, or -1 when absent.
	ContentLength int64
	// Chunked is set when Transfer-Encoding is "chunked" (the only coding
	// accepted); the body then is to be read with DecodeChunked.
	Chunked bool
	// KeepAlive: HTTP/1.1 unless "Connection: close"; HTTP/1.0 only with
	// "Connection: keep-alive" (and no "close").
	KeepAlive bool
	// Upgrade: Connection has the "upgrade" token and Upgrade has the
	// "websocket" token (both case-insensitive).
	Upgrade bool

	headers [inlineHeaders]Header
}

// Reset clears r for reuse, dropping its references to any buffer.
func (r *Request) Reset() {
	clear(r.Headers)
	r.Method, r.URI, r.Path, r.RawQuery, r.Host = nil, nil, nil, nil, nil
	r.ProtoMinor = 0
	if cap(r.Headers) > 256 || cap(r.Headers) < inlineHeaders {
		// Don't keep a big array after one request with many fields.
		r.Headers = r.headers[:0]
	}
	r.Headers = r.Headers[:0]
	r.ContentLength = -1
	r.Chunked, r.KeepAlive, r.Upgrade = false, false, false
}

// Header returns the value of the first header field named name (compared
// case-insensitively), or nil if there is none. A present but empty field
// gives a non-nil empty slice.
func (r *Request) Header(name string) []byte {
	for i := range r.Headers {
		if equalFold(r.Headers[i].Name, name) {
			return r.Headers[i].Value
		}
	}
	return nil
}

// ParseRequest parses the request line and header block at the start of buf
// into req and returns n, the number of bytes up to and including the blank
// line that ends the header block; a body, or the next pipelined request,
// starts at buf[n:]. Slices in req alias buf.
//
// If buf does not hold a complete header block, ParseRequest returns
// ErrIncomplete, or ErrHeaderTooLarge once len(buf) > maxHeaderBytes; a
// complete header block longer than maxHeaderBytes also gives
// ErrHeaderTooLarge. More than maxHeaders header fields give
// ErrTooManyHeaders. A negative limit means no limit. Errors found in the
// complete lines of an incomplete block are reported at once. Up to 32 fields
// are held without allocating; beyond that req grows an array it keeps for
// its next use (unless that array is large).
//
// Lines end in CRLF; a bare LF is accepted too. Empty lines before the
// request line are skipped (RFC 9112 section 2.2). ParseRequest rejects:
// a method or header name with a non-token character; a request-target with a
// control character or space; a version other than HTTP/1.0 and HTTP/1.1
// (ErrUnsupportedVersion if it is HTTP/x.y); whitespace between a header name
// and its colon or a missing colon; control characters (other than HTAB) in
// header values, which includes a bare CR; obs-fold continuation lines; more
// than MaxHeaders fields; a Content-Length that is not a decimal number or
// that is repeated with a different value; Content-Length with
// Transfer-Encoding; Transfer-Encoding in HTTP/1.0; and any Transfer-Encoding
// other than a single "chunked" (ErrUnsupportedTransferEncoding).
//
// On any error the contents of req are unspecified (but safe to Reset).
// ParseRequest does not require a Host field (HTTP/1.1 does: see
// Request.Host) nor check the form of the request-target beyond its
// characters; that is the server's business.
func ParseRequest(buf []byte, req *Request, maxHeaderBytes, maxHeaders int) (n int, err error) {
	req.Reset()
	b := buf
	truncated := false
	if maxHeaderBytes >= 0 && len(b) > maxHeaderBytes {
		b, truncated = b[:maxHeaderBytes], true
	}
	incomplete := ErrIncomplete
	if truncated {
		incomplete = errHeaderTooLarge
	}

	i := 0
	for i < len(b) && (b[i] == '\r' || b[i] == '\n') {
		if b[i] == '\r' {
			if i+1 == len(b) {
				return 0, incomplete
			}
			if b[i+1] != '\n' {
				return 0, errBareCR
			}
			i++
		}
		i++
	}

	// Request line.
	e := bytes.IndexByte(b[i:], '\n')
	if e < 0 {
		return 0, incomplete
	}
	line := b[i : i+e]
	i += e + 1
	if len(line) > 0 && line[len(line)-1] == '\r' {
		line = line[:len(line)-1]
	}
	if err := parseRequestLine(line, req); err != nil {
		return 0, err
	}

	// Header fields.
	var (
		haveCL, closeTok, keepAliveTok, upgradeTok, websocketTok bool
		teSeen, teOther                                          bool
		teChunked                                                int
	)
	for {
		e := bytes.IndexByte(b[i:], '\n')
		if e < 0 {
			return 0, incomplete
		}
		line := b[i : i+e]
		i += e + 1
		if len(line) > 0 && line[len(line)-1] == '\r' {
			line = line[:len(line)-1]
		}
		if len(line) == 0 {
			break
		}
		if line[0] == ' ' || line[0] == '\t' {
			return 0, errObsFold
		}
		c := 0
		for c < len(line) && isToken(line[c]) {
			c++
		}
		switch {
		case c == len(line):
			return 0, errHeaderColon
		case line[c] == ':':
			if c == 0 {
				return 0, errHeaderName
			}
		case line[c] == ' ' || line[c] == '\t':
			return 0, errHeaderColon
		default:
			return 0, errHeaderName
		}
		name, value := line[:c], line[c+1:]
		for _, ch := range value {
			if charClass[ch]&classVChar == 0 {
				return 0, errHeaderValue
			}
		}
		value = trimOWS(value)
		if maxHeaders >= 0 && len(req.Headers) >= maxHeaders {
			return 0, errTooManyHeaders
		}
		req.Headers = append(req.Headers, Header{Name: name, Value: value})

		switch {
		case equalFold(name, "content-length"):
			cl, ok := parseContentLength(value)
			if !ok {
				return 0, errCLSyntax
			}
			if haveCL && cl != req.ContentLength {
				return 0, errCLConflict
			}
			haveCL = true
			req.ContentLength = cl
		case equalFold(name, "transfer-encoding"):
			teSeen = true
			for rest := value; rest != nil; {
				var el []byte
				el, rest = nextListElement(rest)
				switch {
				case len(el) == 0:
				case equalFold(el, "chunked"):
					teChunked++
				default:
					teOther = true
				}
			}
		case equalFold(name, "connection"):
			for rest := value; rest != nil; {
				var el []byte
				el, rest = nextListElement(rest)
				switch {
				case equalFold(el, "close"):
					closeTok = true
				case equalFold(el, "keep-alive"):
					keepAliveTok = true
				case equalFold(el, "upgrade"):
					upgradeTok = true
				}
			}
		case equalFold(name, "upgrade"):
			if HeaderContainsToken(value, "websocket") {
				websocketTok = true
			}
		case equalFold(name, "host"):
			if req.Host != nil {
				return 0, errHostTwice
			}
			req.Host = value
		}
	}

	if teSeen {
		switch {
		case req.ProtoMinor == 0:
			return 0, errTEHTTP10
		case haveCL:
			return 0, errCLWithTE
		case teOther:
			return 0, errTEOther
		case teChunked == 0:
			return 0, errTEEmpty
		case teChunked > 1:
			return 0, errTEChunkedTwice
		}
		req.Chunked = true
	}
	if req.ProtoMinor == 1 {
		req.KeepAlive = !closeTok
	} else {
		req.KeepAlive = keepAliveTok && !closeTok
	}
	req.Upgrade = upgradeTok && websocketTok
	return i, nil
}

func parseRequestLine(line []byte, req *Request) error {
	m := 0
	for m < len(line) && isToken(line[m]) {
		m++
	}
	if m == 0 {
		return errMethod
	}
	if m == len(line) || line[m] != ' ' {
		if m < len(line) && line[m] != ' ' && line[m] != '\t' {
			return errMethod
		}
		return errMethodSP
	}
	req.Method = line[:m]
	rest := line[m+1:]
	t := 0
	for t < len(rest) && charClass[rest[t]]&classTarget != 0 {
		t++
	}
	if t == 0 {
		return errTarget
	}
	if t == len(rest) || rest[t] != ' ' {
		if t < len(rest) {
			return errTarget
		}
		return errTargetSP
	}
	req.URI = rest[:t]
	if q := bytes.IndexByte(req.URI, '?'); q >= 0 {
		req.Path, req.RawQuery = req.URI[:q], req.URI[q+1:]
	} else {
		req.Path = req.URI
	}
	v := rest[t+1:]
	if len(v) != 8 || string(v[:5]) != "HTTP/" || v[6] != '.' ||
		v[5] < '0' || v[5] > '9' || v[7] < '0' || v[7] > '9' {
		return errVersion
	}
	if v[5] != '1' || v[7] > '1' {
		return errVersionNum
	}
	req.ProtoMinor = int(v[7] - '0')
	return nil
}

// parseContentLength parses 1*DIGIT, at most 18 digits (so no overflow).
func parseContentLength(v []byte) (int64, bool) {
	if len(v) == 0 || len(v) > 18 {
		return 0, false
	}
	var n int64
	for _, c := range v {
		if c < '0' || c > '9' {
			return 0, false
		}
		n = n*10 + int64(c-'0')
	}
	return n, true
}

// HeaderContainsToken reports whether the comma-separated header value v
// has an element equal to token, compared case-insensitively (as for
// Connection, Upgrade, Expect). Elements are trimmed of whitespace;
// an element with parameters ("gzip;q=1") does not equal its bare token.
func HeaderContainsToken(v []byte, token string) bool {
	for rest := v; rest != nil; {
		var el []byte
		el, rest = nextListElement(rest)
		if equalFold(el, token) {
			return true
		}
	}
	return false
}

// AcceptsEncoding reports whether an Accept-Encoding value accepts the
// content coding coding (RFC 9110 section 12.5.3): an element naming it
// (case-insensitively) decides, by its weight, q=0 meaning "not acceptable";
// failing that, a "*" element decides; failing that, only "identity" is
// acceptable. Callers that want RFC 9110's "no header field means any coding
// is acceptable" must check for the header's absence themselves.
func AcceptsEncoding(acceptEncoding []byte, coding string) bool {
	star := 0 // 0: no "*"; 1: "*" acceptable; 2: "*;q=0"
	identity := equalFold(coding, "identity")
	for rest := acceptEncoding; rest != nil; {
		var el []byte
		el, rest = nextListElement(rest)
		name, params := nextParam(el)
		if equalFold(name, coding) {
			return !qIsZero(params)
		}
		if star == 0 && len(name) == 1 && name[0] == '*' {
			star = 1
			if qIsZero(params) {
				star = 2
			}
		}
	}
	if star != 0 {
		return star == 1
	}
	return identity
}

// qIsZero reports whether a parameter list holds a weight of zero
// ("q=0", "q=0.", "q=0.000").
func qIsZero(params []byte) bool {
	for rest := params; rest != nil; {
		var p []byte
		p, rest = nextParam(rest)
		eq := bytes.IndexByte(p, '=')
		if eq < 0 || !equalFold(trimOWS(p[:eq]), "q") {
			continue
		}
		v := trimOWS(p[eq+1:])
		if len(v) == 0 || v[0] != '0' {
			return false
		}
		v = v[1:]
		if len(v) == 0 {
			return true
		}
		if v[0] != '.' || len(v) > 4 {
			return false
		}
		for _, c := range v[1:] {
			if c != '0' {
				return false
			}
		}
		return true
	}
	return false
}

// QueryValue returns the raw (still percent-encoded) value of the first
// key=value pair in rawQuery whose key equals key, compared byte for byte
// without unescaping. Pairs are separated by '&'; empty pairs are skipped.
// ok is false if there is no such pair; a bare "key" with no '=' gives an
// empty (non-nil) value and ok true. value aliases rawQuery.
func QueryValue(rawQuery []byte, key string) (value []byte, ok bool) {
	q := rawQuery
	for len(q) > 0 {
		var pair []byte
		if i := bytes.IndexByte(q, '&'); i >= 0 {
			pair, q = q[:i], q[i+1:]
		} else {
			pair, q = q, nil
		}
		if len(pair) == 0 {
			continue
		}
		k, v := pair, pair[len(pair):]
		if i := bytes.IndexByte(pair, '='); i >= 0 {
			k, v = pair[:i], pair[i+1:]
		}
		if string(k) == key {
			return v, true
		}
	}
	return nil, false
}

// AppendUnescape appends to dst the decoded form of the query component s:
// "%XX" becomes the byte 0xXX and '+' becomes a space. On a '%' that is not
// followed by two hex digits it returns dst unchanged and an error wrapping
// ErrBadEscape. The decoded bytes are not checked to be UTF-8.
func AppendUnescape(dst, s []byte) ([]byte, error) {
	orig := len(dst)
	for i := 0; i < len(s); i++ {
		switch c := s[i]; c {
		case '%':
			if i+2 >= len(s) {
				return dst[:orig], errBadEscape
			}
			h, l := unhex(s[i+1]), unhex(s[i+2])
			if h > 15 || l > 15 {
				return dst[:orig], errBadEscape
			}
			dst = append(dst, h<<4|l)
			i += 2
		case '+':
			dst = append(dst, ' ')
		default:
			j := i + 1
			for j < len(s) && s[j] != '%' && s[j] != '+' {
				j++
			}
			dst = append(dst, s[i:j]...)
			i = j - 1
		}
	}
	return dst, nil
}

// Limits on the parts of a chunked body that carry no data: they are not
// counted against maxBody, so they get bounds of their own.
const (
	maxChunkLine    = 4096 // chunk-size plus extensions
	maxTrailerBytes = 8192 // the whole trailer section
)

// DecodeChunked decodes a complete chunked body (RFC 9112 section 7.1) at
// the start of buf:
//
//	chunk-size [; ext] CRLF data CRLF ... 0 [; ext] CRLF [trailer fields] CRLF
//
// It appends the data to dst and returns the extended slice and n, the number
// of bytes of buf consumed. It returns ErrIncomplete (and dst unchanged) if
// buf does not yet hold the whole body; nothing is appended until it does.
// It returns an error wrapping ErrBodyTooLarge as soon as the chunk sizes
// seen add up to more than maxBody (a negative maxBody means no limit), and
// one wrapping ErrBadChunk on malformed input. Chunk framing must use CRLF
// (bare LF is refused there: lenient chunk parsing is a request smuggling
// vector). Extensions are skipped; trailer fields are checked for syntax and
// skipped. A chunk line longer than 4096 bytes or a trailer section longer
// than 8192 bytes is ErrBadChunk.
func DecodeChunked(dst, buf []byte, maxBody int) (out []byte, n int, err error) {
	// A first pass checks that the whole body is there and well-formed;
	// only then is the data copied.
	if _, n, err = chunked(nil, buf, maxBody, false); err != nil {
		return dst, 0, err
	}
	out, _, _ = chunked(dst, buf, maxBody, true)
	return out, n, nil
}

// chunked parses the chunked body at the start of buf, appending the data to
// dst if appendData is set, and returns dst and the bytes consumed.
func chunked(dst, buf []byte, maxBody int, appendData bool) ([]byte, int, error) {
	i, total := 0, 0
	for {
		// chunk-size
		start := i
		size := 0
		for i < len(buf) && charClass[buf[i]]&classHex != 0 {
			if size > (1<<(strconv.IntSize-2))>>4 {
				return dst, 0, errChunkSizeOverflow
			}
			size = size<<4 | int(unhex(buf[i]))
			i++
		}
		if i == len(buf) {
			if i-start > maxChunkLine {
				return dst, 0, errChunkExt
			}
			return dst, 0, ErrIncomplete
		}
		if i == start {
			return dst, 0, errChunkSize
		}
		// [ BWS ";" chunk-ext ]
		for i < len(buf) && (buf[i] == ' ' || buf[i] == '\t') {
			i++
			if i-start > maxChunkLine {
				return dst, 0, errChunkExt
			}
		}
		if i == len(buf) {
			return dst, 0, ErrIncomplete
		}
		if buf[i] == ';' {
			for i < len(buf) && buf[i] != '\r' {
				if charClass[buf[i]]&classVChar == 0 {
					return dst, 0, errChunkExt
				}
				i++
				if i-start > maxChunkLine {
					return dst, 0, errChunkExt
				}
			}
			if i == len(buf) {
				return dst, 0, ErrIncomplete
			}
		}
		if buf[i] != '\r' {
			return dst, 0, errChunkSize
		}
		if i+1 == len(buf) {
			return dst, 0, ErrIncomplete
		}
		if buf[i+1] != '\n' {
			return dst, 0, errChunkCRLF
		}
		i += 2
		if size == 0 {
			break
		}
		if maxBody >= 0 && size > maxBody-total {
			return dst, 0, errBodyTooLarge
		}
		if len(buf)-i < size {
			return dst, 0, ErrIncomplete
		}
		data := buf[i : i+size]
		i += size
		if len(buf)-i < 2 {
			if len(buf)-i == 1 && buf[i] != '\r' {
				return dst, 0, errChunkCRLF
			}
			return dst, 0, ErrIncomplete
		}
		if buf[i] != '\r' || buf[i+1] != '\n' {
			return dst, 0, errChunkCRLF
		}
		i += 2
		total += size
		if appendData {
			dst = append(dst, data...)
		}
	}
	// trailer-section CRLF
	start := i
	for {
		e := bytes.IndexByte(buf[i:], '\n')
		if e < 0 {
			if len(buf)-start > maxTrailerBytes {
				return dst, 0, errChunkTrailer
			}
			return dst, 0, ErrIncomplete
		}
		line := buf[i : i+e]
		i += e + 1
		if i-start > maxTrailerBytes {
			return dst, 0, errChunkTrailer
		}
		if len(line) == 0 || line[len(line)-1] != '\r' {
			return dst, 0, errChunkCRLF
		}
		line = line[:len(line)-1]
		if len(line) == 0 {
			return dst, i, nil
		}
		c := 0
		for c < len(line) && isToken(line[c]) {
			c++
		}
		if c == 0 || c == len(line) || line[c] != ':' {
			return dst, 0, errChunkTrailer
		}
		for _, ch := range line[c+1:] {
			if charClass[ch]&classVChar == 0 {
				return dst, 0, errChunkTrailer
			}
		}
	}
}

// StatusText returns the reason phrase for the status codes an HTTP and
// WebSocket server uses, or "" for others (an empty reason phrase is valid).
func StatusText(code int) string {
	switch code {
	case 100:
		return "Continue"
	case 101:
		return "Switching Protocols"
	case 200:
		return "OK"
	case 201:
		return "Created"
	case 202:
		return "Accepted"
	case 204:
		return "No Content"
	case 206:
		return "Partial Content"
	case 301:
		return "Moved Permanently"
	case 302:
		return "Found"
	case 303:
		return "See Other"
	case 304:
		return "Not Modified"
	case 307:
		return "Temporary Redirect"
	case 308:
		return "Permanent Redirect"
	case 400:
		return "Bad Request"
	case 401:
		return "Unauthorized"
	case 403:
		return "Forbidden"
	case 404:
		return "Not Found"
	case 405:
		return "Method Not Allowed"
	case 406:
		return "Not Acceptable"
	case 408:
		return "Request Timeout"
	case 409:
		return "Conflict"
	case 410:
		return "Gone"
	case 411:
		return "Length Required"
	case 412:
		return "Precondition Failed"
	case 413:
		return "Content Too Large"
	case 414:
		return "URI Too Long"
	case 415:
		return "Unsupported Media Type"
	case 417:
		return "Expectation Failed"
	case 426:
		return "Upgrade Required"
	case 428:
		return "Precondition Required"
	case 429:
		return "Too Many Requests"
	case 431:
		return "Request Header Fields Too Large"
	case 500:
		return "Internal Server Error"
	case 501:
		return "Not Implemented"
	case 502:
		return "Bad Gateway"
	case 503:
		return "Service Unavailable"
	case 504:
		return "Gateway Timeout"
	case 505:
		return "HTTP Version Not Supported"
	}
	return ""
}

// AppendStatusLine appends "HTTP/1.1 <code> <reason>\r\n", the reason being
// StatusText(code) (possibly empty).
func AppendStatusLine(dst []byte, code int) []byte {
	dst = append(dst, "HTTP/1.1 "...)
	dst = strconv.AppendInt(dst, int64(code), 10)
	dst = append(dst, ' ')
	dst = append(dst, StatusText(code)...)
	return append(dst, "\r\n"...)
}

// AppendHeader appends "name: value\r\n". Neither is checked: the caller
// must not pass CR or LF in them.
func AppendHeader(dst []byte, name, value string) []byte {
	dst = append(dst, name...)
	dst = append(dst, ": "...)
	dst = append(dst, value...)
	return append(dst, "\r\n"...)
}

// AppendHeaderBytes is AppendHeader with the value as a byte slice.
func AppendHeaderBytes(dst []byte, name string, value []byte) []byte {
	dst = append(dst, name...)
	dst = append(dst, ": "...)
	dst = append(dst, value...)
	return append(dst, "\r\n"...)
}

// AppendContentLength appends "Content-Length: n\r\n".
func AppendContentLength(dst []byte, n int) []byte {
	dst = append(dst, "Content-Length: "...)
	dst = strconv.AppendInt(dst, int64(n), 10)
	return append(dst, "\r\n"...)
}
