package mcserver

import (
	"bytes"

	"github.com/discoh/discoh/backends"
	"github.com/discoh/discoh/mcproto"
)

// Protocol is what failover says to a memcached server: version to probe, delete to
// replay, lru_crawler metadump to list the keys of a server to repair, flush_all when its queue
// file was damaged.
func Protocol() backends.Protocol {
	return backends.Protocol{
		Ping:  backends.Request{Bytes: []byte("version\r\n"), Kind: uint8(mcproto.Version)},
		Flush: backends.Request{Bytes: []byte("flush_all\r\n"), Kind: uint8(mcproto.FlushAll)},
		Delete: func(key []byte) backends.Request {
			line := append(append([]byte("delete "), key...), "\r\n"...)
			return backends.Request{Bytes: line, Kind: uint8(mcproto.Delete)}
		},
		OK: func(reply []byte) bool {
			for _, bad := range []string{"ERROR", "CLIENT_ERROR", "SERVER_ERROR"} {
				if bytes.HasPrefix(reply, []byte(bad)) {
					return false
				}
			}
			return true
		},
		List: listMemcache,
		Copy: memcacheCopier(),
	}
}
