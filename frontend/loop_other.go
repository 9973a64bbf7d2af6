//go:build !linux

package frontend

import "net"

// serveLoops reports false: event loops are built on Linux's epoll only.
func (s *Server) serveLoops(net.Listener) (bool, error) { return false, nil }

type loop struct{}
