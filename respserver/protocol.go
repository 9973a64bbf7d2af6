package respserver

import (
	"github.com/discoh/discoh/backends"
	"github.com/discoh/discoh/coherence/guard"
	"github.com/discoh/discoh/resp"
)

// Protocol is what failover says to a Redis server: PING to probe, DEL to replay a missed
// invalidation, SCAN to list the keys of a server to repair or to copy back, FLUSHALL when its
// queue file was damaged.
func Protocol() backends.Protocol {
	return backends.Protocol{
		Ping:  backends.Request{Bytes: resp.AppendCommand(nil, []byte("PING"))},
		Flush: backends.Request{Bytes: resp.AppendCommand(nil, []byte("FLUSHALL"))},
		Delete: func(key []byte) backends.Request {
			// A coherent key's guard state goes too: a pull that read the database before the
			// invalidation this replays then finds it gone and is refused (G3, G5), where the
			// old version left in place would have let it install.
			del := resp.AppendCommand(nil, []byte("DEL"), key, guard.RedisSidecar(key))
			return backends.Request{Bytes: del}
		},
		OK:    func(reply []byte) bool { return !resp.IsError(reply) },
		List:  listRedis,
		Owner: redisOwner,
		Copy:  redisCopier(),
	}
}
