package respserver

import (
	"context"

	"github.com/discoh/discoh/backends"
	"github.com/discoh/discoh/coherence/guard"
	"github.com/discoh/discoh/proxy"
	"github.com/discoh/discoh/resp"
)

// NewGuard returns the coherence guard of a Redis pool: the guard scripts of package guard,
// run on each key's copies (see copiesGuard).
func NewGuard(pool *backends.Pool) guard.Guard {
	return proxy.NewCopiesGuard(pool, func(s *backends.Server, write bool) guard.Guard {
		return guard.NewRedis(redisDoer{server: s, write: write})
	})
}

// redisDoer runs the guard's scripts on one server.
type redisDoer struct {
	server *backends.Server
	write  bool // an invalidation: a server replaying what it missed takes it too
}

// Do implements guard.RedisDoer.
func (d redisDoer) Do(ctx context.Context, key []byte, args ...[]byte) ([]byte, error) {
	call := backends.NewCall()
	defer call.Release()
	call.Req, call.Write = resp.AppendCommand(call.Req, args...), d.write
	return proxy.FinishGuardCall(ctx, d.server, call, key, resp.IsError)
}
