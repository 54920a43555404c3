//go:build linux && fanio_gnet && !poll_opt

package eventloop

import (
	"reflect"

	"golang.org/x/sys/unix"
)

// pollerFd finds the epoll descriptor of the gnet loop that owns ln, a
// gnet connection: gnet (v2.10.0) has no API to pause reading a
// connection, and level-triggered epoll would otherwise read it, and grow
// its inbound buffer, for as long as the client sends. The path is gnet's
// unexported conn.loop.poller.fd, read by reflection (reading unexported
// fields is allowed; nothing is written); if gnet changes its layout,
// pausing falls back to stopping delivery only (ok is false), which
// TestPauseReadsPushesBack catches.
func pollerFd(ln any) (fd int, ok bool) {
	defer func() {
		if recover() != nil {
			fd, ok = 0, false
		}
	}()
	v := reflect.ValueOf(ln)
	for _, name := range []string{"loop", "poller", "fd"} {
		if v.Kind() == reflect.Pointer {
			v = v.Elem()
		}
		if v.Kind() != reflect.Struct {
			return 0, false
		}
		v = v.FieldByName(name)
		if !v.IsValid() {
			return 0, false
		}
	}
	if v.Kind() != reflect.Int {
		return 0, false
	}
	return int(v.Int()), v.Int() > 0
}

// setPollEvents sets the events epfd watches on fd, as gnet's default
// (not "poll_opt") poller registers them: the descriptor as data, level
// triggered. Errors and hang-ups are always reported.
func setPollEvents(epfd, fd int, read, write bool) error {
	var ev uint32
	if read {
		ev |= unix.EPOLLIN | unix.EPOLLPRI
	}
	if write {
		ev |= unix.EPOLLOUT
	}
	return unix.EpollCtl(epfd, unix.EPOLL_CTL_MOD, fd, &unix.EpollEvent{Fd: int32(fd), Events: ev})
}
