//go:build darwin || dragonfly || freebsd || netbsd || openbsd || (linux && fanio_gnet && poll_opt)

package eventloop

// pollerFd: reads are paused only on Linux's epoll (see pollfd_linux.go);
// elsewhere a paused connection stops delivering messages only.
func pollerFd(any) (int, bool) { return 0, false }

func setPollEvents(epfd, fd int, read, write bool) error { return nil }
