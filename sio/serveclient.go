package sio

import (
	"bytes"
	"errors"
	"io/fs"
	"log/slog"
	"strings"

	"github.com/fanio/fanio/engine"
)

// clientFileNames are the files socket.io 4.8's serveClient answers under
// its path: the socket.io-client browser bundles and their source maps.
var clientFileNames = [...]string{
	"socket.io.js", "socket.io.js.map",
	"socket.io.min.js", "socket.io.min.js.map",
	"socket.io.esm.min.js", "socket.io.esm.min.js.map",
	"socket.io.msgpack.min.js", "socket.io.msgpack.min.js.map",
}

// Content types as the reference sends them.
const (
	contentTypeJS  = "application/javascript; charset=utf-8"
	contentTypeMap = "application/json; charset=utf-8"
)

// clientFiles reads the client bundle from fsys (once, when the server is
// created) as engine static files. The ETag of every file is the client's
// version in quotes, as the reference's ("4.8.4" is the version of the
// client bundled with socket.io 4.8.4), taken from the banner the bundles
// start with; without one, engine derives an ETag from each file's content.
func clientFiles(fsys fs.FS, log *slog.Logger) []engine.StaticFile {
	var files []engine.StaticFile
	version := ""
	for _, name := range clientFileNames {
		data, err := fs.ReadFile(fsys, name)
		if err != nil {
			if !errors.Is(err, fs.ErrNotExist) {
				log.Error("sio: ServeClient: cannot read a client file", "name", name, "err", err)
			}
			continue
		}
		f := engine.StaticFile{Name: name, ContentType: contentTypeJS, Data: data}
		if strings.HasSuffix(name, ".map") {
			f.ContentType = contentTypeMap
		} else if version == "" {
			version = bundleVersion(data)
		}
		for coding, ext := range map[string]string{"br": ".br", "gzip": ".gz"} {
			if enc, err := fs.ReadFile(fsys, name+ext); err == nil {
				if f.Precompressed == nil {
					f.Precompressed = map[string][]byte{}
				}
				f.Precompressed[coding] = enc
			}
		}
		files = append(files, f)
	}
	if len(files) == 0 {
		log.Warn("sio: ServeClient holds none of the client files (socket.io.js, socket.io.min.js, ...); " +
			"is it socket.io-client's dist directory?")
		return nil
	}
	if version != "" {
		for i := range files {
			files[i].ETag = `"` + version + `"`
		}
	}
	return files
}

// bundleVersion returns the version in a bundle's banner comment
// ("/*!\n * Socket.IO v4.8.4\n"), or "".
func bundleVersion(js []byte) string {
	const marker = "Socket.IO v"
	head := js[:min(len(js), 512)]
	i := bytes.Index(head, []byte(marker))
	if i < 0 {
		return ""
	}
	v := head[i+len(marker):]
	n := 0
	for n < len(v) && (v[n] >= '0' && v[n] <= '9' || v[n] >= 'a' && v[n] <= 'z' || v[n] >= 'A' && v[n] <= 'Z' ||
		v[n] == '.' || v[n] == '-' || v[n] == '+') {
		n++
	}
	return string(v[:n])
}
