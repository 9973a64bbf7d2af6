package mcserver

import (
	"bytes"
	"context"

	"github.com/discoh/discoh/backends"
	"github.com/discoh/discoh/coherence/guard"
	"github.com/discoh/discoh/mcproto"
	"github.com/discoh/discoh/proxy"
)

// NewGuard returns the coherence guard of a memcached pool.
func NewGuard(pool *backends.Pool) guard.Guard {
	return proxy.NewCopiesGuard(pool, func(s *backends.Server, write bool) guard.Guard {
		return guard.NewMemcache(memcacheDoer{server: s, write: write})
	})
}

// memcacheDoer runs the guard's requests on one server.
type memcacheDoer struct {
	server *backends.Server
	write  bool
}

// Do implements guard.MemcacheDoer.
func (d memcacheDoer) Do(ctx context.Context, key, req []byte, kind mcproto.Kind) ([]byte, error) {
	call := backends.NewCall()
	defer call.Release()
	call.Req, call.Kind, call.Write = append(call.Req, req...), uint8(kind), d.write
	return proxy.FinishGuardCall(ctx, d.server, call, key, memcacheError)
}

// memcacheError reports whether a memcached reply is an error.
func memcacheError(reply []byte) bool {
	return bytes.HasPrefix(reply, []byte("SERVER_ERROR")) || bytes.HasPrefix(reply, []byte("CLIENT_ERROR")) ||
		bytes.HasPrefix(reply, []byte("ERROR"))
}
